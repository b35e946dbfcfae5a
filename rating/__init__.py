"""The satisfaction surfaces: the rating tablet at a counter, and a ticket's own page on a phone.

`/rating` is the tablet, paired to a counter; `/t/<token>` is the page a citizen's
phone opens from the QR on the ticket (its place in the queue, live, then its
rating). One blueprint with absolute rules (no url_prefix) serves both, so they
share the rating form in static/.
"""
import re

from flask import Blueprint, abort, render_template

bp = Blueprint("rating", __name__, template_folder="templates",
               static_folder="static", static_url_path="/rating/static")

TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@bp.get("/rating/")
def page():
    return render_template("rating/tablet.html")


@bp.get("/t/<token>")
def ticket_page(token: str):
    if not TOKEN.match(token):
        abort(404)
    return render_template("rating/ticket.html", token=token)
