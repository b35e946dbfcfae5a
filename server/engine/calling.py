"""Calling: call next, call a given ticket, recall, no-show, finish, transfer, pause and resume,
and cancelling a waiting ticket. Two counters calling at the same instant never get the
same ticket: SQLite's BEGIN IMMEDIATE serialises writers, PostgreSQL locks the counter row
and takes the next ticket with SKIP LOCKED."""
from __future__ import annotations

from sqlalchemy import and_, bindparam, case, func, select, update
from sqlalchemy.orm import Session

from ..models import COUNTER_STATES, Counter, CounterField, Field, Ticket
from .base import STATUS_NAMES, Change, conflict, for_staff, invalid, not_found
from .numbering import INSERT_EVENT, Numbering
from .views import booked_marks, queue_order


def _lock_counter(postgres: bool):
    query = select(Counter.id, Counter.name, Counter.state, Counter.current_ticket_id).where(
        Counter.office_id == bindparam("office_id"), Counter.number == bindparam("number"),
        Counter.active.is_(True))
    return query.with_for_update() if postgres else query


def _next_waiting(postgres: bool):
    query = (select(Ticket.id)
             .where(Ticket.status == "waiting", Ticket.field_id.in_(bindparam("field_ids", expanding=True)),
                    Ticket.service_day == bindparam("day"))
             .order_by(*queue_order(bindparam("now"))).limit(1))
    # KEY SHARE: a transaction that only references a waiting ticket (an event, a print job's
    # outcome) holds a key-share lock on it, which SKIP LOCKED must not mistake for a claim.
    return query.with_for_update(skip_locked=True, key_share=True) if postgres else query


# call_next's statements, built once: the clerk's most frequent action.
_LOCK_COUNTER = {False: _lock_counter(False), True: _lock_counter(True)}
_NEXT_WAITING = {False: _next_waiting(False), True: _next_waiting(True)}
_COUNTER_FIELDS = (select(CounterField.field_id).where(CounterField.counter_id == bindparam("counter_id"))
                   .order_by(CounterField.position))
# What a ticket's page shows of a ticket, returned by the statements that change it (`_view_in_hand`).
_VIEWED = (Ticket.code, Ticket.number, Ticket.field_id, Ticket.priority, Ticket.status, Ticket.issued_at,
           Ticket.called_at, Ticket.finished_at, Ticket.service_day, Ticket.token, Ticket.call_count,
           Ticket.booked_start)
_FINISH_TICKET = (update(Ticket).where(Ticket.id == bindparam("ticket_id"), Ticket.status == "called")
                  .values(status="done", finished_at=bindparam("now"))
                  .returning(*_VIEWED, Ticket.first_called_at))
_CALL_TICKET = (update(Ticket).where(Ticket.id == bindparam("ticket_id"))
                .values(status="called", called_at=bindparam("now"),
                        first_called_at=func.coalesce(Ticket.first_called_at, bindparam("now")),
                        counter_id=bindparam("b_counter_id"), clerk_id=bindparam("b_clerk_id"),
                        call_count=Ticket.call_count + 1)
                .returning(*_VIEWED))
_SET_CURRENT = (update(Counter).where(Counter.id == bindparam("b_counter_id"))
                .values(current_ticket_id=bindparam("b_ticket_id"),
                        state=case((Counter.state == "closed", "open"), else_=Counter.state)))


def _served(field_id: int, first_called_at, finished_at) -> tuple[int, float] | None:
    """A finished ticket's service, for the estimates: (field id, seconds from its first call)."""
    if first_called_at is None or finished_at is None:
        return None
    return field_id, (finished_at - first_called_at).total_seconds()


def _page(view: dict) -> dict:
    """A ticket's page view (`ticket_status`) of a ticket that was just called or finished: a
    ticket is rated only once it is done, so it is not rated yet."""
    return {**view, "rated": False}


def _paused(number: int):
    return conflict("counter_paused", f"Quầy số {number} đang tạm dừng. Bấm Tiếp tục để gọi số.")


class Calling(Numbering):
    def call_next(self, counter_number: int, clerk_id: int | None = None, office: int | None = None) -> dict:
        """The clerk's most frequent action, so it runs as a few prebuilt Core statements."""
        office_id = self.office_id(office)
        self.roll_day()
        changes: list[Change] = []
        with self.storage.write() as s:
            conn = s.connection()
            postgres = s.bind.dialect.name == "postgresql"
            counter = conn.execute(_LOCK_COUNTER[postgres], {"office_id": office_id, "number": counter_number}).first()
            if counter is None:
                raise not_found("counter_not_found", f"Không có quầy số {counter_number}.")
            if counter.state == "paused":
                raise _paused(counter_number)
            now = self.now()
            if counter.current_ticket_id is not None:
                done = conn.execute(_FINISH_TICKET, {"ticket_id": counter.current_ticket_id, "now": now}).first()
                if done is not None:
                    INSERT_EVENT(conn, {"office_id": office_id, "at": now, "kind": "finished",
                                        "ticket_id": counter.current_ticket_id, "field_id": done.field_id,
                                        "counter_id": counter.id, "user_id": clerk_id, "device_id": None,
                                        "data": {}})
                    changes += [Change("ticket_finished", {"counter": counter_number, "token": done.token,
                                                           "ticket": {"code": done.code}}, office=office_id,
                                       served=_served(done.field_id, done.first_called_at, now)),
                                Change("ticket_updated", {"token": done.token}, office=office_id,
                                       view=_page(self._view_in_hand(office_id, done, counter_number, s)))]
            field_ids = conn.execute(_COUNTER_FIELDS, {"counter_id": counter.id}).scalars().all()
            ticket_id = conn.execute(_NEXT_WAITING[postgres], {"field_ids": field_ids, "day": self.today(),
                                                               "now": now}).scalar() if field_ids else None
            if ticket_id is None:
                conn.execute(_SET_CURRENT, {"b_counter_id": counter.id, "b_ticket_id": None})
                if changes:
                    s.commit()
                    self._tell(changes + [Change("counter_changed", {"counter": counter_number}, office=office_id,
                                                 state_changed=counter.state == "closed")])
                raise not_found("queue_empty", "Không còn ai đang chờ ở các lĩnh vực của quầy này.")
            ticket = conn.execute(_CALL_TICKET, {"ticket_id": ticket_id, "now": now, "b_counter_id": counter.id,
                                                 "b_clerk_id": clerk_id}).one()
            conn.execute(_SET_CURRENT, {"b_counter_id": counter.id, "b_ticket_id": ticket_id})
            INSERT_EVENT(conn, {"office_id": office_id, "at": now, "kind": "called", "ticket_id": ticket_id,
                                "field_id": ticket.field_id, "counter_id": counter.id, "user_id": clerk_id,
                                "device_id": None, "data": {"code": ticket.code}})
            view = self._view_in_hand(office_id, ticket, counter_number, s)
            tile = self._called_tile(office_id, counter, counter_number, field_ids, ticket, s)
            waiting = self._waiting_by_field(s, office_id, self.today())  # for the boards, in this transaction
        self._announce_call(office_id, view, counter_number, recall=False, changes=changes, tile=tile,
                            opened=counter.state == "closed", in_hand=True, waiting=waiting)
        return for_staff(view)

    def _called_tile(self, office_id: int, counter, counter_number: int, field_ids, ticket, s: Session) -> dict:
        """The counter as the board shows it (`board_counter`) just after this call, from what is in hand."""
        codes = {rules.id: rules.code for rules in self._rules_by_id(office_id, s).values()}
        state = "open" if counter.state == "closed" else counter.state  # a call opens a closed counter
        return self._tile(counter_number, counter.name, state, field_ids, ticket, codes)

    def _view_in_hand(self, office_id: int, ticket, counter_number: int, s: Session) -> dict:
        """The view of a ticket just called or just finished at a counter (`_ticket_view`), from the
        row its statement returned (no further queries): nobody is ahead of it any more."""
        rules = self._rules_by_id(office_id, s).get(ticket.field_id)
        office = self.offices.get(office_id)
        return {
            "code": ticket.code, "number": ticket.number,
            "field": rules.code if rules else None, "field_name": rules.name if rules else None,
            "priority": ticket.priority, "status": ticket.status,
            "issued_at": self.local(ticket.issued_at), "called_at": self.local(ticket.called_at),
            "finished_at": self.local(ticket.finished_at), "service_day": ticket.service_day.isoformat(),
            "ahead": 0, "estimated_wait_s": 0, "token": ticket.token, "counter": counter_number,
            "call_count": ticket.call_count, "office": office.slug if office else None,
            **booked_marks(ticket, self.local),
        }

    def _finish_current(self, s: Session, office_id: int, counter: Counter, clerk_id,
                        changes: list[Change]) -> None:
        if counter.current_ticket_id is None:
            return
        ticket = s.get(Ticket, counter.current_ticket_id)
        counter.current_ticket_id = None
        if ticket is not None and ticket.status == "called":
            ticket.status = "done"
            ticket.finished_at = self.now()
            self._event(s, office_id, "finished", ticket, counter_id=counter.id, user_id=clerk_id)
            changes.append(Change("ticket_finished", {"counter": counter.number, "token": ticket.token,
                                                      "ticket": {"code": ticket.code}}, office=office_id,
                                  served=_served(ticket.field_id, ticket.first_called_at, ticket.finished_at)))
            changes.append(Change("ticket_updated", {"token": ticket.token}, office=office_id))

    def _call(self, s: Session, office_id: int, counter: Counter, ticket: Ticket, clerk_id, kind: str) -> None:
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
        self._event(s, office_id, kind, ticket, counter_id=counter.id, user_id=clerk_id, code=ticket.code)

    def call_ticket(self, counter_number: int, code: str, clerk_id: int | None = None,
                    office: int | None = None) -> dict:
        """Call a given waiting ticket, or bring back a same-day no-show, by its code."""
        office_id = self.office_id(office)
        self.roll_day()
        code = (code or "").strip().upper()
        changes: list[Change] = []
        with self.storage.write() as s:
            counter = self._counter(s, office_id, counter_number, lock=True)
            if counter.state == "paused":
                raise _paused(counter.number)
            ticket = s.scalar(
                select(Ticket).where(Ticket.office_id == office_id, Ticket.code == code,
                                     Ticket.service_day == self.today())
                .order_by(Ticket.id.desc()).limit(1).with_for_update()
            )
            if ticket is None:
                raise not_found("ticket_not_found", f"Không tìm thấy số {code} trong ngày hôm nay.")
            if ticket.status not in ("waiting", "no_show"):
                raise conflict("ticket_not_callable",
                               f"Số {code} đang ở trạng thái “{STATUS_NAMES[ticket.status]}”, không gọi được.")
            if counter.current_ticket_id == ticket.id:
                raise conflict("ticket_not_callable", f"Số {code} đang ở quầy này.")
            was_no_show = ticket.status == "no_show"
            self._finish_current(s, office_id, counter, clerk_id, changes)
            self._call(s, office_id, counter, ticket, clerk_id, "recalled_no_show" if was_no_show else "called_by_code")
            view = self._ticket_view(s, ticket)
        self._announce_call(office_id, view, counter_number, recall=False, changes=changes)
        return for_staff(view)

    def recall(self, counter_number: int, clerk_id: int | None = None, office: int | None = None) -> dict:
        office_id = self.office_id(office)
        with self.storage.write() as s:
            counter = self._counter(s, office_id, counter_number, lock=True)
            ticket = self._current(s, counter)
            ticket.call_count += 1
            ticket.called_at = self.now()
            self._event(s, office_id, "recalled", ticket, counter_id=counter.id, user_id=clerk_id, code=ticket.code)
            view = self._ticket_view(s, ticket)
        self._announce_call(office_id, view, counter_number, recall=True, changes=[], opened=False)
        return for_staff(view)

    @staticmethod
    def _current(s: Session, counter: Counter) -> Ticket:
        ticket = s.get(Ticket, counter.current_ticket_id) if counter.current_ticket_id else None
        if ticket is None or ticket.status != "called":
            raise conflict("no_current_ticket", f"Quầy số {counter.number} chưa gọi số nào.")
        return ticket

    def _announce_call(self, office_id: int, view: dict, counter_number: int, recall: bool,
                       changes: list[Change], tile: dict | None = None, opened: bool = True,
                       in_hand: bool = False, waiting: dict[int, int] | None = None) -> None:
        """`tile` and `waiting`: the counter as the board shows it now and the office's waiting
        tickets by field, when the caller has them in hand (else the board's message reads them). `opened`:
        the call may have opened a closed counter. `in_hand`: `view` is the ticket's page view as
        committed, so its page is told without a query."""
        changes += [
            Change("ticket_called", {
                "ticket": {"code": view["code"], "field": view["field"], "priority": view["priority"],
                           **({"booked_start": view["booked_start"]} if view.get("booked_start") else {})},
                "counter": counter_number, "recall": recall, "at": view["called_at"],
            }, office=office_id, tile=tile, waiting=waiting),
            Change("ticket_updated", {"token": view["token"]}, office=office_id, view=_page(view) if in_hand else None),
            Change("counter_changed", {"counter": counter_number}, office=office_id, state_changed=opened),
            Change("queue_changed", {"fields": [view["field"]], "moved": [view["field"]]}, office=office_id),
        ]
        self._tell(changes)

    def _end_current(self, office_id: int, counter_number: int, clerk_id, status: str, event: str) -> dict:
        changes: list[Change] = []
        with self.storage.write() as s:
            counter = self._counter(s, office_id, counter_number, lock=True)
            ticket = self._current(s, counter)
            if status == "done":
                self._finish_current(s, office_id, counter, clerk_id, changes)
            else:
                ticket.status = status
                ticket.finished_at = self.now()
                counter.current_ticket_id = None
                self._event(s, office_id, event, ticket, counter_id=counter.id, user_id=clerk_id)
                changes.append(Change("ticket_updated", {"token": ticket.token}, office=office_id))
            view = self._ticket_view(s, ticket)
        self._tell(changes + [Change("counter_changed", {"counter": counter_number}, office=office_id,
                                     state_changed=False)])
        return for_staff(view)

    def finish(self, counter_number: int, clerk_id: int | None = None, office: int | None = None) -> dict:
        return self._end_current(self.office_id(office), counter_number, clerk_id, "done", "finished")

    def no_show(self, counter_number: int, clerk_id: int | None = None, office: int | None = None) -> dict:
        return self._end_current(self.office_id(office), counter_number, clerk_id, "no_show", "no_show")

    def transfer(self, counter_number: int, field_code: str, clerk_id: int | None = None,
                 office: int | None = None) -> dict:
        """Send the current ticket to another field of the office; it keeps its code and its place by issue time."""
        office_id = self.office_id(office)
        with self.storage.write() as s:
            counter = self._counter(s, office_id, counter_number, lock=True)
            ticket = self._current(s, counter)
            target = s.scalar(select(Field).where(Field.office_id == office_id, Field.code == field_code,
                                                  Field.active.is_(True)))
            if target is None:
                raise not_found("field_not_found", "Không có lĩnh vực này hoặc lĩnh vực đã ngừng nhận hồ sơ.")
            if target.id == ticket.field_id:
                raise conflict("same_field", "Số này đã thuộc lĩnh vực đó.")
            source_id = ticket.field_id
            ticket.field_id = target.id
            ticket.status = "waiting"
            ticket.counter_id = None
            counter.current_ticket_id = None
            self._event(s, office_id, "transferred", ticket, counter_id=counter.id, user_id=clerk_id,
                        from_field=source_id, to_field=target.id)
            view = self._ticket_view(s, ticket, target)
            source_code = s.get(Field, source_id).code
        self._tell([Change("ticket_updated", {"token": view["token"]}, office=office_id),
                    Change("counter_changed", {"counter": counter_number}, office=office_id, state_changed=False),
                    Change("queue_changed", {"fields": [source_code, field_code], "moved": [source_code, field_code]},
                           office=office_id)])
        return for_staff(view)

    def set_counter_state(self, counter_number: int, state: str, clerk_id: int | None = None,
                          office: int | None = None) -> dict:
        if state not in COUNTER_STATES:
            raise invalid("invalid_state", "Trạng thái quầy không hợp lệ.")
        office_id = self.office_id(office)
        with self.storage.write() as s:
            counter = self._counter(s, office_id, counter_number, lock=True)
            if state != "open" and counter.current_ticket_id:
                raise conflict("ticket_in_service",
                               "Quầy đang phục vụ một số. Hãy bấm Hoàn thành hoặc Vắng mặt trước khi tạm dừng.")
            if counter.state != state:
                counter.state = state
                self._event(s, office_id, {"open": "resumed", "paused": "paused", "closed": "closed"}[state],
                            counter_id=counter.id, user_id=clerk_id)
        self._tell([Change("counter_changed", {"counter": counter_number}, office=office_id),
                    Change("queue_changed", {"fields": []}, office=office_id)])
        return self.counter_view(counter_number, office=office_id)

    # ----- cancelling ------------------------------------------------------------
    def cancel(self, token: str) -> dict:
        """A citizen gives up a waiting ticket (from its own page)."""
        return self._cancel(Ticket.token == token)

    def cancel_by_code(self, code: str, user_id: int, office: int | None = None) -> dict:
        """An admin cancels a waiting ticket of today (one taken outside the kiosks, say)."""
        code = (code or "").strip().upper()
        view = self._cancel(and_(Ticket.office_id == self.office_id(office), Ticket.code == code,
                                 Ticket.service_day == self.today()), user_id=user_id)
        return for_staff(view)

    def _cancel(self, which, user_id: int | None = None) -> dict:
        with self.storage.write() as s:
            ticket = s.scalar(select(Ticket).where(which).order_by(Ticket.id.desc()).limit(1).with_for_update())
            if ticket is None:
                raise not_found("ticket_not_found", "Không tìm thấy phiếu này.")
            if ticket.status != "waiting":
                raise conflict("ticket_not_waiting", "Chỉ huỷ được số đang chờ.")
            ticket.status = "cancelled"
            ticket.finished_at = self.now()
            self._event(s, ticket.office_id, "cancelled", ticket, user_id=user_id)
            view = self._ticket_view(s, ticket)
            office_id = ticket.office_id
        self._tell([Change("ticket_updated", {"token": view["token"]}, office=office_id),
                    Change("queue_changed", {"fields": [view["field"]], "moved": [view["field"]]}, office=office_id)])
        return view
