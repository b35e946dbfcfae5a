"""Offices: an office's own settings (its admin), and the list of offices (the province)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..engine import SLUG
from ..models import Office
from .common import AdminBase, conflict, invalid, not_found, slugify, text

MAX_REASONS = 20


def office_json(o: Office) -> dict:
    return {"slug": o.slug, "name": o.name, "unit": o.unit, "active": o.active}


class OfficesAdmin(AdminBase):
    # ----- one office, by its admin ----------------------------------------------
    def office(self, office: int) -> dict:
        info = self.engine.office_info(office)
        scale = self.engine.rating_scale(office)
        return {"slug": info.slug, "name": info.name, "unit": info.unit,
                "rating_scale": scale["scale"], "rating_reasons": scale["reasons"]}

    def update_office(self, changes: dict, user_id: int | None = None, *, office: int) -> dict:
        with self.storage.write() as s:
            row = s.get(Office, office)
            if row is None:
                raise not_found("office_not_found", "Không có cơ quan này.")
            if "name" in changes:
                row.name = text(changes["name"], "Tên cơ quan", "invalid_name", 200)
            if "unit" in changes:
                row.unit = text(changes["unit"], "Tên bộ phận", "invalid_unit", 200, required=False)
            if "rating_scale" in changes:
                if changes["rating_scale"] not in (3, 5) or isinstance(changes["rating_scale"], bool):
                    raise invalid("invalid_rating_scale", "Thang đánh giá là 3 hoặc 5 mức.")
                row.rating_scale = changes["rating_scale"]
            if "rating_reasons" in changes:
                row.settings = {**(row.settings or {}), "rating_reasons": self._reasons(changes["rating_reasons"])}
            self._audit(s, office, "office", user_id, keys=sorted(changes))
        self.engine.config_changed("office", office=office)
        return self.office(office)

    @staticmethod
    def _reasons(value: Any) -> list[dict]:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_REASONS:
            raise invalid("invalid_rating_reasons", f"Cần từ 1 đến {MAX_REASONS} lý do không hài lòng.")
        out, seen = [], set()
        for item in value:
            name = item.get("name") if isinstance(item, dict) else item
            name = text(name, "Lý do", "invalid_rating_reasons", 100)
            code = item.get("code") if isinstance(item, dict) and item.get("code") else slugify(name)
            if not isinstance(code, str) or not SLUG.match(code) or code in seen:
                raise invalid("invalid_rating_reasons", f"Mã lý do “{code}” không hợp lệ hoặc bị trùng.")
            seen.add(code)
            out.append({"code": code, "name": name})
        return out

    # ----- every office, by the province -------------------------------------------
    def offices(self) -> list[dict]:
        with self.storage.read() as s:
            return [office_json(o) for o in s.scalars(select(Office).order_by(Office.name, Office.id))]

    def add_office(self, data: dict, user_id: int | None = None) -> dict:
        slug = data.get("slug")
        if not isinstance(slug, str) or not SLUG.match(slug) or len(slug) > 64:
            raise invalid("invalid_slug", "Mã cơ quan chỉ gồm chữ thường không dấu, số và dấu gạch ngang, "
                                          "ví dụ phuong-ba-dinh.")
        name = text(data.get("name"), "Tên cơ quan", "invalid_name", 200)
        unit = text(data.get("unit"), "Tên bộ phận", "invalid_unit", 200, required=False)
        with self.storage.write() as s:
            if s.scalar(select(Office.id).where(Office.slug == slug)):
                raise conflict("office_slug_taken", f"Mã cơ quan “{slug}” đã có.")
            row = Office(slug=slug, name=name, unit=unit or "Bộ phận tiếp nhận và trả kết quả", rating_scale=3,
                         settings={}, active=True)
            s.add(row)
            s.flush()
            self._audit(s, None, "office_added", user_id, office=slug)
            view = office_json(row)
        self.engine.forget_caches()
        return view

    def update_office_listing(self, slug: str, data: dict, user_id: int | None = None) -> dict:
        """Rename or (de)activate an office. A deactivated office's paths answer 404; nothing is deleted."""
        with self.storage.write() as s:
            row = s.scalar(select(Office).where(Office.slug == slug))
            if row is None:
                raise not_found("office_not_found", f"Không có cơ quan “{slug}”.")
            if "name" in data:
                row.name = text(data["name"], "Tên cơ quan", "invalid_name", 200)
            if "unit" in data:
                row.unit = text(data["unit"], "Tên bộ phận", "invalid_unit", 200, required=False)
            if "active" in data:
                if not isinstance(data["active"], bool):
                    raise invalid("invalid_active", "“active” phải là true hoặc false.")
                if not data["active"] and row.active:
                    remaining = s.scalar(select(Office.id).where(Office.active.is_(True), Office.id != row.id).limit(1))
                    if remaining is None:
                        raise conflict("last_office", "Không thể ngừng cơ quan cuối cùng.")
                row.active = data["active"]
            self._audit(s, row.id, "office_listing_changed", user_id, office=slug, keys=sorted(data))
            office_id, view = row.id, office_json(row)
        self.engine.config_changed("office", office=office_id)
        return view
