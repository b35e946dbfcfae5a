"""Small helpers the API modules share."""
from __future__ import annotations

from flask import current_app, request

from .errors import api_error


def services():
    return current_app.extensions["motcua"]


def engine():
    return services().engine


def public_base_url() -> str:
    """Where phones reach this server, for QR codes and track links."""
    return services().config.public_url or request.host_url.rstrip("/")


def track_url(token: str) -> str:
    return f"{public_base_url()}/t/{token}"


def int_arg(value, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise api_error(422, "invalid_" + name, f"Giá trị “{name}” phải là số nguyên.") from None
