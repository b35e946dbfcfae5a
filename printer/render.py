"""Ticket data -> a 1-bit picture as wide as the paper.

Thermal printers rarely have a Vietnamese code page, so every letter is drawn
here with Pillow in the bundled DejaVu Sans (it has every precomposed
Vietnamese glyph) and the printer only ever receives pictures.

The picture is kept in three parts, because the QR code between them may be
printed natively by the printer (`GS ( k`) instead of as dots we draw:
`head` (office ... issue time), `qr`, `foot` (QR caption, footer).
Mode "1" pictures: 0 is a black dot, 255 is white paper.

Drawing is cached (a ticket takes ~2 ms instead of ~15): every part of the
ticket is drawn once as "ink" (where it puts black dots) and kept, keyed by
everything that makes it look the way it does (text, size, paper width, ...),
in bounded LRU caches. A ticket is then its parts' ink stamped on white paper.
That is the same picture, dot for dot, because after the header (drawn in one
piece, "In lại" band included) every part only ever adds black dots, so the
order they land in does not matter. An admin's edit changes the key, so
nothing stale can be served; `forget()` empties the caches (memory only).
tests/test_printer_fast.py compares thousands of tickets against the drawing
code as it was (tests/printer_reference.py), byte for byte.
"""
from __future__ import annotations

import functools
import struct
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, ImageChops, ImageDraw, ImageFont

from printer.qr import qr_rows
from printer.ticket import PAPER_DOTS, PaperWidth, TicketPrint  # noqa: F401 - PAPER_DOTS: also from here

FONT_DIR = Path(__file__).with_name("fonts")
REGULAR_FONT = FONT_DIR / "DejaVuSans.ttf"
BOLD_FONT = FONT_DIR / "DejaVuSans-Bold.ttf"


WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
BLACK, WHITE = 0, 255
CACHE_SIZE = 256  # entries per kind of part; a code's ink is ~15 KB at 80 mm, a line of text ~2 KB


@dataclass(frozen=True)
class RenderedTicket:
    width: int
    head: Image.Image
    qr: Image.Image | None  # the QR as dots, centred on the paper's width (None: no URL)
    foot: Image.Image
    qr_url: str | None
    qr_module_dots: int  # the size of one QR module, also used for the native QR
    # head, qr and foot as packed rows of dots, a set bit a black dot (the bytes of GS v 0),
    # when the renderer has them at hand: the encoder then need not convert the pictures.
    dots: tuple[bytes, bytes | None, bytes] | None = None

    def full(self) -> Image.Image:
        """The whole ticket as one picture: the preview, and what prints when the QR is an image."""
        parts = [self.head] + ([self.qr] if self.qr is not None else []) + [self.foot]
        sheet = Image.new("1", (self.width, sum(p.height for p in parts)), WHITE)
        y = 0
        for part in parts:
            sheet.paste(part, (0, y))
            y += part.height
        return sheet

    def png(self, compress_level: int = 1) -> bytes:
        """The whole ticket as a PNG file, one bit a dot: the preview printer's paper, the same
        dots as `full()`. Written from the packed rows the renderer keeps (`dots`): Pillow's PNG
        writer unpacks and repacks every dot of the picture: 1.7 ms a ticket against 0.3."""
        if self.dots is not None:
            rows = b"".join(part for part in self.dots if part is not None).translate(INVERT)
        else:  # a picture made elsewhere: its parts' own bytes are the same rows, a set bit white
            rows = b"".join(part.tobytes() for part in (self.head, self.qr, self.foot) if part is not None)
        return _png_1bit(self.width, rows, compress_level)


def _png_1bit(width: int, rows: bytes, compress_level: int = 1) -> bytes:
    """A 1-bit greyscale PNG (a set bit white) of packed rows `width` dots wide (a multiple of 8)."""
    stride = width // 8
    height = len(rows) // stride
    lines = bytearray((stride + 1) * height)  # each row behind its filter byte: 0, none
    for column in range(stride):  # a column of bytes at a time: `stride` copies in C, not `height`
        lines[column + 1::stride + 1] = rows[column:stride * height:stride]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # bit depth 1, greyscale, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(lines), compress_level)) + chunk(b"IEND", b""))


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


@functools.lru_cache(maxsize=4 * CACHE_SIZE)
def length(face: ImageFont.FreeTypeFont, text: str) -> float:
    """`face.getlength(text)`, kept: wrapping a line that changes only at its end (the count of
    people ahead) measures the same beginnings again and again. Faces come from `font()`'s cache."""
    return face.getlength(text)


def wrap(text: str, face: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Greedy word wrap; a single word longer than the line is cut by characters."""
    lines: list[str] = []
    for paragraph in _nfc(text).splitlines() or [""]:
        words = paragraph.split()
        whole = " ".join(words)
        if length(face, whole) <= max_width:  # fits on one line: what the loop below would make of it
            lines.append(whole)
            continue
        line = ""
        for word in words:
            candidate = f"{line} {word}".strip()
            if length(face, candidate) <= max_width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while length(face, word) > max_width:
                cut = len(word)
                while cut > 1 and length(face, word[:cut]) > max_width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


class _Column:
    """Draws centred blocks top to bottom on a tall sheet, cropped at the end."""

    HEIGHT = 3000
    MARGIN = 8  # dots at 58 mm, left and right

    def __init__(self, width: int, scale: float, height: int = HEIGHT):
        self.width = width
        self.scale = scale
        self.margin = round(self.MARGIN * scale)
        self.sheet = Image.new("1", (width, height), WHITE)
        self.draw = ImageDraw.Draw(self.sheet)
        self.draw.fontmode = "1"  # crisp dots, no grey a thermal head cannot print
        self.y = 0

    def px(self, dots: float) -> int:
        return round(dots * self.scale)

    def space(self, dots: float) -> None:
        self.y += self.px(dots)

    def text(self, text: str, size: float, bold: bool = False, spacing: float = 4) -> None:
        face, lines = _text_lines(self.width, self.scale, text, size, bold)
        ascent, descent = face.getmetrics()
        for line in lines:
            x = (self.width - length(face, line)) / 2
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


# In a mode "1" picture's own bytes a set bit is white paper; in GS v 0 (and in `dots`) it is a black dot.
INVERT = bytes(255 - b for b in range(256))


def qr_dots(url: str, module_dots: int, width: int) -> tuple[bytes, int]:
    """The QR code centred on a strip as wide as the paper, with a quiet zone of 2 modules:
    (packed rows, a set bit a black dot; the strip's height)."""
    size, rows = qr_rows(url)
    border = 2
    count = size + 2 * border
    side = count * module_dots
    if side > width:
        raise ValueError("QR code wider than the paper; use a shorter URL")
    left = "0" * ((width - side) // 2 + border * module_dots)
    right = "0" * (width - side - (width - side) // 2 + border * module_dots)
    scale = str.maketrans({"0": "0" * module_dots, "1": "1" * module_dots})
    quiet = b"\0" * (width // 8 * module_dots * border)
    lines = [quiet]
    for row in rows:
        modules = format(row, f"0{size}b")[::-1].translate(scale)  # column 0 first
        lines.append(int(left + modules + right, 2).to_bytes(width // 8, "big") * module_dots)
    lines.append(quiet)
    return b"".join(lines), side


def qr_picture(url: str, module_dots: int, width: int) -> Image.Image:
    """The QR code as dots, centred on a strip as wide as the paper."""
    dots, side = qr_dots(url, module_dots, width)
    return _picture(dots, width, side)


def _picture(dots: bytes, width: int, height: int) -> Image.Image:
    return Image.frombytes("1", (width, height), dots.translate(INVERT))


# ----- the parts of a ticket, drawn once ------------------------------------------------


@dataclass(frozen=True)
class _Ink:
    """Where one part of the ticket puts black dots: `rows` full-width rows of packed dots (a set
    bit a black dot) starting `top` dots from where the part starts, and how far it moves the pen."""

    dots: bytes
    rows: int
    top: int
    advance: int


INK_SHEET = 512  # dots: a sheet this tall holds a line of text or the big code with its margins


def _ink(width: int, draw) -> _Ink:
    """Draw one part with the column code above at a known height, and keep only its ink.
    On a short sheet first (clearing the column's full sheet cost more than drawing a line); a part
    that runs past it is drawn again on the full one. What is kept is the same either way: only
    the rows above the pen and its margin, which the short sheet held."""
    scale = width / PaperWidth.MM58
    pad = round(64 * scale)  # room for marks above capitals and tails below the line
    for height in (INK_SHEET, _Column.HEIGHT):
        column = _Column(width, scale, height)
        column.y = pad
        draw(column)
        if column.y + pad <= height:
            break
    used = column.sheet.crop((0, 0, width, min(column.sheet.height, column.y + pad)))
    ink = ImageChops.invert(used)  # 255 where the part drew a black dot
    box = ink.getbbox()
    if box is None:
        return _Ink(b"", 0, 0, column.y - pad)
    top, bottom = box[1], box[3]
    return _Ink(ink.crop((0, top, width, bottom)).tobytes(), bottom - top, top - pad, column.y - pad)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _header_ink(width: int, reprint: bool, unit: str, office_name: str, field_name: str) -> _Ink:
    def draw(head: _Column) -> None:
        if reprint:
            head.banner("In lại", 22)
            head.space(6)
        if unit:
            head.text(unit.upper(), 16)
        head.text(office_name, 21, bold=True)
        head.rule()
        head.text(field_name, 21)
        head.space(6)

    return _ink(width, draw)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _text_ink(width: int, text: str, size: float, bold: bool) -> _Ink:
    return _ink(width, lambda column: column.text(text, size, bold=bold))


def _text_lines(width: int, scale: float, text: str, size: float, bold: bool
                ) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The face and the lines of a centred block of text between the margins (what `_Column.text`
    draws, and `_Sheet.text` stamps line by line)."""
    face = font(bold, round(size * scale))
    return face, wrap(text, face, width - 2 * round(_Column.MARGIN * scale))


@functools.lru_cache(maxsize=CACHE_SIZE)
def _code_ink(width: int, code: str) -> _Ink:
    return _ink(width, lambda column: column.big_code(code))


@functools.lru_cache(maxsize=CACHE_SIZE)
def _boxed_ink(width: int, text: str, size: float) -> _Ink:
    return _ink(width, lambda column: column.boxed(text, size))


@functools.lru_cache(maxsize=CACHE_SIZE)
def _foot(width: int, with_qr: bool, footer: str) -> tuple[bytes, int]:
    foot = _Column(width, width / PaperWidth.MM58)
    foot.space(4)
    if with_qr:
        foot.text("Quét mã để xem lượt của ông/bà", 15)
    if footer:
        foot.text(footer, 17)
    foot.space(4)
    picture = foot.crop()
    return picture.tobytes().translate(INVERT), picture.height


class _Sheet:
    """Parts stamped top to bottom on white paper as long as the pen went (as _Column.crop)."""

    SHEET = 3000  # _Column's sheet: what it drew below this was cut off, and the crop filled it black

    def __init__(self, width: int):
        self.width = width
        self.scale = width / PaperWidth.MM58
        self.y = 0
        self.stamps: list[tuple[_Ink, int]] = []

    def put(self, ink: _Ink) -> None:
        if ink.rows:
            self.stamps.append((ink, self.y + ink.top))
        self.y += ink.advance

    def space(self, dots: float) -> None:
        self.y += round(dots * self.scale)

    def text(self, text: str, size: float, bold: bool) -> None:
        """What `_Column.text` draws, stamped line by line: a line's ink is the same wherever it
        lands (its pen starts on a whole dot), so a line kept once serves every text it is part
        of; the count of people ahead, on a line of its own, is all that is drawn anew."""
        for line in _text_lines(self.width, self.scale, text, size, bold)[1]:
            self.put(_text_ink(self.width, line, size, bold))

    def dots(self) -> bytes:
        row = self.width // 8
        height = min(self.y, self.SHEET)
        paper = bytearray(height * row)
        for ink, top in self.stamps:
            first, last = max(top, 0), min(top + ink.rows, height)
            if first >= last:
                continue
            here = slice(first * row, last * row)
            ours = ink.dots[(first - top) * row:(last - top) * row]
            paper[here] = (int.from_bytes(paper[here], "big") | int.from_bytes(ours, "big")).to_bytes(len(ours), "big")
        return bytes(paper) + b"\xff" * (row * max(0, self.y - self.SHEET))


def forget() -> None:
    """Empty the drawing caches (they are keyed by content, so this only frees memory)."""
    for cached in (_header_ink, _text_ink, _code_ink, _boxed_ink, _foot, _code_font_size, length):
        cached.cache_clear()


def render_ticket(ticket: TicketPrint, width: int = PaperWidth.MM80) -> RenderedTicket:
    """Lay the ticket out for a roll `width` dots wide (384 for 58 mm, 576 for 80 mm)."""
    if width not in (PaperWidth.MM58, PaperWidth.MM80):
        raise ValueError(f"paper width must be 384 (58 mm) or 576 (80 mm) dots, not {width}")
    width = int(width)
    head = _Sheet(width)  # the layout is designed at 58 mm and scaled up
    head.put(_header_ink(width, bool(ticket.reprint), ticket.unit or "", ticket.office_name, ticket.field_name))
    head.put(_code_ink(width, _nfc(ticket.code)))
    head.space(10)
    if ticket.priority_label:
        head.put(_boxed_ink(width, f"Ưu tiên: {ticket.priority_label}", 18))
        head.space(6)
    head.text(f"Số người đang chờ trước ông/bà: {ticket.people_ahead}", 19, True)
    head.text(format_issued_at(ticket), 17, False)
    head.space(8)

    module = 5 if width == PaperWidth.MM58 else 6
    head_dots = head.dots()
    qr = qr_dots(ticket.qr_url, module, width) if ticket.qr_url else None
    foot_dots, foot_rows = _foot(width, qr is not None, ticket.footer or "")
    return RenderedTicket(
        width=width,
        head=_picture(head_dots, width, head.y),
        qr=_picture(qr[0], width, qr[1]) if qr else None,
        foot=_picture(foot_dots, width, foot_rows),
        qr_url=ticket.qr_url or None,
        qr_module_dots=module,
        dots=(head_dots, qr[0] if qr else None, foot_dots),
    )
