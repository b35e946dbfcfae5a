"""The summary: volumes, waiting and service times, no-shows, satisfaction, the reasons citizens
gave and their comments, over a range of service days, of one office or of every office.

Computed from tickets and ratings (both written in the same transactions as the event
log), grouped by office, field, counter, clerk, day and hour. No Flask in here.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter as Tally
from collections import defaultdict
from typing import Any, Callable, Iterable, NamedTuple

from sqlalchemy import select

from ..engine import DEFAULT_RATING_REASONS, RATING_LEVELS, satisfied_from
from ..models import Booking, Counter, Field, Office, Rating, Ticket, User
from ..storage import Storage

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


class _Bucket:
    def __init__(self):
        self.issued = self.served = self.no_show = self.cancelled = self.expired = self.called = 0
        self.waits: list[float] = []
        self.services: list[float] = []
        self.scores: list[int] = []
        self.satisfied = 0  # by each rating's own scale (offices may use 3 or 5 levels)
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
        self.satisfied += rating.score >= satisfied_from(rating.scale)
        self.reasons.update(set(rating.reasons or []))
        self.sources[rating.source or "unknown"] += 1

    def satisfied_share(self, scale: int | None = None) -> float | None:
        if not self.scores:
            return None
        return round(self.satisfied / len(self.scores), 3)

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


BY_OFFICE = _Dimension("by_office", lambda t: t.office_id, "offices", lambda o: {"slug": o.slug, "name": o.name},
                       lambda o: (o.name, o.id), True)
DIMENSIONS = (
    _Dimension("by_field", lambda t: t.field_id, "fields", lambda f: {"code": f.code, "name": f.name},
               lambda f: (f.position, f.id), True),
    _Dimension("by_counter", lambda t: t.counter_id, "counters", lambda c: {"number": c.number, "name": c.name},
               lambda c: c.number, False),  # tickets never called have no counter
    _Dimension("by_clerk", lambda t: t.clerk_id, "users", lambda u: {"username": u.username, "name": u.display_name},
               lambda u: u.username, False),
)


def summary(storage: Storage, start: dt.date, end: dt.date, tz, *, office: int | None = None) -> dict:
    """The report of service days `start`..`end` of one office, or of every office (`office`
    None) with a `by_office` table besides."""
    if end < start:
        raise ValueError("Ngày kết thúc phải sau ngày bắt đầu.")
    if (end - start).days >= MAX_DAYS:
        raise ValueError(f"Khoảng thời gian tối đa {MAX_DAYS} ngày.")

    def mine(query, column):
        return query if office is None else query.where(column == office)

    with storage.read() as s:
        office_rows = {o.id: o for o in s.scalars(mine(select(Office), Office.id))}
        fields = {f.id: f for f in s.scalars(mine(select(Field), Field.office_id))}
        counters = {c.id: c for c in s.scalars(mine(select(Counter), Counter.office_id))}
        users = {u.id: u for u in s.scalars(select(User))}
        in_period = [Ticket.service_day >= start, Ticket.service_day <= end]
        tickets = s.scalars(mine(select(Ticket).where(*in_period), Ticket.office_id)).all()
        ratings = {r.ticket_id: r for r in s.scalars(
            mine(select(Rating).join(Ticket, Ticket.id == Rating.ticket_id).where(*in_period), Ticket.office_id))}
        bookings = s.scalars(mine(select(Booking).where(Booking.day >= start, Booking.day <= end),
                                  Booking.office_id)).all()
    scales = Tally(o.rating_scale or 3 for o in office_rows.values())
    levels = scales.most_common(1)[0][0] if scales else 3
    scale_reasons, seen = [], set()
    for o in sorted(office_rows.values(), key=lambda o: o.id):
        for reason in (o.settings or {}).get("rating_reasons") or DEFAULT_RATING_REASONS:
            if reason["code"] not in seen:
                seen.add(reason["code"])
                scale_reasons.append(reason)
    if office is not None and office_rows:
        only = office_rows[office]
        office_view = {"slug": only.slug, "name": only.name, "unit": only.unit}
    else:
        office_view = {"slug": None, "name": "Tất cả cơ quan", "unit": f"{len(office_rows)} cơ quan"}
    dimensions = DIMENSIONS if office is not None else (BY_OFFICE, *DIMENSIONS)
    scale = {"reasons": scale_reasons}

    reasons = _reasons(scale["reasons"], ratings.values())
    codes = [r["code"] for r in reasons]
    total = _Bucket()
    groups: dict[str, dict[int, _Bucket]] = {d.key: defaultdict(_Bucket) for d in dimensions}
    by_day: dict[dt.date, _Bucket] = defaultdict(_Bucket)
    by_hour: dict[int, int] = defaultdict(int)
    for t in tickets:
        rating = ratings.get(t.id)
        targets = [(total, True), (by_day[t.service_day], True)]
        for d in dimensions:
            key = d.ticket_id(t)
            if key is not None:
                targets.append((groups[d.key][key], d.with_issued))
        for bucket, count_issue in targets:
            bucket.add_ticket(t, count_issue)
            if rating:
                bucket.add_rating(rating)
        by_hour[t.issued_at.astimezone(tz).hour] += 1

    if office is None:  # a province lists its silent offices too, with zeros
        for office_id in office_rows:
            groups["by_office"].setdefault(office_id, _Bucket())
    loaded = {"fields": fields, "counters": counters, "users": users, "offices": office_rows}
    tables = {}
    for d in dimensions:
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
                    "ratings": len(b.scores), "satisfied_share": b.satisfied_share()}
                   for d, b in sorted(by_day.items())],
        "by_hour": [{"hour": h, "issued": by_hour[h]} for h in sorted(by_hour)],
        "comments": _comments(tickets, ratings, fields, counters, users, tz, codes),
        "bookings": _bookings(bookings, tickets, fields, office_rows, by_office=office is None),
    }


BOOKING_STATUSES = ("booked", "checked_in", "missed", "cancelled")


def _bookings(bookings, tickets, fields, offices, by_office: bool) -> dict:
    """Online bookings of the period: how many were made, checked in, missed, cancelled (and still
    ahead), and how long booked citizens waited from their slot's start until called."""
    waits: dict[int, float] = {t.id: max(0.0, (t.first_called_at - t.booked_start).total_seconds())
                               for t in tickets if t.booked_start is not None and t.first_called_at is not None}

    def table(key_of, describe, order):
        groups: dict = defaultdict(list)
        for b in bookings:
            groups[key_of(b)].append(b)
        return [{**describe(k), **_booking_counts(v, waits)} for k, v in sorted(groups.items(), key=order)]

    out = {"totals": _booking_counts(bookings, waits),
           "by_field": table(lambda b: b.field_id, lambda k: {"code": fields[k].code, "name": fields[k].name},
                             lambda kv: (fields[kv[0]].position, kv[0]))}
    if by_office:
        out["by_office"] = table(lambda b: b.office_id, lambda k: {"slug": offices[k].slug, "name": offices[k].name},
                                 lambda kv: (offices[kv[0]].name, kv[0]))
    return out


def _booking_counts(bookings, waits: dict[int, float]) -> dict:
    counts = Tally(b.status for b in bookings)
    return {"made": len(bookings), **{status: counts.get(status, 0) for status in BOOKING_STATUSES},
            "wait_from_slot_s": _stats([waits[b.ticket_id] for b in bookings if b.ticket_id in waits])}


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
