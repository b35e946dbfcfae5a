"""Ratings: one per served ticket, by the holder of its token."""
from __future__ import annotations

from flask import jsonify

from . import bp
from .errors import api_error, json_body
from .util import engine


@bp.get("/ratings/scale")
def rating_scale():
    return jsonify(engine().rating_scale())


@bp.post("/ratings")
def rate():
    body = json_body()
    token = body.get("token")
    if not isinstance(token, str) or not token or len(token) > 64:
        raise api_error(422, "invalid_token", "Thiếu mã phiếu (token).")
    rating = engine().rate(token, body.get("score"), body.get("reasons"), body.get("comment"))
    return jsonify(rating), 201
