"""The display board: the calls of the hall on a TV, with a Vietnamese voice."""
from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, send_from_directory

bp = Blueprint("display", __name__, url_prefix="/display", template_folder="templates",
               static_folder="static", static_url_path="/static")

VOICE_PACK = Path(__file__).resolve().parent / "static" / "voice"
CLIP_NAME = re.compile(r"^[a-z0-9-]{1,40}$")
# An office's own recordings may be in any format Chromium plays.
OWN_CLIP_TYPES = (".ogg", ".opus", ".mp3", ".wav", ".m4a")


@bp.get("/")
def page():
    return render_template("display/board.html")


@bp.get("/voice/<name>")
def voice_clip(name: str):
    """One clip of the voice: an office's recording in motcua-data/voice/ first, else the bundled pack."""
    if not CLIP_NAME.match(name):
        abort(404)
    own = Path(current_app.extensions["motcua"].config.instance_path) / "voice"
    for suffix in OWN_CLIP_TYPES:
        if (own / f"{name}{suffix}").is_file():
            return send_from_directory(own, f"{name}{suffix}", max_age=3600)
    if not (VOICE_PACK / f"{name}.ogg").is_file():
        abort(404)
    return send_from_directory(VOICE_PACK, f"{name}.ogg", mimetype="audio/ogg", max_age=86400)
