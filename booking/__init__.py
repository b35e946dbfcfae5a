"""Online booking pages: `/book` (a citizen takes a slot from a phone) and `/b/<token>` (the booking's own page).

`/book` belongs to an office (`/o/<slug>/book`); with several offices the bare `/book` first
asks which one. `/b/<token>` and its QR belong to no office, like a ticket's page: the token
finds the booking wherever it was made. The pages only show what the API answers.
"""
import re

from flask import Blueprint, abort, current_app, render_template

bp = Blueprint("booking", __name__, template_folder="templates",
               static_folder="static", static_url_path="/book/static")

TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _engine():
    return current_app.extensions["motcua"].engine


@bp.get("/book", strict_slashes=False)
def book():
    from server.tenancy import current_office, named_office

    if named_office() is None and _engine().offices.many():
        offices = [{"slug": o.slug, "name": o.name, "unit": o.unit} for o in _engine().offices.all()]
        return render_template("booking/offices.html", offices=offices)
    office = current_office()
    return render_template("booking/book.html", office=office.public())


@bp.get("/b/<token>")
def booking_page(token: str):
    if not TOKEN.match(token):
        abort(404)
    default = _engine().offices.default()
    return render_template("booking/booking.html", token=token, default_office=default.slug if default else "")


@bp.get("/b/<token>/qr.svg")
def booking_qr(token: str):
    """The QR of a booking's own page: shown on the phone, scanned at the kiosk (it types the address and Enter)."""
    from server.api.bookings import booking_url
    from server.api.util import qr_svg

    if not TOKEN.match(token):
        abort(404)
    _engine().booking_status(token)  # 404 booking_not_found for an unknown token
    return qr_svg(booking_url(token), "private, max-age=86400")
