"""The kiosk: a citizen picks a field (and a priority reason) and gets a numbered ticket."""
from flask import Blueprint, render_template

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates",
               static_folder="static", static_url_path="/static")


@bp.get("/")
def page():
    return render_template("kiosk/kiosk.html")
