"""The OpenAPI document at /api/openapi.json (filled in below)."""
from flask import jsonify

from . import bp


@bp.get("/openapi.json")
def openapi():
    return jsonify({"openapi": "3.1.0", "info": {"title": "motcua", "version": "0.1.0"}, "paths": {}})
