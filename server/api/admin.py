"""The admin's JSON API under /api/admin: validate the request's shape, call the admin service, answer.

Every call acts in the request's office (`/o/<slug>/api/admin/…`, else the admin's own);
offices themselves are the province's (`/api/admin/offices`). The rules (uniqueness, what
may be disabled or deleted, pairing, revoking) live in server/administration/.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import jsonify, request

from ..administration import AdminService
from ..auth import current_user, require_role
from ..tenancy import current_office
from . import bp
from .errors import api_error, json_body
from .util import engine, public_base_url, qr_svg, services

require_admin = require_role("admin")
require_province = require_role("province")
QR_MAX = 500


def _service() -> AdminService:
    return services().admin


def _me() -> int:
    return current_user().id


def _office() -> int:
    return current_office().id


def _province() -> bool:
    return current_user().role == "province"


def _user_scope() -> int | None:
    """Which users the caller manages: the office's, or (the province) anyone's."""
    return None if _province() else _office()


# ----- offices (the province) -----------------------------------------------------
@bp.get("/admin/offices")
@require_province
def admin_list_offices():
    return jsonify(offices=_service().offices())


@bp.post("/admin/offices")
@require_province
def admin_add_office():
    return jsonify(_service().add_office(json_body(), _me())), 201


@bp.patch("/admin/offices/<slug>")
@require_province
def admin_update_office_listing(slug: str):
    return jsonify(_service().update_office_listing(slug, json_body(), _me()))


# ----- online bookings ---------------------------------------------------------------
@bp.get("/admin/bookings")
@require_admin
def admin_bookings():
    """A day's bookings (default today), by slot, with phones: a printable list for the counters."""
    try:
        day = dt.date.fromisoformat(request.args.get("date") or engine().today().isoformat())
    except ValueError:
        raise api_error(422, "invalid_date", "Ngày phải có dạng YYYY-MM-DD.") from None
    return jsonify(date=day.isoformat(), bookings=engine().bookings_of_day(day, office=_office()))


@bp.post("/admin/bookings/<code>/cancel")
@require_admin
def admin_cancel_booking(code: str):
    reason = json_body().get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 300:
        raise api_error(422, "invalid_reason", "Cần ghi lý do huỷ (tối đa 300 ký tự) để báo cho công dân.")
    view = engine().cancel_booking(code=code, reason=reason.strip(), user_id=_me(), office=_office())
    view.pop("token", None)
    return jsonify(view)


@bp.get("/admin/blackout-days")
@require_admin
def admin_blackout_days():
    return jsonify(days=_service().blackout_days(_office()))


@bp.post("/admin/blackout-days")
@require_admin
def admin_add_blackout_day():
    return jsonify(_service().add_blackout_day(json_body(), _me(), office=_office())), 201


@bp.delete("/admin/blackout-days/<day>")
@require_admin
def admin_remove_blackout_day(day: str):
    _service().remove_blackout_day(day, _me(), office=_office())
    return jsonify(status="deleted")


# ----- tickets taken outside the kiosks ------------------------------------------
@bp.get("/admin/tickets/outside-kiosks")
@require_admin
def admin_tickets_outside_kiosks():
    return jsonify(tickets=engine().tickets_outside_kiosks(office=_office()))


@bp.post("/admin/tickets/<code>/cancel")
@require_admin
def admin_cancel_ticket(code: str):
    if len(code) > 12:
        raise api_error(422, "invalid_code", "Số phiếu không hợp lệ, ví dụ A015.")
    return jsonify(engine().cancel_by_code(code, _me(), office=_office()))


# ----- office ---------------------------------------------------------------
@bp.get("/admin/office")
@require_admin
def admin_office():
    return jsonify(_service().office(_office()))


@bp.patch("/admin/office")
@require_admin
def admin_update_office():
    return jsonify(_service().update_office(json_body(), _me(), office=_office()))


# ----- fields ---------------------------------------------------------------
@bp.get("/admin/fields")
@require_admin
def admin_list_fields():
    return jsonify(fields=_service().fields(_office()))


@bp.post("/admin/fields")
@require_admin
def admin_add_field():
    return jsonify(_service().add_field(json_body(), _me(), office=_office())), 201


@bp.patch("/admin/fields/<code>")
@require_admin
def admin_update_field(code: str):
    return jsonify(_service().update_field(code, json_body(), _me(), office=_office()))


@bp.post("/admin/fields/<code>/disable")
@require_admin
def admin_disable_field(code: str):
    return jsonify(_service().update_field(code, {"active": False}, _me(), office=_office()))


@bp.post("/admin/fields/<code>/enable")
@require_admin
def admin_enable_field(code: str):
    return jsonify(_service().update_field(code, {"active": True}, _me(), office=_office()))


@bp.delete("/admin/fields/<code>")
@require_admin
def admin_delete_field(code: str):
    _service().delete_field(code, _me(), office=_office())
    return jsonify(status="deleted")


@bp.put("/admin/fields/order")
@require_admin
def admin_reorder_fields():
    return jsonify(fields=_service().reorder_fields(json_body().get("codes"), _me(), office=_office()))


# ----- counters ---------------------------------------------------------------
@bp.get("/admin/counters")
@require_admin
def admin_list_counters():
    return jsonify(counters=_service().counters(_office()))


@bp.post("/admin/counters")
@require_admin
def admin_add_counter():
    return jsonify(_service().add_counter(json_body(), _me(), office=_office())), 201


@bp.patch("/admin/counters/<int:number>")
@require_admin
def admin_update_counter(number: int):
    return jsonify(_service().update_counter(number, json_body(), _me(), office=_office()))


@bp.post("/admin/counters/<int:number>/disable")
@require_admin
def admin_disable_counter(number: int):
    return jsonify(_service().update_counter(number, {"active": False}, _me(), office=_office()))


@bp.post("/admin/counters/<int:number>/enable")
@require_admin
def admin_enable_counter(number: int):
    return jsonify(_service().update_counter(number, {"active": True}, _me(), office=_office()))


# ----- users ------------------------------------------------------------------
@bp.get("/admin/users")
@require_admin
def admin_list_users():
    return jsonify(users=_service().users(_office(), with_province=_province()))


@bp.post("/admin/users")
@require_admin
def admin_add_user():
    return jsonify(_service().add_user(json_body(), _me(), office=_office(), may_add_province=_province())), 201


@bp.patch("/admin/users/<int:user_id>")
@require_admin
def admin_update_user(user_id: int):
    return jsonify(_service().update_user(user_id, json_body(), _me(), office=_user_scope()))


@bp.post("/admin/users/<int:user_id>/disable")
@require_admin
def admin_disable_user(user_id: int):
    return jsonify(_service().update_user(user_id, {"active": False}, _me(), office=_user_scope()))


@bp.post("/admin/users/<int:user_id>/enable")
@require_admin
def admin_enable_user(user_id: int):
    return jsonify(_service().update_user(user_id, {"active": True}, _me(), office=_user_scope()))


@bp.post("/admin/users/<int:user_id>/password")
@require_admin
def admin_reset_password(user_id: int):
    _service().reset_password(user_id, json_body().get("password"), _me(), office=_user_scope())
    return jsonify(status="ok")


# ----- devices ----------------------------------------------------------------
@bp.get("/admin/devices")
@require_admin
def admin_list_devices():
    return jsonify(devices=_service().devices(_office()))


@bp.post("/admin/devices")
@require_admin
def admin_pair_device():
    """A pairing code, the link that pairs a device when opened on it, and the link's QR picture."""
    result = _service().pair_device(json_body(), public_base_url(), _me(), office=_office())
    result["qr_url"] = "/api/admin/qr.svg?" + urlencode({"text": result["url"]})
    return jsonify(result), 201


@bp.post("/admin/devices/<int:device_id>/revoke")
@require_admin
def admin_revoke_device(device_id: int):
    return jsonify(_service().revoke_device(device_id, _me(), office=_office()))


@bp.get("/admin/qr.svg")
@require_admin
def admin_qr_svg():
    """The QR of a pairing link, as SVG (admin only: the link holds a pairing code)."""
    text = request.args.get("text", "")
    if not text or len(text) > QR_MAX:
        raise api_error(422, "invalid_text", f"Cần nội dung QR dài 1–{QR_MAX} ký tự.")
    return qr_svg(text, "no-store")


# ----- announcements ------------------------------------------------------------
@bp.get("/admin/announcements")
@require_admin
def admin_list_announcements():
    return jsonify(announcements=_service().announcements(_office()))


@bp.post("/admin/announcements")
@require_admin
def admin_add_announcement():
    return jsonify(_service().add_announcement(json_body(), _me(), office=_office())), 201


@bp.patch("/admin/announcements/<int:announcement_id>")
@require_admin
def admin_update_announcement(announcement_id: int):
    return jsonify(_service().update_announcement(announcement_id, json_body(), _me(), office=_office()))


@bp.put("/admin/announcements/order")
@require_admin
def admin_reorder_announcements():
    return jsonify(announcements=_service().reorder_announcements(json_body().get("ids"), _me(), office=_office()))


# ----- today at a glance (the dashboard) ------------------------------------------
@bp.get("/admin/overview")
@require_admin
def admin_overview():
    """Today's counters and queues, and today's print jobs that need a person (an earlier day's
    failures stay in GET /api/print-jobs?status=failed)."""
    state = engine().state(office=_office())
    failed = []
    if services().printing is not None:
        failed = services().printing.jobs(status="failed", office=_office(), day=engine().today())
    return jsonify(counters=state["counters"], fields=state["fields"], print_failures=failed,
                   printing=services().printing is not None)
