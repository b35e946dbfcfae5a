"""An office's online bookings: the days it takes none, and cancelling on a citizen's behalf."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from ..models import BlackoutDay
from .common import AdminBase, conflict, invalid, not_found, text


class BookingsAdmin(AdminBase):
    def blackout_days(self, office: int) -> list[dict]:
        with self.storage.read() as s:
            return [{"day": b.day.isoformat(), "note": b.note}
                    for b in s.scalars(select(BlackoutDay).where(BlackoutDay.office_id == office,
                                                                 BlackoutDay.day >= self.engine.today())
                                       .order_by(BlackoutDay.day))]

    @staticmethod
    def _day(value: Any) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise invalid("invalid_day", "Ngày phải có dạng YYYY-MM-DD.") from None

    def add_blackout_day(self, data: dict, user_id: int | None = None, *, office: int) -> dict:
        day = self._day(data.get("day"))
        note = text(data.get("note"), "Ghi chú", "invalid_note", 200, required=False)
        with self.storage.write() as s:
            if s.scalar(select(BlackoutDay.id).where(BlackoutDay.office_id == office, BlackoutDay.day == day)):
                raise conflict("blackout_day_taken", f"Ngày {day:%d/%m/%Y} đã là ngày không nhận đặt lịch.")
            s.add(BlackoutDay(office_id=office, day=day, note=note))
            self._audit(s, office, "blackout_day_added", user_id, day=day.isoformat())
        return {"day": day.isoformat(), "note": note}

    def remove_blackout_day(self, day_text: str, user_id: int | None = None, *, office: int) -> None:
        day = self._day(day_text)
        with self.storage.write() as s:
            row = s.scalar(select(BlackoutDay).where(BlackoutDay.office_id == office, BlackoutDay.day == day))
            if row is None:
                raise not_found("blackout_day_not_found", f"Ngày {day:%d/%m/%Y} không phải ngày nghỉ đặt lịch.")
            s.delete(row)
            self._audit(s, office, "blackout_day_removed", user_id, day=day.isoformat())
