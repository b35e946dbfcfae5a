"""Who is asking: clerks and admins (session or bearer token) and paired devices.

Passwords are hashed with argon2 (argon2-cffi, the reference binding of the
winner of the Password Hashing Competition); tokens and pairing codes are
stored only as SHA-256 hashes, so a copy of the database grants nothing.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request, session
from sqlalchemy import Row, bindparam, delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from .errors import api_error
from .extensions import csrf
from .models import DEVICE_KINDS, ROLES, ApiToken, Counter, Device, Office, User
from .storage import Storage

_hasher = PasswordHasher()
DEVICE_COOKIE = "motcua_device"
PAIRING_HOURS = 24
TOKEN_DAYS = 30
MIN_PASSWORD = 10


class AuthError(ValueError):
    pass


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the user does not exist, so both cases take as long."""
    return _hasher.hash("motcua-timing-equaliser")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# ----- users ---------------------------------------------------------------
@functools.cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("server").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


_LEET = str.maketrans("@4310$5!7", "aaeiossit")
_RUNS = ("0123456789", "9876543210", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm",
         "1qaz2wsx3edc4rfv", "q1w2e3r4t5y6u7i8o9p0")


def check_password_strength(password: str, username: str = "", display_name: str = "") -> None:
    """Refuse what a guesser tries first: short, repeated, keyboard runs, common, or the user's name."""
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.")
    lowered = password.lower()
    if len(set(lowered)) < 4:
        raise AuthError("Mật khẩu lặp lại quá ít ký tự khác nhau; hãy chọn mật khẩu khó đoán hơn.")
    core = lowered.rstrip("0123456789!@#$%^&*.").translate(_LEET)  # "P@ssw0rd123!" -> "password"
    common = _common_passwords()
    if lowered in common or lowered.translate(_LEET) in common or core in common \
            or any(lowered in run for run in _RUNS):
        raise AuthError("Mật khẩu này quá phổ biến, dễ bị đoán; hãy chọn mật khẩu khác.")
    for name in (username, *display_name.split()):
        name = name.strip().lower()
        if len(name) >= 3 and (name in lowered or name in core):
            raise AuthError("Mật khẩu không được chứa tên đăng nhập hoặc họ tên.")


def create_user(storage: Storage, username: str, password: str, role: str, display_name: str = "",
                office_id: int | None = None) -> User:
    """A clerk or admin of one office (the first office when none is given), or a province user."""
    username = username.strip().lower()
    if not username or len(username) > 64 or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise AuthError("Tên đăng nhập chỉ gồm chữ, số, dấu chấm, gạch dưới, gạch ngang.")
    if role not in ROLES:
        raise AuthError(f"Vai trò phải là một trong: {', '.join(ROLES)}.")
    check_password_strength(password, username, display_name)
    with storage.write() as s:
        if s.scalar(select(User.id).where(User.username == username)):
            raise AuthError(f"Tên đăng nhập {username} đã có.")
        if role == "province":
            office_id = None
        elif office_id is None:
            office_id = s.scalar(select(Office.id).order_by(Office.id).limit(1))
            if office_id is None:
                raise AuthError("Chưa có cơ quan nào: hãy chạy “motcua init” trước.")
        user = User(username=username, display_name=display_name or username, role=role, office_id=office_id,
                    password_hash=_hasher.hash(password), active=True, created_at=_now(), auth_generation=0)
        s.add(user)
    return user


def set_password(storage: Storage, user_id: int, password: str) -> None:
    with storage.read() as s:
        user = s.get(User, user_id)
        if user is None:
            raise AuthError("Không có người dùng này.")
    check_password_strength(password, user.username, user.display_name or "")
    with storage.write() as s:
        s.execute(update(User).where(User.id == user_id).values(password_hash=_hasher.hash(password)))
        end_user_access(s, user_id)  # a new password ends every session and token of the old one


def end_access(storage: Storage, user_id: int) -> None:
    """Log the user out everywhere: every session cookie and every bearer token stops working."""
    with storage.write() as s:
        end_user_access(s, user_id)


def end_user_access(s, user_id: int) -> None:
    """Inside a write transaction: move the session generation on and delete every token."""
    s.execute(update(User).where(User.id == user_id).values(auth_generation=User.auth_generation + 1))
    s.execute(delete(ApiToken).where(ApiToken.user_id == user_id))


def authenticate(storage: Storage, username: str, password: str) -> User | None:
    with storage.read() as s:
        user = s.scalar(select(User).where(User.username == username.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    return user


def issue_token(storage: Storage, user: User) -> str:
    token = secrets.token_urlsafe(32)
    with storage.write() as s:
        s.add(ApiToken(token_hash=_sha(token), user_id=user.id, created_at=_now(),
                       expires_at=_now() + dt.timedelta(days=TOKEN_DAYS)))
    return token


def user_json(user: User) -> dict:
    return {"id": user.id, "username": user.username, "name": user.display_name, "role": user.role}


# ----- devices -------------------------------------------------------------
def create_pairing(storage: Storage, kind: str, counter_number: int | None = None, name: str = "",
                   office_id: int | None = None) -> tuple[Device, str]:
    """A new device of an office (the first office when none is given) waiting to be paired,
    and its one-time code (shown once)."""
    if kind not in DEVICE_KINDS:
        raise AuthError(f"Loại thiết bị phải là một trong: {', '.join(DEVICE_KINDS)}.")
    if kind == "tablet" and counter_number is None:
        raise AuthError("Máy tính bảng đánh giá cần gắn với một quầy (--counter N).")
    code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
    with storage.write() as s:
        if office_id is None:
            office_id = s.scalar(select(Office.id).order_by(Office.id).limit(1))
        counter_id = None
        if counter_number is not None:
            counter_id = s.scalar(select(Counter.id).where(Counter.office_id == office_id,
                                                           Counter.number == counter_number))
            if counter_id is None:
                raise AuthError(f"Không có quầy số {counter_number}.")
        device = Device(office_id=office_id, kind=kind, name=name or kind, counter_id=counter_id,
                        pairing_code_hash=_sha(code),
                        pairing_expires_at=_now() + dt.timedelta(hours=PAIRING_HOURS), created_at=_now(),
                        settings={})
        s.add(device)
    return device, code


DEVICE_PAGES = {"kiosk": "kiosk", "display": "display", "tablet": "rating"}


def pairing_url(base_url: str, kind: str, code: str) -> str:
    """The link that pairs a device when opened on it: its own page with the one-time code."""
    return f"{base_url.rstrip('/')}/{DEVICE_PAGES[kind]}?pair={code}"


def complete_pairing(storage: Storage, code: str) -> tuple[Device, str]:
    """Exchange a pairing code for the device's long-lived token; the code works once."""
    code = (code or "").strip().upper().replace("-", "").replace(" ", "")
    token = secrets.token_urlsafe(32)
    with storage.write() as s:
        device = s.scalar(select(Device).where(Device.pairing_code_hash == _sha(code)).with_for_update())
        if device is None or device.revoked_at or (device.pairing_expires_at and device.pairing_expires_at < _now()):
            raise AuthError("Mã ghép nối không đúng hoặc đã hết hạn.")
        device.pairing_code_hash = None
        device.token_hash = _sha(token)
        device.paired_at = _now()
    return device, token


SEEN_EVERY = dt.timedelta(minutes=1)


# Built once, read as a row on a bare connection: a paired kiosk's every ticket asks it, and every
# paired board, console and tablet when it connects (all at once after a restart). An ORM object
# in a session cost ~2× the row (SQLite, in-process).
_DEVICE_BY_TOKEN = (select(Device.id, Device.office_id, Device.kind, Device.name, Device.counter_id,
                           Device.settings, Device.revoked_at, Device.last_seen_at)
                    .where(Device.token_hash == bindparam("token_hash")))


def device_from_token(storage: Storage, token: str | None) -> Row | None:
    """The paired device behind a token, as a row (id, office_id, kind, name, counter_id,
    settings, revoked_at, last_seen_at); notes when it was last seen (at most once a minute)."""
    if not token:
        return None
    with storage.read_rows() as rows:
        device = rows.execute(_DEVICE_BY_TOKEN, {"token_hash": _sha(token)}).first()
    if device is None or device.revoked_at:
        return None
    now = _now()
    if device.last_seen_at is None or now - device.last_seen_at > SEEN_EVERY:
        try:  # best effort: a full or read-only database must not lock paired devices out of reading
            with storage.write() as s:
                s.execute(update(Device).where(Device.id == device.id).values(last_seen_at=now))
        except SQLAlchemyError:
            pass
    return device


def device_counter_number(storage: Storage, device: Row) -> int | None:
    if device.counter_id is None:
        return None
    with storage.read() as s:
        return s.scalar(select(Counter.number).where(Counter.id == device.counter_id))


# ----- the current request ---------------------------------------------------
def _services():
    return current_app.extensions["motcua"]


def current_user() -> User | None:
    """The clerk or admin behind this request: bearer token first, then the browser session."""
    if "motcua_user" in g:
        return g.motcua_user
    user = None
    g.motcua_via = None
    storage = _services().storage
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        with storage.read() as s:  # the token and its user in one query: every clerk's request asks
            row = s.execute(select(User, ApiToken.expires_at).join(ApiToken, ApiToken.user_id == User.id)
                            .where(ApiToken.token_hash == _sha(header[7:].strip()))).first()
            if row and row.expires_at > _now():
                user = row.User
                g.motcua_via = "token"
    elif session.get("uid"):
        started = session.get("auth_at", 0)
        hours = _services().config.session_hours
        if _now().timestamp() - started < hours * 3600:
            with storage.read() as s:
                user = s.get(User, session["uid"])
            if user is not None and session.get("gen") != user.auth_generation:
                user = None  # logged out, new password or disabled since this cookie was made
                session.clear()
            g.motcua_via = "session"
        else:
            session.clear()
    if user is not None and not user.active:
        user = None
    g.motcua_user = user
    return user


def current_device() -> Row | None:
    """The paired device making this request; a device of another office than the path names
    counts as none (it has no privileges there)."""
    if "motcua_device" in g:
        return g.motcua_device
    from .tenancy import named_office

    token = request.headers.get("X-Device-Token") or request.cookies.get(DEVICE_COOKIE)
    device = device_from_token(_services().storage, token)
    named = named_office()
    if device is not None and named is not None and named.id != device.office_id:
        device = None
    g.motcua_device = device
    return device


def may_act_in(user: User, office_id: int) -> bool:
    """Province users act in every office; admins and clerks in their own."""
    return user.role == "province" or user.office_id == office_id


def require_role(*roles: str):
    """Only a logged-in user with one of these roles (any role when none given; province users
    pass every check) of the request's office; CSRF for browser sessions."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                raise api_error(401)
            if roles and user.role not in roles and user.role != "province":
                raise api_error(403)
            from .tenancy import current_office

            if not may_act_in(user, current_office().id):
                raise api_error(403, "forbidden", "Tài khoản này thuộc cơ quan khác; không có quyền ở đây.")
            if g.motcua_via == "session" and request.method not in ("GET", "HEAD", "OPTIONS"):
                csrf.protect()
            return view(*args, **kwargs)

        return wrapper

    return decorator


require_user = require_role()


def login_session(user: User) -> None:
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["gen"] = user.auth_generation
    session["auth_at"] = _now().timestamp()
