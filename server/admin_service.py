"""The admin's rules: the office, fields, counters, users, devices and announcements.

Like the queue engine this module knows no Flask request: the API passes plain
values, gets plain dicts back, and every refusal is an `AdminError` with a
Vietnamese message (the API's error handler turns it into the JSON error shape).
After each committed change that boards or kiosks show, the engine is told
(`config_changed`), which resyncs every board and kiosk live.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .auth import AuthError, create_pairing, create_user, end_user_access, pairing_url, set_password
from .engine import QueueEngine, QueueError, normalise_span
from .models import (
    DEVICE_KINDS,
    ROLES,
    Announcement,
    Counter,
    CounterField,
    Device,
    Event,
    Field,
    Office,
    Ticket,
    User,
)
from .storage import Storage

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PREFIX = re.compile(r"^[A-Z]{1,2}$")
ICON = re.compile(r"^[a-z0-9-]{1,64}$")
MAX_REASONS = 20


class AdminError(QueueError):
    """A rule refused the change; `kind` is not_found, conflict or invalid (404, 409, 422)."""


_invalid, _conflict, _not_found = AdminError.invalid, AdminError.conflict, AdminError.not_found


def slugify(text: str) -> str:
    """"Đăng ký hộ kinh doanh" -> "dang-ky-ho-kinh-doanh"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:64]


# ----- value checks shared by add and edit -----------------------------------
def _text(value: Any, what: str, code: str, max_len: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise _invalid(code, f"{what} phải là chữ.")
    value = value.strip()
    if required and not value:
        raise _invalid(code, f"Cần nhập {what.lower()}.")
    if len(value) > max_len:
        raise _invalid(code, f"{what} dài tối đa {max_len} ký tự.")
    return value


def _optional_int(value: Any, what: str, code: str, low: int, high: int) -> int | None:
    if value is None or value == "":
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _invalid(code, f"{what} phải là số nguyên từ {low} đến {high}.")
    return value


def _hours(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 6:
        raise _invalid("invalid_hours", "Giờ cấp số là danh sách khoảng giờ, ví dụ [\"07:00-11:30\", \"13:00-16:30\"].")
    spans = []
    for item in value:
        try:
            spans.append(normalise_span(item if isinstance(item, str) else ""))
        except ValueError:
            raise _invalid("invalid_hours", f"Khoảng giờ “{item}” không đúng: viết như 07:30-11:30 hoặc 7h30-11h30, "
                                            "giờ bắt đầu trước giờ kết thúc.") from None
    return sorted(spans)


def _prefix(value: Any) -> str:
    if not isinstance(value, str) or not PREFIX.match(value.strip()):
        raise _invalid("invalid_prefix", "Tiền tố là 1 hoặc 2 chữ cái in hoa không dấu, ví dụ A hoặc HT.")
    return value.strip()


def _field_json(f: Field, tickets: int = 0) -> dict:
    return {"code": f.code, "name": f.name, "hint": f.hint, "prefix": f.prefix, "active": f.active,
            "position": f.position, "icon": f.icon, "minutes": f.minutes, "hours": list(f.hours or []),
            "daily_cap": f.daily_cap, "has_tickets": tickets > 0}


class AdminService:
    def __init__(self, storage: Storage, engine: QueueEngine):
        self.storage = storage
        self.engine = engine

    def _audit(self, s: Session, what: str, user_id: int | None, **data) -> None:
        """Admin changes go into the same append-only log as the queue's."""
        s.add(Event(at=self.engine.now(), kind=f"admin_{what}", user_id=user_id, data=data))

    # ----- office -----------------------------------------------------------
    def office(self) -> dict:
        with self.storage.read() as s:
            office = s.scalar(select(Office).limit(1))
        scale = self.engine.rating_scale()
        return {"name": office.name if office else "", "unit": office.unit if office else "",
                "rating_scale": scale["scale"], "rating_reasons": scale["reasons"]}

    def update_office(self, changes: dict, user_id: int | None = None) -> dict:
        with self.storage.write() as s:
            office = s.scalar(select(Office).limit(1)) or Office(name="", unit="", rating_scale=3, settings={})
            if "name" in changes:
                office.name = _text(changes["name"], "Tên cơ quan", "invalid_name", 200)
            if "unit" in changes:
                office.unit = _text(changes["unit"], "Tên bộ phận", "invalid_unit", 200, required=False)
            if "rating_scale" in changes:
                if changes["rating_scale"] not in (3, 5) or isinstance(changes["rating_scale"], bool):
                    raise _invalid("invalid_rating_scale", "Thang đánh giá là 3 hoặc 5 mức.")
                office.rating_scale = changes["rating_scale"]
            if "rating_reasons" in changes:
                office.settings = {**(office.settings or {}), "rating_reasons": self._reasons(changes["rating_reasons"])}
            s.add(office)
            self._audit(s, "office", user_id, keys=sorted(changes))
        self.engine.config_changed("office")
        return self.office()

    @staticmethod
    def _reasons(value: Any) -> list[dict]:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_REASONS:
            raise _invalid("invalid_rating_reasons", f"Cần từ 1 đến {MAX_REASONS} lý do không hài lòng.")
        out, seen = [], set()
        for item in value:
            name = item.get("name") if isinstance(item, dict) else item
            name = _text(name, "Lý do", "invalid_rating_reasons", 100)
            code = item.get("code") if isinstance(item, dict) and item.get("code") else slugify(name)
            if not isinstance(code, str) or not SLUG.match(code) or code in seen:
                raise _invalid("invalid_rating_reasons", f"Mã lý do “{code}” không hợp lệ hoặc bị trùng.")
            seen.add(code)
            out.append({"code": code, "name": name})
        return out

    # ----- fields -----------------------------------------------------------
    def fields(self) -> list[dict]:
        with self.storage.read() as s:
            counts = dict(s.execute(select(Ticket.issued_field_id, func.count()).group_by(Ticket.issued_field_id)).all())
            moved = dict(s.execute(select(Ticket.field_id, func.count()).group_by(Ticket.field_id)).all())
            return [_field_json(f, counts.get(f.id, 0) + moved.get(f.id, 0))
                    for f in s.scalars(select(Field).order_by(Field.position, Field.id))]

    def _field(self, s: Session, code: str) -> Field:
        field = s.scalar(select(Field).where(Field.code == code))
        if field is None:
            raise _not_found("field_not_found", f"Không có lĩnh vực “{code}”.")
        return field

    def _apply_field(self, s: Session, field: Field, data: dict) -> None:
        if "name" in data:
            field.name = _text(data["name"], "Tên lĩnh vực", "invalid_name", 200)
        if "hint" in data:
            field.hint = _text(data["hint"], "Mô tả", "invalid_hint", 300, required=False)
        if "prefix" in data:
            prefix = _prefix(data["prefix"])
            clash = s.scalar(select(Field.code).where(Field.prefix == prefix, Field.id != field.id))
            if clash:
                raise _conflict("prefix_taken", f"Tiền tố {prefix} đã dùng cho lĩnh vực “{clash}”.")
            if field.id is not None and prefix != field.prefix and self._issued_today(s, field.id):
                # Today's codes must stay unique and keep meaning the same field: change it tomorrow.
                raise _conflict("prefix_in_use_today",
                                "Lĩnh vực này đã cấp số hôm nay; chỉ đổi tiền tố được từ ngày mai.")
            field.prefix = prefix
        if "hours" in data:
            field.hours = _hours(data["hours"])
        if "daily_cap" in data:
            field.daily_cap = _optional_int(data["daily_cap"], "Số phiếu tối đa mỗi ngày", "invalid_daily_cap", 1, 9999)
        if "minutes" in data:
            field.minutes = _optional_int(data["minutes"], "Số phút mỗi lượt", "invalid_minutes", 1, 600)
        if "icon" in data:
            icon = data["icon"] or None
            if icon is not None and (not isinstance(icon, str) or not ICON.match(icon)):
                raise _invalid("invalid_icon", "Biểu tượng là tên ngắn gồm chữ thường, số và dấu gạch ngang.")
            field.icon = icon
        if "position" in data:
            field.position = _optional_int(data["position"], "Thứ tự", "invalid_position", 0, 9999) or 0
        if "active" in data:
            if not isinstance(data["active"], bool):
                raise _invalid("invalid_active", "“active” phải là true hoặc false.")
            field.active = data["active"]

    def _issued_today(self, s: Session, field_id: int) -> bool:
        return s.scalar(select(Ticket.id).where(Ticket.issued_field_id == field_id,
                                                Ticket.service_day == self.engine.today()).limit(1)) is not None

    def add_field(self, data: dict, user_id: int | None = None) -> dict:
        for key in ("name", "prefix"):
            if key not in data:
                raise _invalid(f"invalid_{key}", "Cần nhập tên lĩnh vực và tiền tố.")
        code = data.get("code") or slugify(data["name"] if isinstance(data["name"], str) else "")
        if not isinstance(code, str) or not SLUG.match(code) or len(code) > 64:
            raise _invalid("invalid_code", "Mã lĩnh vực chỉ gồm chữ thường không dấu, số và dấu gạch ngang.")
        with self.storage.write() as s:
            if s.scalar(select(Field.id).where(Field.code == code)):
                raise _conflict("field_code_taken", f"Mã lĩnh vực “{code}” đã có.")
            last = s.scalar(select(func.max(Field.position))) or 0
            field = Field(code=code, name="", hint="", prefix="", active=True, position=last + 1, hours=[])
            self._apply_field(s, field, data)
            s.add(field)
            s.flush()
            self._audit(s, "field_added", user_id, field=code)
            view = _field_json(field)
        self.engine.config_changed("fields")
        return view

    def update_field(self, code: str, data: dict, user_id: int | None = None) -> dict:
        with self.storage.write() as s:
            field = self._field(s, code)
            self._apply_field(s, field, data)
            self._audit(s, "field_changed", user_id, field=code, keys=sorted(data))
            s.flush()
            view = _field_json(field)
        self.engine.config_changed("fields")
        return view

    def delete_field(self, code: str, user_id: int | None = None) -> None:
        """Only a field that never had a ticket; one with tickets is disabled instead, so reports keep it."""
        with self.storage.write() as s:
            field = self._field(s, code)
            used = s.scalar(select(func.count(Ticket.id)).where(
                (Ticket.field_id == field.id) | (Ticket.issued_field_id == field.id)))
            if used:
                raise _conflict("field_has_tickets",
                                f"Lĩnh vực “{field.name}” đã có {used} phiếu nên không xoá được; hãy tạm ngừng thay vì xoá.")
            for link in s.scalars(select(CounterField).where(CounterField.field_id == field.id)):
                s.delete(link)
            s.flush()
            s.delete(field)
            self._audit(s, "field_deleted", user_id, field=code)
        self.engine.config_changed("fields")

    def reorder_fields(self, codes: Any, user_id: int | None = None) -> list[dict]:
        with self.storage.write() as s:
            fields = {f.code: f for f in s.scalars(select(Field))}
            if not isinstance(codes, list) or sorted(map(str, codes)) != sorted(fields):
                raise _invalid("invalid_order", "Cần gửi đủ mã của mọi lĩnh vực, mỗi mã một lần.")
            for position, code in enumerate(codes):
                fields[code].position = position
            self._audit(s, "fields_reordered", user_id)
        self.engine.config_changed("fields")
        return self.fields()

    # ----- counters -----------------------------------------------------------
    def counters(self) -> list[dict]:
        with self.storage.read() as s:
            codes = {f.id: f.code for f in s.scalars(select(Field))}
            return [{"number": c.number, "name": c.name, "state": c.state, "active": c.active,
                     "fields": [codes[link.field_id] for link in c.field_links],
                     "busy": c.current_ticket_id is not None}
                    for c in s.scalars(select(Counter).order_by(Counter.number))]

    def _counter(self, s: Session, number: int) -> Counter:
        counter = s.scalar(select(Counter).where(Counter.number == number))
        if counter is None:
            raise _not_found("counter_not_found", f"Không có quầy số {number}.")
        return counter

    def _apply_counter(self, s: Session, counter: Counter, data: dict) -> None:
        if "name" in data:
            counter.name = _text(data["name"], "Tên quầy", "invalid_name", 100)
        if "fields" in data:
            codes = data["fields"]
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes) or len(set(codes)) != len(codes):
                raise _invalid("invalid_fields", "Danh sách lĩnh vực của quầy không hợp lệ (mỗi mã một lần).")
            ids = dict(s.execute(select(Field.code, Field.id).where(Field.code.in_(codes or [""]))).all())
            unknown = [c for c in codes if c not in ids]
            if unknown:
                raise _invalid("unknown_field", f"Không có lĩnh vực: {', '.join(unknown)}.")
            counter.field_links = [CounterField(field_id=ids[c], position=i) for i, c in enumerate(codes)]
        if "active" in data:
            if not isinstance(data["active"], bool):
                raise _invalid("invalid_active", "“active” phải là true hoặc false.")
            if not data["active"] and counter.current_ticket_id is not None:
                raise _conflict("counter_busy", f"Quầy số {counter.number} đang phục vụ một số; "
                                                "hãy Hoàn thành hoặc Vắng mặt trước khi ngừng quầy.")
            counter.active = data["active"]

    def _counter_view(self, number: int) -> dict:
        return next(c for c in self.counters() if c["number"] == number)

    def add_counter(self, data: dict, user_id: int | None = None) -> dict:
        number = data.get("number")
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 999:
            raise _invalid("invalid_number", "Số quầy là số nguyên từ 1 đến 999.")
        with self.storage.write() as s:
            if s.scalar(select(Counter.id).where(Counter.number == number)):
                raise _conflict("counter_number_taken", f"Quầy số {number} đã có.")
            counter = Counter(number=number, name=f"Quầy {number}", state="open", active=True)
            s.add(counter)
            s.flush()
            self._apply_counter(s, counter, data)
            self._audit(s, "counter_added", user_id, counter=number)
        self.engine.config_changed("counters")
        return self._counter_view(number)

    def update_counter(self, number: int, data: dict, user_id: int | None = None) -> dict:
        with self.storage.write() as s:
            counter = self._counter(s, number)
            self._apply_counter(s, counter, data)
            self._audit(s, "counter_changed", user_id, counter=number, keys=sorted(data))
        self.engine.config_changed("counters")
        return self._counter_view(number)

    # ----- users --------------------------------------------------------------
    def users(self) -> list[dict]:
        with self.storage.read() as s:
            return [self._user_json(u) for u in s.scalars(select(User).order_by(User.role, User.username))]

    @staticmethod
    def _user_json(u: User) -> dict:
        return {"id": u.id, "username": u.username, "name": u.display_name, "role": u.role, "active": u.active,
                "created_at": u.created_at.isoformat() if u.created_at else None}

    def add_user(self, data: dict, user_id: int | None = None) -> dict:
        username, password, role = data.get("username"), data.get("password"), data.get("role", "clerk")
        if not isinstance(username, str) or not isinstance(password, str):
            raise _invalid("invalid_user", "Cần nhập tên đăng nhập và mật khẩu.")
        if role not in ROLES:
            raise _invalid("invalid_role", "Vai trò là cán bộ (clerk) hoặc quản trị (admin).")
        name = _text(data.get("name"), "Họ tên", "invalid_name", 200, required=False)
        with self.storage.read() as s:
            if s.scalar(select(User.id).where(User.username == username.strip().lower())):
                raise _conflict("username_taken", f"Tên đăng nhập {username.strip().lower()} đã có.")
        try:
            user = create_user(self.storage, username, password, role, name)
        except AuthError as err:
            code = "weak_password" if "Mật khẩu" in str(err) else "invalid_username"
            raise _invalid(code, str(err)) from None
        with self.storage.write() as s:
            self._audit(s, "user_added", user_id, user=user.username, role=role)
        return self._user_json(user)

    def _user(self, s: Session, target_id: int) -> User:
        user = s.get(User, target_id)
        if user is None:
            raise _not_found("user_not_found", "Không có người dùng này.")
        return user

    def update_user(self, target_id: int, data: dict, user_id: int | None = None) -> dict:
        with self.storage.write() as s:
            user = self._user(s, target_id)
            if "name" in data:
                user.display_name = _text(data["name"], "Họ tên", "invalid_name", 200)
            if "active" in data:
                if not isinstance(data["active"], bool):
                    raise _invalid("invalid_active", "“active” phải là true hoặc false.")
                if not data["active"] and target_id == user_id:
                    raise _conflict("cannot_disable_self", "Bạn không thể tự khoá tài khoản của chính mình.")
                if not data["active"] and user.role == "admin" and user.active and self._active_admins(s) <= 1:
                    raise _conflict("last_admin", "Không thể khoá quản trị viên cuối cùng.")
                if user.active and not data["active"]:
                    end_user_access(s, user.id)  # a disabled user is logged out everywhere at once
                user.active = data["active"]
            self._audit(s, "user_changed", user_id, user=user.username, keys=sorted(data))
            s.flush()
            return self._user_json(user)

    @staticmethod
    def _active_admins(s: Session) -> int:
        return s.scalar(select(func.count(User.id)).where(User.role == "admin", User.active.is_(True)))

    def reset_password(self, target_id: int, password: Any, user_id: int | None = None) -> None:
        if not isinstance(password, str):
            raise _invalid("weak_password", "Cần nhập mật khẩu mới.")
        with self.storage.read() as s:
            username = self._user(s, target_id).username
        try:
            set_password(self.storage, target_id, password)
        except AuthError as err:
            raise _invalid("weak_password", str(err)) from None
        with self.storage.write() as s:
            self._audit(s, "password_reset", user_id, user=username)

    # ----- devices --------------------------------------------------------------
    def devices(self) -> list[dict]:
        now = self.engine.now()
        with self.storage.read() as s:
            numbers = dict(s.execute(select(Counter.id, Counter.number)).all())
            out = []
            for d in s.scalars(select(Device).order_by(Device.id.desc())):
                if d.revoked_at:
                    status = "revoked"
                elif d.paired_at:
                    status = "paired"
                elif d.pairing_expires_at and d.pairing_expires_at < now:
                    status = "expired"
                else:
                    status = "waiting"
                out.append({"id": d.id, "kind": d.kind, "name": d.name, "counter": numbers.get(d.counter_id),
                            "status": status, "paired": d.paired_at is not None,
                            "paired_at": self.engine.local(d.paired_at), "last_seen_at": self.engine.local(d.last_seen_at),
                            "revoked_at": self.engine.local(d.revoked_at),
                            "created_at": self.engine.local(d.created_at)})
            return out

    def pair_device(self, data: dict, base_url: str, user_id: int | None = None) -> dict:
        kind, counter = data.get("kind"), data.get("counter")
        if kind not in DEVICE_KINDS:
            raise _invalid("invalid_kind", "Loại thiết bị là máy lấy số (kiosk), màn hình (display) hoặc máy đánh giá (tablet).")
        if counter is not None and (not isinstance(counter, int) or isinstance(counter, bool)):
            raise _invalid("invalid_counter", "Số quầy phải là số nguyên.")
        name = _text(data.get("name"), "Tên thiết bị", "invalid_name", 100, required=False)
        try:
            device, code = create_pairing(self.storage, kind, counter, name)
        except AuthError as err:
            raise _invalid("invalid_pairing", str(err)) from None
        with self.storage.write() as s:
            self._audit(s, "device_pairing", user_id, device=device.id, device_kind=kind)
        view = next(d for d in self.devices() if d["id"] == device.id)
        return {"device": view, "code": code, "url": pairing_url(base_url, kind, code)}

    def revoke_device(self, device_id: int, user_id: int | None = None) -> dict:
        with self.storage.write() as s:
            device = s.get(Device, device_id)
            if device is None:
                raise _not_found("device_not_found", "Không có thiết bị này.")
            if device.revoked_at:
                raise _conflict("already_revoked", "Thiết bị này đã bị thu hồi.")
            device.revoked_at = self.engine.now()
            device.pairing_code_hash = None  # an unused code dies with the device
            self._audit(s, "device_revoked", user_id, device=device_id)
        self.engine.device_revoked(device_id)
        return next(d for d in self.devices() if d["id"] == device_id)

    # ----- announcements ----------------------------------------------------------
    def announcements(self) -> list[dict]:
        with self.storage.read() as s:
            return [{"id": a.id, "text": a.text, "active": a.active, "position": a.position}
                    for a in s.scalars(select(Announcement).order_by(Announcement.position, Announcement.id))]

    def _apply_announcement(self, a: Announcement, data: dict) -> None:
        if "text" in data:
            a.text = _text(data["text"], "Nội dung thông báo", "invalid_text", 500)
        if "active" in data:
            if not isinstance(data["active"], bool):
                raise _invalid("invalid_active", "“active” phải là true hoặc false.")
            a.active = data["active"]

    def add_announcement(self, data: dict, user_id: int | None = None) -> dict:
        if "text" not in data:
            raise _invalid("invalid_text", "Cần nhập nội dung thông báo.")
        with self.storage.write() as s:
            last = s.scalar(select(func.max(Announcement.position))) or 0
            a = Announcement(text="", active=True, position=last + 1, created_at=self.engine.now())
            self._apply_announcement(a, data)
            s.add(a)
            s.flush()
            self._audit(s, "announcement_added", user_id, announcement=a.id)
            new_id = a.id
        self.engine.config_changed("announcements")
        return next(x for x in self.announcements() if x["id"] == new_id)

    def update_announcement(self, announcement_id: int, data: dict, user_id: int | None = None) -> dict:
        with self.storage.write() as s:
            a = s.get(Announcement, announcement_id)
            if a is None:
                raise _not_found("announcement_not_found", "Không có thông báo này.")
            self._apply_announcement(a, data)
            self._audit(s, "announcement_changed", user_id, announcement=announcement_id, keys=sorted(data))
        self.engine.config_changed("announcements")
        return next(x for x in self.announcements() if x["id"] == announcement_id)

    def reorder_announcements(self, ids: Any, user_id: int | None = None) -> list[dict]:
        with self.storage.write() as s:
            items = {a.id: a for a in s.scalars(select(Announcement))}
            if not isinstance(ids, list) or sorted(i for i in ids if isinstance(i, int)) != sorted(items) \
                    or len(ids) != len(items):
                raise _invalid("invalid_order", "Cần gửi đủ mã của mọi thông báo, mỗi mã một lần.")
            for position, i in enumerate(ids):
                items[i].position = position
            self._audit(s, "announcements_reordered", user_id)
        self.engine.config_changed("announcements")
        return self.announcements()
