"""Placeholder for the counter surface; its own blueprint, templates and static files go here."""
from flask import Blueprint

bp = Blueprint("counter", __name__, url_prefix="/counter")


@bp.get("/")
def page():
    return "counter", 200
