"""Placeholder for the display surface; its own blueprint, templates and static files go here."""
from flask import Blueprint

bp = Blueprint("display", __name__, url_prefix="/display")


@bp.get("/")
def page():
    return "display", 200
