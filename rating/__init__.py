"""Placeholder for the rating surface; its own blueprint, templates and static files go here."""
from flask import Blueprint

bp = Blueprint("rating", __name__, url_prefix="/rating")


@bp.get("/")
def page():
    return "rating", 200
