"""Tickets on paper exactly as printer/render.py and printer/encode.py drew and encoded them before
the drawing cache (commit 0e27b44): the reference the fast path must match byte for byte.

Frozen on purpose: do not "fix" anything here. If the look of a ticket changes on purpose,
change both and say so in the commit.
"""
from __future__ import annotations

import copy
import functools
import unicodedata
from zoneinfo import ZoneInfo

import qrcode
from escpos.constants import QR_ECLEVEL_M
from PIL import Image, ImageDraw, ImageFont

from printer.render import BOLD_FONT, REGULAR_FONT, WEEKDAYS_VI, PaperWidth, RenderedTicket
from printer.ticket import TicketPrint

BLACK, WHITE = 0, 255
RASTER_BAND_DOTS = 480


@functools.lru_cache(maxsize=64)
def font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    # Loading a TrueType file costs milliseconds; a ticket uses a handful of sizes.
    return ImageFont.truetype(str(BOLD_FONT if bold else REGULAR_FONT), size)


def format_issued_at(ticket: TicketPrint) -> str:
    local = ticket.issued_at.astimezone(ZoneInfo(ticket.timezone))
    return f"Lấy số lúc {local:%H:%M}, {WEEKDAYS_VI[local.weekday()]} {local:%d/%m/%Y}"


def _nfc(text: str) -> str:
    # Text typed on some keyboards arrives decomposed (e + U+0301); the font's
    # precomposed glyphs place the marks far better than stacking combining ones.
    return unicodedata.normalize("NFC", text or "")


def wrap(text: str, face: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Greedy word wrap; a single word longer than the line is cut by characters."""
    lines: list[str] = []
    for paragraph in _nfc(text).splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if face.getlength(candidate) <= max_width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while face.getlength(word) > max_width:
                cut = len(word)
                while cut > 1 and face.getlength(word[:cut]) > max_width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


class _Column:
    """Draws centred blocks top to bottom on a tall sheet, cropped at the end."""

    def __init__(self, width: int, scale: float):
        self.width = width
        self.scale = scale
        self.margin = round(8 * scale)
        self.sheet = Image.new("1", (width, 3000), WHITE)
        self.draw = ImageDraw.Draw(self.sheet)
        self.draw.fontmode = "1"  # crisp dots, no grey a thermal head cannot print
        self.y = 0

    def px(self, dots: float) -> int:
        return round(dots * self.scale)

    def space(self, dots: float) -> None:
        self.y += self.px(dots)

    def text(self, text: str, size: float, bold: bool = False, spacing: float = 4) -> None:
        face = font(bold, self.px(size))
        ascent, descent = face.getmetrics()
        for line in wrap(text, face, self.width - 2 * self.margin):
            x = (self.width - face.getlength(line)) / 2
            self.draw.text((x, self.y), line, font=face, fill=BLACK)
            self.y += ascent + descent + self.px(spacing)

    def banner(self, text: str, size: float) -> None:
        """White letters on a black band: impossible to miss (used for 'In lại')."""
        face = font(True, self.px(size))
        ascent, descent = face.getmetrics()
        pad = self.px(6)
        height = ascent + descent + 2 * pad
        self.draw.rectangle((0, self.y, self.width - 1, self.y + height - 1), fill=BLACK)
        x = (self.width - face.getlength(text)) / 2
        self.draw.text((x, self.y + pad), text, font=face, fill=WHITE)
        self.y += height

    def boxed(self, text: str, size: float) -> None:
        face = font(True, self.px(size))
        lines = wrap(text, face, self.width - 2 * self.margin - self.px(16))
        ascent, descent = face.getmetrics()
        line_h = ascent + descent
        pad = self.px(5)
        height = len(lines) * line_h + 2 * pad
        widest = max(face.getlength(line) for line in lines)
        left = max(self.margin, int((self.width - widest) / 2) - self.px(8))
        right = min(self.width - 1 - self.margin, int((self.width + widest) / 2) + self.px(8))
        self.draw.rectangle((left, self.y, right, self.y + height), outline=BLACK, width=self.px(2))
        y = self.y + pad
        for line in lines:
            self.draw.text(((self.width - face.getlength(line)) / 2, y), line, font=face, fill=BLACK)
            y += line_h
        self.y += height + 1

    def rule(self) -> None:
        self.space(6)
        thickness = max(1, self.px(2))
        self.draw.rectangle((self.margin, self.y, self.width - 1 - self.margin, self.y + thickness - 1), fill=BLACK)
        self.y += thickness
        self.space(6)

    def big_code(self, code: str) -> None:
        """The ticket code, as large as the paper allows: the one thing people must read."""
        size = _code_font_size(code, self.width - 2 * self.margin, max_size=round(self.width * 0.42))
        face = font(True, size)
        left, top, right, bottom = face.getbbox(code)
        x = (self.width - (right - left)) / 2 - left
        self.draw.text((x, self.y - top), code, font=face, fill=BLACK)
        self.y += bottom - top

    def crop(self) -> Image.Image:
        return self.sheet.crop((0, 0, self.width, self.y))


@functools.lru_cache(maxsize=64)
def _code_font_size(code: str, max_width: int, max_size: int) -> int:
    # Glyph advance scales linearly with size: measure once, then step down if rounding overshoots.
    reference = 100
    size = min(max_size, int(reference * max_width / max(1, font(True, reference).getlength(code))))
    while size > 8 and font(True, size).getlength(code) > max_width:
        size -= 1
    return size


def qr_picture(url: str, module_dots: int, width: int) -> Image.Image:
    """The QR code as dots, centred on a strip as wide as the paper."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=module_dots, border=2
    )
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()  # includes the quiet zone (border)
    side = len(matrix) * module_dots
    if side > width:
        raise ValueError("QR code wider than the paper; use a shorter URL")
    small = Image.new("1", (len(matrix), len(matrix)), WHITE)
    small.putdata([BLACK if dark else WHITE for row in matrix for dark in row])
    strip = Image.new("1", (width, side), WHITE)
    strip.paste(small.resize((side, side), Image.NEAREST), ((width - side) // 2, 0))
    return strip


def render_ticket(ticket: TicketPrint, width: int = PaperWidth.MM80) -> RenderedTicket:
    """Lay the ticket out for a roll `width` dots wide (384 for 58 mm, 576 for 80 mm)."""
    if width not in (PaperWidth.MM58, PaperWidth.MM80):
        raise ValueError(f"paper width must be 384 (58 mm) or 576 (80 mm) dots, not {width}")
    scale = width / PaperWidth.MM58  # the layout is designed at 58 mm and scaled up
    head = _Column(width, scale)
    if ticket.reprint:
        head.banner("In lại", 22)
        head.space(6)
    if ticket.unit:
        head.text(ticket.unit.upper(), 16)
    head.text(ticket.office_name, 21, bold=True)
    head.rule()
    head.text(ticket.field_name, 21)
    head.space(6)
    head.big_code(_nfc(ticket.code))
    head.space(10)
    if ticket.priority_label:
        head.boxed(f"Ưu tiên: {ticket.priority_label}", 18)
        head.space(6)
    head.text(f"Số người đang chờ trước ông/bà: {ticket.people_ahead}", 19, bold=True)
    head.text(format_issued_at(ticket), 17)
    head.space(8)

    module = 5 if width == PaperWidth.MM58 else 6
    qr = qr_picture(ticket.qr_url, module, width) if ticket.qr_url else None

    foot = _Column(width, scale)
    foot.space(4)
    if qr is not None:
        foot.text("Quét mã để xem lượt của ông/bà", 15)
    if ticket.footer:
        foot.text(ticket.footer, 17)
    foot.space(4)
    return RenderedTicket(
        width=int(width),
        head=head.crop(),
        qr=qr,
        foot=foot.crop(),
        qr_url=ticket.qr_url or None,
        qr_module_dots=module,
    )


def _dummy_for_width(width: int):
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


def _raster(printer, image) -> None:
    printer.image(image, impl="bitImageRaster", fragment_height=RASTER_BAND_DOTS)
