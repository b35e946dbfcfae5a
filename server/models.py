"""Tables. Only the queue engine and the admin services write to them.

Times are stored as UTC and come back timezone-aware; the service day is the
local date (Config.timezone) on which a ticket was issued.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


TICKET_STATUSES = ("waiting", "called", "done", "no_show", "cancelled", "expired")
PRIORITY_REASONS = ("elderly", "disabled", "pregnant", "merit")
COUNTER_STATES = ("open", "paused", "closed")
ROLES = ("clerk", "admin", "province")  # province: every office; admin and clerk: their own office
DEVICE_KINDS = ("kiosk", "display", "tablet")


class Office(Base):
    """A one-stop office: a ward's, a commune's, or a branch of the province's centre.

    Everything of the hall belongs to one: fields, counters, devices, announcements, the
    rating scale, tickets and their numbering, ratings and events. The default office
    (the first one, or DEFAULT_OFFICE) answers the bare paths."""

    __tablename__ = "office"
    __table_args__ = (UniqueConstraint("slug", name="uq_office_slug"),)  # named as migration 0004 made it
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(200), default="")
    rating_scale: Mapped[int] = mapped_column(Integer, default=3)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")


class Field(Base):
    __tablename__ = "field"
    __table_args__ = (UniqueConstraint("office_id", "code", name="uq_field_code"),
                      UniqueConstraint("office_id", "prefix", name="uq_field_prefix"))
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    hint: Mapped[str] = mapped_column(String(300), default="")
    prefix: Mapped[str] = mapped_column(String(2))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    icon: Mapped[str | None] = mapped_column(String(64), nullable=True)
    minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hours: Mapped[list[Any]] = mapped_column(default=list)  # ["07:00-11:30", "13:00-16:30"]
    daily_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Online number-taking: {"slot_minutes": 30, "seats": 4, "days_ahead": 6}; empty or 0 seats: none.
    booking: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")  # as migration 0005 added it


class Counter(Base):
    __tablename__ = "counter"
    __table_args__ = (UniqueConstraint("office_id", "number", name="uq_counter_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10), default="open")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    current_ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket.id", use_alter=True, name="fk_counter_current_ticket"), nullable=True
    )
    field_links: Mapped[list["CounterField"]] = relationship(
        order_by="CounterField.position", cascade="all, delete-orphan", lazy="selectin"
    )


class CounterField(Base):
    """Which fields a counter serves, in the order the clerk prefers them."""

    __tablename__ = "counter_field"
    counter_id: Mapped[int] = mapped_column(ForeignKey("counter.id"), primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("field.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"), nullable=True)  # None: province
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime]
    # Every session cookie carries the generation it was made in; logging out, a new password
    # or disabling the user moves it on, and every older cookie stops working at once.
    auth_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ApiToken(Base):
    """Bearer tokens for API clients; only a hash is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]


class Device(Base):
    """A kiosk, board or tablet paired with the server. Only a hash of its token is kept."""

    __tablename__ = "device"
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100), default="")
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counter.id"), nullable=True)
    pairing_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    pairing_expires_at: Mapped[dt.datetime | None]
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    created_at: Mapped[dt.datetime]
    paired_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    last_seen_at: Mapped[dt.datetime | None]
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DayCounter(Base):
    """The last number issued per field (by the field that issued it) per service day."""

    __tablename__ = "day_counter"
    field_id: Mapped[int] = mapped_column(ForeignKey("field.id"), primary_key=True)
    service_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        UniqueConstraint("issued_field_id", "service_day", "number", name="uq_ticket_number"),
        Index("ix_ticket_queue", "status", "field_id", "priority_rank", "issued_at"),
        Index("ix_ticket_day", "service_day", "status"),
        Index("ix_ticket_office_day", "office_id", "service_day", "code"),
        # A field's waiting line, with every column that orders it: counting who is ahead of a new
        # ticket and finding a counter's next one read this index alone, never the table.
        Index("ix_ticket_waiting", "field_id", "status", "service_day", "priority_rank", "booked_start",
              "issued_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    code: Mapped[str] = mapped_column(String(12))
    number: Mapped[int] = mapped_column(Integer)
    service_day: Mapped[dt.date] = mapped_column(Date)
    issued_field_id: Mapped[int] = mapped_column(ForeignKey("field.id"))
    field_id: Mapped[int] = mapped_column(ForeignKey("field.id"))
    priority: Mapped[str | None] = mapped_column(String(16), nullable=True)
    priority_rank: Mapped[int] = mapped_column(Integer, default=1)  # 0 = priority, 1 = ordinary
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    token: Mapped[str] = mapped_column(String(64), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"), nullable=True)
    issued_from: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the client's address
    # A booked ticket (checked in from an online booking): its slot's start. Called before every
    # walk-in ticket once the slot has started.
    booked_start: Mapped[dt.datetime | None]
    issued_at: Mapped[dt.datetime]
    called_at: Mapped[dt.datetime | None]
    first_called_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counter.id"), nullable=True)
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    call_count: Mapped[int] = mapped_column(Integer, default=0)


class Rating(Base):
    __tablename__ = "rating"
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), unique=True)
    score: Mapped[int] = mapped_column(Integer)
    scale: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counter.id"), nullable=True)
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("field.id"))
    created_at: Mapped[dt.datetime]
    # Where the citizen rated: "tablet" (the counter's paired tablet) or "phone" (the ticket's own
    # page). None for ratings made before motcua recorded it.
    source: Mapped[str | None] = mapped_column(String(8), nullable=True)


RATING_SOURCES = ("tablet", "phone")


class Announcement(Base):
    __tablename__ = "announcement"
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]


BOOKING_STATUSES = ("booked", "checked_in", "cancelled", "missed")


class BookingSlot(Base):
    """The seats of one slot of a field, counted so they are never oversold: a booking takes
    one with `UPDATE … SET taken = taken + 1 WHERE taken < seats`."""

    __tablename__ = "booking_slot"
    __table_args__ = (UniqueConstraint("field_id", "start", name="uq_booking_slot"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("field.id"))
    start: Mapped[dt.datetime]
    seats: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)


class BookingQuota(Base):
    """How many bookings a phone holds on a day at an office, counted like the seats."""

    __tablename__ = "booking_quota"
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), primary_key=True)
    phone: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    held: Mapped[int] = mapped_column(Integer, default=0)


class Booking(Base):
    """A citizen's booking of a slot: a readable code to type at the kiosk, a secret token for its page."""

    __tablename__ = "booking"
    __table_args__ = (Index("ix_booking_office_start", "office_id", "start"),
                      Index("ix_booking_status_start", "status", "start"))
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    field_id: Mapped[int] = mapped_column(ForeignKey("field.id"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("booking_slot.id"))
    code: Mapped[str] = mapped_column(String(6), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(12), default="booked")
    start: Mapped[dt.datetime]
    end: Mapped[dt.datetime]
    day: Mapped[dt.date] = mapped_column(Date)  # the slot's local date
    created_at: Mapped[dt.datetime]
    checked_in_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str] = mapped_column(String(300), default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    booked_from: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the client's address


class BlackoutDay(Base):
    """A day an office takes no bookings (a holiday, a move)."""

    __tablename__ = "blackout_day"
    __table_args__ = (UniqueConstraint("office_id", "day", name="uq_blackout_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")


class PrintJob(Base):
    """One print of one ticket. The job id makes printing idempotent: a job prints at most once.

    status: pending (waiting for a printer), printing (bytes may be on their way:
    never sent again), printed, failed (needs a person: reprint or cancel), cancelled.
    route: "local" (the server's own PRINTER) or "agent" (a printer agent on the kiosk PC).
    """

    __tablename__ = "print_job"
    __table_args__ = (Index("ix_print_job_status", "status", "next_attempt_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending printing printed failed cancelled
    route: Mapped[str] = mapped_column(String(8), default="local")
    reprint: Mapped[bool] = mapped_column(Boolean, default=False)
    qr_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime]
    next_attempt_at: Mapped[dt.datetime | None]
    printed_at: Mapped[dt.datetime | None]
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)


class Event(Base):
    """Append-only log of every state change; the source of all reports."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_at", "at"), Index("ix_event_ticket", "ticket_id"),
                      Index("ix_event_office_at", "office_id", "at"),
                      Index("ix_event_office_id", "office_id", "id"))  # an office's last event (`state`'s version)
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"), nullable=True)  # None: province-wide
    at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), nullable=True)
    field_id: Mapped[int | None] = mapped_column(ForeignKey("field.id"), nullable=True)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counter.id"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
