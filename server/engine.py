"""The queue engine: every business rule of motcua lives here.

Numbering, ordering, priority, state changes, issuing hours, daily caps,
estimates, ratings and the append-only event log. No Flask in here: callers
pass plain values and get plain dicts back; after each committed change the
engine tells its listeners (see `server/events.py`), which emit to the boards.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import statistics
import time
from typing import NamedTuple
from dataclasses import dataclass, field as dc_field
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import (
    COUNTER_STATES,
    PRIORITY_REASONS,
    Announcement,
    Counter,
    CounterField,
    DayCounter,
    Device,
    Event,
    Field,
    Office,
    Rating,
    Ticket,
)
from .storage import Storage

RATING_LEVELS = {
    3: [(3, "Rất hài lòng"), (2, "Hài lòng"), (1, "Không hài lòng")],
    5: [(5, "Rất hài lòng"), (4, "Hài lòng"), (3, "Bình thường"), (2, "Không hài lòng"), (1, "Rất không hài lòng")],
}
DEFAULT_RATING_REASONS = [
    {"code": "attitude", "name": "Thái độ phục vụ chưa tốt"},
    {"code": "guidance", "name": "Hướng dẫn chưa rõ ràng"},
    {"code": "waiting", "name": "Thời gian chờ lâu"},
    {"code": "speed", "name": "Giải quyết chậm"},
    {"code": "harassment", "name": "Gây phiền hà, nhũng nhiễu"},
    {"code": "facility", "name": "Cơ sở vật chất chưa tốt"},
]
COMMENT_MAX = 500
RECENT_CALLS = 10
DEFAULT_SERVICE_S = 300
CACHE_S = 2.0
MIN_SERVICE_SAMPLE_S = 20


class FieldRules(NamedTuple):
    id: int
    code: str
    name: str
    prefix: str
    active: bool
    spans: list
    daily_cap: int | None
    minutes: int | None


def _next_number_statement(dialect: str):
    """INSERT … ON CONFLICT DO UPDATE … RETURNING: one atomic statement hands out the next number."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(DayCounter).values(field_id=bindparam("field_id"), service_day=bindparam("day"),
                                             last_number=1)
    return stmt.on_conflict_do_update(
        index_elements=[DayCounter.field_id, DayCounter.service_day],
        set_={"last_number": DayCounter.last_number + 1},
    ).returning(DayCounter.last_number)


# The issue path's statements, built once (building them is a good part of a request's cost).
_NEXT_NUMBER = {"sqlite": _next_number_statement("sqlite"), "postgresql": _next_number_statement("postgresql")}
_INSERT_TICKET = insert(Ticket).returning(Ticket.id)
_INSERT_EVENT = insert(Event)
_COUNT_AHEAD = select(func.count(Ticket.id)).where(
    Ticket.status == "waiting", Ticket.field_id == bindparam("field_id"), Ticket.service_day == bindparam("day"),
    Ticket.priority_rank <= bindparam("rank"), Ticket.id != bindparam("ticket_id"))


# call_next's statements. The counter row is locked on PostgreSQL (SQLite's BEGIN IMMEDIATE
# already serialises writers), and SKIP LOCKED lets two counters take two different tickets.
def _lock_counter(postgres: bool):
    query = select(Counter.id, Counter.state, Counter.current_ticket_id).where(
        Counter.number == bindparam("number"), Counter.active.is_(True))
    return query.with_for_update() if postgres else query


def _next_waiting(postgres: bool):
    query = (select(Ticket.id)
             .where(Ticket.status == "waiting", Ticket.field_id.in_(bindparam("field_ids", expanding=True)),
                    Ticket.service_day == bindparam("day"))
             .order_by(Ticket.priority_rank, Ticket.issued_at, Ticket.id).limit(1))
    return query.with_for_update(skip_locked=True) if postgres else query


_LOCK_COUNTER = {False: _lock_counter(False), True: _lock_counter(True)}
_NEXT_WAITING = {False: _next_waiting(False), True: _next_waiting(True)}
_COUNTER_FIELDS = select(CounterField.field_id).where(CounterField.counter_id == bindparam("counter_id"))
_FINISH_TICKET = (update(Ticket).where(Ticket.id == bindparam("ticket_id"), Ticket.status == "called")
                  .values(status="done", finished_at=bindparam("now"))
                  .returning(Ticket.token, Ticket.code, Ticket.field_id))
_CALL_TICKET = (update(Ticket).where(Ticket.id == bindparam("ticket_id"))
                .values(status="called", called_at=bindparam("now"),
                        first_called_at=func.coalesce(Ticket.first_called_at, bindparam("now")),
                        counter_id=bindparam("b_counter_id"), clerk_id=bindparam("b_clerk_id"),
                        call_count=Ticket.call_count + 1)
                .returning(Ticket.code, Ticket.number, Ticket.field_id, Ticket.priority, Ticket.status,
                           Ticket.issued_at, Ticket.called_at, Ticket.finished_at, Ticket.service_day,
                           Ticket.token, Ticket.call_count))
_SET_CURRENT = (update(Counter).where(Counter.id == bindparam("b_counter_id"))
                .values(current_ticket_id=bindparam("b_ticket_id"),
                        state=case((Counter.state == "closed", "open"), else_=Counter.state)))


def people_ahead(s: Session, ticket: Ticket) -> int:
    """How many waiting tickets of its field are called before this one (priority, then issue time)."""
    if ticket.status != "waiting":
        return 0
    return s.scalar(
        select(func.count(Ticket.id)).where(
            Ticket.status == "waiting", Ticket.field_id == ticket.field_id,
            Ticket.service_day == ticket.service_day, Ticket.id != ticket.id,
            or_(
                Ticket.priority_rank < ticket.priority_rank,
                and_(Ticket.priority_rank == ticket.priority_rank,
                     or_(Ticket.issued_at < ticket.issued_at,
                         and_(Ticket.issued_at == ticket.issued_at, Ticket.id < ticket.id))),
            ),
        )
    )


class IssuedTicket(NamedTuple):
    """A ticket being issued, as the issue hooks see it (inside its transaction)."""

    id: int
    token: str
    code: str
    device_id: int | None
    issued_at: dt.datetime
    context: dict


class QueueError(Exception):
    """A rule refused the request. `kind` is not_found, conflict or invalid; `message` is Vietnamese."""

    def __init__(self, kind: str, code: str, message: str):
        super().__init__(message)
        self.kind, self.code, self.message = kind, code, message

    @classmethod
    def not_found(cls, code: str, message: str) -> "QueueError":
        return cls("not_found", code, message)

    @classmethod
    def conflict(cls, code: str, message: str) -> "QueueError":
        return cls("conflict", code, message)

    @classmethod
    def invalid(cls, code: str, message: str) -> "QueueError":
        return cls("invalid", code, message)


_not_found, _conflict, _invalid = QueueError.not_found, QueueError.conflict, QueueError.invalid


@dataclass
class Change:
    """What changed, told to listeners after the commit."""

    kind: str  # ticket_issued, ticket_called, ticket_updated, ticket_finished, counter_changed, queue_changed, rated,
    #           config_changed, device_revoked
    data: dict[str, Any] = dc_field(default_factory=dict)


_SPAN = re.compile(r"^\s*(\d{1,2})(?:[:hH.](\d{2})?)?\s*[-–—]\s*(\d{1,2})(?:[:hH.](\d{2})?)?\s*$")


def normalise_span(text: str) -> str:
    """"7h30-11h30", "7:30 – 11:30", "07:30-11:30" -> "07:30-11:30"; raises ValueError otherwise."""
    match = _SPAN.match(str(text))
    if not match:
        raise ValueError(f"bad hours {text!r}")
    h1, m1, h2, m2 = match.groups()
    try:
        a, b = dt.time(int(h1), int(m1 or 0)), dt.time(int(h2), int(m2 or 0))
    except ValueError:
        raise ValueError(f"bad hours {text!r}") from None
    if a >= b:
        raise ValueError(f"bad hours {text!r}")
    return f"{a:%H:%M}-{b:%H:%M}"


def parse_hours(hours: Iterable[str]) -> list[tuple[dt.time, dt.time]]:
    """["07:00-11:30", "13h-16h30"] -> time pairs; raises ValueError on a bad range."""
    spans = []
    for text in hours or []:
        start, _, end = normalise_span(text).partition("-")
        spans.append((dt.time.fromisoformat(start), dt.time.fromisoformat(end)))
    return spans


class QueueEngine:
    def __init__(self, storage: Storage, tz: ZoneInfo, clock: Callable[[], dt.datetime] | None = None):
        self.storage = storage
        self.tz = tz
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.listeners: list[Callable[[list[Change]], None]] = []
        # Writes that must commit with a new ticket (the print spool's job): each hook gets the
        # transaction's connection and an IssuedTicket, inside the ticket's own transaction.
        self.issue_hooks: list[Callable[[Any, "IssuedTicket"], None]] = []
        self._expired_through: dt.date | None = None
        self._forget_caches()

    # ----- time -----------------------------------------------------------
    def now(self) -> dt.datetime:
        return self.clock().astimezone(dt.timezone.utc)

    def today(self) -> dt.date:
        return self.now().astimezone(self.tz).date()

    def local(self, moment: dt.datetime | None) -> str | None:
        return moment.astimezone(self.tz).isoformat(timespec="seconds") if moment else None

    # ----- plumbing -------------------------------------------------------
    def _tell(self, changes: list[Change]) -> None:
        if any(c.kind in ("ticket_finished", "counter_changed") for c in changes):
            self._estimate_cache = (0.0, {}, {})  # service times or open counters moved
        for listener in list(self.listeners):
            listener(changes)

    def _event(self, s: Session, kind: str, ticket: Ticket | None = None, *, counter_id=None,
               user_id=None, device_id=None, field_id=None, **data) -> None:
        s.add(Event(
            at=self.now(), kind=kind,
            ticket_id=ticket.id if ticket else None,
            field_id=field_id if field_id is not None else (ticket.field_id if ticket else None),
            counter_id=counter_id, user_id=user_id, device_id=device_id, data=data,
        ))

    def roll_day(self) -> bool:
        """Close yesterday's leftovers once per new service day (cheap check in memory)."""
        today = self.today()
        if self._expired_through == today:
            return False
        self.expire_day()
        first = self._expired_through is None
        self._expired_through = today
        return not first

    def config_changed(self, what: str) -> None:
        """Admin changed fields, counters, announcements or the office: boards and kiosks resync."""
        self._forget_caches()
        self._tell([Change("config_changed", {"what": what})])

    def device_revoked(self, device_id: int) -> None:
        """A paired device lost its access: its open connections must close at once."""
        self._tell([Change("device_revoked", {"device": device_id})])

    # ----- issue ----------------------------------------------------------
    def issue_ticket(self, field_code: str, priority: str | None = None, *,
                     idempotency_key: str | None = None, device_id: int | None = None,
                     issued_from: str | None = None, context: dict | None = None) -> dict:
        """Issue the next ticket of a field. `issued_from` is the client's address; `context` goes
        to the issue hooks as it is (the request's base URL for the ticket's QR, say).

        An idempotency key belongs to the client that sent it (the paired kiosk, else the
        address): another client's retry with the same key makes its own ticket, never sees
        this one."""
        if priority is not None and priority not in PRIORITY_REASONS:
            raise _invalid("invalid_priority", "Lý do ưu tiên không hợp lệ.")
        self.roll_day()
        if idempotency_key:
            client = f"device:{device_id}" if device_id is not None else f"address:{issued_from}"
            idempotency_key = hashlib.sha256(f"{client}\n{idempotency_key}".encode()).hexdigest()
            existing = self._ticket_by_key(idempotency_key, field_code, priority)
            if existing:
                return existing
        try:
            with self.storage.write() as s:
                view = self._issue(s, field_code, priority, idempotency_key, device_id, issued_from, context or {})
        except IntegrityError:
            # Two retries with the same key raced; the other one won.
            if idempotency_key:
                existing = self._ticket_by_key(idempotency_key, field_code, priority)
                if existing:
                    return existing
            raise
        self._tell([Change("ticket_issued", {"ticket": view}), Change("queue_changed", {"fields": [field_code]})])
        view["replayed"] = False
        return view

    def _ticket_by_key(self, key: str, field_code: str, priority: str | None) -> dict | None:
        with self.storage.read() as s:
            ticket = s.scalar(select(Ticket).where(Ticket.idempotency_key == key))
            if ticket is None:
                return None
            field = s.get(Field, ticket.issued_field_id)
            if field.code != field_code or ticket.priority != priority:
                raise _conflict("idempotency_conflict",
                                "Mã chống trùng (Idempotency-Key) này đã dùng cho một yêu cầu khác.")
            view = self._ticket_view(s, ticket, s.get(Field, ticket.field_id))
            view["replayed"] = True
            return view

    def _issue(self, s: Session, field_code, priority, idempotency_key, device_id, issued_from,
               context: dict) -> dict:
        """The hot path: a few Core statements in one short transaction."""
        rules = self._field_rules().get(field_code)
        if rules is None or not rules.active:
            raise _not_found("field_not_found", "Không có lĩnh vực này hoặc lĩnh vực đã ngừng nhận hồ sơ.")
        now = self.now()
        local_now = now.astimezone(self.tz)
        if rules.spans and not any(a <= local_now.time() < b for a, b in rules.spans):
            hours = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in rules.spans)
            raise _conflict("outside_hours",
                            f"Lĩnh vực {rules.name} chỉ cấp số trong giờ {hours}. Xin mời quay lại trong giờ làm việc.")
        day = local_now.date()
        number = self._next_number(s, rules.id, day)
        if rules.daily_cap and number > rules.daily_cap:
            raise _conflict("daily_cap_reached",
                            f"Lĩnh vực {rules.name} đã hết số trong ngày hôm nay ({rules.daily_cap} số). "
                            "Xin mời quay lại vào ngày làm việc tiếp theo.")
        rank = 0 if priority else 1
        code = f"{rules.prefix}{number:03d}"
        token = secrets.token_urlsafe(18)
        conn = s.connection()
        ticket_id = conn.execute(_INSERT_TICKET, {
            "code": code, "number": number, "service_day": day, "issued_field_id": rules.id,
            "field_id": rules.id, "priority": priority, "priority_rank": rank, "status": "waiting",
            "token": token, "idempotency_key": idempotency_key, "device_id": device_id,
            "issued_from": (issued_from or "")[:64] or None, "issued_at": now,
            "call_count": 0,
        }).scalar_one()
        conn.execute(_INSERT_EVENT, {"at": now, "kind": "issued", "ticket_id": ticket_id, "field_id": rules.id,
                                     "counter_id": None, "user_id": None, "device_id": device_id,
                                     "data": {"code": code, "priority": priority}})
        for hook in self.issue_hooks:
            hook(conn, IssuedTicket(ticket_id, token, code, device_id, now, context))
        # Every waiting ticket of this field with the same or a higher priority was issued earlier.
        ahead = conn.execute(_COUNT_AHEAD, {"field_id": rules.id, "day": day, "rank": rank,
                                            "ticket_id": ticket_id}).scalar_one()
        service, counters = self._estimate_inputs(s)
        per_ticket = service.get(rules.id) or (rules.minutes or 0) * 60 or DEFAULT_SERVICE_S
        return {
            "code": code, "number": number, "field": rules.code, "field_name": rules.name, "priority": priority,
            "status": "waiting", "issued_at": self.local(now), "called_at": None, "finished_at": None,
            "service_day": day.isoformat(), "ahead": ahead,
            "estimated_wait_s": int(round(per_ticket * ahead / max(1, counters.get(rules.id, 0)))),
            "token": token, "counter": None, "call_count": 0,
        }

    def _field_rules(self) -> dict[str, "FieldRules"]:
        """Fields as issuing needs them, cached briefly: admin edits reach every process within seconds."""
        expires, rules = self._rules_cache
        if time.monotonic() < expires:
            return rules
        with self.storage.read() as s:
            rules = {f.code: FieldRules(f.id, f.code, f.name, f.prefix, f.active, parse_hours(f.hours),
                                        f.daily_cap, f.minutes) for f in s.scalars(select(Field))}
        self._rules_cache = (time.monotonic() + CACHE_S, rules)
        return rules

    def _field_rules_by_id(self) -> dict[int, "FieldRules"]:
        return {rules.id: rules for rules in self._field_rules().values()}

    def _estimate_inputs(self, s: Session) -> tuple[dict[int, float], dict[int, int]]:
        """Recent service times and open counters per field, cached briefly (they change slowly)."""
        expires, service, counters = self._estimate_cache
        if time.monotonic() >= expires:
            service, counters = self._service_seconds(s), self._open_counters(s)
            self._estimate_cache = (time.monotonic() + CACHE_S, service, counters)
        return service, counters

    def _forget_caches(self) -> None:
        self._rules_cache = (0.0, {})
        self._estimate_cache = (0.0, {}, {})

    def _next_number(self, s: Session, field_id: int, day: dt.date) -> int:
        stmt = _NEXT_NUMBER[s.bind.dialect.name]
        return s.connection().execute(stmt, {"field_id": field_id, "day": day}).scalar_one()

    # ----- counter actions -------------------------------------------------
    def _counter(self, s: Session, number: int, *, lock: bool = False) -> Counter:
        query = select(Counter).where(Counter.number == number, Counter.active.is_(True))
        if lock:
            query = query.with_for_update()
        counter = s.scalar(query)
        if counter is None:
            raise _not_found("counter_not_found", f"Không có quầy số {number}.")
        return counter

    def _served_field_ids(self, counter: Counter) -> list[int]:
        return [link.field_id for link in counter.field_links]

    def _finish_current(self, s: Session, counter: Counter, clerk_id, changes: list[Change]) -> None:
        if counter.current_ticket_id is None:
            return
        ticket = s.get(Ticket, counter.current_ticket_id)
        counter.current_ticket_id = None
        if ticket is not None and ticket.status == "called":
            ticket.status = "done"
            ticket.finished_at = self.now()
            self._event(s, "finished", ticket, counter_id=counter.id, user_id=clerk_id)
            changes.append(Change("ticket_finished", {"counter": counter.number, "token": ticket.token,
                                                      "ticket": {"code": ticket.code}}))
            changes.append(Change("ticket_updated", {"token": ticket.token}))

    def _call(self, s: Session, counter: Counter, ticket: Ticket, clerk_id, kind: str) -> None:
        now = self.now()
        ticket.status = "called"
        ticket.called_at = now
        ticket.first_called_at = ticket.first_called_at or now
        ticket.counter_id = counter.id
        ticket.clerk_id = clerk_id
        ticket.call_count = (ticket.call_count or 0) + 1
        counter.current_ticket_id = ticket.id
        if counter.state == "closed":
            counter.state = "open"
        self._event(s, kind, ticket, counter_id=counter.id, user_id=clerk_id, code=ticket.code)

    def _ensure_can_call(self, counter: Counter) -> None:
        if counter.state == "paused":
            raise _conflict("counter_paused", f"Quầy số {counter.number} đang tạm dừng. Bấm Tiếp tục để gọi số.")

    def call_next(self, counter_number: int, clerk_id: int | None = None) -> dict:
        """The clerk's most frequent action, so it runs as a few prebuilt Core statements."""
        self.roll_day()
        changes: list[Change] = []
        with self.storage.write() as s:
            conn = s.connection()
            postgres = s.bind.dialect.name == "postgresql"
            counter = conn.execute(_LOCK_COUNTER[postgres], {"number": counter_number}).first()
            if counter is None:
                raise _not_found("counter_not_found", f"Không có quầy số {counter_number}.")
            if counter.state == "paused":
                raise _conflict("counter_paused", f"Quầy số {counter_number} đang tạm dừng. Bấm Tiếp tục để gọi số.")
            now = self.now()
            if counter.current_ticket_id is not None:
                done = conn.execute(_FINISH_TICKET, {"ticket_id": counter.current_ticket_id, "now": now}).first()
                if done is not None:
                    conn.execute(_INSERT_EVENT, {"at": now, "kind": "finished", "ticket_id": counter.current_ticket_id,
                                                 "field_id": done.field_id, "counter_id": counter.id,
                                                 "user_id": clerk_id, "device_id": None, "data": {}})
                    changes += [Change("ticket_finished", {"counter": counter_number, "token": done.token,
                                                           "ticket": {"code": done.code}}),
                                Change("ticket_updated", {"token": done.token})]
            field_ids = conn.execute(_COUNTER_FIELDS, {"counter_id": counter.id}).scalars().all()
            ticket_id = conn.execute(_NEXT_WAITING[postgres], {"field_ids": field_ids, "day": self.today()}
                                     ).scalar() if field_ids else None
            if ticket_id is None:
                conn.execute(_SET_CURRENT, {"b_counter_id": counter.id, "b_ticket_id": None})
                if changes:
                    s.commit()
                    self._tell(changes + [Change("counter_changed", {"counter": counter_number})])
                raise _not_found("queue_empty", "Không còn ai đang chờ ở các lĩnh vực của quầy này.")
            ticket = conn.execute(_CALL_TICKET, {"ticket_id": ticket_id, "now": now, "b_counter_id": counter.id,
                                                 "b_clerk_id": clerk_id}).one()
            conn.execute(_SET_CURRENT, {"b_counter_id": counter.id, "b_ticket_id": ticket_id})
            conn.execute(_INSERT_EVENT, {"at": now, "kind": "called", "ticket_id": ticket_id,
                                         "field_id": ticket.field_id, "counter_id": counter.id, "user_id": clerk_id,
                                         "device_id": None, "data": {"code": ticket.code}})
            view = self._called_view(ticket, counter_number)
        self._announce_call(view, counter_number, recall=False, changes=changes)
        return for_staff(view)

    def _called_view(self, ticket, counter_number: int) -> dict:
        """The view of a ticket just called, from what is in hand (no further queries)."""
        rules = self._field_rules_by_id().get(ticket.field_id)
        return {
            "code": ticket.code, "number": ticket.number,
            "field": rules.code if rules else None, "field_name": rules.name if rules else None,
            "priority": ticket.priority, "status": ticket.status,
            "issued_at": self.local(ticket.issued_at), "called_at": self.local(ticket.called_at),
            "finished_at": self.local(ticket.finished_at), "service_day": ticket.service_day.isoformat(),
            "ahead": 0, "estimated_wait_s": 0, "token": ticket.token, "counter": counter_number,
            "call_count": ticket.call_count,
        }

    def call_ticket(self, counter_number: int, code: str, clerk_id: int | None = None) -> dict:
        """Call a given waiting ticket, or bring back a same-day no-show, by its code."""
        self.roll_day()
        code = (code or "").strip().upper()
        changes: list[Change] = []
        with self.storage.write() as s:
            counter = self._counter(s, counter_number, lock=True)
            self._ensure_can_call(counter)
            ticket = s.scalar(
                select(Ticket).where(Ticket.code == code, Ticket.service_day == self.today())
                .order_by(Ticket.id.desc()).limit(1).with_for_update()
            )
            if ticket is None:
                raise _not_found("ticket_not_found", f"Không tìm thấy số {code} trong ngày hôm nay.")
            if ticket.status not in ("waiting", "no_show"):
                raise _conflict("ticket_not_callable",
                                f"Số {code} đang ở trạng thái “{STATUS_NAMES[ticket.status]}”, không gọi được.")
            if counter.current_ticket_id == ticket.id:
                raise _conflict("ticket_not_callable", f"Số {code} đang ở quầy này.")
            was_no_show = ticket.status == "no_show"
            self._finish_current(s, counter, clerk_id, changes)
            self._call(s, counter, ticket, clerk_id, "recalled_no_show" if was_no_show else "called_by_code")
            view = self._ticket_view(s, ticket)
        self._announce_call(view, counter_number, recall=False, changes=changes)
        return for_staff(view)

    def recall(self, counter_number: int, clerk_id: int | None = None) -> dict:
        with self.storage.write() as s:
            counter = self._counter(s, counter_number, lock=True)
            ticket = self._current(s, counter)
            ticket.call_count += 1
            ticket.called_at = self.now()
            self._event(s, "recalled", ticket, counter_id=counter.id, user_id=clerk_id, code=ticket.code)
            view = self._ticket_view(s, ticket)
        self._announce_call(view, counter_number, recall=True, changes=[])
        return for_staff(view)

    def _current(self, s: Session, counter: Counter) -> Ticket:
        ticket = s.get(Ticket, counter.current_ticket_id) if counter.current_ticket_id else None
        if ticket is None or ticket.status != "called":
            raise _conflict("no_current_ticket", f"Quầy số {counter.number} chưa gọi số nào.")
        return ticket

    def _announce_call(self, view: dict, counter_number: int, recall: bool, changes: list[Change]) -> None:
        changes += [
            Change("ticket_called", {
                "ticket": {"code": view["code"], "field": view["field"], "priority": view["priority"]},
                "counter": counter_number, "recall": recall, "at": view["called_at"],
            }),
            Change("ticket_updated", {"token": view["token"]}),
            Change("counter_changed", {"counter": counter_number}),
            Change("queue_changed", {"fields": [view["field"]]}),
        ]
        self._tell(changes)

    def _end_current(self, counter_number: int, clerk_id, status: str, event: str) -> dict:
        changes: list[Change] = []
        with self.storage.write() as s:
            counter = self._counter(s, counter_number, lock=True)
            ticket = self._current(s, counter)
            if status == "done":
                self._finish_current(s, counter, clerk_id, changes)
            else:
                ticket.status = status
                ticket.finished_at = self.now()
                counter.current_ticket_id = None
                self._event(s, event, ticket, counter_id=counter.id, user_id=clerk_id)
                changes.append(Change("ticket_updated", {"token": ticket.token}))
            view = self._ticket_view(s, ticket)
        self._tell(changes + [Change("counter_changed", {"counter": counter_number})])
        return for_staff(view)

    def finish(self, counter_number: int, clerk_id: int | None = None) -> dict:
        return self._end_current(counter_number, clerk_id, "done", "finished")

    def no_show(self, counter_number: int, clerk_id: int | None = None) -> dict:
        return self._end_current(counter_number, clerk_id, "no_show", "no_show")

    def transfer(self, counter_number: int, field_code: str, clerk_id: int | None = None) -> dict:
        """Send the current ticket to another field; it keeps its code and its place by issue time."""
        with self.storage.write() as s:
            counter = self._counter(s, counter_number, lock=True)
            ticket = self._current(s, counter)
            target = s.scalar(select(Field).where(Field.code == field_code, Field.active.is_(True)))
            if target is None:
                raise _not_found("field_not_found", "Không có lĩnh vực này hoặc lĩnh vực đã ngừng nhận hồ sơ.")
            if target.id == ticket.field_id:
                raise _conflict("same_field", "Số này đã thuộc lĩnh vực đó.")
            source_id = ticket.field_id
            ticket.field_id = target.id
            ticket.status = "waiting"
            ticket.counter_id = None
            counter.current_ticket_id = None
            self._event(s, "transferred", ticket, counter_id=counter.id, user_id=clerk_id,
                        from_field=source_id, to_field=target.id)
            view = self._ticket_view(s, ticket, target)
            source_code = s.get(Field, source_id).code
        self._tell([Change("ticket_updated", {"token": view["token"]}),
                    Change("counter_changed", {"counter": counter_number}),
                    Change("queue_changed", {"fields": [source_code, field_code]})])
        return for_staff(view)

    def set_counter_state(self, counter_number: int, state: str, clerk_id: int | None = None) -> dict:
        if state not in COUNTER_STATES:
            raise _invalid("invalid_state", "Trạng thái quầy không hợp lệ.")
        with self.storage.write() as s:
            counter = self._counter(s, counter_number, lock=True)
            if state != "open" and counter.current_ticket_id:
                raise _conflict("ticket_in_service",
                                "Quầy đang phục vụ một số. Hãy bấm Hoàn thành hoặc Vắng mặt trước khi tạm dừng.")
            if counter.state != state:
                counter.state = state
                self._event(s, {"open": "resumed", "paused": "paused", "closed": "closed"}[state],
                            counter_id=counter.id, user_id=clerk_id)
        self._tell([Change("counter_changed", {"counter": counter_number}),
                    Change("queue_changed", {"fields": []})])
        return self.counter_view(counter_number)

    def cancel(self, token: str) -> dict:
        """A citizen gives up a waiting ticket (from its own page)."""
        return self._cancel(Ticket.token == token)

    def cancel_by_code(self, code: str, user_id: int) -> dict:
        """An admin cancels a waiting ticket of today (one taken outside the kiosks, say)."""
        code = (code or "").strip().upper()
        view = self._cancel(and_(Ticket.code == code, Ticket.service_day == self.today()), user_id=user_id)
        return for_staff(view)

    def _cancel(self, which, user_id: int | None = None) -> dict:
        with self.storage.write() as s:
            ticket = s.scalar(select(Ticket).where(which).order_by(Ticket.id.desc()).limit(1).with_for_update())
            if ticket is None:
                raise _not_found("ticket_not_found", "Không tìm thấy phiếu này.")
            if ticket.status != "waiting":
                raise _conflict("ticket_not_waiting", "Chỉ huỷ được số đang chờ.")
            ticket.status = "cancelled"
            ticket.finished_at = self.now()
            self._event(s, "cancelled", ticket, user_id=user_id)
            view = self._ticket_view(s, ticket)
        self._tell([Change("ticket_updated", {"token": view["token"]}),
                    Change("queue_changed", {"fields": [view["field"]]})])
        return view

    def tickets_outside_kiosks(self) -> list[dict]:
        """Today's tickets not taken at a paired kiosk, newest first, for the admin to check."""
        with self.storage.read() as s:
            rows = s.execute(
                select(Ticket.code, Ticket.status, Ticket.priority, Ticket.issued_at, Ticket.issued_from,
                       Field.code, Field.name)
                .join(Field, Field.id == Ticket.field_id)
                .outerjoin(Device, Device.id == Ticket.device_id)
                .where(Ticket.service_day == self.today(),
                       or_(Ticket.device_id.is_(None), Device.kind != "kiosk"))
                .order_by(Ticket.id.desc()).limit(1000)
            ).all()
        return [{"code": code, "status": status, "priority": priority, "issued_at": self.local(at),
                 "issued_from": address, "field": field_code, "field_name": field_name}
                for code, status, priority, at, address, field_code, field_name in rows]

    def expire_day(self, before: dt.date | None = None) -> int:
        """Close as `expired` every ticket of an earlier service day still waiting or called."""
        before = before or self.today()
        with self.storage.write() as s:
            stale = s.scalars(
                select(Ticket).where(Ticket.service_day < before, Ticket.status.in_(("waiting", "called")))
            ).all()
            if not stale:
                return 0
            ids = {t.id for t in stale}
            for ticket in stale:
                ticket.status = "expired"
                ticket.finished_at = self.now()
                self._event(s, "expired", ticket, service_day=ticket.service_day.isoformat())
            s.execute(update(Counter).where(Counter.current_ticket_id.in_(ids)).values(current_ticket_id=None))
        self._tell([Change("counter_changed", {"counter": None}), Change("queue_changed", {"fields": []})])
        return len(stale)

    # ----- ratings --------------------------------------------------------
    def rating_scale(self) -> dict:
        with self.storage.read() as s:
            office = s.scalar(select(Office).limit(1))
            scale = office.rating_scale if office else 3
            reasons = (office.settings or {}).get("rating_reasons") if office else None
        return {
            "scale": scale,
            "levels": [{"score": score, "name": name} for score, name in RATING_LEVELS[scale]],
            "reasons": reasons or DEFAULT_RATING_REASONS,
            "comment_max": COMMENT_MAX,
        }

    def rate(self, token: str, score: Any, reasons: Any = None, comment: Any = None, *,
             source: str = "phone", tablet_counter_id: int | None = None) -> dict:
        """The citizen's one rating of a served ticket: from its own page (the token is the secret)
        or from the tablet paired to the counter that served it (`tablet_counter_id`)."""
        scale = self.rating_scale()
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= scale["scale"]:
            raise _invalid("invalid_score", f"Điểm đánh giá phải là số nguyên từ 1 đến {scale['scale']}.")
        reasons = reasons or []
        known = {r["code"] for r in scale["reasons"]}
        if not isinstance(reasons, list) or not all(isinstance(r, str) and r in known for r in reasons):
            raise _invalid("invalid_reasons", "Lý do không hài lòng không hợp lệ.")
        comment = comment or ""
        if not isinstance(comment, str) or len(comment) > COMMENT_MAX:
            raise _invalid("invalid_comment", f"Góp ý tối đa {COMMENT_MAX} ký tự.")
        with self.storage.write() as s:
            ticket = s.scalar(select(Ticket).where(Ticket.token == token).with_for_update())
            if ticket is None:
                raise _not_found("ticket_not_found", "Không tìm thấy phiếu này.")
            if ticket.status != "done":
                raise _conflict("not_served", "Số này chưa được phục vụ xong nên chưa đánh giá được.")
            if source == "tablet" and ticket.counter_id != tablet_counter_id:
                raise _conflict("wrong_counter", "Máy tính bảng này chỉ nhận đánh giá cho quầy của nó.")
            if s.scalar(select(Rating.id).where(Rating.ticket_id == ticket.id)):
                raise _conflict("already_rated", "Số này đã được đánh giá. Xin cảm ơn!")
            rating = Rating(ticket_id=ticket.id, score=score, scale=scale["scale"], reasons=sorted(set(reasons)),
                            comment=comment.strip(), counter_id=ticket.counter_id, clerk_id=ticket.clerk_id,
                            field_id=ticket.field_id, created_at=self.now(), source=source)
            s.add(rating)
            s.flush()
            self._event(s, "rated", ticket, counter_id=ticket.counter_id, user_id=ticket.clerk_id, score=score,
                        source=source)
            counter_number = s.scalar(select(Counter.number).where(Counter.id == ticket.counter_id))
        self._tell([Change("rated", {"token": token, "counter": counter_number}),
                    Change("ticket_updated", {"token": token})])
        return {"ticket": ticket.code, "score": score, "reasons": rating.reasons, "comment": rating.comment,
                "source": source}

    # ----- reading ----------------------------------------------------------
    def ticket_status(self, token: str) -> dict:
        with self.storage.read() as s:
            ticket = s.scalar(select(Ticket).where(Ticket.token == token))
            if ticket is None:
                raise _not_found("ticket_not_found", "Không tìm thấy phiếu này.")
            view = self._ticket_view(s, ticket)
            view["rated"] = s.scalar(select(Rating.id).where(Rating.ticket_id == ticket.id)) is not None
            return view

    def _ticket_view(self, s: Session, ticket: Ticket, field: Field | None = None) -> dict:
        field = field if field is not None and field.id == ticket.field_id else s.get(Field, ticket.field_id)
        ahead = people_ahead(s, ticket)
        counter_number = None
        if ticket.counter_id and ticket.status in ("called", "done", "no_show"):
            counter_number = s.scalar(select(Counter.number).where(Counter.id == ticket.counter_id))
        wait = self._estimate(s, field, ahead) if ticket.status == "waiting" else 0
        return {
            "code": ticket.code,
            "number": ticket.number,
            "field": field.code,
            "field_name": field.name,
            "priority": ticket.priority,
            "status": ticket.status,
            "issued_at": self.local(ticket.issued_at),
            "called_at": self.local(ticket.called_at),
            "finished_at": self.local(ticket.finished_at),
            "service_day": ticket.service_day.isoformat(),
            "ahead": ahead,
            "estimated_wait_s": wait,
            "token": ticket.token,
            "counter": counter_number,
            "call_count": ticket.call_count or 0,
        }

    def _service_seconds(self, s: Session, field_ids: list[int] | None = None) -> dict[int, float]:
        """Mean service time per field over its last served tickets (up to 7 days back)."""
        since = self.now() - dt.timedelta(days=7)
        query = (
            select(Ticket.field_id, Ticket.first_called_at, Ticket.finished_at)
            .where(Ticket.status == "done", Ticket.finished_at >= since, Ticket.first_called_at.is_not(None))
            .order_by(Ticket.finished_at.desc())
            .limit(2000)
        )
        if field_ids is not None:
            query = query.where(Ticket.field_id.in_(field_ids))
        samples: dict[int, list[float]] = {}
        for field_id, start, end in s.execute(query):
            seconds = (end - start).total_seconds()
            if seconds < MIN_SERVICE_SAMPLE_S:  # a slip of the finger, not a service
                continue
            bucket = samples.setdefault(field_id, [])
            if len(bucket) < 20:
                bucket.append(seconds)
        return {fid: statistics.fmean(v) for fid, v in samples.items() if len(v) >= 3}

    def _open_counters(self, s: Session) -> dict[int, int]:
        rows = s.execute(
            select(CounterField.field_id, func.count())
            .join(Counter, Counter.id == CounterField.counter_id)
            .where(Counter.state == "open", Counter.active.is_(True))
            .group_by(CounterField.field_id)
        )
        return dict(rows.all())

    def _estimate(self, s: Session, field: Field, ahead: int) -> int:
        service, counters = self._estimate_inputs(s)
        per_ticket = service.get(field.id) or ((field.minutes or 0) * 60) or DEFAULT_SERVICE_S
        return int(round(per_ticket * ahead / max(1, counters.get(field.id, 0))))

    def field_summaries(self, active_only: bool = True) -> list[dict]:
        """Fields with their waiting counts and estimated waits, in display order."""
        self.roll_day()
        with self.storage.read() as s:
            query = select(Field).order_by(Field.position, Field.id)
            if active_only:
                query = query.where(Field.active.is_(True))
            fields = s.scalars(query).all()
            waiting = dict(s.execute(
                select(Ticket.field_id, func.count()).where(Ticket.status == "waiting",
                                                            Ticket.service_day == self.today())
                .group_by(Ticket.field_id)
            ).all())
            issued = dict(s.execute(
                select(DayCounter.field_id, DayCounter.last_number).where(DayCounter.service_day == self.today())
            ).all())
            local_now = self.now().astimezone(self.tz).time()
            out = []
            for f in fields:
                spans = parse_hours(f.hours)
                open_now = not spans or any(a <= local_now < b for a, b in spans)
                out.append({
                    "code": f.code, "name": f.name, "hint": f.hint, "prefix": f.prefix, "icon": f.icon,
                    "waiting": waiting.get(f.id, 0),
                    "estimated_wait_s": self._estimate(s, f, waiting.get(f.id, 0)),
                    "hours": list(f.hours or []), "open_now": open_now,
                    "daily_cap": f.daily_cap, "issued_today": issued.get(f.id, 0),
                    "cap_reached": bool(f.daily_cap and issued.get(f.id, 0) >= f.daily_cap),
                    "active": f.active,
                })
            return out

    def counter_view(self, counter_number: int) -> dict:
        """What a clerk's console shows: state, current ticket, waiting list, today's count."""
        with self.storage.read() as s:
            counter = self._counter(s, counter_number)
            field_ids = self._served_field_ids(counter)
            fields = {f.id: f for f in s.scalars(select(Field).where(Field.id.in_(field_ids)))} if field_ids else {}
            current = s.get(Ticket, counter.current_ticket_id) if counter.current_ticket_id else None
            waiting = s.scalars(
                select(Ticket).where(Ticket.status == "waiting", Ticket.field_id.in_(field_ids or [-1]),
                                     Ticket.service_day == self.today())
                .order_by(Ticket.priority_rank, Ticket.issued_at, Ticket.id).limit(200)
            ).all()
            served_today = s.scalar(
                select(func.count(Ticket.id)).where(Ticket.counter_id == counter.id, Ticket.status == "done",
                                                    Ticket.service_day == self.today())
            )
            no_shows = s.scalars(
                select(Ticket.code).where(Ticket.counter_id == counter.id, Ticket.status == "no_show",
                                          Ticket.service_day == self.today()).order_by(Ticket.finished_at.desc())
            ).all()
            return {
                "number": counter.number, "name": counter.name, "state": counter.state,
                "fields": [{"code": fields[i].code, "name": fields[i].name, "prefix": fields[i].prefix}
                           for i in field_ids if i in fields],
                "current": for_staff(self._ticket_view(s, current)) if current else None,
                "waiting": [{"code": t.code, "field": fields[t.field_id].code, "priority": t.priority,
                             "issued_at": self.local(t.issued_at)} for t in waiting],
                "served_today": served_today,
                "no_shows_today": list(no_shows),
            }

    def _board_counter(self, s: Session, c: Counter, codes: dict[int, str]) -> dict:
        current = s.get(Ticket, c.current_ticket_id) if c.current_ticket_id else None
        return {
            "number": c.number, "name": c.name, "state": c.state,
            "fields": [codes[link.field_id] for link in c.field_links if link.field_id in codes],
            "current": None if current is None else {
                "code": current.code, "field": codes.get(current.field_id),
                "priority": current.priority, "called_at": self.local(current.called_at),
            },
        }

    def board_counter(self, number: int) -> dict:
        """One counter as the board shows it (the `counters` entries of `state`)."""
        with self.storage.read() as s:
            counter = self._counter(s, number)
            codes = {f.id: f.code for f in s.scalars(select(Field))}
            return self._board_counter(s, counter, codes)

    def state(self) -> dict:
        """The snapshot every board starts from (GET /api/state and the socket `state` event)."""
        fields = self.field_summaries()
        with self.storage.read() as s:
            office = s.scalar(select(Office).limit(1))
            codes = {f.id: f.code for f in s.scalars(select(Field))}
            counters = [self._board_counter(s, c, codes) for c in
                        s.scalars(select(Counter).where(Counter.active.is_(True)).order_by(Counter.number))]
            recent = s.execute(
                select(Event.kind, Event.at, Ticket.code, Ticket.field_id, Ticket.priority, Counter.number)
                .join(Ticket, Ticket.id == Event.ticket_id)
                .join(Counter, Counter.id == Event.counter_id)
                .where(Event.kind.in_(("called", "called_by_code", "recalled_no_show", "recalled")),
                       Event.at >= dt.datetime.combine(self.today(), dt.time(), self.tz))
                .order_by(Event.id.desc()).limit(RECENT_CALLS)
            ).all()
            announcements = s.scalars(
                select(Announcement).where(Announcement.active.is_(True)).order_by(Announcement.position, Announcement.id)
            ).all()
            last_event = s.scalar(select(func.max(Event.id))) or 0
            return {
                "version": last_event,
                "at": self.local(self.now()),
                "office": {"name": office.name if office else "", "unit": office.unit if office else ""},
                "counters": counters,
                "recent_calls": [
                    {"ticket": {"code": code, "field": codes.get(fid), "priority": prio},
                     "counter": number, "recall": kind == "recalled", "at": self.local(at)}
                    for kind, at, code, fid, prio, number in recent
                ],
                "fields": [{k: f[k] for k in ("code", "name", "prefix", "waiting", "estimated_wait_s")} for f in fields],
                "announcements": [{"id": a.id, "text": a.text} for a in announcements],
            }


def for_staff(view: dict) -> dict:
    """A ticket as clerks and admins see it: without its token, the citizen's secret. With the
    token a clerk could rate their own service or follow the citizen's page."""
    return {key: value for key, value in view.items() if key != "token"}


STATUS_NAMES = {
    "waiting": "đang chờ", "called": "đang được gọi", "done": "đã phục vụ xong",
    "no_show": "vắng mặt", "cancelled": "đã huỷ", "expired": "hết hạn",
}

