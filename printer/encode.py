"""A rendered ticket -> the ESC/POS bytes a printer receives, through python-escpos.

python-escpos writes the commands into its Dummy printer; the bytes are then
sent by a backend (printer/backends.py). Encoding once and sending bytes
means the exact same job can be stored, retried or handed to an agent.

The job is: ESC @ (initialise), the picture as `GS v 0` raster images, the QR
natively (`GS ( k`, centred with `ESC a 1`) or as part of the picture, feed
and cut.
"""
from __future__ import annotations

import copy

from typing import TYPE_CHECKING

from escpos.constants import QR_ECLEVEL_M

from printer.render import RenderedTicket

if TYPE_CHECKING:
    from escpos.printer import Dummy

# Taller pictures are sent as several `GS v 0` bands: small printers have small buffers.
RASTER_BAND_DOTS = 480


def _dummy_for_width(width: int) -> "Dummy":
    # Imported here: python-escpos loads its printer database (~0.3 s) on import, which a
    # server start should not wait for. PrintService.start() warms it up in the background.
    from escpos.printer import Dummy

    printer = Dummy()
    # The default profile has no paper width, which makes python-escpos skip its
    # width check and print a warning for every picture; this copy knows the roll.
    profile_data = copy.deepcopy(printer.profile.profile_data)
    profile_data["media"] = {"dpi": 203, "width": {"mm": 58 if width <= 384 else 80, "pixels": width}}
    printer.profile.profile_data = profile_data
    return printer


def encode_ticket(picture: RenderedTicket, qr_native: bool = True, cut: bool = True) -> bytes:
    printer = _dummy_for_width(picture.width)
    printer.hw("INIT")
    if qr_native and picture.qr_url:
        _raster(printer, picture.head)
        printer.set(align="center")  # GS ( k has no centring of its own; ESC a applies to it
        printer.qr(picture.qr_url, ec=QR_ECLEVEL_M, size=picture.qr_module_dots, native=True)
        printer.set(align="left")
        _raster(printer, picture.foot)
    else:
        _raster(printer, picture.full())
    if cut:
        printer.cut(mode="PART")  # feeds past the tear bar, then cuts
    return printer.output


def _raster(printer: "Dummy", image) -> None:
    printer.image(image, impl="bitImageRaster", fragment_height=RASTER_BAND_DOTS)
