"""Tickets drawn for 58 and 80 mm rolls, with every Vietnamese letter intact."""
import datetime as dt
import unicodedata

import pytest
from PIL import Image, ImageDraw, ImageFont

from printer.render import REGULAR_FONT, PaperWidth, render_ticket
from printer.ticket import TicketPrint, sample_ticket

VOWELS = "aăâeêioôơuưy"
TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]  # ngang huyền sắc hỏi ngã nặng
EVERY_LETTER = [unicodedata.normalize("NFC", v + t) for v in VOWELS for t in TONES] + ["đ"]
EVERY_LETTER += [c.upper() for c in EVERY_LETTER]
# Short lines (each fits a 58 mm roll) that together hold every toned vowel, Đ and đ.
LINES = ["".join(EVERY_LETTER[i:i + 12]) for i in range(0, len(EVERY_LETTER), 12)]


def ticket_with_footer(footer: str, **kw) -> TicketPrint:
    base = dict(office_name="Trung tâm Phục vụ hành chính công", field_name="Hộ tịch", code="A015",
                people_ahead=3, issued_at=dt.datetime(2025, 11, 25, 2, 5, tzinfo=dt.timezone.utc),
                qr_url="http://10.0.0.2:8000/t/abc", footer=footer)
    base.update(kw)
    return TicketPrint(**base)


def ink_bands(img: Image.Image) -> list[tuple[int, int]]:
    """(top, bottom) of each horizontal run of rows that have at least one black dot."""
    rows = [any(img.getpixel((x, y)) == 0 for x in range(img.width)) for y in range(img.height)]
    bands, start = [], None
    for y, inked in enumerate(rows + [False]):
        if inked and start is None:
            start = y
        elif not inked and start is not None:
            bands.append((start, y))
            start = None
    return bands


def reference_line(text: str, width: int, size: int) -> Image.Image:
    """The same words drawn independently with the bundled font, centred the same way."""
    face = ImageFont.truetype(str(REGULAR_FONT), size)
    img = Image.new("1", (width, size * 3), 255)
    draw = ImageDraw.Draw(img)
    draw.fontmode = "1"
    draw.text(((width - face.getlength(text)) / 2, size), text, font=face, fill=0)  # room for marks above capitals
    return img


def crop_ink(img: Image.Image) -> Image.Image:
    inverted = img.convert("L").point(lambda v: 255 - v)
    return img.crop(inverted.getbbox())


@pytest.mark.parametrize("width", [PaperWidth.MM58, PaperWidth.MM80])
def test_both_paper_widths_give_a_one_bit_picture_as_wide_as_the_roll(width):
    picture = render_ticket(sample_ticket(), width)
    full = picture.full()
    assert full.mode == "1" and full.width == width
    assert picture.head.width == picture.foot.width == picture.qr.width == width
    assert 400 < full.height < 1200  # a ticket, not a scroll


def test_a_width_that_is_not_a_roll_is_refused():
    with pytest.raises(ValueError):
        render_ticket(sample_ticket(), 500)


@pytest.mark.parametrize("width", [PaperWidth.MM58, PaperWidth.MM80])
def test_the_ticket_code_is_the_largest_thing_on_the_paper(width):
    head = render_ticket(sample_ticket(), width).head
    heights = sorted(bottom - top for top, bottom in ink_bands(head))
    assert heights[-1] >= 2.5 * heights[-2]  # the code band towers over every line of text
    assert heights[-1] >= width * 0.2


@pytest.mark.parametrize("width,size", [(PaperWidth.MM58, 17), (PaperWidth.MM80, 26)])
@pytest.mark.parametrize("line", LINES)
def test_every_tone_mark_and_d_with_stroke_survive(width, size, line):
    # Without a QR code the foot holds only the footer line.
    printed = crop_ink(render_ticket(ticket_with_footer(line, qr_url=None), width).foot)
    expected = crop_ink(reference_line(line, width, size))
    assert printed.size == expected.size and printed.tobytes() == expected.tobytes()
    # The comparison can fail: the same line without its marks looks different.
    bare = "".join(c for c in unicodedata.normalize("NFD", line) if not unicodedata.combining(c))
    assert crop_ink(reference_line(bare, width, size)).tobytes() != printed.tobytes()


def test_every_vietnamese_letter_has_its_own_glyph_in_the_bundled_font():
    face = ImageFont.truetype(str(REGULAR_FONT), 24)
    masks = {c: bytes(face.getmask(c, mode="1")) for c in EVERY_LETTER}
    assert len(set(masks.values())) == len(EVERY_LETTER)  # no two letters (or missing boxes) alike


def test_decomposed_input_prints_like_precomposed():
    nfd = unicodedata.normalize("NFD", "Đăng ký khai sinh")
    nfc = unicodedata.normalize("NFC", nfd)
    a = render_ticket(ticket_with_footer("x", field_name=nfd), PaperWidth.MM58).head
    b = render_ticket(ticket_with_footer("x", field_name=nfc), PaperWidth.MM58).head
    assert a.tobytes() == b.tobytes()


def test_a_reprint_says_so_on_the_paper():
    first = render_ticket(sample_ticket(reprint=False), PaperWidth.MM58).head
    again = render_ticket(sample_ticket(reprint=True), PaperWidth.MM58).head
    assert again.height > first.height
    assert all(again.getpixel((x, 2)) == 0 for x in range(0, 384, 16))  # the black "In lại" band
    # its white letters are there: the band is not solid
    band = again.crop((0, 0, 384, ink_bands(again)[0][1]))
    assert 0 < sum(band.tobytes().count(b) for b in range(1, 256)) and band.tobytes().count(0) > 0


def test_issue_time_is_local_and_vietnamese():
    from printer.render import format_issued_at

    ticket = ticket_with_footer("x", issued_at=dt.datetime(2025, 11, 30, 17, 30, tzinfo=dt.timezone.utc))
    assert format_issued_at(ticket) == "Lấy số lúc 00:30, Thứ Hai 01/12/2025"


def test_long_office_names_wrap_inside_the_paper():
    long_name = "Trung tâm Phục vụ hành chính công phường Nguyễn Trung Trực, thành phố Hồ Chí Minh"
    picture = render_ticket(ticket_with_footer("x", office_name=long_name), PaperWidth.MM58)
    short = render_ticket(ticket_with_footer("x", office_name="Một cửa"), PaperWidth.MM58)
    assert picture.head.height > short.head.height
