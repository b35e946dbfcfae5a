"""QR codes for tickets, module for module what the `qrcode` package makes, ten times faster.

`qrcode` picks the mask by building eight full matrices of Python lists and
scoring each cell by cell (~10 ms a ticket, half of drawing one). Here the
parts that depend only on the QR version (finder, timing and alignment
patterns, where each data bit goes, the eight masks) are built once per
version with `qrcode`'s own code, rows are Python ints (bit c = column c, set =
dark), and the same penalty rules (`qrcode.util.lost_point`, ties to the lower
mask) are counted with whole-row bit operations. The data and its
Reed-Solomon bytes follow `qrcode.util.create_data` exactly.
tests/test_printer_fast.py checks both against `qrcode` on thousands of URLs.
"""
from __future__ import annotations

import functools
from bisect import bisect_left

from qrcode import LUT, constants, util
from qrcode.base import EXP_TABLE, LOG_TABLE, rs_blocks
from qrcode.main import QRCode

ERROR_CORRECT_M = constants.ERROR_CORRECT_M
_BITS = {util.MODE_NUMBER: (10, 4, 7), util.MODE_ALPHA_NUM: (11, 6)}


def qr_rows(text: str, error_correction: int = ERROR_CORRECT_M) -> tuple[int, list[int]]:
    """The QR code of `text` as (modules per side, one int per row: bit c set = dark module at column c)."""
    chunks = list(util.optimal_data_chunks(text, minimum=20))  # what QRCode.add_data does
    version = _best_fit(chunks, error_correction)
    layout = _layout(version)
    data = _codewords(version, error_correction, chunks)
    base = 0
    for high, low, byte in zip(layout.high_nibbles, layout.low_nibbles, data):
        base |= high[byte >> 4] | low[byte & 15]
    best_mask, best_score = 0, None
    for mask in range(8):
        score = _lost_point(layout.test | (base ^ layout.masks[mask]), layout)
        if best_score is None or score < best_score:
            best_mask, best_score = mask, score
    matrix = _final_function(version, error_correction, best_mask) | (base ^ layout.masks[best_mask])
    stride, row_mask = layout.stride, (1 << layout.size) - 1
    return layout.size, [(matrix >> (r * stride)) & row_mask for r in range(layout.size)]


# ----- data ------------------------------------------------------------------------
def _data_bits(chunk: util.QRData) -> int:
    length = len(chunk)
    if chunk.mode == util.MODE_NUMBER:
        return 10 * (length // 3) + (0, 4, 7)[length % 3]
    if chunk.mode == util.MODE_ALPHA_NUM:
        return 11 * (length // 2) + 6 * (length % 2)
    return 8 * length


def _best_fit(chunks, error_correction: int, start: int = 1) -> int:
    """QRCode.best_fit: the smallest version the bits fit in, checked again if the length fields grew."""
    sizes = util.mode_sizes_for_version(start)
    needed = sum(4 + sizes[c.mode] + _data_bits(c) for c in chunks)
    version = bisect_left(util.BIT_LIMIT_TABLE[error_correction], needed, start)
    if version == 41:
        from qrcode.exceptions import DataOverflowError

        raise DataOverflowError()
    if sizes is not util.mode_sizes_for_version(version):
        return _best_fit(chunks, error_correction, version)
    return version


class _Bits:
    def __init__(self):
        self.value = 0
        self.length = 0

    def put(self, number: int, length: int) -> None:
        self.value = (self.value << length) | (number & ((1 << length) - 1))
        self.length += length


def _codewords(version: int, error_correction: int, chunks) -> list[int]:
    """util.create_data: mode, length and data bits, terminator, padding, then Reed-Solomon, interleaved."""
    buffer = _Bits()
    for chunk in chunks:
        buffer.put(chunk.mode, 4)
        buffer.put(len(chunk), util.length_in_bits(chunk.mode, version))
        data = chunk.data
        if chunk.mode == util.MODE_NUMBER:
            for i in range(0, len(data), 3):
                part = data[i:i + 3]
                buffer.put(int(part), util.NUMBER_LENGTH[len(part)])
        elif chunk.mode == util.MODE_ALPHA_NUM:
            for i in range(0, len(data), 2):
                part = data[i:i + 2]
                if len(part) > 1:
                    buffer.put(util.ALPHA_NUM.find(part[0]) * 45 + util.ALPHA_NUM.find(part[1]), 11)
                else:
                    buffer.put(util.ALPHA_NUM.find(part), 6)
        else:
            buffer.put(int.from_bytes(data, "big"), 8 * len(data))
    blocks = rs_blocks(version, error_correction)
    limit = sum(block.data_count * 8 for block in blocks)
    if buffer.length > limit:
        from qrcode.exceptions import DataOverflowError

        raise DataOverflowError(f"Code length overflow. Data size ({buffer.length}) > size available ({limit})")
    buffer.put(0, min(limit - buffer.length, 4))
    if buffer.length % 8:
        buffer.put(0, 8 - buffer.length % 8)
    data = list(buffer.value.to_bytes(buffer.length // 8, "big")) if buffer.length else []
    for i in range((limit - buffer.length) // 8):
        data.append(util.PAD0 if i % 2 == 0 else util.PAD1)

    data_blocks, ec_blocks, offset = [], [], 0
    for block in blocks:
        dc = data[offset:offset + block.data_count]
        offset += block.data_count
        data_blocks.append(dc)
        ec_blocks.append(_reed_solomon(dc, block.total_count - block.data_count))
    out = []
    for i in range(max(len(b) for b in data_blocks)):
        out.extend(b[i] for b in data_blocks if i < len(b))
    for i in range(max(len(b) for b in ec_blocks)):
        out.extend(b[i] for b in ec_blocks if i < len(b))
    return out


@functools.lru_cache(maxsize=None)
def _generator_table(ec_count: int) -> tuple[int, ...]:
    """For each byte f, f times the generator polynomial (without its leading 1), as one int of
    ec_count bytes: the step of the division below."""
    if ec_count in LUT.rsPoly_LUT:
        poly = list(LUT.rsPoly_LUT[ec_count])
    else:
        poly = [1]
        for i in range(ec_count):  # (x - a^i) for each i, as qrcode.base builds it
            nxt = [0] * (len(poly) + 1)
            for j, coef in enumerate(poly):
                nxt[j] ^= coef
                if coef:
                    nxt[j + 1] ^= EXP_TABLE[(LOG_TABLE[coef] + i) % 255]
            poly = nxt
    table = [0]
    for factor in range(1, 256):
        log_f = LOG_TABLE[factor]
        table.append(int.from_bytes(bytes(EXP_TABLE[(log_f + LOG_TABLE[g]) % 255] if g else 0
                                          for g in poly[1:]), "big"))
    return tuple(table)


def _reed_solomon(data: list[int], ec_count: int) -> list[int]:
    """The remainder of data(x)·x^ec_count divided by the generator: the block's error correction bytes."""
    table = _generator_table(ec_count)
    shift = 8 * (ec_count - 1)
    keep = (1 << shift) - 1
    remainder = 0
    for byte in data:
        factor = byte ^ (remainder >> shift)
        remainder = ((remainder & keep) << 8) ^ table[factor]
    return list(remainder.to_bytes(ec_count, "big"))


# ----- what depends only on the version --------------------------------------------
# The matrix is one int: row r at bits r*stride .. r*stride+size-1, with zero bits between rows
# so that shifting by up to 11 columns never carries one row into the next.
class _Layout:
    __slots__ = ("size", "stride", "full", "test", "masks", "row_starts", "col_starts", "high_nibbles",
                 "low_nibbles")

    def __init__(self, size, test_modules, positions, masks):
        self.size = size
        self.stride = stride = size + 16
        self.full = _as_int([[True] * size] * size, stride)
        self.test = _as_int(test_modules, stride)
        self.masks = masks
        # Data byte i goes to positions 8i .. 8i+7, its high bit first: for each half of the byte,
        # the 16 ways its four bits can be set, as dark modules. Any remainder bits stay light.
        bits = [1 << (r * stride + c) for r, c in positions]
        bits += [0] * (-len(bits) % 8)
        self.high_nibbles, self.low_nibbles = [], []
        for start in range(0, len(bits), 8):
            for half, table in ((bits[start:start + 4], self.high_nibbles), (bits[start + 4:start + 8], self.low_nibbles)):
                table.append([sum(b for k, b in enumerate(half) if value & (8 >> k)) for value in range(16)])
        # Where a finder-like pattern (11 modules) may start: along a row, and down a column.
        self.row_starts = sum(((1 << (size - 10)) - 1) << (r * stride) for r in range(size)) if size > 10 else 0
        self.col_starts = sum(((1 << size) - 1) << (r * stride) for r in range(size - 10))


def _as_int(modules, stride: int) -> int:
    value = 0
    for r, row in enumerate(modules):
        for c, dark in enumerate(row):
            if dark:
                value |= 1 << (r * stride + c)
    return value


@functools.lru_cache(maxsize=40)
def _layout(version: int) -> _Layout:
    """Function patterns as qrcode draws them while choosing a mask, and where each data bit goes."""
    code = _function_patterns(version, constants.ERROR_CORRECT_M, test=True, mask=0)
    size = code.modules_count
    free = [[cell is None for cell in row] for row in code.modules]
    positions = []  # QRCode.map_data's walk: two columns at a time, up then down, right to left
    inc, row = -1, size - 1
    for col in range(size - 1, 0, -2):
        if col <= 6:
            col -= 1
        while True:
            for c in (col, col - 1):
                if free[row][c]:
                    positions.append((row, c))
            row += inc
            if row < 0 or size <= row:
                row -= inc
                inc = -inc
                break
    stride = size + 16
    masks = []
    for pattern in range(8):
        flips = util.mask_func(pattern)
        masks.append(sum(1 << (r * stride + c) for r, c in positions if flips(r, c)))
    return _Layout(size, code.modules, positions, masks)


def _function_patterns(version: int, error_correction: int, test: bool, mask: int) -> QRCode:
    """QRCode.makeImpl up to (not including) map_data, with qrcode's own drawing code."""
    code = QRCode(version=version, error_correction=error_correction)
    code.modules_count = size = version * 4 + 17
    code.modules = [[None] * size for _ in range(size)]
    code.setup_position_probe_pattern(0, 0)
    code.setup_position_probe_pattern(size - 7, 0)
    code.setup_position_probe_pattern(0, size - 7)
    code.setup_position_adjust_pattern()
    code.setup_timing_pattern()
    code.setup_type_info(test, mask)
    if version >= 7:
        code.setup_type_number(test)
    return code


@functools.lru_cache(maxsize=128)
def _final_function(version: int, error_correction: int, mask: int) -> int:
    return _as_int(_function_patterns(version, error_correction, test=False, mask=mask).modules,
                   version * 4 + 17 + 16)


# ----- qrcode.util.lost_point, on the whole matrix at once ------------------------------
_P1 = (1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0)  # dark light dark dark dark light dark, then four light
_P2 = (0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1)


def _runs(a: int, step: int) -> int:
    """Level 1 in one direction: every run of five or more (bits `step` apart) costs its length - 2."""
    five = a & (a >> step) & (a >> 2 * step) & (a >> 3 * step) & (a >> 4 * step)  # a run of 5 starts here
    # A run of length L has L - 4 such starts, and one of them is its first: (L - 4) + 2.
    return five.bit_count() + 2 * (five & ~(five << step)).bit_count()


def _lost_point(dark: int, layout: _Layout) -> int:
    stride = layout.stride
    light = layout.full ^ dark
    score = _runs(dark, 1) + _runs(light, 1) + _runs(dark, stride) + _runs(light, stride)
    # Level 2: 2x2 blocks of one colour.
    below = dark & (dark >> stride)
    pale = light & (light >> stride)
    score += 3 * ((below & (below >> 1)).bit_count() + (pale & (pale >> 1)).bit_count())
    # Level 3: 1:1:3:1:1 finder-like patterns with four light modules on one side, along rows and columns.
    for step, starts in ((1, layout.row_starts), (stride, layout.col_starts)):
        one = two = starts
        for k in range(11):
            one &= (dark if _P1[k] else light) >> (k * step)
            two &= (dark if _P2[k] else light) >> (k * step)
        score += 40 * (one.bit_count() + two.bit_count())
    # Level 4: distance of the dark share from one half, in steps of 5 %.
    n = layout.size
    percent = float(dark.bit_count()) / (n ** 2)
    return score + int(abs(percent * 100 - 50) / 5) * 10
