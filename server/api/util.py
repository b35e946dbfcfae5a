"""Small helpers the API modules share."""
from __future__ import annotations

import io

from flask import Response, current_app, request

from .errors import api_error


def services():
    return current_app.extensions["motcua"]


def engine():
    return services().engine


def public_base_url() -> str:
    """Where phones reach this server, for QR codes and track links."""
    return services().config.public_url or request.host_url.rstrip("/")


def track_url(token: str) -> str:
    return f"{public_base_url()}/t/{token}"


def int_arg(value, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise api_error(422, "invalid_" + name, f"Giá trị “{name}” phải là số nguyên.") from None


def qr_svg(text: str, cache: str) -> Response:
    """A QR code of `text` as an SVG response (the kiosk's ticket, the admin's pairing links)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    out = io.BytesIO()
    image.save(out)
    return Response(out.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": cache})
