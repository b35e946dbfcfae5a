"""What the engine shows: a ticket, a field's queue, a counter, the board's snapshot, the
province's overview. Reads only; every query names its office."""
from __future__ import annotations

import datetime as dt
import statistics
import time
from typing import NamedTuple

from sqlalchemy import and_, bindparam, case, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from ..models import (
    Announcement, Booking, Counter, CounterField, DayCounter, Device, Event, Field, Rating, Ticket, UTCDateTime,
)
from .base import (
    BOOKINGS_CACHE_S, COUNTERS_CACHE_S, DEFAULT_SERVICE_S, MIN_SERVICE_SAMPLE_S, RECENT_CALLS, SERVICE_CACHE_S,
    SERVICE_SAMPLES, EngineBase, for_staff, not_found, rules_of, takes_bookings,
)
from .hours import open_at, parse_hours

CALL_EVENTS = ("called", "called_by_code", "recalled_no_show", "recalled")

# The board's counters as rows, built once: every board, console and tablet that connects gets
# `state`, all of them at once after a restart (ORM objects for 40 counters, their field links and
# tickets were most of its cost).
_BOARD_COUNTERS = (select(Counter.id, Counter.number, Counter.name, Counter.state, Counter.current_ticket_id)
                   .where(Counter.office_id == bindparam("office_id"), Counter.active.is_(True))
                   .order_by(Counter.number))
_BOARD_LINKS = (select(CounterField.counter_id, CounterField.field_id)
                .where(CounterField.counter_id.in_(bindparam("ids", expanding=True)))
                .order_by(CounterField.counter_id, CounterField.position))
_BOARD_TICKETS = (select(Ticket.id, Ticket.code, Ticket.field_id, Ticket.priority, Ticket.called_at,
                         Ticket.booked_start).where(Ticket.id.in_(bindparam("ids", expanding=True))))
_LAST_EVENT = select(func.max(Event.id)).where(Event.office_id == bindparam("office_id"))  # ix_event_office_id
_EVENTS_SINCE = (select(func.count()).select_from(Event)  # ix_event_office_at
                 .where(Event.office_id == bindparam("office_id"), Event.at >= bindparam("since")))

# A reconnect storm (every board, console and tablet of a hall at once, after a restart or a
# network fault) builds `state` once per office, not once per socket. A snapshot is handed out
# again while its office has no new event (every change a board shows writes one, in any process:
# a call, a ticket, an admin's edit with its audit event), on the same service day, for at most
# STATE_CACHE_S (its waiting estimates move with the clock); `forget_caches` drops it too.
# "No new event" is counted, not read off the last id: PostgreSQL numbers rows when they are
# written, so a change in another process can commit after a newer one. The snapshot counts its
# office's events since STATE_WINDOW before it was taken (a transaction in flight then wrote its
# event after that), and is reused only while that count stands.
STATE_CACHE_S = 2.0
STATE_WINDOW = dt.timedelta(minutes=1)


class _Snapshot(NamedTuple):
    """An office's `state` as taken, with what says it still holds (see STATE_CACHE_S)."""
    expires: float  # time.monotonic()
    day: dt.date
    since: dt.datetime
    events: int  # the office's events since `since`, counted before the snapshot was read
    state: dict


def booked_and_started(now):
    """A checked-in booking whose slot has started: called before every walk-in ticket."""
    return and_(Ticket.booked_start.is_not(None), Ticket.booked_start <= now)


def people_ahead(s: Session, ticket: Ticket, now: dt.datetime | None = None) -> int:
    """How many waiting tickets of its field are called before this one: booked tickets whose slot
    has started (by slot start, then check-in), then priority, then issue time."""
    if ticket.status != "waiting":
        return 0
    now = now or dt.datetime.now(dt.timezone.utc)
    same_queue = [Ticket.status == "waiting", Ticket.field_id == ticket.field_id,
                  Ticket.service_day == ticket.service_day, Ticket.id != ticket.id]
    started = booked_and_started(now)
    if ticket.booked_start is not None and ticket.booked_start <= now:
        before = and_(started, or_(
            Ticket.booked_start < ticket.booked_start,
            and_(Ticket.booked_start == ticket.booked_start,
                 or_(Ticket.issued_at < ticket.issued_at,
                     and_(Ticket.issued_at == ticket.issued_at, Ticket.id < ticket.id)))))
    else:
        before = or_(started, and_(~started, or_(
            Ticket.priority_rank < ticket.priority_rank,
            and_(Ticket.priority_rank == ticket.priority_rank,
                 or_(Ticket.issued_at < ticket.issued_at,
                     and_(Ticket.issued_at == ticket.issued_at, Ticket.id < ticket.id))))))
    return s.scalar(select(func.count(Ticket.id)).where(*same_queue, before))


def queue_order(now) -> list:
    """The order of a counter's queue: booked tickets whose slot has started (by slot start), then
    priority, then issue time."""
    started = booked_and_started(now)
    return [case((started, 0), else_=1), case((started, Ticket.booked_start), else_=None),
            Ticket.priority_rank, Ticket.issued_at, Ticket.id]


def booked_marks(ticket_like, local) -> dict:
    """The keys a booked ticket carries besides a walk-in's (none for a walk-in)."""
    booked = getattr(ticket_like, "booked_start", None)
    return {"booked_start": local(booked)} if booked is not None else {}


class Views(EngineBase):
    # ----- estimates ---------------------------------------------------------------
    def _estimate_inputs(self, s: Session, office_id: int) -> tuple[dict[int, float], dict[int, int]]:
        """Mean recent service time and open counters per field of an office. Both are cached: the
        service times SERVICE_CACHE_S, learning this process's own finishes at once (a call finishes
        a ticket: reading them again after every call was a busy province's largest cost); the open
        counters COUNTERS_CACHE_S, forgotten when a counter of this process opens, pauses or closes."""
        now = time.monotonic()
        expires, samples = self._service_cache.get(office_id, (0.0, None))
        if samples is None or now >= expires:
            samples = self._service_samples(s, office_id)
            self._service_cache[office_id] = (now + SERVICE_CACHE_S, samples)
        expires, counters = self._counters_cache.get(office_id, (0.0, None))
        if counters is None or now >= expires:
            counters = self._open_counters(s, office_id)
            self._counters_cache[office_id] = (now + COUNTERS_CACHE_S, counters)
        return {fid: statistics.fmean(v) for fid, v in samples.items() if len(v) >= 3}, counters

    def _service_samples(self, s: Session, office_id: int) -> dict[int, tuple[float, ...]]:
        """Each field's last served tickets' service times, newest first (up to 7 days back)."""
        since = self.now() - dt.timedelta(days=7)
        query = (
            select(Ticket.field_id, Ticket.first_called_at, Ticket.finished_at)
            .where(Ticket.office_id == office_id, Ticket.status == "done", Ticket.finished_at >= since,
                   Ticket.first_called_at.is_not(None))
            .order_by(Ticket.finished_at.desc())
            .limit(2000)
        )
        samples: dict[int, list[float]] = {}
        for field_id, start, end in s.execute(query):
            seconds = (end - start).total_seconds()
            if seconds < MIN_SERVICE_SAMPLE_S:  # a slip of the finger, not a service
                continue
            bucket = samples.setdefault(field_id, [])
            if len(bucket) < SERVICE_SAMPLES:
                bucket.append(seconds)
        return {field_id: tuple(bucket) for field_id, bucket in samples.items()}

    @staticmethod
    def _open_counters(s: Session, office_id: int) -> dict[int, int]:
        rows = s.execute(
            select(CounterField.field_id, func.count())
            .join(Counter, Counter.id == CounterField.counter_id)
            .where(Counter.office_id == office_id, Counter.state == "open", Counter.active.is_(True))
            .group_by(CounterField.field_id)
        )
        return dict(rows.all())

    def _wait_for(self, s: Session, office_id: int, field_id: int, minutes: int | None, ahead: int,
                  walk_in: bool = True, bookable: bool = False) -> int:
        """The estimated wait of someone with `ahead` people before them. A walk-in in a field that
        takes bookings also waits for the bookings that will come before their turn."""
        service, counters = self._estimate_inputs(s, office_id)
        per_ticket = service.get(field_id) or (minutes or 0) * 60 or DEFAULT_SERVICE_S
        open_counters = max(1, counters.get(field_id, 0))
        wait = per_ticket * ahead / open_counters
        if walk_in and bookable:
            expected = self.expected_bookings(s, office_id, field_id, dt.timedelta(seconds=wait))
            wait = per_ticket * (ahead + expected) / open_counters
        return int(round(wait))

    def expected_bookings(self, s: Session, office_id: int, field_id: int, horizon: dt.timedelta) -> int:
        """Bookings of a field that will come before a walk-in who waits `horizon` from now: booked
        and not yet checked in, or checked in and waiting for their slot to start."""
        until = self.now() + horizon
        return sum(1 for start in self._booking_starts(s, office_id, field_id) if start <= until)

    def _booking_starts(self, s: Session, office_id: int, field_id: int) -> list[dt.datetime]:
        """The slot starts of the field's bookings still to come (see `expected_bookings`).

        Read for the whole office at once and kept BOOKINGS_CACHE_S: every estimate of a field
        that takes bookings needs them, and a busy hall makes several estimates a second. This
        process's own booking changes forget them at once (`forget_bookings`); what time passes
        is filtered here, so the cache only ever holds more than is still to come, never less.
        What a session older than the last change read is used, not kept: its snapshot may predate it."""
        expires, booked, early = self._bookings_cache.get(office_id, (0.0, (), ()))
        now = self.now()
        if time.monotonic() >= expires:
            booked = tuple(s.execute(select(Booking.field_id, Booking.start).where(
                Booking.office_id == office_id, Booking.status == "booked",
                Booking.start > now - self.booking_settings.checkin_after)).all())
            early = tuple(s.execute(select(Ticket.field_id, Ticket.booked_start).where(
                Ticket.office_id == office_id, Ticket.status == "waiting", Ticket.booked_start > now)).all())
            if s.info.get("opened_ns", 0) > self._bookings_changed_ns.get(office_id, self._bookings_changed_ns[None]):
                self._bookings_cache[office_id] = (time.monotonic() + BOOKINGS_CACHE_S, booked, early)
        cutoff = now - self.booking_settings.checkin_after
        return sorted([*(start for fid, start in booked if fid == field_id and start > cutoff),
                       *(start for fid, start in early if fid == field_id and start > now)])

    def waiting_counts(self, office: int | None = None, waiting: dict[int, int] | None = None) -> list[dict]:
        """Each active field's waiting count and estimated wait: what a board redraws after every call
        and issue. The lean cousin of `field_summaries` (one query, the rest from caches).
        `waiting`: the waiting tickets by field id when the caller counted them (call next, in its
        own transaction); the estimates are made here, from caches that have learnt its changes."""
        office_id = self.office_id(office)
        self.roll_day()
        with self.storage.read() as s:  # a session connects only if a query or a cache needs it
            if waiting is None:
                waiting = self._waiting_by_field(s, office_id, self.today())
            return [{"code": r.code, "waiting": waiting.get(r.id, 0),
                     "estimated_wait_s": self._wait_for(s, office_id, r.id, r.minutes, waiting.get(r.id, 0),
                                                        bookable=r.bookable)}
                    for r in self._field_rules(office_id, s).values() if r.active]

    @staticmethod
    def _waiting_by_field(s: Session, office_id: int, day: dt.date) -> dict[int, int]:
        return dict(s.execute(
            select(Ticket.field_id, func.count())
            .where(Ticket.office_id == office_id, Ticket.status == "waiting", Ticket.service_day == day)
            .group_by(Ticket.field_id)
        ).all())

    def queue_positions(self, field_code: str, office: int | None = None) -> list[dict]:
        """Every waiting ticket of a field in call order, with its place and estimated wait: what
        the phones following them show, pushed after a change instead of asked for by each."""
        office_id = self.office_id(office)
        now = self.now()
        with self.storage.read() as s:
            field = self._field_rules(office_id, s).get(field_code)
            if field is None:
                return []
            waiting = s.execute(select(Ticket.token, Ticket.booked_start).where(
                Ticket.status == "waiting", Ticket.field_id == field.id, Ticket.service_day == self.today())
                .order_by(*queue_order(now))).all()
            if not waiting:
                return []
            service, counters = self._estimate_inputs(s, office_id)
            starts = self._booking_starts(s, office_id, field.id) if field.bookable else []
        per_ticket = service.get(field.id) or (field.minutes or 0) * 60 or DEFAULT_SERVICE_S
        open_counters = max(1, counters.get(field.id, 0))
        out = []
        for ahead, (token, booked_start) in enumerate(waiting):
            wait = per_ticket * ahead / open_counters
            if booked_start is None and starts:
                until = now + dt.timedelta(seconds=wait)
                wait = per_ticket * (ahead + sum(1 for start in starts if start <= until)) / open_counters
            out.append({"token": token, "ahead": ahead, "estimated_wait_s": int(round(wait))})
        return out

    # ----- a ticket ----------------------------------------------------------------
    def ticket_status(self, token: str) -> dict:
        """A ticket found by its token, whichever office it belongs to."""
        with self.storage.read() as s:
            ticket = s.scalar(select(Ticket).where(Ticket.token == token))
            if ticket is None:
                raise not_found("ticket_not_found", "Không tìm thấy phiếu này.")
            view = self._ticket_view(s, ticket)
            view["rated"] = s.scalar(select(Rating.id).where(Rating.ticket_id == ticket.id)) is not None
            return view

    def _ticket_view(self, s: Session, ticket: Ticket, field: Field | None = None) -> dict:
        """`field`: the ticket's field when the caller holds it; else the office's cached field rules
        say what a ticket page shows of it (a phone's page is read after every call)."""
        if field is None or field.id != ticket.field_id:
            field = self._rules_by_id(ticket.office_id, s).get(ticket.field_id) or s.get(Field, ticket.field_id)
        field = rules_of(field) if isinstance(field, Field) else field
        ahead = people_ahead(s, ticket, self.now())
        counter_number = None
        if ticket.counter_id and ticket.status in ("called", "done", "no_show"):
            counter_number = s.scalar(select(Counter.number).where(Counter.id == ticket.counter_id))
        wait = (self._wait_for(s, ticket.office_id, field.id, field.minutes, ahead,
                               walk_in=ticket.booked_start is None, bookable=field.bookable)
                if ticket.status == "waiting" else 0)
        office = self.offices.get(ticket.office_id)
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
            "office": office.slug if office else None,
            **booked_marks(ticket, self.local),
        }

    # ----- an office's fields, counters and board ------------------------------------
    def field_summaries(self, active_only: bool = True, office: int | None = None) -> list[dict]:
        """An office's fields with their waiting counts and estimated waits, in display order."""
        self.roll_day()
        office_id = self.office_id(office)
        today = self.today()
        with self.storage.read() as s:
            query = select(Field).where(Field.office_id == office_id).order_by(Field.position, Field.id)
            if active_only:
                query = query.where(Field.active.is_(True))
            fields = s.scalars(query).all()
            waiting = self._waiting_by_field(s, office_id, today)
            ids = [f.id for f in fields]
            issued = dict(s.execute(
                select(DayCounter.field_id, DayCounter.last_number)
                .where(DayCounter.service_day == today, DayCounter.field_id.in_(ids or [-1]))
            ).all())
            local_now = self.now().astimezone(self.tz).time()
            out = []
            for f in fields:
                out.append({
                    "code": f.code, "name": f.name, "hint": f.hint, "prefix": f.prefix, "icon": f.icon,
                    "waiting": waiting.get(f.id, 0),
                    "estimated_wait_s": self._wait_for(s, office_id, f.id, f.minutes, waiting.get(f.id, 0),
                                                       bookable=takes_bookings(f.booking)),
                    "hours": list(f.hours or []), "open_now": open_at(parse_hours(f.hours), local_now),
                    "daily_cap": f.daily_cap, "issued_today": issued.get(f.id, 0),
                    "cap_reached": bool(f.daily_cap and issued.get(f.id, 0) >= f.daily_cap),
                    "active": f.active,
                    "booking": dict(f.booking) if takes_bookings(f.booking) else None,
                })
            return out

    def _counter(self, s: Session, office_id: int, number: int, *, lock: bool = False) -> Counter:
        query = select(Counter).where(Counter.office_id == office_id, Counter.number == number,
                                      Counter.active.is_(True))
        if lock:
            query = query.with_for_update()
        counter = s.scalar(query)
        if counter is None:
            raise not_found("counter_not_found", f"Không có quầy số {number}.")
        return counter

    def counter_numbers(self, office: int | None = None) -> list[int]:
        with self.storage.read() as s:
            return s.scalars(select(Counter.number).where(Counter.office_id == self.office_id(office),
                                                          Counter.active.is_(True)).order_by(Counter.number)).all()

    def counter_view(self, counter_number: int, office: int | None = None) -> dict:
        """What a clerk's console shows: state, current ticket, waiting list, today's count."""
        office_id = self.office_id(office)
        today = self.today()
        with self.storage.read() as s:
            counter = self._counter(s, office_id, counter_number)
            field_ids = [link.field_id for link in counter.field_links]
            fields = {f.id: f for f in s.scalars(select(Field).where(Field.id.in_(field_ids)))} if field_ids else {}
            current = s.get(Ticket, counter.current_ticket_id) if counter.current_ticket_id else None
            waiting = s.scalars(
                select(Ticket).where(Ticket.status == "waiting", Ticket.field_id.in_(field_ids or [-1]),
                                     Ticket.service_day == today)
                .order_by(*queue_order(self.now())).limit(200)
            ).all()
            served_today = s.scalar(
                select(func.count(Ticket.id)).where(Ticket.counter_id == counter.id, Ticket.status == "done",
                                                    Ticket.service_day == today)
            )
            no_shows = s.scalars(
                select(Ticket.code).where(Ticket.counter_id == counter.id, Ticket.status == "no_show",
                                          Ticket.service_day == today).order_by(Ticket.finished_at.desc())
            ).all()
            return {
                "number": counter.number, "name": counter.name, "state": counter.state,
                "fields": [{"code": fields[i].code, "name": fields[i].name, "prefix": fields[i].prefix}
                           for i in field_ids if i in fields],
                "current": for_staff(self._ticket_view(s, current)) if current else None,
                "waiting": [{"code": t.code, "field": fields[t.field_id].code, "priority": t.priority,
                             "issued_at": self.local(t.issued_at), **booked_marks(t, self.local)} for t in waiting],
                "served_today": served_today,
                "no_shows_today": list(no_shows),
            }

    def _board_counter(self, s: Session, c: Counter, codes: dict[int, str]) -> dict:
        current = s.get(Ticket, c.current_ticket_id) if c.current_ticket_id else None
        return self._tile(c.number, c.name, c.state, [link.field_id for link in c.field_links], current, codes)

    def _tile(self, number: int, name: str, state: str, field_ids, current, codes: dict[int, str]) -> dict:
        """A counter as the board shows it; `current`: its ticket (an ORM object or a row), or None."""
        return {
            "number": number, "name": name, "state": state,
            "fields": [codes[field_id] for field_id in field_ids if field_id in codes],
            "current": None if current is None else {
                "code": current.code, "field": codes.get(current.field_id),
                "priority": current.priority, "called_at": self.local(current.called_at),
                **booked_marks(current, self.local),
            },
        }

    def _field_codes(self, s: Session, office_id: int) -> dict[int, str]:
        return dict(s.execute(select(Field.id, Field.code).where(Field.office_id == office_id)).all())

    def board_counter(self, number: int, office: int | None = None) -> dict:
        """One counter as the board shows it (the `counters` entries of `state`)."""
        office_id = self.office_id(office)
        with self.storage.read() as s:
            counter = self._counter(s, office_id, number)
            return self._board_counter(s, counter, self._field_codes(s, office_id))

    def state(self, office: int | None = None) -> dict:
        """The snapshot every board of an office starts from (GET /api/state and the socket `state`);
        the office's last snapshot while nothing has happened since (see STATE_CACHE_S), with `at`
        always now (boards set their clocks by it)."""
        info = self.office_info(office)
        now, today = self.now(), self.today()
        cached = self._state_cache.get(info.id)
        same_day = cached is not None and cached.day == today
        # The window's start moves on only once it is two windows old, so one count both checks
        # the last snapshot and, if something happened, dates the next (read before it, so
        # whatever the snapshot then reads is at least as new).
        since = cached.since if same_day and now - cached.since <= 2 * STATE_WINDOW else now - STATE_WINDOW
        with self.storage.read_rows() as rows:
            events = rows.execute(_EVENTS_SINCE, {"office_id": info.id, "since": since}).scalar()
            if same_day and cached.since == since and cached.events == events and time.monotonic() < cached.expires:
                return {**cached.state, "at": self.local(now)}
            version = rows.execute(_LAST_EVENT, {"office_id": info.id}).scalar() or 0
        state = self._snapshot(info, version)
        self._state_cache[info.id] = _Snapshot(time.monotonic() + STATE_CACHE_S, today, since, events, state)
        return {**state}

    def _snapshot(self, info, version: int) -> dict:
        fields = self.field_summaries(office=info.id)
        with self.storage.read() as s:
            codes = self._field_codes(s, info.id)
            rows = s.execute(_BOARD_COUNTERS, {"office_id": info.id}).all()
            fields_of: dict[int, list[int]] = {row.id: [] for row in rows}
            for counter_id, field_id in s.execute(_BOARD_LINKS, {"ids": list(fields_of)}):
                fields_of[counter_id].append(field_id)
            serving = [row.current_ticket_id for row in rows if row.current_ticket_id]
            # Every counter's ticket in one query, not one a counter.
            current = {t.id: t for t in s.execute(_BOARD_TICKETS, {"ids": serving})} if serving else {}
            counters = [self._tile(row.number, row.name, row.state, fields_of[row.id],
                                   current.get(row.current_ticket_id), codes) for row in rows]
            recent = s.execute(
                select(Event.kind, Event.at, Ticket.code, Ticket.field_id, Ticket.priority, Counter.number,
                       Ticket.booked_start)
                .join(Ticket, Ticket.id == Event.ticket_id)
                .join(Counter, Counter.id == Event.counter_id)
                .where(Event.office_id == info.id, Event.kind.in_(CALL_EVENTS), Event.at >= self.day_start())
                .order_by(Event.id.desc()).limit(RECENT_CALLS)
            ).all()
            announcements = s.scalars(
                select(Announcement).where(Announcement.office_id == info.id, Announcement.active.is_(True))
                .order_by(Announcement.position, Announcement.id)
            ).all()
            return {
                "version": version,
                "at": self.local(self.now()),
                "office": info.public(),
                "counters": counters,
                "recent_calls": [
                    {"ticket": {"code": code, "field": codes.get(fid), "priority": prio,
                                **({"booked_start": self.local(booked)} if booked else {})},
                     "counter": number, "recall": kind == "recalled", "at": self.local(at)}
                    for kind, at, code, fid, prio, number, booked in recent
                ],
                "fields": [{k: f[k] for k in ("code", "name", "prefix", "waiting", "estimated_wait_s")} for f in fields],
                "announcements": [{"id": a.id, "text": a.text} for a in announcements],
            }

    # ----- for the admin ----------------------------------------------------------------
    def tickets_outside_kiosks(self, office: int | None = None) -> list[dict]:
        """Today's tickets of an office not taken at a paired kiosk, newest first, for the admin to check."""
        with self.storage.read() as s:
            rows = s.execute(
                select(Ticket.code, Ticket.status, Ticket.priority, Ticket.issued_at, Ticket.issued_from,
                       Field.code, Field.name)
                .join(Field, Field.id == Ticket.field_id)
                .outerjoin(Device, Device.id == Ticket.device_id)
                .where(Ticket.office_id == self.office_id(office), Ticket.service_day == self.today(),
                       or_(Ticket.device_id.is_(None), Device.kind != "kiosk"))
                .order_by(Ticket.id.desc()).limit(1000)
            ).all()
        return [{"code": code, "status": status, "priority": priority, "issued_at": self.local(at),
                 "issued_from": address, "field": field_code, "field_name": field_name}
                for code, status, priority, at, address, field_code, field_name in rows]

    # ----- for the province ---------------------------------------------------------------
    def province_overview(self) -> dict:
        """Every active office today, the hall in trouble first (longest wait now, then most waiting)."""
        from .ratings import satisfied_from

        today, now = self.today(), self.now()
        offices = self.offices.all()
        with self.storage.read() as s:
            tickets = {row[0]: row[1:] for row in s.execute(
                select(Ticket.office_id,
                       func.sum(case((Ticket.status == "waiting", 1), else_=0)),
                       func.sum(case((Ticket.status == "done", 1), else_=0)),
                       func.sum(case((Ticket.status == "no_show", 1), else_=0)),
                       type_coerce(func.min(case((Ticket.status == "waiting", Ticket.issued_at), else_=None)),
                                   UTCDateTime()))
                .where(Ticket.service_day == today).group_by(Ticket.office_id))}
            open_counters = dict(s.execute(
                select(Counter.office_id, func.count()).where(Counter.active.is_(True), Counter.state == "open")
                .group_by(Counter.office_id)).all())
            ratings: dict[int, list[int]] = {}
            for office_id, score in s.execute(
                    select(Rating.office_id, Rating.score).where(Rating.created_at >= self.day_start(today))):
                ratings.setdefault(office_id, []).append(score)
        rows = []
        for office in offices:
            waiting, served, no_show, oldest = tickets.get(office.id, (0, 0, 0, None))
            scores = ratings.get(office.id, [])
            satisfied = sum(1 for score in scores if score >= satisfied_from(office.rating_scale))
            rows.append({
                "slug": office.slug, "name": office.name, "unit": office.unit,
                "waiting": int(waiting or 0), "served_today": int(served or 0), "no_show_today": int(no_show or 0),
                "longest_wait_s": int((now - oldest).total_seconds()) if oldest else 0,
                "counters_open": open_counters.get(office.id, 0),
                "rated_today": len(scores),
                "satisfied_share_today": round(satisfied / len(scores), 3) if scores else None,
            })
        rows.sort(key=lambda r: (-r["longest_wait_s"], -r["waiting"], r["name"]))
        return {"at": self.local(now), "offices": rows}
