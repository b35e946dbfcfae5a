"""Reports for admins, as JSON, CSV or XLSX."""
from __future__ import annotations

import datetime as dt

from flask import Response, jsonify, request

from .. import reports
from ..auth import current_user, may_act_in, require_role
from ..tenancy import current_office
from . import bp
from .errors import api_error
from .util import engine, services


def _period() -> tuple[dt.date, dt.date]:
    today = engine().today()
    try:
        start = dt.date.fromisoformat(request.args.get("from") or today.isoformat())
        end = dt.date.fromisoformat(request.args.get("to") or start.isoformat())
    except ValueError:
        raise api_error(422, "invalid_date", "Ngày phải có dạng YYYY-MM-DD.") from None
    return start, end


def _report() -> dict:
    """The request's office; `?office=all` (province users): every office, with a `by_office` table."""
    start, end = _period()
    which = request.args.get("office")
    if which == "all":
        if current_user().role != "province":
            raise api_error(403, "forbidden", "Chỉ tài khoản cấp tỉnh xem được báo cáo mọi cơ quan.")
        office = None
    elif which:
        found = engine().offices.by_slug(which)
        if found is None:
            raise api_error(404, "office_not_found", f"Không có cơ quan “{which}”.")
        if not may_act_in(current_user(), found.id):
            raise api_error(403, "forbidden", "Tài khoản này thuộc cơ quan khác; không có quyền ở đây.")
        office = found.id
    else:
        office = current_office().id
    engine().sweep_missed()  # bookings whose window closed count as missed, even between sweeps
    try:
        return reports.summary(services().storage, start, end, services().config.tz, office=office)
    except ValueError as err:
        raise api_error(422, "invalid_period", str(err)) from None


@bp.get("/reports/summary")
@require_role("admin")
def summary():
    return jsonify(_report())


@bp.get("/reports/summary.csv")
@require_role("admin")
def summary_csv():
    report = _report()
    return Response(reports.to_csv(report), mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename=motcua-{report['from']}-{report['to']}.csv"})


@bp.get("/reports/summary.xlsx")
@require_role("admin")
def summary_xlsx():
    report = _report()
    return Response(reports.to_xlsx(report),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=motcua-{report['from']}-{report['to']}.xlsx"})
