"""The JSON API under /api: one blueprint, one module per concern."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import admin, auth_routes, counters, devices, health, openapi, ratings, reports, tickets  # noqa: E402,F401
