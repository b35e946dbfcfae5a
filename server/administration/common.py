"""What every part of the admin's rules shares: the error, value checks, the audit trail."""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy.orm import Session

from ..engine import QueueEngine, QueueError, normalise_span
from ..models import Event
from ..storage import Storage

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PREFIX = re.compile(r"^[A-Z]{1,2}$")
ICON = re.compile(r"^[a-z0-9-]{1,64}$")


class AdminError(QueueError):
    """A rule refused the change; `kind` is not_found, conflict or invalid (404, 409, 422)."""


invalid, conflict, not_found = AdminError.invalid, AdminError.conflict, AdminError.not_found


def slugify(text: str) -> str:
    """"Đăng ký hộ kinh doanh" -> "dang-ky-ho-kinh-doanh"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:64]


def text(value: Any, what: str, code: str, max_len: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise invalid(code, f"{what} phải là chữ.")
    value = value.strip()
    if required and not value:
        raise invalid(code, f"Cần nhập {what.lower()}.")
    if len(value) > max_len:
        raise invalid(code, f"{what} dài tối đa {max_len} ký tự.")
    return value


def optional_int(value: Any, what: str, code: str, low: int, high: int) -> int | None:
    if value is None or value == "":
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise invalid(code, f"{what} phải là số nguyên từ {low} đến {high}.")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise invalid("invalid_active", "“active” phải là true hoặc false.")
    return value


def hours(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 6:
        raise invalid("invalid_hours", "Giờ cấp số là danh sách khoảng giờ, ví dụ [\"07:00-11:30\", \"13:00-16:30\"].")
    spans = []
    for item in value:
        try:
            spans.append(normalise_span(item if isinstance(item, str) else ""))
        except ValueError:
            raise invalid("invalid_hours", f"Khoảng giờ “{item}” không đúng: viết như 07:30-11:30 hoặc 7h30-11h30, "
                                           "giờ bắt đầu trước giờ kết thúc.") from None
    return sorted(spans)


def booking(value: Any) -> dict:
    """A field's booking settings: {} (no booking) or {"slot_minutes": 5–240, "seats": 0–999, "days_ahead": 0–30}."""
    if value in (None, {}):
        return {}
    if not isinstance(value, dict) or set(value) - {"slot_minutes", "seats", "days_ahead"}:
        raise invalid("invalid_booking", "Cài đặt đặt lịch gồm slot_minutes, seats và days_ahead.")
    seats = optional_int(value.get("seats", 0), "Số chỗ mỗi khung giờ", "invalid_booking", 0, 999) or 0
    if seats == 0:
        return {}
    return {
        "slot_minutes": optional_int(value.get("slot_minutes", 30), "Độ dài khung giờ (phút)", "invalid_booking", 5, 240),
        "seats": seats,
        "days_ahead": optional_int(value.get("days_ahead", 6), "Số ngày đặt trước", "invalid_booking", 0, 30) or 0,
    }


def prefix(value: Any) -> str:
    if not isinstance(value, str) or not PREFIX.match(value.strip()):
        raise invalid("invalid_prefix", "Tiền tố là 1 hoặc 2 chữ cái in hoa không dấu, ví dụ A hoặc HT.")
    return value.strip()


class AdminBase:
    def __init__(self, storage: Storage, engine: QueueEngine):
        self.storage = storage
        self.engine = engine

    def _audit(self, s: Session, office_id: int | None, what: str, user_id: int | None, **data) -> None:
        """Admin changes go into the same append-only log as the queue's."""
        s.add(Event(office_id=office_id, at=self.engine.now(), kind=f"admin_{what}", user_id=user_id, data=data))
