"""Placeholder for the kiosk surface; its own blueprint, templates and static files go here."""
from flask import Blueprint

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")


@bp.get("/")
def page():
    return "kiosk", 200
