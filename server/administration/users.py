"""People: an office's clerks and admins (its admin), and province users (the province)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..auth import AuthError, create_user, end_user_access, set_password
from ..models import ROLES, User
from .common import AdminBase, boolean, conflict, invalid, not_found, text


def user_json(u: User) -> dict:
    return {"id": u.id, "username": u.username, "name": u.display_name, "role": u.role, "active": u.active,
            "created_at": u.created_at.isoformat() if u.created_at else None}


class UsersAdmin(AdminBase):
    def users(self, office: int, *, with_province: bool = False) -> list[dict]:
        """The office's clerks and admins (and the province's users, for a province user)."""
        with self.storage.read() as s:
            mine = User.office_id == office
            query = select(User).where(or_(mine, User.role == "province") if with_province else mine)
            return [user_json(u) for u in s.scalars(query.order_by(User.role, User.username))]

    def add_user(self, data: dict, user_id: int | None = None, *, office: int, may_add_province: bool = False) -> dict:
        username, password, role = data.get("username"), data.get("password"), data.get("role", "clerk")
        if not isinstance(username, str) or not isinstance(password, str):
            raise invalid("invalid_user", "Cần nhập tên đăng nhập và mật khẩu.")
        if role not in ROLES or (role == "province" and not may_add_province):
            raise invalid("invalid_role", "Vai trò là cán bộ (clerk) hoặc quản trị (admin).")
        name = text(data.get("name"), "Họ tên", "invalid_name", 200, required=False)
        with self.storage.read() as s:
            if s.scalar(select(User.id).where(User.username == username.strip().lower())):
                raise conflict("username_taken", f"Tên đăng nhập {username.strip().lower()} đã có.")
        try:
            user = create_user(self.storage, username, password, role, name, office_id=office)
        except AuthError as err:
            code = "weak_password" if "Mật khẩu" in str(err) else "invalid_username"
            raise invalid(code, str(err)) from None
        with self.storage.write() as s:
            self._audit(s, user.office_id, "user_added", user_id, user=user.username, role=role)
        return user_json(user)

    @staticmethod
    def _user(s: Session, office: int | None, target_id: int) -> User:
        """A user the caller may manage: of this office (office None: any, for the province)."""
        user = s.get(User, target_id)
        if user is None or (office is not None and user.office_id != office):
            raise not_found("user_not_found", "Không có người dùng này.")
        return user

    def update_user(self, target_id: int, data: dict, user_id: int | None = None, *, office: int | None) -> dict:
        with self.storage.write() as s:
            user = self._user(s, office, target_id)
            if "name" in data:
                user.display_name = text(data["name"], "Họ tên", "invalid_name", 200)
            if "active" in data:
                active = boolean(data["active"])
                if not active and target_id == user_id:
                    raise conflict("cannot_disable_self", "Bạn không thể tự khoá tài khoản của chính mình.")
                if not active and user.role == "admin" and user.active and self._active_admins(s, user.office_id) <= 1:
                    raise conflict("last_admin", "Không thể khoá quản trị viên cuối cùng.")
                if user.active and not active:
                    end_user_access(s, user.id)  # a disabled user is logged out everywhere at once
                user.active = active
            self._audit(s, user.office_id, "user_changed", user_id, user=user.username, keys=sorted(data))
            s.flush()
            return user_json(user)

    @staticmethod
    def _active_admins(s: Session, office: int | None) -> int:
        return s.scalar(select(func.count(User.id)).where(User.role == "admin", User.office_id == office,
                                                          User.active.is_(True)))

    def reset_password(self, target_id: int, password: Any, user_id: int | None = None, *,
                       office: int | None) -> None:
        if not isinstance(password, str):
            raise invalid("weak_password", "Cần nhập mật khẩu mới.")
        with self.storage.read() as s:
            user = self._user(s, office, target_id)
            username, user_office = user.username, user.office_id
        try:
            set_password(self.storage, target_id, password)
        except AuthError as err:
            raise invalid("weak_password", str(err)) from None
        with self.storage.write() as s:
            self._audit(s, user_office, "password_reset", user_id, user=username)
