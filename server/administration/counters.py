"""An office's counters: add, rename, choose the fields they serve, take out of service."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Counter, CounterField, Field
from .common import AdminBase, boolean, conflict, invalid, not_found, text


class CountersAdmin(AdminBase):
    def counters(self, office: int) -> list[dict]:
        with self.storage.read() as s:
            codes = dict(s.execute(select(Field.id, Field.code).where(Field.office_id == office)).all())
            return [{"number": c.number, "name": c.name, "state": c.state, "active": c.active,
                     "fields": [codes[link.field_id] for link in c.field_links if link.field_id in codes],
                     "busy": c.current_ticket_id is not None}
                    for c in s.scalars(select(Counter).where(Counter.office_id == office).order_by(Counter.number))]

    @staticmethod
    def _counter(s: Session, office: int, number: int) -> Counter:
        counter = s.scalar(select(Counter).where(Counter.office_id == office, Counter.number == number))
        if counter is None:
            raise not_found("counter_not_found", f"Không có quầy số {number}.")
        return counter

    @staticmethod
    def _apply_counter(s: Session, office: int, counter: Counter, data: dict) -> None:
        if "name" in data:
            counter.name = text(data["name"], "Tên quầy", "invalid_name", 100)
        if "fields" in data:
            codes = data["fields"]
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes) or len(set(codes)) != len(codes):
                raise invalid("invalid_fields", "Danh sách lĩnh vực của quầy không hợp lệ (mỗi mã một lần).")
            ids = dict(s.execute(select(Field.code, Field.id).where(Field.office_id == office,
                                                                    Field.code.in_(codes or [""]))).all())
            unknown = [c for c in codes if c not in ids]
            if unknown:
                raise invalid("unknown_field", f"Không có lĩnh vực: {', '.join(unknown)}.")
            counter.field_links = [CounterField(field_id=ids[c], position=i) for i, c in enumerate(codes)]
        if "active" in data:
            active = boolean(data["active"])
            if not active and counter.current_ticket_id is not None:
                raise conflict("counter_busy", f"Quầy số {counter.number} đang phục vụ một số; "
                                               "hãy Hoàn thành hoặc Vắng mặt trước khi ngừng quầy.")
            counter.active = active

    def _counter_view(self, office: int, number: int) -> dict:
        return next(c for c in self.counters(office) if c["number"] == number)

    def add_counter(self, data: dict, user_id: int | None = None, *, office: int) -> dict:
        number = data.get("number")
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 999:
            raise invalid("invalid_number", "Số quầy là số nguyên từ 1 đến 999.")
        with self.storage.write() as s:
            if s.scalar(select(Counter.id).where(Counter.office_id == office, Counter.number == number)):
                raise conflict("counter_number_taken", f"Quầy số {number} đã có.")
            counter = Counter(office_id=office, number=number, name=f"Quầy {number}", state="open", active=True)
            s.add(counter)
            s.flush()
            self._apply_counter(s, office, counter, data)
            self._audit(s, office, "counter_added", user_id, counter=number)
        self.engine.config_changed("counters", office=office)
        return self._counter_view(office, number)

    def update_counter(self, number: int, data: dict, user_id: int | None = None, *, office: int) -> dict:
        with self.storage.write() as s:
            counter = self._counter(s, office, number)
            self._apply_counter(s, office, counter, data)
            self._audit(s, office, "counter_changed", user_id, counter=number, keys=sorted(data))
        self.engine.config_changed("counters", office=office)
        return self._counter_view(office, number)
