"""The JSON API under /api: one blueprint, one module per concern."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import (  # noqa: E402,F401
    admin, auth_routes, bookings, counters, devices, health, openapi, province, ratings, reports, tickets,
)
