"""Reports for the province: volumes, waiting and service times, no-shows, satisfaction,
the reasons citizens gave and their comments.

Computed from tickets and ratings (both written in the same transactions as the
event log) over a range of service days, grouped by field, counter, clerk,
day and hour. `to_csv` and `to_xlsx` turn a summary into files an official can
open, print and send. No Flask in here.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import Counter as Tally
from collections import defaultdict
from typing import Any, Callable, Iterable, NamedTuple

from sqlalchemy import select

from .engine import DEFAULT_RATING_REASONS, RATING_LEVELS
from .models import Counter, Field, Office, Rating, Ticket, User
from .storage import Storage

MAX_DAYS = 366
SOURCES = ("tablet", "phone", "unknown")  # where a rating was made; "unknown": before motcua recorded it


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


def _satisfied_from(scale: int) -> int:
    """The lowest score that counts as satisfied: "Hài lòng" on either scale."""
    return 2 if scale == 3 else 4


class _Bucket:
    def __init__(self):
        self.issued = self.served = self.no_show = self.cancelled = self.expired = self.called = 0
        self.waits: list[float] = []
        self.services: list[float] = []
        self.scores: list[int] = []
        self.reasons: Tally[str] = Tally()
        self.sources: Tally[str] = Tally()

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

    def add_rating(self, rating: Rating) -> None:
        self.scores.append(rating.score)
        self.reasons.update(set(rating.reasons or []))
        self.sources[rating.source or "unknown"] += 1

    def satisfied_share(self, scale: int) -> float | None:
        if not self.scores:
            return None
        return round(sum(1 for s in self.scores if s >= _satisfied_from(scale)) / len(self.scores), 3)

    def as_dict(self, scale: int, reason_codes: list[str], with_issued: bool = True) -> dict:
        by_level = {str(score): self.scores.count(score) for score, _ in RATING_LEVELS[scale]}
        out = {
            "served": self.served, "no_show": self.no_show, "called": self.called,
            "waiting_time_s": _stats(self.waits), "service_time_s": _stats(self.services),
            "ratings": {
                "count": len(self.scores), "by_level": by_level,
                "mean": round(statistics.fmean(self.scores), 2) if self.scores else None,
                "satisfied_share": self.satisfied_share(scale),
            },
            # how many ratings named each reason (a rating may name several)
            "reasons": {code: self.reasons.get(code, 0) for code in reason_codes},
            "rating_sources": {source: self.sources.get(source, 0) for source in SOURCES},
        }
        if with_issued:
            out = {"issued": self.issued, "cancelled": self.cancelled, "expired": self.expired, **out}
        return out


class _Dimension(NamedTuple):
    """One way to group tickets, declared once: a `by_office` table is one more line below."""

    key: str                                   # its table in the summary
    ticket_id: Callable[[Ticket], int | None]  # which of a ticket's ids it groups by
    rows: str                                  # which loaded rows name it
    describe: Callable[[Any], dict]            # a row -> the keys naming it in its table
    order: Callable[[Any], Any]                # a row -> where it sorts
    with_issued: bool                          # tickets are issued to it (not to a counter or clerk)


DIMENSIONS = (
    _Dimension("by_field", lambda t: t.field_id, "fields", lambda f: {"code": f.code, "name": f.name},
               lambda f: (f.position, f.id), True),
    _Dimension("by_counter", lambda t: t.counter_id, "counters", lambda c: {"number": c.number, "name": c.name},
               lambda c: c.number, False),  # tickets never called have no counter
    _Dimension("by_clerk", lambda t: t.clerk_id, "users", lambda u: {"username": u.username, "name": u.display_name},
               lambda u: u.username, False),
)


def summary(storage: Storage, start: dt.date, end: dt.date, tz, scale: dict | None = None) -> dict:
    """The report of service days `start`..`end`. `scale`: the office's rating scale as
    `engine.rating_scale()` gives it (read from the office when not given)."""
    if end < start:
        raise ValueError("Ngày kết thúc phải sau ngày bắt đầu.")
    if (end - start).days >= MAX_DAYS:
        raise ValueError(f"Khoảng thời gian tối đa {MAX_DAYS} ngày.")
    with storage.read() as s:
        office = s.scalar(select(Office).limit(1))
        levels = office.rating_scale if office else 3
        if scale is None:
            scale = {"reasons": ((office.settings or {}).get("rating_reasons") if office else None)
                     or DEFAULT_RATING_REASONS}
        fields = {f.id: f for f in s.scalars(select(Field))}
        counters = {c.id: c for c in s.scalars(select(Counter))}
        users = {u.id: u for u in s.scalars(select(User))}
        tickets = s.scalars(select(Ticket).where(Ticket.service_day >= start, Ticket.service_day <= end)).all()
        ratings = {r.ticket_id: r for r in s.scalars(
            select(Rating).join(Ticket, Ticket.id == Rating.ticket_id)
            .where(Ticket.service_day >= start, Ticket.service_day <= end))}
        office_view = {"name": office.name if office else "", "unit": office.unit if office else ""}

    reasons = _reasons(scale["reasons"], ratings.values())
    codes = [r["code"] for r in reasons]
    total = _Bucket()
    groups: dict[str, dict[int, _Bucket]] = {d.key: defaultdict(_Bucket) for d in DIMENSIONS}
    by_day: dict[dt.date, _Bucket] = defaultdict(_Bucket)
    by_hour: dict[int, int] = defaultdict(int)
    for t in tickets:
        rating = ratings.get(t.id)
        targets = [(total, True), (by_day[t.service_day], True)]
        for d in DIMENSIONS:
            key = d.ticket_id(t)
            if key is not None:
                targets.append((groups[d.key][key], d.with_issued))
        for bucket, count_issue in targets:
            bucket.add_ticket(t, count_issue)
            if rating:
                bucket.add_rating(rating)
        by_hour[t.issued_at.astimezone(tz).hour] += 1

    loaded = {"fields": fields, "counters": counters, "users": users}
    tables = {}
    for d in DIMENSIONS:
        rows = loaded[d.rows]
        tables[d.key] = [{**d.describe(rows[i]), **b.as_dict(levels, codes, d.with_issued)}
                         for i, b in sorted(groups[d.key].items(), key=lambda kv: d.order(rows[kv[0]]))]

    return {
        "from": start.isoformat(), "to": end.isoformat(), "timezone": str(tz), "rating_scale": levels,
        "office": office_view,
        "rating_levels": [{"score": score, "name": name} for score, name in RATING_LEVELS[levels]],
        "reasons": reasons,
        "totals": total.as_dict(levels, codes),
        **tables,
        "by_day": [{"day": d.isoformat(), "issued": b.issued, "served": b.served, "no_show": b.no_show,
                    "mean_wait_s": _stats(b.waits)["mean"], "mean_service_s": _stats(b.services)["mean"],
                    "ratings": len(b.scores), "satisfied_share": b.satisfied_share(levels)}
                   for d, b in sorted(by_day.items())],
        "by_hour": [{"hour": h, "issued": by_hour[h]} for h in sorted(by_hour)],
        "comments": _comments(tickets, ratings, fields, counters, users, tz, codes),
    }


def _reasons(scale_reasons: list[dict], ratings: Iterable[Rating]) -> list[dict]:
    """The office's reasons in its order, then any code older ratings used that the office
    has since dropped (under its default name, or its code), so no count is lost."""
    reasons = [{"code": r["code"], "name": r["name"]} for r in scale_reasons]
    known = {r["code"] for r in reasons}
    dropped = sorted({code for r in ratings for code in (r.reasons or [])} - known)
    defaults = {r["code"]: r["name"] for r in DEFAULT_RATING_REASONS}
    return reasons + [{"code": code, "name": defaults.get(code, code)} for code in dropped]


def _comments(tickets, ratings, fields, counters, users, tz, codes: list[str]) -> list[dict]:
    """Every comment of the period, oldest first, with where and by whom the citizen was served;
    its reasons in the office's order."""
    order = {code: i for i, code in enumerate(codes)}
    out = []
    for t in tickets:
        rating = ratings.get(t.id)
        if rating is None or not (rating.comment or "").strip():
            continue
        counter, clerk, field = counters.get(t.counter_id), users.get(t.clerk_id), fields[t.field_id]
        out.append({
            "at": rating.created_at.astimezone(tz).isoformat(timespec="seconds"),
            "ticket": t.code,
            "counter": counter.number if counter else None, "counter_name": counter.name if counter else "",
            "clerk": clerk.username if clerk else None, "clerk_name": clerk.display_name if clerk else "",
            "field": field.code, "field_name": field.name,
            "score": rating.score, "level": dict(RATING_LEVELS.get(rating.scale, [])).get(rating.score, ""),
            "reasons": sorted(rating.reasons or [], key=lambda code: order.get(code, len(order))),
            "source": rating.source,
            "comment": rating.comment,
        })
    out.sort(key=lambda c: c["at"])
    return out


# ----- exports ------------------------------------------------------------------------------------
# Cells a spreadsheet would run as a formula (or as a DDE command) when they start like one.
RISKY_START = ("=", "+", "-", "@", "\t", "\r")

# The flat tables of the CSV, in order; a `by_office` table joins with its own line here.
GROUPS = (
    ("Lĩnh vực", "by_field", lambda r: r["code"], lambda r: r["name"]),
    ("Quầy", "by_counter", lambda r: r["number"], lambda r: r["name"]),
    ("Cán bộ", "by_clerk", lambda r: r["username"], lambda r: r["name"]),
)
SOURCE_NAMES = {"tablet": "Máy tính bảng tại quầy", "phone": "Điện thoại (trang của phiếu)",
                "unknown": "Chưa rõ nguồn"}

COLUMNS = [
    ("group", "Nhóm"), ("key", "Mã"), ("name", "Tên"), ("issued", "Số phiếu cấp"), ("served", "Đã phục vụ"),
    ("no_show", "Vắng mặt"), ("wait_mean", "Chờ TB (giây)"), ("wait_median", "Chờ trung vị (giây)"),
    ("wait_p90", "Chờ p90 (giây)"), ("service_mean", "Phục vụ TB (giây)"), ("service_median", "Phục vụ trung vị (giây)"),
    ("service_p90", "Phục vụ p90 (giây)"), ("ratings", "Lượt đánh giá"), ("satisfied_share", "Tỷ lệ hài lòng"),
]
SOURCE_COLUMNS = [("tablet", "Đánh giá qua máy tính bảng"), ("phone", "Đánh giá qua điện thoại"),
                  ("unknown", "Đánh giá chưa rõ nguồn")]
COMMENT_COLUMNS = ["Nhóm", "Số phiếu", "Thời gian", "Quầy", "Cán bộ", "Lĩnh vực", "Điểm", "Mức đánh giá",
                   "Lý do", "Nguồn", "Nội dung góp ý"]


def safe_text(value):
    """A text cell a spreadsheet shows as text: a leading ' before what would start a formula."""
    if isinstance(value, str) and value.startswith(RISKY_START):
        return "'" + value
    return value


def _groups(report: dict):
    yield "Tổng", [("all", "Toàn cơ quan", report["totals"])]
    for label, key, code, name in GROUPS:
        if key in report:
            yield label, [(code(r), name(r), r) for r in report[key]]


def rows(report: dict) -> Iterable[list]:
    """Flat rows for the CSV: totals, then fields, counters and clerks; times in seconds as before,
    then where the ratings came from and how often each reason was named."""
    codes = [r["code"] for r in report["reasons"]]
    for group, items in _groups(report):
        for key, name, r in items:
            yield [group, key, name, r.get("issued", ""), r["served"], r["no_show"],
                   r["waiting_time_s"]["mean"], r["waiting_time_s"]["median"], r["waiting_time_s"]["p90"],
                   r["service_time_s"]["mean"], r["service_time_s"]["median"], r["service_time_s"]["p90"],
                   r["ratings"]["count"], r["ratings"]["satisfied_share"],
                   *[r["rating_sources"][s] for s, _ in SOURCE_COLUMNS], *[r["reasons"][c] for c in codes]]


def _office_time(iso: str) -> dt.datetime:
    """The office's wall-clock time of an ISO time with offset (spreadsheets know no time zones)."""
    return dt.datetime.fromisoformat(iso).replace(tzinfo=None)


def _reason_names(report: dict, codes: list[str]) -> str:
    names = {r["code"]: r["name"] for r in report["reasons"]}
    return "; ".join(names.get(c, c) for c in codes)


def to_csv(report: dict) -> str:
    """UTF-8 with a BOM (so Excel reads Vietnamese), comma-separated. The first table keeps the
    columns it always had; the comments follow it after an empty line, each row marked "Góp ý"."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)

    def write(cells):
        writer.writerow(["" if v is None else safe_text(v) for v in cells])

    write([label for _, label in COLUMNS] + [label for _, label in SOURCE_COLUMNS]
          + [f"Lý do: {r['name']}" for r in report["reasons"]])
    for row in rows(report):
        write(row)
    if report["comments"]:
        writer.writerow([])
        write(COMMENT_COLUMNS)
        for c in report["comments"]:
            write(["Góp ý", c["ticket"], _office_time(c["at"]).strftime("%Y-%m-%d %H:%M"), c["counter"],
                   c["clerk"], c["field_name"], c["score"], c["level"], _reason_names(report, c["reasons"]),
                   SOURCE_NAMES[c["source"] or "unknown"], c["comment"]])
    return out.getvalue()


# ----- the workbook -------------------------------------------------------------------------------
# What a column holds decides how its cells are written and shown: numbers stay numbers (minutes,
# not seconds), shares are percentages, days are dates; text is always text, never a formula.
TEXT, WRAP, COUNT, MINUTES, PERCENT, DATE, DATETIME, SCORE = (
    "text", "wrap", "count", "minutes", "percent", "date", "datetime", "score")
NUMBER_FORMATS = {TEXT: "@", WRAP: "@", COUNT: "#,##0", MINUTES: "#,##0.0", PERCENT: "0.0%",
                  DATE: "dd/mm/yyyy", DATETIME: "dd/mm/yyyy hh:mm", SCORE: "0"}
TOTAL_LABEL = "Tổng cộng"
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def _day(iso: str) -> str:
    return dt.date.fromisoformat(iso).strftime("%d/%m/%Y")


def _period(report: dict) -> str:
    if report["from"] == report["to"]:
        return f"ngày {_day(report['from'])}"
    return f"từ ngày {_day(report['from'])} đến ngày {_day(report['to'])}"


def _office_name(report: dict) -> str:
    office = report.get("office") or {}
    return ", ".join(p for p in (office.get("unit"), office.get("name")) if p)


class _Sheet:
    """One printable table: a title row (what, which office, which period), a header row with
    units, the rows, column widths, a frozen header and a page setup that fits the width."""

    def __init__(self, book, name: str, heading: str, report: dict, columns: list[tuple[str, str]],
                 freeze_cols: int = 0):
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        self.ws = book.create_sheet(name)
        self.columns = columns
        self.widths = [max(len(w) for w in header.split()) + 2 for header, _ in columns]
        self._thin = Side(style="thin", color="A0A8B8")
        self._border = Border(left=self._thin, right=self._thin, top=self._thin, bottom=self._thin)
        self._bold = Font(bold=True)
        self._fill = PatternFill("solid", fgColor="DDE3EC")
        self._total_fill = PatternFill("solid", fgColor="F1F5F9")
        self._Alignment = Alignment
        self.title = " — ".join(p for p in (heading, _office_name(report), _period(report)) if p)
        title = self.ws.cell(row=1, column=1)
        self._text(title, self.title)
        title.font = Font(bold=True, size=13)
        title.alignment = Alignment(wrap_text=True, vertical="center")
        for i, (header, _) in enumerate(columns, start=1):
            cell = self.ws.cell(row=2, column=i)
            self._text(cell, header)
            cell.font, cell.fill, cell.border = self._bold, self._fill, self._border
            cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        self.ws.freeze_panes = self.ws.cell(row=3, column=freeze_cols + 1).coordinate
        self.next_row = 3

    @staticmethod
    def _text(cell, value: str) -> None:
        """A string cell, whatever the string starts with: openpyxl would store "=…" as a formula."""
        cell.value = value
        cell.data_type = "s"
        if value.startswith(RISKY_START):
            cell.quotePrefix = True  # and Excel keeps it text when someone edits it

    def add(self, values: list, total: bool = False, kinds: list[str] | None = None) -> None:
        """A row; `kinds` overrides the columns' kinds for this row (a list of figures of many units)."""
        row = self.next_row
        self.next_row += 1
        kinds = kinds or [kind for _, kind in self.columns]
        for i, (kind, value) in enumerate(zip(kinds, values), start=1):
            cell = self.ws.cell(row=row, column=i)
            if value is None or value == "":
                pass
            elif kind in (TEXT, WRAP) or isinstance(value, str):
                self._text(cell, str(value))
                self.widths[i - 1] = max(self.widths[i - 1], min(len(str(value)), 60) + 2)
            elif kind == MINUTES:
                cell.value = round(value / 60, 2)
            elif kind == DATE:
                cell.value = dt.date.fromisoformat(value) if isinstance(value, str) else value
            else:
                cell.value = value
            cell.number_format = NUMBER_FORMATS[kind]
            cell.border = self._border
            if kind == WRAP:
                cell.alignment = self._Alignment(wrap_text=True, vertical="top")
            else:
                cell.alignment = self._Alignment(vertical="top")
            if total:
                cell.font, cell.fill = self._bold, self._total_fill

    def finish(self, wrap_width: int = 60) -> None:
        from openpyxl.utils import get_column_letter

        for i, ((_, kind), width) in enumerate(zip(self.columns, self.widths), start=1):
            fixed = {DATE: 12, DATETIME: 17, PERCENT: 10, MINUTES: 10, COUNT: 9, SCORE: 7}.get(kind)
            if kind == WRAP:
                width = wrap_width
            elif fixed:
                width = max(fixed, min(width, 16))
            self.widths[i - 1] = min(width, 60)
            self.ws.column_dimensions[get_column_letter(i)].width = self.widths[i - 1]
        total_width = sum(self.widths)
        last = get_column_letter(len(self.columns))
        self.ws.merge_cells(f"A1:{last}1")
        self.ws.row_dimensions[1].height = 20 * max(1, -(-int(len(self.title) * 1.1) // int(total_width)))
        self.ws.row_dimensions[2].height = 15 * max(
            1, max(-(-len(h) // max(1, int(w) - 1)) for (h, _), w in zip(self.columns, self.widths)))
        setup = self.ws.page_setup
        setup.paperSize = self.ws.PAPERSIZE_A4
        setup.orientation = "landscape" if total_width > 100 else "portrait"
        setup.fitToWidth, setup.fitToHeight = 1, 0  # as many pages down as it takes, never across
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        self.ws.print_title_rows = "1:2"
        self.ws.print_options.horizontalCentered = True
        self.ws.page_margins.left = self.ws.page_margins.right = 0.5
        self.ws.oddFooter.center.text = "Trang &P / &N"


def _level_columns(report: dict) -> list[tuple[str, str]]:
    return [(f"{level['name']} (lượt)", COUNT) for level in report["rating_levels"]]


def _levels(report: dict, r: dict) -> list:
    return [r["ratings"]["by_level"][str(level["score"])] for level in report["rating_levels"]]


TIME_COLUMNS = [("Chờ trung bình (phút)", MINUTES), ("Chờ trung vị (phút)", MINUTES),
                ("Chờ p90 (phút)", MINUTES), ("Phục vụ trung bình (phút)", MINUTES),
                ("Phục vụ trung vị (phút)", MINUTES), ("Phục vụ p90 (phút)", MINUTES)]


def _times(r: dict) -> list:
    w, s = r["waiting_time_s"], r["service_time_s"]
    return [w["mean"], w["median"], w["p90"], s["mean"], s["median"], s["p90"]]


def _summary_sheet(book, report: dict) -> None:
    sheet = _Sheet(book, "Tổng hợp", "Báo cáo tổng hợp", report,
                   [("Chỉ tiêu", TEXT), ("Giá trị", COUNT), ("Đơn vị", TEXT)])
    t = report["totals"]
    w, s = t["waiting_time_s"], t["service_time_s"]

    def line(label, value, unit, kind=COUNT):
        sheet.add([label, value, unit], kinds=[TEXT, kind, TEXT])

    line("Số phiếu đã cấp", t["issued"], "phiếu")
    line("Đã phục vụ", t["served"], "lượt")
    line("Vắng mặt khi được gọi", t["no_show"], "lượt")
    line("Phiếu đã huỷ", t["cancelled"], "phiếu")
    line("Phiếu hết hạn (hết ngày chưa được gọi)", t["expired"], "phiếu")
    line("Thời gian chờ trung bình", w["mean"], "phút", MINUTES)
    line("Thời gian chờ trung vị", w["median"], "phút", MINUTES)
    line("Thời gian chờ p90 (90% công dân chờ không quá)", w["p90"], "phút", MINUTES)
    line("Thời gian phục vụ trung bình", s["mean"], "phút", MINUTES)
    line("Thời gian phục vụ trung vị", s["median"], "phút", MINUTES)
    line("Thời gian phục vụ p90", s["p90"], "phút", MINUTES)
    line("Lượt đánh giá", t["ratings"]["count"], "lượt")
    for level in report["rating_levels"]:
        line(f"  {level['name']}", t["ratings"]["by_level"][str(level["score"])], "lượt")
    line("Tỷ lệ hài lòng", t["ratings"]["satisfied_share"], "", PERCENT)
    for source, label in SOURCE_COLUMNS:
        line(label, t["rating_sources"][source], "lượt")
    line("Góp ý của công dân", len(report["comments"]), "lượt")
    sheet.finish()


def _table_sheet(book, report: dict, name: str, heading: str, key_columns, key_values, key: str,
                 with_issued: bool, with_sources: bool) -> None:
    head = [("Phiếu đã cấp (phiếu)", COUNT)] if with_issued else []
    head += [("Đã phục vụ (lượt)", COUNT), ("Vắng mặt (lượt)", COUNT)]
    if with_issued:
        head += [("Đã huỷ (phiếu)", COUNT), ("Hết hạn (phiếu)", COUNT)]
    tail = [("Lượt đánh giá (lượt)", COUNT), *_level_columns(report), ("Tỷ lệ hài lòng (%)", PERCENT)]
    if with_sources:
        tail += [(f"{label} (lượt)", COUNT) for _, label in SOURCE_COLUMNS]
    sheet = _Sheet(book, name, heading, report, [*key_columns, *head, *TIME_COLUMNS, *tail],
                   freeze_cols=len(key_columns))

    def values(r):
        counts = [r["issued"]] if with_issued else []
        counts += [r["served"], r["no_show"]]
        if with_issued:
            counts += [r["cancelled"], r["expired"]]
        end = [r["ratings"]["count"], *_levels(report, r), r["ratings"]["satisfied_share"]]
        if with_sources:
            end += [r["rating_sources"][s] for s, _ in SOURCE_COLUMNS]
        return [*counts, *_times(r), *end]

    for r in report[key]:
        sheet.add([*key_values(r), *values(r)])
    sheet.add([TOTAL_LABEL, *[""] * (len(key_columns) - 1), *values(report["totals"])], total=True)
    sheet.finish()


def _day_sheet(book, report: dict) -> None:
    sheet = _Sheet(book, "Theo ngày", "Báo cáo theo ngày", report, [
        ("Ngày", DATE), ("Thứ", TEXT), ("Phiếu đã cấp (phiếu)", COUNT), ("Đã phục vụ (lượt)", COUNT),
        ("Vắng mặt (lượt)", COUNT), ("Chờ trung bình (phút)", MINUTES), ("Phục vụ trung bình (phút)", MINUTES),
        ("Lượt đánh giá (lượt)", COUNT), ("Tỷ lệ hài lòng (%)", PERCENT)])
    for d in report["by_day"]:
        day = dt.date.fromisoformat(d["day"])
        sheet.add([day, WEEKDAYS[day.weekday()], d["issued"], d["served"], d["no_show"], d["mean_wait_s"],
                   d.get("mean_service_s"), d.get("ratings"), d.get("satisfied_share")])
    t = report["totals"]
    sheet.add([TOTAL_LABEL, "", t["issued"], t["served"], t["no_show"], t["waiting_time_s"]["mean"],
               t["service_time_s"]["mean"], t["ratings"]["count"], t["ratings"]["satisfied_share"]], total=True)
    sheet.finish()


def _hour_sheet(book, report: dict) -> None:
    sheet = _Sheet(book, "Theo giờ", "Số phiếu cấp theo giờ", report, [
        ("Khung giờ", TEXT), ("Phiếu đã cấp (phiếu)", COUNT), ("Tỷ lệ trong kỳ (%)", PERCENT)])
    issued = sum(h["issued"] for h in report["by_hour"])
    for h in report["by_hour"]:
        sheet.add([f"{h['hour']:02d}:00 – {(h['hour'] + 1) % 24:02d}:00", h["issued"],
                   round(h["issued"] / issued, 3) if issued else None])
    sheet.add([TOTAL_LABEL, issued, 1 if issued else None], total=True)
    sheet.finish()


def _reasons_sheet(book, report: dict) -> None:
    """How often each reason was named, per field, counter and clerk (a rating may name several)."""
    reasons = report["reasons"]
    lowest = str(report["rating_levels"][-1]["score"])
    sheet = _Sheet(book, "Lý do không hài lòng", "Lý do không hài lòng", report, [
        ("Nhóm", TEXT), ("Tên", TEXT), (f"{report['rating_levels'][-1]['name']} (lượt)", COUNT),
        *[(f"{r['name']} (lượt)", COUNT) for r in reasons]], freeze_cols=2)

    def values(r):
        return [r["ratings"]["by_level"][lowest], *[r["reasons"][x["code"]] for x in reasons]]

    for label, key, code, name in GROUPS:
        if key not in report:
            continue
        for r in report[key]:
            sheet.add([label, name(r) or str(code(r)), *values(r)])
    sheet.add([TOTAL_LABEL, "Toàn cơ quan", *values(report["totals"])], total=True)
    sheet.finish()


def _comments_sheet(book, report: dict) -> None:
    sheet = _Sheet(book, "Góp ý", "Góp ý của công dân", report, [
        ("STT", COUNT), ("Thời gian", DATETIME), ("Số phiếu", TEXT), ("Quầy", TEXT), ("Cán bộ", TEXT),
        ("Lĩnh vực", TEXT), ("Điểm", SCORE), ("Mức đánh giá", TEXT), ("Lý do", WRAP), ("Nguồn", TEXT),
        ("Nội dung góp ý", WRAP)], freeze_cols=0)
    for i, c in enumerate(report["comments"], start=1):
        sheet.add([i, _office_time(c["at"]), c["ticket"], c["counter_name"] or c["counter"],
                   c["clerk_name"] or c["clerk"], c["field_name"], c["score"], c["level"],
                   _reason_names(report, c["reasons"]), SOURCE_NAMES[c["source"] or "unknown"], c["comment"]])
    sheet.add([TOTAL_LABEL, len(report["comments"])], total=True, kinds=[TEXT, COUNT])
    sheet.ws.cell(row=sheet.next_row - 1, column=2).number_format = '#,##0" góp ý"'
    sheet.finish(wrap_width=50)


def to_xlsx(report: dict) -> bytes:
    """A workbook an official can print and send as it is: a sheet per table."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    _summary_sheet(book, report)
    _table_sheet(book, report, "Theo lĩnh vực", "Báo cáo theo lĩnh vực", [("Mã", TEXT), ("Lĩnh vực", TEXT)],
                 lambda r: [r["code"], r["name"]], "by_field", True, False)
    _table_sheet(book, report, "Theo quầy", "Báo cáo theo quầy", [("Quầy số", COUNT), ("Tên quầy", TEXT)],
                 lambda r: [r["number"], r["name"]], "by_counter", False, True)
    _table_sheet(book, report, "Theo cán bộ", "Báo cáo theo cán bộ",
                 [("Tên đăng nhập", TEXT), ("Họ tên", TEXT)],
                 lambda r: [r["username"], r["name"]], "by_clerk", False, True)
    _day_sheet(book, report)
    _hour_sheet(book, report)
    _reasons_sheet(book, report)
    _comments_sheet(book, report)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
