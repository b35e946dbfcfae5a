"""Reports for the province: volumes, waiting and service times, no-shows, satisfaction.

Computed from tickets and ratings (both written in the same transactions as the
event log) over a range of service days, grouped by field, counter, clerk,
day and hour. No Flask in here.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import defaultdict
from typing import Iterable

from sqlalchemy import select

from .engine import RATING_LEVELS
from .models import Counter, Field, Office, Rating, Ticket, User
from .storage import Storage

MAX_DAYS = 366


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _stats(values: list[float]) -> dict:
    if not values:
        return {"mean": None, "median": None, "p90": None}
    return {"mean": round(statistics.fmean(values), 1), "median": round(percentile(values, 0.5), 1),
            "p90": round(percentile(values, 0.9), 1)}


class _Bucket:
    def __init__(self):
        self.issued = self.served = self.no_show = self.cancelled = self.expired = self.called = 0
        self.waits: list[float] = []
        self.services: list[float] = []
        self.scores: list[int] = []

    def add_ticket(self, t: Ticket, count_issue: bool = True) -> None:
        if count_issue:
            self.issued += 1
        if t.first_called_at:
            self.called += 1
            self.waits.append((t.first_called_at - t.issued_at).total_seconds())
        if t.status == "done":
            self.served += 1
            if t.first_called_at and t.finished_at:
                self.services.append((t.finished_at - t.first_called_at).total_seconds())
        elif t.status == "no_show":
            self.no_show += 1
        elif t.status == "cancelled":
            self.cancelled += 1
        elif t.status == "expired":
            self.expired += 1

    def as_dict(self, scale: int, with_issued: bool = True) -> dict:
        satisfied_from = 2 if scale == 3 else 4
        by_level = {str(score): self.scores.count(score) for score, _ in RATING_LEVELS[scale]}
        out = {
            "served": self.served, "no_show": self.no_show, "called": self.called,
            "waiting_time_s": _stats(self.waits), "service_time_s": _stats(self.services),
            "ratings": {
                "count": len(self.scores), "by_level": by_level,
                "mean": round(statistics.fmean(self.scores), 2) if self.scores else None,
                "satisfied_share": round(sum(1 for s in self.scores if s >= satisfied_from) / len(self.scores), 3)
                if self.scores else None,
            },
        }
        if with_issued:
            out = {"issued": self.issued, "cancelled": self.cancelled, "expired": self.expired, **out}
        return out


def summary(storage: Storage, start: dt.date, end: dt.date, tz) -> dict:
    if end < start:
        raise ValueError("Ngày kết thúc phải sau ngày bắt đầu.")
    if (end - start).days >= MAX_DAYS:
        raise ValueError(f"Khoảng thời gian tối đa {MAX_DAYS} ngày.")
    with storage.read() as s:
        office = s.scalar(select(Office).limit(1))
        scale = office.rating_scale if office else 3
        fields = {f.id: f for f in s.scalars(select(Field))}
        counters = {c.id: c for c in s.scalars(select(Counter))}
        users = {u.id: u for u in s.scalars(select(User))}
        tickets = s.scalars(select(Ticket).where(Ticket.service_day >= start, Ticket.service_day <= end)).all()
        ratings = {r.ticket_id: r for r in s.scalars(
            select(Rating).join(Ticket, Ticket.id == Rating.ticket_id)
            .where(Ticket.service_day >= start, Ticket.service_day <= end))}

    total = _Bucket()
    by_field: dict[int, _Bucket] = defaultdict(_Bucket)
    by_counter: dict[int, _Bucket] = defaultdict(_Bucket)
    by_clerk: dict[int, _Bucket] = defaultdict(_Bucket)
    by_day: dict[dt.date, _Bucket] = defaultdict(_Bucket)
    by_hour: dict[int, int] = defaultdict(int)
    for t in tickets:
        rating = ratings.get(t.id)
        targets = [(total, True), (by_field[t.field_id], True), (by_day[t.service_day], True)]
        if t.counter_id:
            targets.append((by_counter[t.counter_id], False))
        if t.clerk_id:
            targets.append((by_clerk[t.clerk_id], False))
        for bucket, count_issue in targets:
            bucket.add_ticket(t, count_issue)
            if rating:
                bucket.scores.append(rating.score)
        by_hour[t.issued_at.astimezone(tz).hour] += 1

    return {
        "from": start.isoformat(), "to": end.isoformat(), "timezone": str(tz), "rating_scale": scale,
        "totals": total.as_dict(scale),
        "by_field": [{"code": fields[i].code, "name": fields[i].name, **b.as_dict(scale)}
                     for i, b in sorted(by_field.items(), key=lambda kv: (fields[kv[0]].position, kv[0]))],
        "by_counter": [{"number": counters[i].number, "name": counters[i].name, **b.as_dict(scale, False)}
                       for i, b in sorted(by_counter.items(), key=lambda kv: counters[kv[0]].number)],
        "by_clerk": [{"username": users[i].username, "name": users[i].display_name, **b.as_dict(scale, False)}
                     for i, b in sorted(by_clerk.items(), key=lambda kv: users[kv[0]].username)],
        "by_day": [{"day": d.isoformat(), "issued": b.issued, "served": b.served, "no_show": b.no_show,
                    "mean_wait_s": _stats(b.waits)["mean"]} for d, b in sorted(by_day.items())],
        "by_hour": [{"hour": h, "issued": by_hour[h]} for h in sorted(by_hour)],
    }


COLUMNS = [
    ("group", "Nhóm"), ("key", "Mã"), ("name", "Tên"), ("issued", "Số phiếu cấp"), ("served", "Đã phục vụ"),
    ("no_show", "Vắng mặt"), ("wait_mean", "Chờ TB (giây)"), ("wait_median", "Chờ trung vị (giây)"),
    ("wait_p90", "Chờ p90 (giây)"), ("service_mean", "Phục vụ TB (giây)"), ("service_median", "Phục vụ trung vị (giây)"),
    ("service_p90", "Phục vụ p90 (giây)"), ("ratings", "Lượt đánh giá"), ("satisfied_share", "Tỷ lệ hài lòng"),
]


def rows(report: dict) -> Iterable[list]:
    """Flat rows for CSV and XLSX: totals, then fields, counters and clerks."""
    groups = [("Tổng", [("all", "Toàn cơ quan", report["totals"])]),
              ("Lĩnh vực", [(r["code"], r["name"], r) for r in report["by_field"]]),
              ("Quầy", [(r["number"], r["name"], r) for r in report["by_counter"]]),
              ("Cán bộ", [(r["username"], r["name"], r) for r in report["by_clerk"]])]
    for group, items in groups:
        for key, name, r in items:
            yield [group, key, name, r.get("issued", ""), r["served"], r["no_show"],
                   r["waiting_time_s"]["mean"], r["waiting_time_s"]["median"], r["waiting_time_s"]["p90"],
                   r["service_time_s"]["mean"], r["service_time_s"]["median"], r["service_time_s"]["p90"],
                   r["ratings"]["count"], r["ratings"]["satisfied_share"]]


def to_csv(report: dict) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # so Excel opens Vietnamese text as UTF-8
    writer = csv.writer(out)
    writer.writerow([label for _, label in COLUMNS])
    for row in rows(report):
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


def to_xlsx(report: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Tổng hợp"
    sheet.append([f"Báo cáo từ {report['from']} đến {report['to']}"])
    sheet.append([label for _, label in COLUMNS])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows(report):
        sheet.append(row)
    days = book.create_sheet("Theo ngày")
    days.append(["Ngày", "Số phiếu cấp", "Đã phục vụ", "Vắng mặt", "Chờ TB (giây)"])
    for d in report["by_day"]:
        days.append([d["day"], d["issued"], d["served"], d["no_show"], d["mean_wait_s"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
