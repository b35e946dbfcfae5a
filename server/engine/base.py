"""What every part of the queue engine shares: errors, changes, time, the event log, caches.

The office is a value passed in: every operation takes the office it acts in (an id;
None means the default office, so a one-office install and its tests read as before),
and every query has that office in its WHERE. Caches are keyed by office and dropped by
the change that invalidates them, here.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import time
from dataclasses import dataclass, field as dc_field
from typing import Any, Callable, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Event, Field
from ..storage import Storage
from .hours import parse_hours
from .offices import OfficeInfo, Offices

COUNTERS_CACHE_S = 10.0  # open counters per field, for estimates; this process's own opening or pausing forgets them
SERVICE_CACHE_S = 30.0  # recent service times, for estimates (this process's own finishes are added at once)
SERVICE_SAMPLES = 20  # a field's service time: the mean of its last 20 served tickets
BOOKINGS_CACHE_S = 10.0  # an office's bookings still to come, for estimates; this process's own changes forget them
RULES_CACHE_S = 10.0  # an office's fields as issuing needs them; an admin's edit forgets them in every process
DEFAULT_SERVICE_S = 300
MIN_SERVICE_SAMPLE_S = 20
RECENT_CALLS = 20

STATUS_NAMES = {
    "waiting": "đang chờ", "called": "đang được gọi", "done": "đã phục vụ xong",
    "no_show": "vắng mặt", "cancelled": "đã huỷ", "expired": "hết hạn",
}


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


not_found, conflict, invalid = QueueError.not_found, QueueError.conflict, QueueError.invalid


@dataclass
class Change:
    """What changed, told to listeners after the commit, in which office (None: every office)."""

    kind: str  # ticket_issued, ticket_called, ticket_updated, ticket_finished, counter_changed, queue_changed, rated,
    #           config_changed, device_revoked
    data: dict[str, Any] = dc_field(default_factory=dict)
    office: int | None = None
    # What the engine had in hand, for this process's caches and messages (never sent as is):
    tile: dict | None = None  # ticket_called: the counter as the board shows it now
    waiting: dict[int, int] | None = None  # ticket_called: waiting tickets by field id just after it
    served: tuple[int, float] | None = None  # ticket_finished: (field id, seconds of service) to learn from
    state_changed: bool = True  # counter_changed: False when its open/paused/closed state stayed as it was
    view: dict | None = None  # ticket_updated: the ticket's page view as committed (`ticket_status`)


class IssuedTicket(NamedTuple):
    """A ticket being issued, as the issue hooks see it (inside its transaction)."""

    id: int
    token: str
    code: str
    device_id: int | None
    issued_at: dt.datetime
    context: dict
    office_id: int = 0


@dataclass(frozen=True)
class BookingSettings:
    """When a booking may be checked in, and how many bookings a phone may hold a day at an office."""

    checkin_before: dt.timedelta = dt.timedelta(minutes=30)
    checkin_after: dt.timedelta = dt.timedelta(minutes=15)
    per_phone_per_day: int = 2


class FieldRules(NamedTuple):
    id: int
    code: str
    name: str
    prefix: str
    active: bool
    spans: list
    daily_cap: int | None
    minutes: int | None
    bookable: bool = False


def takes_bookings(settings: dict | None) -> bool:
    """A field's booking settings offer seats."""
    seats = (settings or {}).get("seats")
    return isinstance(seats, int) and not isinstance(seats, bool) and seats > 0


def for_staff(view: dict) -> dict:
    """A ticket as clerks and admins see it: without its token, the citizen's secret. With the
    token a clerk could rate their own service or follow the citizen's page."""
    return {key: value for key, value in view.items() if key != "token"}


def rules_of(f: Field) -> FieldRules:
    return FieldRules(f.id, f.code, f.name, f.prefix, f.active, parse_hours(f.hours), f.daily_cap, f.minutes,
                      takes_bookings(f.booking))


def _forget(cache: dict, office_id: int | None) -> None:
    """Drop an office's entry of a per-office cache (None: every office's)."""
    if office_id is None:
        cache.clear()
    else:
        cache.pop(office_id, None)


class EngineBase:
    def __init__(self, storage: Storage, tz: ZoneInfo, clock: Callable[[], dt.datetime] | None = None,
                 default_office: str | None = None, booking: BookingSettings | None = None):
        self.storage = storage
        self.booking_settings = booking or BookingSettings()
        self.tz = tz
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.offices = Offices(storage, default_office)
        self.listeners: list[Callable[[list[Change]], None]] = []
        # Writes that must commit with a new ticket (the print spool's job): each hook gets the
        # transaction's connection and an IssuedTicket, inside the ticket's own transaction.
        self.issue_hooks: list[Callable[[Any, IssuedTicket], None]] = []
        self._expired_through: dt.date | None = None
        self._rules_cache: dict[int, tuple[float, dict[str, FieldRules]]] = {}
        # Estimates' inputs per office: recent service times (newest first, learnt at once from this
        # process's own finishes) and open counters per field.
        self._service_cache: dict[int, tuple[float, dict[int, tuple[float, ...]]]] = {}
        self._counters_cache: dict[int, tuple[float, dict[int, int]]] = {}
        self._bookings_cache: dict[int, tuple[float, tuple, tuple]] = {}
        self._bookings_changed_ns: dict[int | None, int] = {None: 0}  # when each office's (None: all) last changed
        self._state_cache: dict[int, Any] = {}  # each office's board snapshot (views.state)

    # ----- offices ---------------------------------------------------------
    def office_id(self, office: "int | OfficeInfo | None" = None) -> int:
        """The office an operation acts in: the one given, else the default office."""
        if isinstance(office, OfficeInfo):
            return office.id
        if office is not None:
            return office
        default = self.offices.default()
        if default is None:
            raise not_found("office_not_found", "Chưa có cơ quan nào. Hãy chạy “motcua init”.")
        return default.id

    def office_info(self, office: "int | OfficeInfo | None" = None) -> OfficeInfo:
        info = self.offices.get(self.office_id(office))
        if info is None:  # made a moment ago by another process: look again
            self.offices.reload()
            info = self.offices.get(self.office_id(office))
        if info is None:
            raise not_found("office_not_found", "Không có cơ quan này.")
        return info

    # ----- time -----------------------------------------------------------
    def now(self) -> dt.datetime:
        return self.clock().astimezone(dt.timezone.utc)

    def today(self) -> dt.date:
        return self.now().astimezone(self.tz).date()

    def local(self, moment: dt.datetime | None) -> str | None:
        return moment.astimezone(self.tz).isoformat(timespec="seconds") if moment else None

    def day_start(self, day: dt.date | None = None) -> dt.datetime:
        return dt.datetime.combine(day or self.today(), dt.time(), self.tz)

    # ----- plumbing -------------------------------------------------------
    def _tell(self, changes: list[Change]) -> None:
        # A walk-in issued or called leaves the bookings still to come as they were; anything else
        # (a booked ticket, a cancel, a transfer) may move them: this process reads them again.
        ticket_changes = [c for c in changes if c.kind in ("ticket_called", "ticket_issued")]
        if not ticket_changes or any(c.data["ticket"].get("booked_start") for c in ticket_changes):
            for office_id in {c.office for c in changes}:
                self.forget_bookings(office_id)
        for change in changes:
            if change.kind == "ticket_finished":
                self._learn_service(change.office, change.served)
            elif change.kind == "counter_changed" and change.state_changed:  # open counters moved
                _forget(self._counters_cache, change.office)
        for listener in list(self.listeners):
            listener(changes)

    def _learn_service(self, office_id: int | None, served: tuple[int, float] | None) -> None:
        """A ticket was served: its time joins the field's recent ones (read again if unknown).
        Copy on write: a reader on another thread keeps the samples it took, whole."""
        cached = self._service_cache.get(office_id)
        if served is None or cached is None:
            _forget(self._service_cache, office_id)
            return
        (expires, samples), (field_id, seconds) = cached, served
        if seconds >= MIN_SERVICE_SAMPLE_S:  # shorter: a slip of the finger, not a service
            learnt = {**samples, field_id: ((seconds,) + samples.get(field_id, ()))[:SERVICE_SAMPLES]}
            self._service_cache[office_id] = (expires, learnt)

    def _event(self, s: Session, office_id: int | None, kind: str, ticket=None, *, counter_id=None,
               user_id=None, device_id=None, field_id=None, **data) -> None:
        s.add(Event(
            office_id=office_id, at=self.now(), kind=kind,
            ticket_id=ticket.id if ticket else None,
            field_id=field_id if field_id is not None else (ticket.field_id if ticket else None),
            counter_id=counter_id, user_id=user_id, device_id=device_id, data=data,
        ))

    def config_changed(self, what: str, office: int | None = None) -> None:
        """Admin changed fields, counters, announcements or the office: its boards and kiosks resync."""
        self.forget_caches()
        self._tell([Change("config_changed", {"what": what}, office=self.office_id(office))])

    def device_revoked(self, device_id: int) -> None:
        """A paired device lost its access: its open connections must close at once."""
        self._tell([Change("device_revoked", {"device": device_id})])

    def forget_caches(self) -> None:
        self.offices.forget()
        self._rules_cache.clear()
        self._service_cache.clear()
        self._counters_cache.clear()
        self._state_cache.clear()
        self.forget_bookings()

    def forget_bookings(self, office_id: int | None = None) -> None:
        """An office's bookings changed (None: any office's): read them again, from a newer snapshot."""
        if office_id is None:
            self._bookings_cache.clear()
            self._bookings_changed_ns.clear()
        else:
            self._bookings_cache.pop(office_id, None)
        self._bookings_changed_ns[office_id] = time.monotonic_ns()

    # ----- fields as issuing needs them --------------------------------------
    def _field_rules(self, office_id: int, session: Session | None = None) -> dict[str, FieldRules]:
        """An office's fields by code, cached: an admin's edit clears the cache in every process at once
        (`config_changed`, through the message queue), and the cache lapses after RULES_CACHE_S anyway.

        Inside a transaction, pass its `session`: a second connection taken while the first holds
        row locks would, in a burst, leave every pooled connection waiting for another one."""
        expires, rules = self._rules_cache.get(office_id, (0.0, {}))
        if time.monotonic() < expires:
            return rules
        with contextlib.nullcontext(session) if session is not None else self.storage.read() as s:
            rules = {f.code: rules_of(f) for f in s.scalars(select(Field).where(Field.office_id == office_id))}
        self._rules_cache[office_id] = (time.monotonic() + RULES_CACHE_S, rules)
        return rules

    def _rules_by_id(self, office_id: int, session: Session | None = None) -> dict[int, FieldRules]:
        return {rules.id: rules for rules in self._field_rules(office_id, session).values()}
