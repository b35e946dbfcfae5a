"""Admin endpoints for the print spool: see failed jobs, cancel, reprint, ask the printer."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from server.api.errors import api_error
from server.auth import current_user, require_role
from server.models import Ticket
from server.tenancy import current_office

bp = Blueprint("printing", __name__, url_prefix="/api")

JOB_STATUSES = ("pending", "printing", "printed", "failed", "cancelled")


def _spool():
    services = current_app.extensions["motcua"]
    if services.printing is None:
        raise api_error(503, "printing_disabled", "Máy chủ này không bật chức năng in phiếu.")
    return services


@bp.get("/print-jobs")
@require_role("admin")
def list_jobs():
    status = request.args.get("status") or None
    if status is not None and status not in JOB_STATUSES:
        raise api_error(422, "invalid_status", "Trạng thái lệnh in không hợp lệ.")
    return jsonify(jobs=_spool().printing.jobs(status=status, office=current_office().id))


@bp.post("/print-jobs/<job_id>/cancel")
@require_role("admin")
def cancel_job(job_id: str):
    user = current_user()
    job = _spool().printing.cancel(job_id, user_id=user.id if user else None, office=current_office().id)
    if job is None:  # none such, or another office's
        raise api_error(404, "print_job_not_found", "Không tìm thấy lệnh in.")
    if job["status"] != "cancelled":
        raise api_error(409, "print_job_not_cancellable",
                        "Lệnh in này đã in hoặc đang in, không thể hủy.")
    return jsonify(job)


@bp.post("/print-jobs/reprint")
@require_role("admin")
def reprint():
    """Body: {"token": "..."} or {"code": "A015"} (a ticket issued today)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise api_error(400, "invalid_json", "Dữ liệu phải là một đối tượng JSON.")
    services = _spool()
    ticket_id = _find_ticket(services, body.get("token"), body.get("code"), current_office().id)
    user = current_user()
    from server.api.util import public_base_url

    job = services.printing.reprint(ticket_id, requested_by=user.id if user else None,
                                    base_url=public_base_url())
    return jsonify(job), 201


@bp.get("/printer/status")
@require_role("admin")
def printer_status():
    return jsonify(_spool().printing.printer_status(office=current_office().id))


def _find_ticket(services, token, code, office: int) -> int:
    """The office's own ticket: every office has an A001 today, and another office's ticket is not
    this admin's to print."""
    if isinstance(token, str) and token:
        query = select(Ticket.id).where(Ticket.token == token)
    elif isinstance(code, str) and code:
        today = services.engine.today()  # the service day the engine gave today's tickets
        query = select(Ticket.id).where(Ticket.code == code.strip().upper(), Ticket.service_day == today)
    else:
        raise api_error(422, "ticket_required", "Cần mã vé (code) trong ngày hoặc token của vé.")
    with services.storage.read() as s:
        ticket_id = s.scalar(query.where(Ticket.office_id == office))
    if ticket_id is None:
        raise api_error(404, "ticket_not_found", "Không tìm thấy vé.")
    return ticket_id
