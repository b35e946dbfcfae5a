"""A rendered ticket -> the ESC/POS bytes a printer receives.

The job is: ESC @ (initialise), the picture as `GS v 0` raster images in bands
of at most 480 rows, the QR natively (`GS ( k`, centred with `ESC a 1`) or as
part of the picture, feed and cut. Encoding once and sending bytes means the
exact same job can be stored, retried or handed to an agent.

These are the bytes python-escpos writes for the same calls (`hw("INIT")`,
`image(impl="bitImageRaster", fragment_height=480)`, `set(align=...)`,
`qr(native=True)`, `cut(mode="PART")`), built directly: python-escpos converts
every picture through RGBA, L and back to 1-bit, which took most of the time of
a ticket, where a 1-bit picture's own bytes, inverted, are the raster.
tests/test_printer_fast.py checks them byte for byte against python-escpos.
"""
from __future__ import annotations

from PIL import Image

from printer.render import INVERT, RenderedTicket

# Taller pictures are sent as several `GS v 0` bands: small printers have small buffers.
RASTER_BAND_DOTS = 480

INIT = b"\x1b@"  # ESC @
ALIGN_CENTER = b"\x1ba\x01"  # ESC a 1: GS ( k has no centring of its own
ALIGN_LEFT = b"\x1ba\x00"
FEED_AND_PARTIAL_CUT = b"\x1bd\x06\x1dV\x01"  # ESC d 6 (past the tear bar), GS V 1
QR_MODEL_2, QR_ECLEVEL_M = 2, 1


def encode_ticket(picture: RenderedTicket, qr_native: bool = True, cut: bool = True) -> bytes:
    head, qr, foot = picture.dots or (_dots(picture.head), _dots(picture.qr), _dots(picture.foot))
    out = [INIT]
    if qr_native and picture.qr_url:
        out.append(raster(picture.width, head))
        out.append(ALIGN_CENTER)
        out.append(qr_native_commands(picture.qr_url, picture.qr_module_dots))
        out.append(ALIGN_LEFT)
        out.append(raster(picture.width, foot))
    else:
        out.append(raster(picture.width, head + (qr or b"") + foot))
    if cut:
        out.append(FEED_AND_PARTIAL_CUT)
    return b"".join(out)


def _dots(part: Image.Image | None) -> bytes | None:
    if part is None:
        return None
    if part.mode != "1" or part.width % 8:
        raise ValueError("ticket pictures must be 1-bit and a multiple of 8 dots wide")
    return part.tobytes().translate(INVERT)


def raster(width: int, dots: bytes) -> bytes:
    """Rows of packed dots (a set bit a black dot), `width` dots wide, as `GS v 0` bands."""
    row_bytes = width // 8
    height = len(dots) // row_bytes
    out = []
    for top in range(0, height, RASTER_BAND_DOTS):
        rows = min(RASTER_BAND_DOTS, height - top)
        out.append(b"\x1dv0\x00" + row_bytes.to_bytes(2, "little") + rows.to_bytes(2, "little"))
        out.append(dots[top * row_bytes:(top + rows) * row_bytes])
    return b"".join(out)


def qr_native_commands(url: str, module_dots: int) -> bytes:
    """GS ( k: model 2, module size, error correction M, store the data, print it."""
    data = url.encode("utf-8")

    def command(fn: int, payload: bytes, m: bytes = b"") -> bytes:
        return b"\x1d(k" + (len(payload) + len(m) + 2).to_bytes(2, "little") + b"1" + bytes((fn,)) + m + payload

    return b"".join([
        command(65, bytes((48 + QR_MODEL_2, 0))),
        command(67, bytes((module_dots,))),
        command(69, bytes((48 + QR_ECLEVEL_M,))),
        command(80, data, b"0"),
        command(81, b"", b"0"),
    ])
