"""The OpenAPI 3.1 document at /api/openapi.json.

Operations are declared next to nothing else on purpose: one table, read top
to bottom. Other API modules may add theirs with an `OPENAPI_PATHS` dict of
the same shape (see server/api/admin.py, server/api/printing.py); the test
suite fails when a route is not described.
"""
from __future__ import annotations

import importlib

from flask import jsonify

from . import bp

ERROR = {"$ref": "#/components/schemas/Error"}


def _ok(schema=None, status="200", description="OK"):
    content = {"application/json": {"schema": schema}} if schema else {}
    return {status: {"description": description, **({"content": content} if content else {})}}


def _errors(*statuses):
    names = {400: "Malformed request", 401: "Not logged in", 403: "Not allowed", 404: "Not found",
             409: "Conflicts with the current state", 413: "Body over 64 KB", 415: "Body is not JSON",
             422: "Invalid value", 429: "Rate limited"}
    return {str(s): {"description": names[s], "content": {"application/json": {"schema": ERROR}}} for s in statuses}


def op(summary, *, tag, responses, body=None, auth=None, params=None, description=None):
    operation = {"summary": summary, "tags": [tag], "responses": responses}
    if description:
        operation["description"] = description
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if auth == "user":
        operation["security"] = [{"bearer": []}, {"session": []}]
    elif auth == "admin":
        operation["security"] = [{"bearer": []}, {"session": []}]
        operation["description"] = (description or "") + " Admins only."
    if params:
        operation["parameters"] = params
    return operation


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


COUNTER_N = {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}}
TOKEN = {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
PERIOD = [{"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
          {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}}]
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 200},
               "description": "A retry with the same key returns the same ticket (header Idempotent-Replayed: true)."}


def _counter_action(summary, extra_errors=(), body=None):
    return {"post": op(summary, tag="counters", auth="user", params=[COUNTER_N], body=body,
                       responses={**_ok(ref("Ticket")), **_errors(400, 401, 404, 409, *extra_errors)})}


CORE_PATHS = {
    "/api/health": {"get": op(
        "Whether the server answers and can write its database (and reach the message queue)", tag="public",
        responses={**_ok({"type": "object", "properties": {
            "status": {"enum": ["ok", "degraded"]}, "database": {"enum": ["ok"]},
            "message_queue": {"enum": ["ok", "error"]}}}),
            "503": {"description": "The database cannot be written (Retry-After)",
                    "content": {"application/json": {"schema": ERROR}}}})},
    "/api/fields": {"get": op("Active fields with waiting counts and estimated waits", tag="public",
                              responses=_ok({"type": "object", "properties": {
                                  "fields": {"type": "array", "items": ref("FieldSummary")}}}))},
    "/api/state": {"get": op("Snapshot for boards (same as the socket `state` event)", tag="public",
                             responses=_ok(ref("State")))},
    "/api/tickets": {"post": op(
        "Issue a ticket", tag="public", params=[IDEMPOTENCY],
        description="Rate-limited per client address (TICKET_RATE_LIMIT) unless the caller is a paired kiosk.",
        body={"type": "object", "required": ["field"], "properties": {
            "field": {"type": "string"}, "priority": {"type": ["string", "null"],
                                                      "enum": ["elderly", "disabled", "pregnant", "merit", None]}}},
        responses={**_ok(ref("IssuedTicket"), "201", "Issued"), **_errors(400, 404, 409, 413, 415, 422, 429)})},
    "/api/tickets/{token}": {"get": op("A ticket's status and place in the queue", tag="public", params=[TOKEN],
                                       responses={**_ok(ref("Ticket")), **_errors(404)})},
    "/api/tickets/{token}/cancel": {"post": op("The holder gives up a waiting ticket", tag="public", params=[TOKEN],
                                               responses={**_ok(ref("Ticket")), **_errors(404, 409)})},
    "/api/auth/login": {"post": op(
        "Log in (session cookie for browsers; a bearer token for API clients only)", tag="auth",
        body={"type": "object", "required": ["username", "password"],
              "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
        responses={**_ok({"type": "object", "properties": {"token": {"type": "string"}, "user": ref("User"),
                                                           "csrf_token": {"type": "string"}}}),
                   **_errors(400, 401, 415, 422, 429)})},
    "/api/auth/logout": {"post": op("Log out: ends every session and bearer token of the user", tag="auth",
                                    responses=_ok())},
    "/api/auth/me": {"get": op("Who is logged in, and a fresh CSRF token", tag="auth", auth="user",
                               responses={**_ok({"type": "object"}), **_errors(401)})},
    "/api/counters": {"get": op("Every counter as its console sees it", tag="counters", auth="user",
                                responses={**_ok({"type": "object"}), **_errors(401)})},
    "/api/counters/{number}": {"get": op("A counter: state, current ticket, waiting list, today's count",
                                    tag="counters", auth="user", params=[COUNTER_N],
                                    responses={**_ok(ref("CounterView")), **_errors(401, 404)})},
    "/api/counters/{number}/call-next": _counter_action("Call the next ticket (404 queue_empty when nobody waits)"),
    "/api/counters/{number}/call": _counter_action(
        "Call a given waiting ticket or a same-day no-show by code", (415, 422),
        {"type": "object", "required": ["code"], "properties": {"code": {"type": "string", "maxLength": 12}}}),
    "/api/counters/{number}/recall": _counter_action("Call the current ticket again"),
    "/api/counters/{number}/no-show": _counter_action("The current ticket did not come"),
    "/api/counters/{number}/finish": _counter_action("The current ticket is served"),
    "/api/counters/{number}/transfer": _counter_action(
        "Send the current ticket to another field (keeps its code and place)", (415, 422),
        {"type": "object", "required": ["field"], "properties": {"field": {"type": "string"}}}),
    "/api/counters/{number}/pause": {"post": op("Pause the counter", tag="counters", auth="user", params=[COUNTER_N],
                                           responses={**_ok(ref("CounterView")), **_errors(401, 404, 409)})},
    "/api/counters/{number}/resume": {"post": op("Resume the counter", tag="counters", auth="user", params=[COUNTER_N],
                                            responses={**_ok(ref("CounterView")), **_errors(401, 404)})},
    "/api/ratings/scale": {"get": op("The office's rating levels and reasons", tag="ratings",
                                     responses=_ok({"type": "object"}))},
    "/api/ratings": {"post": op(
        "Rate a served ticket once, by its token", tag="ratings",
        body={"type": "object", "required": ["token", "score"], "properties": {
            "token": {"type": "string"}, "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "reasons": {"type": "array", "items": {"type": "string"}}, "comment": {"type": "string", "maxLength": 500}}},
        responses={**_ok({"type": "object"}, "201", "Stored"), **_errors(400, 404, 409, 415, 422)})},
    "/api/booking/slots": {"get": op(
        "A day's slots of a field that can still be booked, with the seats left", tag="booking",
        params=[{"name": "field", "in": "query", "required": True, "schema": {"type": "string"}},
                {"name": "date", "in": "query", "schema": {"type": "string", "format": "date"}}],
        responses={**_ok({"type": "object"}), **_errors(404, 422)})},
    "/api/bookings": {"post": op(
        "Book a slot: a 6-character code and a token for the booking's page", tag="booking", params=[IDEMPOTENCY],
        description="At most BOOKING_RATE_LIMIT per client address; at most BOOKING_PER_PHONE bookings a phone a day "
                    "at an office (409 booking_limit); 409 slot_full; 422 for a slot that does not exist or has "
                    "closed, a day too far ahead, a field that takes no bookings, a phone that is not Vietnamese.",
        body={"type": "object", "required": ["field", "start", "phone"], "properties": {
            "field": {"type": "string"}, "start": {"type": "string", "format": "date-time"},
            "phone": {"type": "string"}, "name": {"type": "string", "maxLength": 100}}},
        responses={**_ok({"type": "object"}, "201", "Booked"), **_errors(400, 404, 409, 415, 422, 429)})},
    "/api/bookings/{token}": {
        "get": op("A booking: its status (booked, checked_in, cancelled, missed), slot, masked phone, and its "
                  "ticket's place once checked in", tag="booking", params=[TOKEN],
                  responses={**_ok({"type": "object"}), **_errors(404)}),
        "delete": op("Cancel a booking (frees the seat; 409 once checked in)", tag="booking", params=[TOKEN],
                     responses={**_ok({"type": "object"}), **_errors(404, 409)})},
    "/api/bookings/{token}.ics": {"get": op("The booking as a calendar event", tag="booking", params=[TOKEN],
                                            responses={"200": {"description": "text/calendar"}, **_errors(404)})},
    "/api/bookings/check-in": {"post": op(
        "Check a booking in at the kiosk or the console: its ticket (201; 200 the second time)", tag="booking",
        description="From BOOKING_CHECKIN_BEFORE minutes before the slot's start until BOOKING_CHECKIN_AFTER after it; "
                    "409 too_early / too_late say what to do instead; 404 for an unknown code.",
        body={"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}},
        responses={**_ok(ref("IssuedTicket"), "201", "Checked in"), **_errors(400, 403, 404, 409, 415, 422)})},
    "/api/devices/pair": {"post": op(
        "Trade a one-time pairing code for the device cookie", tag="devices",
        body={"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}},
        responses={**_ok({"type": "object"}), **_errors(400, 404, 415, 422)})},
    "/api/devices/me": {"get": op("This paired device", tag="devices",
                                  responses={**_ok({"type": "object"}), **_errors(401)})},
    "/api/reports/summary": {"get": op("Volumes, waiting and service times, no-shows, ratings", tag="reports",
                                       auth="admin", params=PERIOD,
                                       responses={**_ok({"type": "object"}), **_errors(401, 403, 422)})},
    "/api/reports/summary.csv": {"get": op("The summary as CSV (UTF-8 with BOM)", tag="reports", auth="admin",
                                           params=PERIOD, responses={"200": {"description": "CSV"},
                                                                     **_errors(401, 403, 422)})},
    "/api/reports/summary.xlsx": {"get": op("The summary as an Excel workbook", tag="reports", auth="admin",
                                            params=PERIOD, responses={"200": {"description": "XLSX"},
                                                                      **_errors(401, 403, 422)})},
}

def _admin(summary, method="get", params=(), body=False, errors=(401, 403)):
    more = (400, 404, 409, 415, 422) if method != "get" else ()
    return {method: op(summary, tag="admin", auth="admin", params=list(params),
                       body={"type": "object"} if body else None,
                       responses={**_ok({"type": "object"}), **_errors(*errors, *more)})}


FIELD_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _merge(*entries):
    merged = {}
    for entry in entries:
        merged.update(entry)
    return merged


ADMIN_PATHS = {
    "/api/admin/office": _merge(_admin("The office: name, unit, rating scale and reasons"),
                                _admin("Change the office", "patch", body=True)),
    "/api/admin/overview": _admin("Today's counters and queues, and print jobs that need a person"),
    "/api/admin/fields": _merge(_admin("Every field, active or not"), _admin("Add a field", "post", body=True)),
    "/api/admin/fields/order": _admin("Reorder fields", "put", body=True),
    "/api/admin/fields/{code}": _merge(_admin("Edit a field", "patch", [FIELD_CODE], True),
                                       _admin("Delete a field that never issued a ticket", "delete", [FIELD_CODE])),
    "/api/admin/fields/{code}/disable": _admin("Stop issuing in a field", "post", [FIELD_CODE]),
    "/api/admin/fields/{code}/enable": _admin("Issue again in a field", "post", [FIELD_CODE]),
    "/api/admin/counters": _merge(_admin("Every counter"), _admin("Add a counter", "post", body=True)),
    "/api/admin/counters/{number}": _admin("Edit a counter (name, fields served in order)", "patch", [COUNTER_N], True),
    "/api/admin/counters/{number}/disable": _admin("Take a counter out of service", "post", [COUNTER_N]),
    "/api/admin/counters/{number}/enable": _admin("Put a counter back in service", "post", [COUNTER_N]),
    "/api/admin/users": _merge(_admin("Clerks and admins"), _admin("Add a user", "post", body=True)),
    "/api/admin/users/{user_id}": _admin("Edit a user", "patch", [dict(ID, name="user_id")], True),
    "/api/admin/users/{user_id}/disable": _admin("Disable a user", "post", [dict(ID, name="user_id")]),
    "/api/admin/users/{user_id}/enable": _admin("Enable a user", "post", [dict(ID, name="user_id")]),
    "/api/admin/users/{user_id}/password": _admin("Reset a password", "post", [dict(ID, name="user_id")], True),
    "/api/admin/devices": _merge(_admin("Paired devices"),
                                 _admin("A pairing code, its link and QR for a new device", "post", body=True)),
    "/api/admin/devices/{device_id}/revoke": _admin("Revoke a device", "post", [dict(ID, name="device_id")]),
    "/api/admin/qr.svg": _admin("QR picture of a pairing link (SVG)"),
    "/api/admin/offices": _merge(_admin("Every office (province users)"),
                                 _admin("Add an office: slug, name, unit (province users)", "post", body=True)),
    "/api/admin/offices/{slug}": _admin("Rename or (de)activate an office (province users)", "patch",
                                        [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}],
                                        True),
    "/api/province/overview": _admin("Every office today, the hall in trouble first (province users)"),
    "/api/admin/bookings": _admin("A day's bookings (?date=YYYY-MM-DD, default today), with phones",
                                  params=[{"name": "date", "in": "query", "schema": {"type": "string", "format": "date"}}]),
    "/api/admin/bookings/{code}/cancel": _admin("Cancel a booking on the citizen's behalf, with a reason", "post",
                                                [dict(FIELD_CODE, description="the booking's code")], True),
    "/api/admin/blackout-days": _merge(_admin("Days the office takes no bookings"),
                                       _admin("Add a day without bookings", "post", body=True)),
    "/api/admin/blackout-days/{day}": _admin("Take bookings on that day again", "delete",
                                             [{"name": "day", "in": "path", "required": True,
                                               "schema": {"type": "string", "format": "date"}}]),
    "/api/admin/tickets/outside-kiosks": _admin("Today's tickets not taken at a paired kiosk, with the address"),
    "/api/admin/tickets/{code}/cancel": _admin("Cancel a waiting ticket of today by its code", "post",
                                               [dict(FIELD_CODE, description="the ticket's code, e.g. A015")]),
    "/api/admin/announcements": _merge(_admin("Announcements for the board"),
                                       _admin("Add an announcement", "post", body=True)),
    "/api/admin/announcements/order": _admin("Reorder announcements", "put", body=True),
    "/api/admin/announcements/{announcement_id}": _admin("Edit or disable an announcement", "patch",
                                                         [dict(ID, name="announcement_id")], True),
    "/api/print-jobs": _admin("Print jobs, failures first (?status=)"),
    "/api/print-jobs/{job_id}/cancel": _admin("Cancel a print job", "post", [JOB_ID]),
    "/api/print-jobs/reprint": _admin("Reprint a ticket (says “In lại” on paper)", "post", body=True),
    "/api/printer/status": _admin("The server printer's status (online, cover open, paper out)"),
}

TICKET_PROPS = {
    "code": {"type": "string", "example": "A015"}, "number": {"type": "integer"}, "field": {"type": "string"},
    "field_name": {"type": "string"},
    "priority": {"type": ["string", "null"], "enum": ["elderly", "disabled", "pregnant", "merit", None]},
    "status": {"type": "string", "enum": ["waiting", "called", "done", "no_show", "cancelled", "expired"]},
    "issued_at": {"type": "string", "format": "date-time"}, "called_at": {"type": ["string", "null"]},
    "finished_at": {"type": ["string", "null"]}, "service_day": {"type": "string", "format": "date"},
    "ahead": {"type": "integer"}, "estimated_wait_s": {"type": "integer"}, "token": {"type": "string"},
    "counter": {"type": ["integer", "null"]}, "call_count": {"type": "integer"},
}

SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string", "description": "Vietnamese"}}}}},
    "Ticket": {"type": "object", "properties": {**TICKET_PROPS, "track_url": {"type": "string"},
                                                "rated": {"type": "boolean"}}},
    "IssuedTicket": {"type": "object", "properties": {
        **TICKET_PROPS, "track_url": {"type": "string"}, "printed": {"type": "boolean"},
        "print_status": {"type": "string", "enum": ["queued", "printing", "printed", "pending", "failed",
                                                    "cancelled", "none"]}}},
    "FieldSummary": {"type": "object", "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "hint": {"type": "string"},
        "prefix": {"type": "string"}, "waiting": {"type": "integer"}, "estimated_wait_s": {"type": "integer"},
        "hours": {"type": "array", "items": {"type": "string"}}, "open_now": {"type": "boolean"},
        "daily_cap": {"type": ["integer", "null"]}, "issued_today": {"type": "integer"},
        "cap_reached": {"type": "boolean"}}},
    "State": {"type": "object", "properties": {
        "version": {"type": "integer"}, "at": {"type": "string"}, "office": {"type": "object"},
        "counters": {"type": "array", "items": {"type": "object"}},
        "recent_calls": {"type": "array", "items": {"type": "object"}},
        "fields": {"type": "array", "items": {"type": "object"}},
        "announcements": {"type": "array", "items": {"type": "object"}}}},
    "CounterView": {"type": "object", "properties": {
        "number": {"type": "integer"}, "name": {"type": "string"},
        "state": {"type": "string", "enum": ["open", "paused", "closed"]},
        "current": {"oneOf": [ref("Ticket"), {"type": "null"}]},
        "waiting": {"type": "array", "items": {"type": "object"}}, "served_today": {"type": "integer"}}},
    "User": {"type": "object", "properties": {"id": {"type": "integer"}, "username": {"type": "string"},
                                              "name": {"type": "string"},
                                              "role": {"type": "string", "enum": ["clerk", "admin"]}}},
}

EXTRA_MODULES = ("server.api.admin", "server.api.printing")


def document() -> dict:
    paths = {**CORE_PATHS, **ADMIN_PATHS}
    for name in EXTRA_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        paths.update(getattr(module, "OPENAPI_PATHS", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": "motcua", "version": "0.1.0",
                 "description": "Queue tickets for Vietnamese one-stop offices. Errors are "
                                "{\"error\": {\"code\", \"message\"}}; bodies over 64 KB get 413. "
                                "Socket.IO events are described in docs/api.md."},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "motcua_session",
                            "description": "Browser session; unsafe requests also need the X-CSRFToken header."},
            },
        },
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
