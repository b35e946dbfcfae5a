"""Online number-taking: slots, bookings, the booking's own page data, check-in at the kiosk.

Bookings are found by token under any path (`/api/bookings/<token>` belongs to no office);
slots, booking and check-in act in the request's office. No phone number is ever answered to
the public: a booking's view carries it masked (`09xx xxx 678`).
"""
from __future__ import annotations

import datetime as dt

from flask import Response, jsonify, request

from ..auth import current_device, current_user
from ..extensions import limiter
from ..tenancy import current_office
from . import bp
from .errors import api_error, json_body
from .util import engine, public_base_url, services

MAX_KEY = 200


def booking_url(token: str) -> str:
    return f"{public_base_url()}/b/{token}"


def _with_url(view: dict) -> dict:
    view["booking_url"] = booking_url(view["token"])
    return view


@bp.get("/booking/slots")
def booking_slots():
    field = request.args.get("field")
    if not field:
        raise api_error(422, "invalid_field", "Cần chọn một lĩnh vực (field).")
    try:
        day = dt.date.fromisoformat(request.args.get("date") or engine().today().isoformat())
    except ValueError:
        raise api_error(422, "invalid_date", "Ngày phải có dạng YYYY-MM-DD.") from None
    return jsonify(engine().booking_slots(field, day, office=current_office().id))


def _booking_limit() -> str:
    return services().config.booking_rate_limit or "1000000/second"


def _no_booking_limit() -> bool:
    return services().config.booking_rate_limit is None


@bp.post("/bookings")
@limiter.limit(_booking_limit, exempt_when=_no_booking_limit, key_func=lambda: f"booking:{request.remote_addr}")
def book():
    body = json_body()
    field, start = body.get("field"), body.get("start")
    if not isinstance(field, str) or not field:
        raise api_error(422, "invalid_field", "Cần chọn một lĩnh vực (field).")
    try:
        start = dt.datetime.fromisoformat(start) if isinstance(start, str) else None
    except ValueError:
        start = None
    if start is None:
        raise api_error(422, "invalid_start", "Cần chọn giờ hẹn (start), ví dụ 2026-11-26T08:00:00+07:00.")
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= MAX_KEY):
        raise api_error(422, "invalid_idempotency_key", "Idempotency-Key phải dài từ 1 đến 200 ký tự.")
    booking = engine().book(field, start, body.get("phone"), body.get("name"), office=current_office().id,
                            idempotency_key=key, booked_from=request.remote_addr)
    replayed = booking.pop("replayed", False)
    response = jsonify(_with_url(booking))
    response.status_code = 201
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/bookings/<token>")
def booking_status(token: str):
    return jsonify(_with_url(engine().booking_status(_token(token))))


@bp.delete("/bookings/<token>")
def cancel_booking(token: str):
    return jsonify(_with_url(engine().cancel_booking(_token(token))))


@bp.get("/bookings/<token>.ics")
def booking_calendar(token: str):
    """The booking as a calendar event, to add to the phone's calendar."""
    view = engine().booking_status(_token(token))

    def stamp(iso: str) -> str:
        return dt.datetime.fromisoformat(iso).astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")

    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//motcua//dat lich//VI", "CALSCALE:GREGORIAN",
        "BEGIN:VEVENT", f"UID:{view['code']}@motcua", f"DTSTAMP:{stamp(view['created_at'])}",
        f"DTSTART:{stamp(view['start'])}", f"DTEND:{stamp(view['end'])}",
        f"SUMMARY:{escape('Lịch hẹn ' + view['field_name'] + ' — mã ' + view['code'])}",
        f"LOCATION:{escape(view['office_name'])}",
        f"DESCRIPTION:{escape('Đến trước giờ hẹn, xác nhận tại máy lấy số bằng mã ' + view['code'] + '. ' + booking_url(view['token']))}",
        "END:VEVENT", "END:VCALENDAR",
    ]
    return Response("\r\n".join(lines) + "\r\n", mimetype="text/calendar",
                    headers={"Content-Disposition": f"attachment; filename=lich-hen-{view['code']}.ics"})


def _token(token: str) -> str:
    if not token or len(token) > 64:
        raise api_error(404, "booking_not_found", "Không tìm thấy lịch hẹn này.")
    return token


@bp.post("/bookings/check-in")
def check_in():
    """At the kiosk (code typed or scanned) or by a clerk at the console: the booking's ticket."""
    code = json_body().get("code")
    if not isinstance(code, str) or not code.strip():
        raise api_error(422, "invalid_code", "Cần nhập mã đặt lịch gồm 6 ký tự, ví dụ K7M2QX.")
    device, user = current_device(), current_user()
    if services().config.ticket_issuers == "kiosks" and (device is None or device.kind != "kiosk") and user is None:
        raise api_error(403, "kiosk_required", "Xin mời ông/bà xác nhận lịch hẹn tại máy lấy số trong sảnh.")
    from .tickets import print_ticket
    from .util import track_url

    context = {"base_url": public_base_url()}
    ticket, made = engine().check_in(code, office=current_office().id, device_id=device.id if device else None,
                                     issued_from=request.remote_addr, context=context)
    ticket["track_url"] = track_url(ticket["token"])
    ticket.update(print_ticket(ticket, device, context))
    if user is not None:  # a clerk checked the citizen in: the paper goes to the citizen, not the token
        ticket.pop("token", None)
        ticket.pop("track_url", None)
    return jsonify(ticket), 201 if made else 200
