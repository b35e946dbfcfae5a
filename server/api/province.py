"""The province's view of every office (province users only)."""
from __future__ import annotations

from flask import jsonify

from ..auth import require_role
from . import bp
from .util import engine


@bp.get("/province/overview")
@require_role("province")
def province_overview():
    """Per office today: waiting, served, no-shows, the longest wait now, open counters, ratings;
    the hall in trouble first."""
    return jsonify(engine().province_overview())
