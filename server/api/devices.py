"""Paired devices: a kiosk, board or tablet trades a one-time code for a long-lived cookie."""
from __future__ import annotations

from flask import jsonify, request

from ..extensions import limiter
from ..auth import DEVICE_COOKIE, AuthError, complete_pairing, current_device, device_counter_number
from . import bp
from .errors import api_error, json_body
from .util import services

COOKIE_DAYS = 3650


def device_json(device) -> dict:
    return {"id": device.id, "kind": device.kind, "name": device.name,
            "counter": device_counter_number(services().storage, device)}


def _failed(response) -> bool:
    return response.status_code == 404


@bp.post("/devices/pair")
@limiter.limit("10/minute", deduct_when=_failed)  # pairing codes are short: no guessing
def pair():
    code = json_body().get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 32:
        raise api_error(422, "invalid_code", "Cần nhập mã ghép nối.")
    try:
        device, token = complete_pairing(services().storage, code)
    except AuthError as err:
        raise api_error(404, "pairing_not_found", str(err)) from None
    response = jsonify(device=device_json(device), token=token)
    response.set_cookie(DEVICE_COOKIE, token, max_age=COOKIE_DAYS * 86400, httponly=True, samesite="Lax",
                        secure=request.is_secure)
    return response


@bp.get("/devices/me")
def device_me():
    device = current_device()
    if device is None:
        raise api_error(401, "device_not_paired", "Thiết bị này chưa được ghép nối.")
    return jsonify(device=device_json(device))
