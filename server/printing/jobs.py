"""Print jobs as rows: the first job's id, the statements the spool runs, a new ticket's paper.

Statements are built once: the issue hook runs in every ticket's transaction, and the
spool claims and records jobs in batches (ORM objects cost several times more per job).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, select, update

from server.models import Device, Event, Field, Office, PrintJob, Ticket
from server.storage import DirectInsert

JOB_NAMESPACE = uuid.UUID("5d1f2a8e-6c0b-4f7e-9a35-6f2b8c1d0e47")
_JOB_NAMESPACE_BYTES = JOB_NAMESPACE.bytes
NAMESPACE = "/printer"
OPEN_JOB_STATUSES = ("pending", "printing")
STATUS_ORDER = {"failed": 0, "printing": 1, "pending": 2, "printed": 3, "cancelled": 4}
# The first job of every ticket, written on the driver's cursor (storage.DirectInsert): half the cost.
_INSERT_FIRST_JOB = DirectInsert(PrintJob.__table__, ("id", "ticket_id", "device_id", "status", "route", "reprint",
                                                     "qr_url", "attempts", "last_error", "created_at",
                                                     "next_attempt_at"))
_INSERT_EVENT = DirectInsert(Event.__table__)
_DEVICE_SETTINGS = select(Device.settings).where(Device.id == bindparam("device_id"))


def _claim_first_tries(dialect: str):
    """First tries only: a job never tried cannot be too late (the retry rules start at the second try).

    The batch's ids pick the rows. With no statistics, SQLite's planner would rather walk
    ix_print_job_status through every waiting job than look up 32 ids; `likely()` tells it the
    status test filters little, so it takes the primary key. (Under a backlog of thousands of
    jobs, that walk was the largest part of the spool's own time.)"""
    pending = PrintJob.status == "pending"
    return (update(PrintJob)
            .where(PrintJob.id.in_(bindparam("ids", expanding=True)),
                   func.likely(pending) if dialect == "sqlite" else pending,
                   PrintJob.route == "local", PrintJob.attempts == 0)
            .values(status="printing", attempts=1)
            .returning(PrintJob.id, PrintJob.ticket_id, PrintJob.qr_url, PrintJob.reprint))


_CLAIM_FIRST_TRIES = {dialect: _claim_first_tries(dialect) for dialect in ("sqlite", "postgresql")}
_TICKETS_TO_DRAW = (
    select(Ticket.id, Ticket.code, Ticket.issued_at, Ticket.priority, Ticket.status, Ticket.field_id,
           Ticket.service_day, Ticket.priority_rank, Ticket.booked_start, Ticket.office_id,
           Field.name.label("field_name"))
    .join(Field, Field.id == Ticket.field_id)
    .where(Ticket.id.in_(bindparam("ids", expanding=True))))
_OFFICE_OF = select(Office.name, Office.unit, Office.settings).where(Office.id == bindparam("office_id"))
_MARK_PRINTED = (
    update(PrintJob)
    .where(PrintJob.id.in_(bindparam("ids", expanding=True)))
    .values(status="printed", printed_at=bindparam("now"), next_attempt_at=None)
    .returning(PrintJob.id, PrintJob.ticket_id, PrintJob.device_id, PrintJob.reprint, PrintJob.attempts))
_TOKENS = select(Ticket.id, Ticket.token).where(Ticket.id.in_(bindparam("ids", expanding=True)))


class Paper(NamedTuple):
    """What a new ticket's paper says, as the issuing request had it in hand: the spool prints from
    it instead of reading the ticket, its field and its office back (two statements a batch)."""

    token: str
    code: str
    field_name: str
    priority: str | None
    issued_at: dt.datetime
    office: Any  # the engine's OfficeInfo: name, unit, settings
    booked_start: dt.datetime | None = None  # always None: a booked ticket's paper is read back


def first_print_job_id(ticket_token: str) -> str:
    """The same ticket always gets the same first job id, on every retry of the issuing request:
    `str(uuid.uuid5(JOB_NAMESPACE, token))`, spelt out (the uuid module's objects cost three times
    as much, on every ticket; the ids stored by earlier versions are these same strings)."""
    digest = bytearray(hashlib.sha1(_JOB_NAMESPACE_BYTES + ticket_token.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
