"""The home page: links to every surface, and the ticket's QR picture."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request

bp = Blueprint("pages", __name__, template_folder="templates")


@bp.get("/")
def index():
    from .tenancy import current_office

    return render_template("index.html", office=current_office().public())


LANG_COOKIE_DAYS = 365


@bp.get("/lang/<code>")
def set_language(code: str):
    """The language switch of the staff pages: remember the choice in the `lang` cookie."""
    back = request.args.get("next", "/")
    if not back.startswith("/") or back.startswith("//"):  # only back to a page of this server
        back = "/"
    response = redirect(back)
    if code in ("vi", "en"):
        response.set_cookie("lang", code, max_age=LANG_COOKIE_DAYS * 86400, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    return response


@bp.get("/qr/<token>.svg")
def ticket_qr(token: str):
    """The QR of a ticket's own page, drawn by the server so the kiosk needs no QR library."""
    from .api.util import engine, qr_svg, track_url

    engine().ticket_status(token)  # 404 for an unknown token
    return qr_svg(track_url(token), "private, max-age=86400")
