"""The clerk's console: call, recall, no-show, transfer, finish, pause, resume."""
from __future__ import annotations

from flask import jsonify

from ..auth import current_user, require_user
from ..tenancy import current_office
from . import bp
from .errors import api_error, json_body
from .util import engine


def _clerk_id() -> int:
    return current_user().id


def _office() -> int:
    return current_office().id


@bp.get("/counters")
@require_user
def list_counters():
    office = _office()
    return jsonify(counters=[engine().counter_view(n, office=office) for n in engine().counter_numbers(office)])


@bp.get("/counters/<int:number>")
@require_user
def counter(number: int):
    return jsonify(engine().counter_view(number, office=_office()))


@bp.post("/counters/<int:number>/call-next")
@require_user
def call_next(number: int):
    return jsonify(engine().call_next(number, _clerk_id(), office=_office()))


@bp.post("/counters/<int:number>/call")
@require_user
def call_ticket(number: int):
    code = json_body().get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 12:
        raise api_error(422, "invalid_code", "Cần nhập số cần gọi, ví dụ A015.")
    return jsonify(engine().call_ticket(number, code, _clerk_id(), office=_office()))


@bp.post("/counters/<int:number>/recall")
@require_user
def recall(number: int):
    return jsonify(engine().recall(number, _clerk_id(), office=_office()))


@bp.post("/counters/<int:number>/no-show")
@require_user
def no_show(number: int):
    return jsonify(engine().no_show(number, _clerk_id(), office=_office()))


@bp.post("/counters/<int:number>/finish")
@require_user
def finish(number: int):
    return jsonify(engine().finish(number, _clerk_id(), office=_office()))


@bp.post("/counters/<int:number>/transfer")
@require_user
def transfer(number: int):
    field = json_body().get("field")
    if not isinstance(field, str) or not field:
        raise api_error(422, "invalid_field", "Cần chọn lĩnh vực để chuyển (field).")
    return jsonify(engine().transfer(number, field, _clerk_id(), office=_office()))


@bp.post("/counters/<int:number>/pause")
@require_user
def pause(number: int):
    return jsonify(engine().set_counter_state(number, "paused", _clerk_id(), office=_office()))


@bp.post("/counters/<int:number>/resume")
@require_user
def resume(number: int):
    return jsonify(engine().set_counter_state(number, "open", _clerk_id(), office=_office()))
