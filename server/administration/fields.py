"""An office's procedure fields: add, edit, disable, delete (never used), reorder."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..engine import SLUG
from ..models import CounterField, Field, Ticket
from .common import (
    ICON, AdminBase, boolean, booking, conflict, hours, invalid, not_found, optional_int, prefix, slugify, text,
)


def field_json(f: Field, tickets: int = 0) -> dict:
    return {"code": f.code, "name": f.name, "hint": f.hint, "prefix": f.prefix, "active": f.active,
            "position": f.position, "icon": f.icon, "minutes": f.minutes, "hours": list(f.hours or []),
            "daily_cap": f.daily_cap, "booking": dict(f.booking or {}), "has_tickets": tickets > 0}


class FieldsAdmin(AdminBase):
    def fields(self, office: int) -> list[dict]:
        with self.storage.read() as s:
            counts = dict(s.execute(select(Ticket.issued_field_id, func.count()).where(Ticket.office_id == office)
                                    .group_by(Ticket.issued_field_id)).all())
            moved = dict(s.execute(select(Ticket.field_id, func.count()).where(Ticket.office_id == office)
                                   .group_by(Ticket.field_id)).all())
            return [field_json(f, counts.get(f.id, 0) + moved.get(f.id, 0))
                    for f in s.scalars(select(Field).where(Field.office_id == office).order_by(Field.position, Field.id))]

    @staticmethod
    def _field(s: Session, office: int, code: str) -> Field:
        field = s.scalar(select(Field).where(Field.office_id == office, Field.code == code))
        if field is None:
            raise not_found("field_not_found", f"Không có lĩnh vực “{code}”.")
        return field

    def _apply_field(self, s: Session, office: int, field: Field, data: dict) -> None:
        if "name" in data:
            field.name = text(data["name"], "Tên lĩnh vực", "invalid_name", 200)
        if "hint" in data:
            field.hint = text(data["hint"], "Mô tả", "invalid_hint", 300, required=False)
        if "prefix" in data:
            new_prefix = prefix(data["prefix"])
            clash = s.scalar(select(Field.code).where(Field.office_id == office, Field.prefix == new_prefix,
                                                      Field.id != field.id))
            if clash:
                raise conflict("prefix_taken", f"Tiền tố {new_prefix} đã dùng cho lĩnh vực “{clash}”.")
            if field.id is not None and new_prefix != field.prefix and self._issued_today(s, field.id):
                # Today's codes must stay unique and keep meaning the same field: change it tomorrow.
                raise conflict("prefix_in_use_today", "Lĩnh vực này đã cấp số hôm nay; chỉ đổi tiền tố được từ ngày mai.")
            field.prefix = new_prefix
        if "hours" in data:
            field.hours = hours(data["hours"])
        if "booking" in data:
            field.booking = booking(data["booking"])
        if "daily_cap" in data:
            field.daily_cap = optional_int(data["daily_cap"], "Số phiếu tối đa mỗi ngày", "invalid_daily_cap", 1, 9999)
        if "minutes" in data:
            field.minutes = optional_int(data["minutes"], "Số phút mỗi lượt", "invalid_minutes", 1, 600)
        if "icon" in data:
            icon = data["icon"] or None
            if icon is not None and (not isinstance(icon, str) or not ICON.match(icon)):
                raise invalid("invalid_icon", "Biểu tượng là tên ngắn gồm chữ thường, số và dấu gạch ngang.")
            field.icon = icon
        if "position" in data:
            field.position = optional_int(data["position"], "Thứ tự", "invalid_position", 0, 9999) or 0
        if "active" in data:
            field.active = boolean(data["active"])

    def _issued_today(self, s: Session, field_id: int) -> bool:
        return s.scalar(select(Ticket.id).where(Ticket.issued_field_id == field_id,
                                                Ticket.service_day == self.engine.today()).limit(1)) is not None

    def add_field(self, data: dict, user_id: int | None = None, *, office: int) -> dict:
        for key in ("name", "prefix"):
            if key not in data:
                raise invalid(f"invalid_{key}", "Cần nhập tên lĩnh vực và tiền tố.")
        code = data.get("code") or slugify(data["name"] if isinstance(data["name"], str) else "")
        if not isinstance(code, str) or not SLUG.match(code) or len(code) > 64:
            raise invalid("invalid_code", "Mã lĩnh vực chỉ gồm chữ thường không dấu, số và dấu gạch ngang.")
        with self.storage.write() as s:
            if s.scalar(select(Field.id).where(Field.office_id == office, Field.code == code)):
                raise conflict("field_code_taken", f"Mã lĩnh vực “{code}” đã có.")
            last = s.scalar(select(func.max(Field.position)).where(Field.office_id == office)) or 0
            field = Field(office_id=office, code=code, name="", hint="", prefix="", active=True, position=last + 1,
                          hours=[], booking={})
            self._apply_field(s, office, field, data)
            s.add(field)
            s.flush()
            self._audit(s, office, "field_added", user_id, field=code)
            view = field_json(field)
        self.engine.config_changed("fields", office=office)
        return view

    def update_field(self, code: str, data: dict, user_id: int | None = None, *, office: int) -> dict:
        with self.storage.write() as s:
            field = self._field(s, office, code)
            self._apply_field(s, office, field, data)
            self._audit(s, office, "field_changed", user_id, field=code, keys=sorted(data))
            s.flush()
            view = field_json(field)
        self.engine.config_changed("fields", office=office)
        return view

    def delete_field(self, code: str, user_id: int | None = None, *, office: int) -> None:
        """Only a field that never had a ticket; one with tickets is disabled instead, so reports keep it."""
        with self.storage.write() as s:
            field = self._field(s, office, code)
            used = s.scalar(select(func.count(Ticket.id)).where(
                or_(Ticket.field_id == field.id, Ticket.issued_field_id == field.id)))
            if used:
                raise conflict("field_has_tickets",
                               f"Lĩnh vực “{field.name}” đã có {used} phiếu nên không xoá được; hãy tạm ngừng thay vì xoá.")
            for link in s.scalars(select(CounterField).where(CounterField.field_id == field.id)):
                s.delete(link)
            s.flush()
            s.delete(field)
            self._audit(s, office, "field_deleted", user_id, field=code)
        self.engine.config_changed("fields", office=office)

    def reorder_fields(self, codes: Any, user_id: int | None = None, *, office: int) -> list[dict]:
        with self.storage.write() as s:
            fields = {f.code: f for f in s.scalars(select(Field).where(Field.office_id == office))}
            if not isinstance(codes, list) or sorted(map(str, codes)) != sorted(fields):
                raise invalid("invalid_order", "Cần gửi đủ mã của mọi lĩnh vực, mỗi mã một lần.")
            for position, code in enumerate(codes):
                fields[code].position = position
            self._audit(s, office, "fields_reordered", user_id)
        self.engine.config_changed("fields", office=office)
        return self.fields(office)
