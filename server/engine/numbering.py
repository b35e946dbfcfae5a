"""Issuing tickets: one number per field per service day, never skipped, never repeated.

The hot path is a few prebuilt Core statements in one short transaction: the next number
by one atomic INSERT … ON CONFLICT … RETURNING, the ticket, its event, the people ahead,
and whatever must commit with it (the print spool's job, through `issue_hooks`).
"""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import bindparam, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import PRIORITY_REASONS, DayCounter, Event, Field, Ticket
from ..storage import DirectInsert
from .base import Change, IssuedTicket, conflict, invalid, not_found
from .hours import describe, open_at
from .views import Views, people_ahead


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
# A kiosk sends an Idempotency-Key with every tap: is it a retry of a ticket made already?
_KEY_TAKEN = select(Ticket.id).where(Ticket.idempotency_key == bindparam("key"))
# Every issue and call writes one event: on the driver's cursor (storage.DirectInsert), a third of the cost.
INSERT_EVENT = DirectInsert(Event.__table__)  # every column but the id
# The new ticket counts itself (waiting, its field, its rank): ahead is this count less one. No
# other column than those of ix_ticket_waiting, so the count reads that index alone.
_COUNT_AHEAD = select(func.count()).select_from(Ticket).where(
    Ticket.field_id == bindparam("field_id"), Ticket.status == "waiting", Ticket.service_day == bindparam("day"),
    or_(Ticket.priority_rank <= bindparam("rank"), Ticket.booked_start <= bindparam("now")))


class Numbering(Views):
    def issue_ticket(self, field_code: str, priority: str | None = None, *,
                     idempotency_key: str | None = None, device_id: int | None = None,
                     issued_from: str | None = None, context: dict | None = None,
                     office: int | None = None) -> dict:
        """Issue the next ticket of an office's field. `issued_from` is the client's address;
        `context` goes to the issue hooks as it is (the request's base URL for the QR, say).

        An idempotency key belongs to the client that sent it (the paired kiosk, else the
        address): another client's retry with the same key makes its own ticket, never sees
        this one."""
        if priority is not None and priority not in PRIORITY_REASONS:
            raise invalid("invalid_priority", "Lý do ưu tiên không hợp lệ.")
        office_id = self.office_id(office)
        self.roll_day()
        if idempotency_key:
            client = f"device:{device_id}" if device_id is not None else f"address:{issued_from}"
            idempotency_key = hashlib.sha256(f"{office_id}\n{client}\n{idempotency_key}".encode()).hexdigest()
        view = None
        try:
            with self.storage.write(grouped=True) as s:  # kiosks at the same moment share one commit
                # A retry is asked in the issuing transaction itself (it sees the ticket even if this
                # very group made it), before the rules: a retry after closing time or of the day's
                # last number still gets its ticket.
                if not (idempotency_key and s.connection().execute(_KEY_TAKEN, {"key": idempotency_key}).first()):
                    view = self._issue(s, office_id, field_code, priority, idempotency_key, device_id,
                                       issued_from, context or {})
        except IntegrityError:
            # Two retries with the same key raced (another process's transaction); the other one won.
            existing = self._ticket_by_key(idempotency_key, field_code, priority) if idempotency_key else None
            if existing:
                return existing
            raise
        if view is None:  # a retry: its ticket is committed by now (a block returns after its group's commit)
            existing = self._ticket_by_key(idempotency_key, field_code, priority)
            if existing is None:
                raise RuntimeError("the ticket of an idempotency key found in the issuing transaction is gone")
            return existing
        # A priority ticket goes before ordinary ones: their places move; a plain one joins at the end.
        self._tell([Change("ticket_issued", {"ticket": view}, office=office_id),
                    Change("queue_changed", {"fields": [field_code], "moved": [field_code] if priority else []},
                           office=office_id)])
        view["replayed"] = False
        return view

    def _ticket_by_key(self, key: str, field_code: str, priority: str | None) -> dict | None:
        with self.storage.read() as s:
            ticket = s.scalar(select(Ticket).where(Ticket.idempotency_key == key))
            if ticket is None:
                return None
            field = s.get(Field, ticket.issued_field_id)
            if field.code != field_code or ticket.priority != priority:
                raise conflict("idempotency_conflict",
                               "Mã chống trùng (Idempotency-Key) này đã dùng cho một yêu cầu khác.")
            view = self._ticket_view(s, ticket, s.get(Field, ticket.field_id))
            view["replayed"] = True
            return view

    def _issue(self, s: Session, office_id: int, field_code, priority, idempotency_key, device_id, issued_from,
               context: dict, booked_start=None) -> dict:
        """`booked_start`: a checked-in booking's slot start. A booking is a promise: its ticket is
        issued before the hours open (check-in starts early) and past the day's cap."""
        rules = self._field_rules(office_id, s).get(field_code)
        if rules is None or not rules.active:
            raise not_found("field_not_found", "Không có lĩnh vực này hoặc lĩnh vực đã ngừng nhận hồ sơ.")
        now = self.now()
        local_now = now.astimezone(self.tz)
        if booked_start is None and not open_at(rules.spans, local_now.time()):
            raise conflict("outside_hours",
                           f"Lĩnh vực {rules.name} chỉ cấp số trong giờ {describe(rules.spans)}. "
                           "Xin mời quay lại trong giờ làm việc.")
        day = local_now.date()
        number = self._next_number(s, rules.id, day)
        if booked_start is None and rules.daily_cap and number > rules.daily_cap:
            raise conflict("daily_cap_reached",
                           f"Lĩnh vực {rules.name} đã hết số trong ngày hôm nay ({rules.daily_cap} số). "
                           "Xin mời quay lại vào ngày làm việc tiếp theo.")
        rank = 0 if priority else 1
        code = f"{rules.prefix}{number:03d}"
        token = secrets.token_urlsafe(18)
        conn = s.connection()
        ticket_id = conn.execute(_INSERT_TICKET, {
            "office_id": office_id, "code": code, "number": number, "service_day": day,
            "issued_field_id": rules.id, "field_id": rules.id, "priority": priority, "priority_rank": rank,
            "status": "waiting", "token": token, "idempotency_key": idempotency_key, "device_id": device_id,
            "issued_from": (issued_from or "")[:64] or None, "issued_at": now, "call_count": 0,
            "booked_start": booked_start,
        }).scalar_one()
        INSERT_EVENT(conn, {"office_id": office_id, "at": now, "kind": "issued", "ticket_id": ticket_id,
                            "field_id": rules.id, "counter_id": None, "user_id": None,
                            "device_id": device_id, "data": {"code": code, "priority": priority}})
        for hook in self.issue_hooks:
            hook(conn, IssuedTicket(ticket_id, token, code, device_id, now, context, office_id))
        if booked_start is None:
            # Every waiting ticket of this field with the same or a higher priority was issued earlier,
            # and every booked one whose slot has started comes first.
            ahead = conn.execute(_COUNT_AHEAD, {"field_id": rules.id, "day": day, "rank": rank,
                                                "now": now}).scalar_one() - 1
        else:
            ahead = people_ahead(s, s.get(Ticket, ticket_id), now)
        office = self.offices.get(office_id)
        view = {
            "code": code, "number": number, "field": rules.code, "field_name": rules.name, "priority": priority,
            "status": "waiting", "issued_at": self.local(now), "called_at": None, "finished_at": None,
            "service_day": day.isoformat(), "ahead": ahead,
            "estimated_wait_s": self._wait_for(s, office_id, rules.id, rules.minutes, ahead,
                                               walk_in=booked_start is None, bookable=rules.bookable),
            "token": token, "counter": None, "call_count": 0, "office": office.slug if office else None,
        }
        if booked_start is not None:
            view["booked_start"] = self.local(booked_start)
        return view

    def _next_number(self, s: Session, field_id: int, day) -> int:
        stmt = _NEXT_NUMBER[s.bind.dialect.name]
        return s.connection().execute(stmt, {"field_id": field_id, "day": day}).scalar_one()
