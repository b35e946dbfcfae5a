"""Reports for admins, as JSON, CSV or XLSX."""
from __future__ import annotations

import datetime as dt

from flask import Response, jsonify, request

from .. import reports
from ..auth import require_role
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
    start, end = _period()
    try:
        return reports.summary(services().storage, start, end, services().config.tz, engine().rating_scale())
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
