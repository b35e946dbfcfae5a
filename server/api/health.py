"""`GET /api/health`: can this process take tickets? For nginx, a monitoring system, the tests.

`200 {"status": "ok", "database": "ok"}` (plus `"message_queue": "ok"` when Redis joins
several processes). Redis away is `"status": "degraded"`, still 200: tickets and calls
work, boards on other processes catch up when it is back. A database that cannot be read
or written (down, locked, read-only, disk full) is `"status": "error"` with `503`,
`Retry-After` and the API's error shape. The probes are cached (server/ops.py: `Health`), so
polling this every second costs a dictionary lookup, not a write.
"""
from __future__ import annotations

import threading

from flask import current_app, jsonify

from ..ops import Health
from . import bp
from .util import services

RETRY_AFTER_S = 5
_made = threading.Lock()


def health_of(app) -> Health:
    """The app's one Health (made on first use); errors.py invalidates it when a request fails."""
    health = app.extensions.get("motcua_health")
    if health is None:
        with _made:
            health = app.extensions.get("motcua_health")
            if health is None:
                config = services().config
                health = Health(services().storage, config.message_queue_url)
                app.extensions["motcua_health"] = health
    return health


@bp.get("/health")
def health():
    body, can_write = health_of(current_app._get_current_object()).report()
    if can_write:
        return jsonify(body)
    body["error"] = {"code": "database_unavailable",
                     "message": "Máy chủ không ghi được dữ liệu (cơ sở dữ liệu không trả lời, bị khóa "
                                "hoặc ổ đĩa đầy)."}
    return jsonify(body), 503, {"Retry-After": str(RETRY_AFTER_S)}
