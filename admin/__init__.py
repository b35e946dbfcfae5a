"""Placeholder for the admin surface; its own blueprint, templates and static files go here."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
def page():
    return "admin", 200
