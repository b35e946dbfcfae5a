"""Fields and tickets: what the kiosk and a citizen's phone use."""
from __future__ import annotations

from flask import jsonify, request

from ..auth import current_device
from ..tenancy import current_office
from ..extensions import limiter
from . import bp
from .errors import api_error, json_body
from .util import engine, public_base_url, services, track_url

MAX_KEY = 200


@bp.get("/fields")
def fields():
    return jsonify(fields=engine().field_summaries(office=current_office().id))


@bp.get("/state")
def state():
    return jsonify(engine().state(office=current_office().id))


def _ticket_limit() -> str:
    return services().config.ticket_rate_limit or "1000000/second"


def _exempt_from_ticket_limit() -> bool:
    if services().config.ticket_rate_limit is None:
        return True
    device = current_device()
    return device is not None and device.kind == "kiosk"


@bp.post("/tickets")
@limiter.limit(_ticket_limit, exempt_when=_exempt_from_ticket_limit)
def issue_ticket():
    body = json_body()
    field = body.get("field")
    if not isinstance(field, str) or not field:
        raise api_error(422, "invalid_field", "Cần chọn một lĩnh vực (field).")
    priority = body.get("priority")
    if priority is not None and not isinstance(priority, str):
        raise api_error(422, "invalid_priority", "Lý do ưu tiên không hợp lệ.")
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= MAX_KEY):
        raise api_error(422, "invalid_idempotency_key", "Idempotency-Key phải dài từ 1 đến 200 ký tự.")
    device = current_device()
    if services().config.ticket_issuers == "kiosks" and (device is None or device.kind != "kiosk"):
        raise api_error(403, "kiosk_required", "Chỉ máy lấy số của cơ quan mới cấp được số thứ tự. "
                                               "Xin mời ông/bà lấy số tại máy lấy số trong sảnh.")
    # For the print spool's hook: the QR's address, and the kiosk as this request read it (its printer route).
    context = {"base_url": public_base_url(), "device": device}
    ticket = engine().issue_ticket(field, priority, idempotency_key=key, device_id=device.id if device else None,
                                   issued_from=request.remote_addr, office=current_office().id, context=context)
    replayed = ticket.pop("replayed", False)
    ticket["track_url"] = track_url(ticket["token"])
    ticket.update(print_ticket(ticket, device, context))
    response = jsonify(ticket)
    response.status_code = 201
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def print_ticket(ticket: dict, device, context: dict) -> dict:
    """Hand the committed ticket to the spool and answer at once: the print is `queued` (the kiosk
    hears how it went as `print_status`). A printer failure never fails the issue."""
    printing = services().printing
    if printing is None:
        return {"printed": False, "print_status": "none"}
    try:
        # Also on a replayed request: the job id comes from the ticket, so a job that exists is
        # answered as it stands, and one that a crash kept from being stored is made now.
        result = printing.after_issue(ticket, context, device.id if device else None)
    except Exception:  # the spool records its own failures; the ticket stands
        services().app_logger.exception("print submit failed for %s", ticket["code"])
        return {"printed": False, "print_status": "failed"}
    return {"printed": bool(result.get("printed")), "print_status": result.get("print_status", "pending")}


@bp.get("/tickets/<token>")
def ticket_status(token: str):
    view = engine().ticket_status(token)
    view["track_url"] = track_url(token)
    return jsonify(view)


@bp.post("/tickets/<token>/cancel")
def cancel_ticket(token: str):
    return jsonify(engine().cancel(token))
