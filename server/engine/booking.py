"""Online number-taking and appointments: slots, seats, bookings, check-in, missed bookings.

- A field takes bookings when its `booking` settings say so: `{"slot_minutes": 30, "seats": 4,
  "days_ahead": 6}`. Slots tile the field's issuing hours (07:00–17:00 when it has none) from
  the start of each period, minus the office's blackout days.
- Seats are never oversold: a booking takes one with `UPDATE booking_slot SET taken = taken + 1
  WHERE id = … AND taken < seats` (atomic on PostgreSQL; SQLite's writers are serialised by
  BEGIN IMMEDIATE), never a check then an insert. The per-phone daily limit is counted the
  same way.
- Check-in, from CHECKIN_BEFORE before the slot's start until CHECKIN_AFTER after it, issues
  a ticket in the field's own sequence (printed as usual, through the same issue path),
  marked with the slot's start; it is then called before every walk-in ticket once its slot
  has started. A booking not checked in when its window closes becomes `missed`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import BlackoutDay, Booking, BookingQuota, BookingSlot, Field, Ticket
from .base import Change, conflict, for_staff, invalid, not_found, takes_bookings
from .hours import parse_hours
from .ratings import Ratings

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, no 1/I: read aloud and typed without doubt
CODE_LENGTH = 6
WHOLE_DAY = [(dt.time(7, 0), dt.time(17, 0))]
NAME_MAX = 100
PHONE = re.compile(r"^(?:0|\+84|84)(\d{9})$")


def booking_rules(settings: dict | None) -> tuple[int, int, int] | None:
    """(slot_minutes, seats, days_ahead) of a field that takes bookings, else None."""
    if not takes_bookings(settings):
        return None
    return int(settings.get("slot_minutes") or 30), settings["seats"], int(settings.get("days_ahead") or 0)


def normalise_phone(text) -> str | None:
    """"0912 345 678", "+84 912.345.678" -> "0912345678"; None unless a Vietnamese number."""
    if not isinstance(text, str):
        return None
    match = PHONE.match(re.sub(r"[\s.\-()]", "", text))
    return "0" + match.group(1) if match else None


def mask_phone(phone: str) -> str:
    """"0912345678" -> "09xx xxx 678": enough for its owner to recognise, nothing for anyone else."""
    return f"{phone[:2]}xx xxx {phone[-3:]}"


class Bookings(Ratings):
    # ----- slots -----------------------------------------------------------------------
    def _bookable_field(self, s: Session, office_id: int, code: str) -> tuple[Field, tuple[int, int, int]]:
        field = s.scalar(select(Field).where(Field.office_id == office_id, Field.code == code))
        if field is None or not field.active:
            raise not_found("field_not_found", "Không có lĩnh vực này hoặc lĩnh vực đã ngừng nhận hồ sơ.")
        rules = booking_rules(field.booking)
        if rules is None:
            raise invalid("field_not_bookable", f"Lĩnh vực {field.name} không nhận đặt lịch trước. "
                                                "Xin mời ông/bà lấy số tại máy lấy số khi đến.")
        return field, rules

    def _slot_times(self, field: Field, slot_minutes: int, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The day's slots of a field, tiling each period of its hours from the period's start."""
        length = dt.timedelta(minutes=slot_minutes)
        out = []
        for begin, finish in parse_hours(field.hours) or WHOLE_DAY:
            start = dt.datetime.combine(day, begin, self.tz)
            end_of_period = dt.datetime.combine(day, finish, self.tz)
            while start + length <= end_of_period:
                out.append((start.astimezone(dt.timezone.utc), (start + length).astimezone(dt.timezone.utc)))
                start += length
        return out

    def _check_day(self, s: Session, office_id: int, day: dt.date, days_ahead: int) -> str | None:
        """Why a day takes no bookings, or None."""
        today = self.today()
        if day < today or day > today + dt.timedelta(days=days_ahead):
            raise invalid("day_out_of_range", f"Chỉ đặt lịch được từ hôm nay đến {days_ahead} ngày tới.")
        if s.scalar(select(BlackoutDay.id).where(BlackoutDay.office_id == office_id, BlackoutDay.day == day)):
            return "Ngày này cơ quan không nhận đặt lịch."
        return None

    def booking_slots(self, field_code: str, day: dt.date, office: int | None = None) -> dict:
        """The day's slots that can still be booked (the one under way too, until its check-in
        window closes), each with the seats left."""
        office_id = self.office_id(office)
        now = self.now()
        with self.storage.read() as s:
            field, (slot_minutes, seats, days_ahead) = self._bookable_field(s, office_id, field_code)
            closed = self._check_day(s, office_id, day, days_ahead)
            times = [] if closed else [(a, b) for a, b in self._slot_times(field, slot_minutes, day)
                                       if now < a + self.booking_settings.checkin_after]
            taken = dict(s.execute(select(BookingSlot.start, BookingSlot.taken).where(
                BookingSlot.field_id == field.id, BookingSlot.start.in_([a for a, _ in times] or [now]))).all())
        slots = [{"start": self.local(a), "end": self.local(b), "seats": seats, "left": max(0, seats - taken.get(a, 0))}
                 for a, b in times]
        return {"field": field.code, "field_name": field.name, "date": day.isoformat(), "slot_minutes": slot_minutes,
                "slots": slots, **({"closed": closed} if closed else {})}

    # ----- booking --------------------------------------------------------------------
    def book(self, field_code: str, start: dt.datetime, phone_text, name, *, office: int | None = None,
             idempotency_key: str | None = None, booked_from: str | None = None) -> dict:
        office_id = self.office_id(office)
        phone = normalise_phone(phone_text)
        if phone is None:
            raise invalid("invalid_phone", "Số điện thoại chưa đúng: 10 chữ số bắt đầu bằng 0, ví dụ 0912 345 678.")
        name = (name or "").strip() if isinstance(name, str) or name is None else None
        if name is None or len(name) > NAME_MAX:
            raise invalid("invalid_name", f"Họ tên tối đa {NAME_MAX} ký tự.")
        if start.tzinfo is None:
            raise invalid("invalid_start", "Giờ hẹn cần ghi kèm múi giờ, ví dụ 2026-11-26T08:00:00+07:00.")
        start = start.astimezone(dt.timezone.utc)
        if idempotency_key:
            client = f"address:{booked_from}"
            idempotency_key = hashlib.sha256(f"{office_id}\nbooking\n{client}\n{idempotency_key}".encode()).hexdigest()
            existing = self._booking_by_key(idempotency_key)
            if existing is not None:
                return existing
        try:
            with self.storage.write() as s:
                booking = self._book(s, office_id, field_code, start, phone, name, idempotency_key, booked_from)
                view = self._booking_view(s, booking)
        except IntegrityError:
            if idempotency_key:  # two retries with one key raced; the other won
                existing = self._booking_by_key(idempotency_key)
                if existing is not None:
                    return existing
            raise
        self.forget_bookings(office_id)  # estimates count it from now on, in this process at once
        view["replayed"] = False
        return view

    def _booking_by_key(self, key: str) -> dict | None:
        with self.storage.read() as s:
            booking = s.scalar(select(Booking).where(Booking.idempotency_key == key))
            if booking is None:
                return None
            view = self._booking_view(s, booking)
        view["replayed"] = True
        return view

    def _book(self, s: Session, office_id: int, field_code: str, start: dt.datetime, phone: str, name: str,
              idempotency_key: str | None, booked_from: str | None) -> Booking:
        field, (slot_minutes, seats, days_ahead) = self._bookable_field(s, office_id, field_code)
        day = start.astimezone(self.tz).date()
        closed = self._check_day(s, office_id, day, days_ahead)
        if closed:
            raise invalid("day_closed", closed)
        times = dict(self._slot_times(field, slot_minutes, day))
        if start not in times:
            raise invalid("no_such_slot", "Không có khung giờ này; xin chọn lại trong danh sách khung giờ.")
        now = self.now()
        if now >= start + self.booking_settings.checkin_after:
            raise invalid("slot_closed", "Khung giờ này đã qua; xin chọn khung giờ khác.")
        conn = s.connection()
        dialect = s.bind.dialect.name
        slot_id = self._slot_row(conn, dialect, field.id, start, seats)
        took = conn.execute(update(BookingSlot).where(BookingSlot.id == slot_id, BookingSlot.taken < BookingSlot.seats)
                            .values(taken=BookingSlot.taken + 1).returning(BookingSlot.taken)).first()
        if took is None:
            raise conflict("slot_full", "Khung giờ này đã hết chỗ; xin chọn khung giờ khác.")
        limit = self.booking_settings.per_phone_per_day
        self._quota_row(conn, dialect, office_id, phone, day)
        held = conn.execute(update(BookingQuota).where(
            BookingQuota.office_id == office_id, BookingQuota.phone == phone, BookingQuota.day == day,
            BookingQuota.held < limit).values(held=BookingQuota.held + 1).returning(BookingQuota.held)).first()
        if held is None:
            raise conflict("booking_limit", f"Số điện thoại này đã đặt {limit} lịch trong ngày "
                                            f"{day:%d/%m/%Y} tại cơ quan; không đặt thêm được.")
        booking = Booking(office_id=office_id, field_id=field.id, slot_id=slot_id, code=self._new_code(s),
                          token=secrets.token_urlsafe(18), phone=phone, name=name, status="booked", start=start,
                          end=times[start], day=day, created_at=now, cancel_reason="",
                          idempotency_key=idempotency_key, booked_from=(booked_from or "")[:64] or None)
        s.add(booking)
        s.flush()
        self._event(s, office_id, "booked", field_id=field.id, booking=booking.code, start=self.local(start))
        return booking

    @staticmethod
    def _slot_row(conn, dialect: str, field_id: int, start: dt.datetime, seats: int) -> int:
        """The slot's seat counter (made on its first booking; its seats follow the field's settings)."""
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        conn.execute(dialect_insert(BookingSlot).values(field_id=field_id, start=start, seats=seats, taken=0)
                     .on_conflict_do_update(index_elements=[BookingSlot.field_id, BookingSlot.start],
                                            set_={"seats": seats}))
        return conn.execute(select(BookingSlot.id).where(BookingSlot.field_id == field_id,
                                                         BookingSlot.start == start)).scalar_one()

    @staticmethod
    def _quota_row(conn, dialect: str, office_id: int, phone: str, day: dt.date) -> None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        conn.execute(dialect_insert(BookingQuota).values(office_id=office_id, phone=phone, day=day, held=0)
                     .on_conflict_do_nothing())

    @staticmethod
    def _new_code(s: Session) -> str:
        for _ in range(20):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if s.scalar(select(Booking.id).where(Booking.code == code)) is None:
                return code
        raise RuntimeError("no free booking code")  # 32^6 codes: never, in practice

    # ----- reading and cancelling --------------------------------------------------------
    def booking_status(self, token: str) -> dict:
        self.sweep_missed()
        with self.storage.read() as s:
            booking = s.scalar(select(Booking).where(Booking.token == token))
            if booking is None:
                raise not_found("booking_not_found", "Không tìm thấy lịch hẹn này.")
            return self._booking_view(s, booking)

    def cancel_booking(self, token: str | None = None, *, code: str | None = None, reason: str = "",
                       user_id: int | None = None, office: int | None = None) -> dict:
        """The citizen cancels from the booking's page (by token), or an admin on their behalf (by code)."""
        with self.storage.write() as s:
            query = select(Booking).with_for_update()
            if token is not None:
                query = query.where(Booking.token == token)
            else:
                query = query.where(Booking.office_id == self.office_id(office), Booking.code == (code or "").upper())
            booking = s.scalar(query)
            if booking is None:
                raise not_found("booking_not_found", "Không tìm thấy lịch hẹn này.")
            if booking.status == "checked_in":
                raise conflict("already_checked_in", "Lịch hẹn đã được xác nhận và cấp số; không huỷ được nữa.")
            if booking.status != "booked":
                raise conflict("booking_not_active", "Lịch hẹn này đã huỷ hoặc đã quá giờ.")
            booking.status = "cancelled"
            booking.cancelled_at = self.now()
            booking.cancel_reason = (reason or "")[:300]
            s.execute(update(BookingSlot).where(BookingSlot.id == booking.slot_id)
                      .values(taken=BookingSlot.taken - 1))  # the seat is free again
            s.execute(update(BookingQuota).where(BookingQuota.office_id == booking.office_id,
                                                 BookingQuota.phone == booking.phone, BookingQuota.day == booking.day)
                      .values(held=BookingQuota.held - 1))
            self._event(s, booking.office_id, "booking_cancelled", field_id=booking.field_id, user_id=user_id,
                        booking=booking.code, reason=booking.cancel_reason, by="admin" if user_id else "citizen")
            view, office_id = self._booking_view(s, booking), booking.office_id
        self.forget_bookings(office_id)
        return view

    def _booking_view(self, s: Session, booking: Booking) -> dict:
        field = s.get(Field, booking.field_id)
        office = self.offices.get(booking.office_id)
        before, after = self.booking_settings.checkin_before, self.booking_settings.checkin_after
        view = {
            "code": booking.code, "token": booking.token, "status": booking.status,
            "field": field.code, "field_name": field.name,
            "office": office.slug if office else None, "office_name": office.name if office else "",
            "start": self.local(booking.start), "end": self.local(booking.end),
            "checkin_from": self.local(booking.start - before), "checkin_until": self.local(booking.start + after),
            "name": booking.name, "phone": mask_phone(booking.phone),
            "created_at": self.local(booking.created_at),
        }
        if booking.ticket_id is not None:
            ticket = s.get(Ticket, booking.ticket_id)
            view["ticket"] = self._ticket_view(s, ticket, field)
        return view

    # ----- check-in ----------------------------------------------------------------------
    def check_in(self, code: str, *, office: int | None = None, device_id: int | None = None,
                 issued_from: str | None = None, context: dict | None = None) -> tuple[dict, bool]:
        """Inside the window: a ticket of the field's sequence, marked as booked (and, the second
        time, the same ticket). Returns (ticket view with "booking", made now?)."""
        office_id = self.office_id(office)
        code = (code or "").strip().upper().replace(" ", "").replace("-", "")
        if not code or len(code) > 12:
            raise invalid("invalid_code", "Cần nhập mã đặt lịch gồm 6 ký tự, ví dụ K7M2QX.")
        self.roll_day()
        now = self.now()
        with self.storage.write() as s:
            booking = s.scalar(select(Booking).where(Booking.office_id == office_id, Booking.code == code)
                               .with_for_update())
            if booking is None:
                raise not_found("booking_not_found", f"Không tìm thấy mã đặt lịch {code}. Xin kiểm tra lại mã.")
            field = s.get(Field, booking.field_id)
            if booking.status == "checked_in":
                ticket = s.get(Ticket, booking.ticket_id)
                view = self._ticket_view(s, ticket, field)
                view["booking"] = {"code": booking.code, "start": self.local(booking.start)}
                return view, False
            if booking.status == "cancelled":
                raise conflict("booking_cancelled", "Lịch hẹn này đã huỷ. Xin mời ông/bà lấy số thường tại máy lấy số.")
            opens = booking.start - self.booking_settings.checkin_before
            closes = booking.start + self.booking_settings.checkin_after
            if booking.status == "missed" or now >= closes:
                raise conflict("too_late", f"Lịch hẹn lúc {self._hhmm(booking.start)} đã quá giờ xác nhận "
                                           f"({self._hhmm(closes)}). Xin mời ông/bà lấy số thường tại máy lấy số.")
            if now < opens:
                when = self._hhmm(opens) if booking.day == self.today() else f"{self._hhmm(opens)} ngày {booking.day:%d/%m/%Y}"
                raise conflict("too_early", f"Lịch hẹn của ông/bà lúc {self._hhmm(booking.start)}. Xin mời quay lại "
                                            f"xác nhận từ {when}, hoặc lấy số thường ngay bây giờ.")
            view = self._issue(s, office_id, field.code, None, None, device_id, issued_from, context or {},
                               booked_start=booking.start)
            ticket_id = s.scalar(select(Ticket.id).where(Ticket.token == view["token"]))
            booking.status, booking.checked_in_at, booking.ticket_id = "checked_in", now, ticket_id
            self._event(s, office_id, "booking_checked_in", field_id=field.id, booking=booking.code,
                        ticket_code=view["code"])
            view["booking"] = {"code": booking.code, "start": self.local(booking.start)}
        self._tell([Change("ticket_issued", {"ticket": view}, office=office_id),
                    Change("queue_changed", {"fields": [field.code], "moved": [field.code]}, office=office_id)])
        return view, True

    def _hhmm(self, moment: dt.datetime) -> str:
        return f"{moment.astimezone(self.tz):%H:%M}"

    # ----- missed bookings ------------------------------------------------------------------
    def sweep_missed(self) -> int:
        """Bookings whose check-in window closed without a check-in become `missed` (every office;
        run by the day loop, on reads, and after a restart)."""
        cutoff = self.now() - self.booking_settings.checkin_after
        with self.storage.read() as s:
            overdue = s.execute(select(Booking.id, Booking.office_id, Booking.field_id, Booking.code)
                                .where(Booking.status == "booked", Booking.start <= cutoff).limit(1000)).all()
        if not overdue:
            return 0
        with self.storage.write() as s:
            for booking_id, office_id, field_id, code in overdue:
                changed = s.execute(update(Booking).where(Booking.id == booking_id, Booking.status == "booked")
                                    .values(status="missed")).rowcount
                if changed:
                    self._event(s, office_id, "booking_missed", field_id=field_id, booking=code)
        return len(overdue)

    # ----- for the admin --------------------------------------------------------------------
    def bookings_of_day(self, day: dt.date, office: int | None = None) -> list[dict]:
        """The day's bookings of an office, by slot: with the phone (the admin calls people on it)."""
        self.sweep_missed()
        with self.storage.read() as s:
            rows = s.scalars(select(Booking).where(Booking.office_id == self.office_id(office), Booking.day == day)
                             .order_by(Booking.start, Booking.created_at)).all()
            out = []
            for booking in rows:
                view = for_staff(self._booking_view(s, booking))
                view["phone"] = booking.phone
                view.pop("ticket", None)
                if booking.ticket_id:
                    view["ticket_code"] = s.scalar(select(Ticket.code).where(Ticket.id == booking.ticket_id))
                view["cancel_reason"] = booking.cancel_reason
                out.append(view)
            return out


__all__ = ["Bookings", "booking_rules", "mask_phone", "normalise_phone", "CODE_ALPHABET"]
