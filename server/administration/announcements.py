"""An office's announcements, scrolling along the bottom of its boards."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ..models import Announcement
from .common import AdminBase, boolean, invalid, not_found, text


class AnnouncementsAdmin(AdminBase):
    def announcements(self, office: int) -> list[dict]:
        with self.storage.read() as s:
            return [{"id": a.id, "text": a.text, "active": a.active, "position": a.position}
                    for a in s.scalars(select(Announcement).where(Announcement.office_id == office)
                                       .order_by(Announcement.position, Announcement.id))]

    @staticmethod
    def _apply_announcement(a: Announcement, data: dict) -> None:
        if "text" in data:
            a.text = text(data["text"], "Nội dung thông báo", "invalid_text", 500)
        if "active" in data:
            a.active = boolean(data["active"])

    def add_announcement(self, data: dict, user_id: int | None = None, *, office: int) -> dict:
        if "text" not in data:
            raise invalid("invalid_text", "Cần nhập nội dung thông báo.")
        with self.storage.write() as s:
            last = s.scalar(select(func.max(Announcement.position)).where(Announcement.office_id == office)) or 0
            a = Announcement(office_id=office, text="", active=True, position=last + 1, created_at=self.engine.now())
            self._apply_announcement(a, data)
            s.add(a)
            s.flush()
            self._audit(s, office, "announcement_added", user_id, announcement=a.id)
            new_id = a.id
        self.engine.config_changed("announcements", office=office)
        return next(x for x in self.announcements(office) if x["id"] == new_id)

    def update_announcement(self, announcement_id: int, data: dict, user_id: int | None = None, *,
                            office: int) -> dict:
        with self.storage.write() as s:
            a = s.get(Announcement, announcement_id)
            if a is None or a.office_id != office:
                raise not_found("announcement_not_found", "Không có thông báo này.")
            self._apply_announcement(a, data)
            self._audit(s, office, "announcement_changed", user_id, announcement=announcement_id, keys=sorted(data))
        self.engine.config_changed("announcements", office=office)
        return next(x for x in self.announcements(office) if x["id"] == announcement_id)

    def reorder_announcements(self, ids: Any, user_id: int | None = None, *, office: int) -> list[dict]:
        with self.storage.write() as s:
            items = {a.id: a for a in s.scalars(select(Announcement).where(Announcement.office_id == office))}
            if not isinstance(ids, list) or sorted(i for i in ids if isinstance(i, int)) != sorted(items) \
                    or len(ids) != len(items):
                raise invalid("invalid_order", "Cần gửi đủ mã của mọi thông báo, mỗi mã một lần.")
            for position, i in enumerate(ids):
                items[i].position = position
            self._audit(s, office, "announcements_reordered", user_id)
        self.engine.config_changed("announcements", office=office)
        return self.announcements(office)
