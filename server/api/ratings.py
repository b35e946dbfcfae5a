"""Ratings: one per served ticket, from the citizen only.

A rating comes from the ticket's own page (the token on the citizen's paper is the secret)
or from the tablet paired to the counter that served the ticket. A request that carries a
clerk's or admin's credentials is refused: staff never rate their own service.
"""
from __future__ import annotations

from flask import jsonify, request, session

from ..auth import current_device
from ..tenancy import current_office
from . import bp
from .errors import api_error, json_body
from .util import engine


@bp.get("/ratings/scale")
def rating_scale():
    return jsonify(engine().rating_scale(office=current_office().id))


def _carries_staff_credentials() -> bool:
    return request.headers.get("Authorization", "").startswith("Bearer ") or bool(session.get("uid"))


@bp.post("/ratings")
def rate():
    if _carries_staff_credentials():
        raise api_error(403, "staff_cannot_rate", "Cán bộ không được đánh giá thay công dân.")
    body = json_body()
    token = body.get("token")
    if not isinstance(token, str) or not token or len(token) > 64:
        raise api_error(422, "invalid_token", "Thiếu mã phiếu (token).")
    device = current_device()
    if device is not None and device.kind == "tablet":
        source, counter_id = "tablet", device.counter_id
    else:
        source, counter_id = "phone", None
    rating = engine().rate(token, body.get("score"), body.get("reasons"), body.get("comment"),
                           source=source, tablet_counter_id=counter_id)
    return jsonify(rating), 201
