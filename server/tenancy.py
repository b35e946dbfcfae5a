"""Which office a request is for, found once and handed down.

Every page and every API path is also served under `/o/<slug>/…`: a small WSGI
middleware moves `/o/<slug>` into SCRIPT_NAME, so the same routes serve both and links
made with `url_for` keep the prefix. The office of a request is, in this order:
1. the one its path names (`/o/<slug>/…`; an unknown slug is `404 office_not_found`);
2. the office of the paired device making it (a kiosk always issues in its own office);
3. the office of the logged-in clerk or admin (staff land in their own office wherever
   they logged in);
4. the default office (the first one, or DEFAULT_OFFICE).
Staff of one office get `403 forbidden` on another office's staff endpoints; province
users may act in every office.
"""
from __future__ import annotations

import re

from flask import current_app, g, request

from .engine import OfficeInfo

PREFIX = re.compile(r"^/o/([a-z0-9]+(?:-[a-z0-9]+)*)(/.*)?$")
ENVIRON_KEY = "motcua.office_slug"


class OfficePath:
    """WSGI middleware: `/o/<slug>/kiosk` is `/kiosk` with the office `<slug>`."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        match = PREFIX.match(environ.get("PATH_INFO", ""))
        if match:
            slug, rest = match.group(1), match.group(2) or "/"
            environ[ENVIRON_KEY] = slug
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + f"/o/{slug}"
            environ["PATH_INFO"] = rest
        return self.app(environ, start_response)


def _engine():
    return current_app.extensions["motcua"].engine


def named_office() -> OfficeInfo | None:
    """The office the path names, if it names one (raises 404 office_not_found when unknown)."""
    slug = request.environ.get(ENVIRON_KEY)
    if slug is None:
        return None
    from .errors import api_error

    office = _engine().offices.by_slug(slug)
    if office is None:
        _engine().offices.reload()  # made a moment ago by another process?
        office = _engine().offices.by_slug(slug)
    if office is None or not office.active:
        raise api_error(404, "office_not_found", f"Không có cơ quan “{slug}”.")
    return office


def current_office() -> OfficeInfo:
    """The office this request is for (see the module's docstring for the order)."""
    if "motcua_office" in g:
        return g.motcua_office
    from .auth import current_device, current_user

    office = named_office()
    if office is None:
        device = current_device()
        if device is not None:
            office = _engine().offices.get(device.office_id)
    if office is None:
        user = current_user()
        if user is not None and user.office_id is not None:
            office = _engine().offices.get(user.office_id)
    if office is None:
        office = _engine().office_info()
    g.motcua_office = office
    notes = request.environ.get("motcua.log_notes")
    if notes is not None:  # the access log names the office (server/serving.py)
        notes["office"] = office.slug
    return office


def check_office_exists() -> None:
    """before_request: an unknown `/o/<slug>` is a 404 for pages and API alike."""
    named_office()


def template_context() -> dict:
    """Pages under `/o/<slug>` tell their scripts which office they belong to (`data-office`)."""
    slug = request.environ.get(ENVIRON_KEY)
    return {"office_slug": slug or ""}
