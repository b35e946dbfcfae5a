"""The bytes a printer receives, built by python-escpos, read back command by command."""
import pytest

from printer.encode import encode_ticket
from printer.render import PaperWidth, render_ticket
from printer.ticket import sample_ticket
from tests.printer_fixtures import parse_escpos, raster_images, same_pixels, stack

URL = sample_ticket().qr_url


def names(data: bytes) -> list[str]:
    return [c.name for c in parse_escpos(data)]


@pytest.mark.parametrize("width", [PaperWidth.MM58, PaperWidth.MM80])
def test_native_qr_job_is_init_raster_qr_raster_cut(width):
    picture = render_ticket(sample_ticket(), width)
    data = encode_ticket(picture, qr_native=True)
    commands = parse_escpos(data)
    assert data.startswith(b"\x1b@")  # ESC @ first: a clean printer state for every ticket
    assert "byte" not in names(data)  # nothing but known commands: no stray text
    order = [c.name for c in commands if c.name in ("init", "raster", "qr", "cut")]
    first_qr, last_qr = order.index("qr"), len(order) - 1 - order[::-1].index("qr")
    assert order[0] == "init" and order[-1] == "cut"
    assert "raster" in order[:first_qr] and "raster" in order[last_qr:]
    qr_store = [c for c in commands if c.name == "qr" and c.data[:2] == b"1P"]  # fn 80: store the data
    assert qr_store and qr_store[0].data[3:] == URL.encode()
    qr_size = [c for c in commands if c.name == "qr" and c.data[:2] == b"1C"]  # fn 67: module size
    assert qr_size[0].data[2] == picture.qr_module_dots
    # centred by ESC a 1 just before the QR
    before_qr = commands[: commands.index(qr_store[0])]
    assert [c.args for c in before_qr if c.name == "align"][-1] == b"\x01"


@pytest.mark.parametrize("width", [PaperWidth.MM58, PaperWidth.MM80])
def test_image_qr_job_has_no_native_qr_and_the_raster_is_the_preview(width):
    picture = render_ticket(sample_ticket(), width)
    data = encode_ticket(picture, qr_native=False)
    assert "qr" not in names(data)
    decoded = stack(raster_images(data))
    assert same_pixels(decoded, picture.full())


@pytest.mark.parametrize("width", [PaperWidth.MM58, PaperWidth.MM80])
def test_native_qr_job_rasters_are_the_preview_above_and_below_the_qr(width):
    picture = render_ticket(sample_ticket(reprint=True), width)
    data = encode_ticket(picture, qr_native=True)
    commands = parse_escpos(data)
    qr_at = next(i for i, c in enumerate(commands) if c.name == "qr")
    above = stack(raster_images(b"".join(_raw(c) for c in commands[:qr_at])))
    assert same_pixels(above, picture.head)
    below = stack(raster_images(b"".join(_raw(c) for c in commands[qr_at:])))
    assert same_pixels(below, picture.foot)


def test_raster_bands_are_short_enough_for_small_printer_buffers():
    data = encode_ticket(render_ticket(sample_ticket(), PaperWidth.MM80), qr_native=False)
    heights = [img.height for img in raster_images(data)]
    assert len(heights) > 1 and max(heights) <= 480


def test_a_different_ticket_gives_different_pixels():
    a = encode_ticket(render_ticket(sample_ticket(), PaperWidth.MM58), qr_native=False)
    b = encode_ticket(render_ticket(sample_ticket(reprint=True), PaperWidth.MM58), qr_native=False)
    assert a != b


def test_the_job_ends_with_a_feed_and_a_partial_cut():
    data = encode_ticket(render_ticket(sample_ticket(), PaperWidth.MM58), qr_native=True)
    tail = [c for c in parse_escpos(data)][-2:]
    assert tail[0].name == "feed" and tail[1].name == "cut"
    assert data.endswith(b"\x1dV\x01")  # GS V 1: partial cut (python-escpos PAPER_PART_CUT)


def _raw(cmd) -> bytes:
    if cmd.name == "raster":
        return b"\x1dv0" + cmd.args + cmd.data
    return b""  # only pictures matter to raster_images
