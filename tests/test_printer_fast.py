"""The cached drawing, the fast QR and the direct ESC/POS bytes give exactly what the old code gave.

tests/printer_reference.py is the drawing and encoding code as it was before the cache
(Pillow for every line, `qrcode` for the QR, python-escpos for the bytes). Every ticket
here is made both ways and compared byte for byte: the picture's three parts, the job
with the QR as a picture and the job with the QR printed natively.
"""
import datetime as dt
import random
import secrets
import string
import unicodedata

import pytest
import qrcode

from printer import render
from printer.encode import encode_ticket
from printer.qr import qr_rows
from printer.render import PaperWidth, render_ticket
from printer.ticket import PRIORITY_LABELS_VI, TicketPrint
from tests import printer_reference as reference

OFFICES = [
    ("Trung tâm Phục vụ hành chính công phường Ba Đình", "UBND phường Ba Đình"),
    ("Bộ phận một cửa", ""),
    ("Trung tâm Phục vụ hành chính công phường Nguyễn Trung Trực, thành phố Hồ Chí Minh, chi nhánh số 12",
     "Ủy ban nhân dân thành phố Hồ Chí Minh"),
    (unicodedata.normalize("NFD", "Trung tâm Phục vụ hành chính công xã Đắk Rơ Wa"), "UBND tỉnh Quảng Ngãi"),
]
FIELDS = ["Hộ tịch", "Hộ tịch (khai sinh, kết hôn, khai tử)", "Chứng thực bản sao, chữ ký, hợp đồng",
          "Đất đai – Xây dựng – Môi trường – Tài nguyên nước – Khoáng sản – Quy hoạch",
          "Bảo trợ xã hội", unicodedata.normalize("NFD", "Người có công")]
FOOTERS = ["Vui lòng chờ gọi số. Xin cảm ơn!", "", "Giữ phiếu đến khi nhận kết quả. Đường dây nóng: 1900 1234",
           "Cảm ơn ông/bà đã đến Trung tâm. Xin vui lòng giữ trật tự, chờ đến lượt và theo dõi màn hình gọi số."]
BASES = ["http://192.168.1.10:8000", "http://10.0.0.2:8000", "https://motcua.hanoi.gov.vn/o/phuong-ba-dinh"]


def random_ticket(rng: random.Random) -> TicketPrint:
    office, unit = rng.choice(OFFICES)
    prefix = rng.choice(["A", "B", "C", "Đ", "HT", "Q", "W"])
    return TicketPrint(
        office_name=office,
        unit=unit,
        field_name=rng.choice(FIELDS),
        code=f"{prefix}{rng.randint(1, 1200):03d}",
        people_ahead=rng.choice([0, 1, 7, 12, 99, rng.randint(0, 5000)]),
        issued_at=dt.datetime(2025, 11, 25, 0, 0, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=rng.randint(0, 99999)),
        priority_label=rng.choice([None, None, *PRIORITY_LABELS_VI.values()]),
        qr_url=rng.choice([None, *(f"{b}/t/{secrets.token_urlsafe(18)}" for b in BASES)]),
        footer=rng.choice(FOOTERS),
        reprint=rng.random() < 0.2,
    )


def assert_same(ticket: TicketPrint, width: int) -> None:
    fast, old = render_ticket(ticket, width), reference.render_ticket(ticket, width)
    for part in ("head", "qr", "foot"):
        a, b = getattr(fast, part), getattr(old, part)
        assert (a is None) == (b is None), part
        if a is not None:
            assert a.mode == b.mode == "1" and a.size == b.size and a.tobytes() == b.tobytes(), (part, ticket)
    assert fast.full().tobytes() == old.full().tobytes()
    for native in (True, False):
        assert encode_ticket(fast, qr_native=native) == reference.encode_ticket(old, qr_native=native), (native, ticket)


@pytest.mark.parametrize("seed", range(4))
def test_random_tickets_are_drawn_and_encoded_exactly_as_before(seed):
    rng = random.Random(seed)
    for _ in range(30):
        ticket = random_ticket(rng)
        assert_same(ticket, rng.choice([PaperWidth.MM58, PaperWidth.MM80]))


@pytest.mark.parametrize("width", [PaperWidth.MM58, PaperWidth.MM80])
def test_a_part_taller_than_the_short_sheet_is_drawn_whole_and_exactly_as_before(width):
    """Parts are drawn on a short sheet first; a header that runs past it (a reprint banner, a long
    unit, an office name and a field name of several lines each) is drawn again on the full sheet."""
    render.forget()
    ticket = TicketPrint(office_name=OFFICES[2][0] + ", " + OFFICES[2][0], unit=OFFICES[2][1], field_name=FIELDS[3] * 3,
                         code="HT1200", people_ahead=4321, reprint=True, priority_label=PRIORITY_LABELS_VI["elderly"],
                         issued_at=dt.datetime(2025, 11, 25, 1, 2, tzinfo=dt.timezone.utc), qr_url=f"{BASES[2]}/t/x")
    header = render._header_ink(int(width), True, ticket.unit, ticket.office_name, ticket.field_name)
    assert header.advance + 2 * round(64 * width / PaperWidth.MM58) > render.INK_SHEET  # it ran past the short sheet
    assert_same(ticket, width)
    render.forget()


@pytest.mark.parametrize("width", [PaperWidth.MM58, PaperWidth.MM80])
def test_a_morning_of_one_office_with_warm_caches_is_exactly_as_before(width):
    """The same header and footer again and again, codes and counts moving on: the cached case."""
    render.forget()
    start = dt.datetime(2025, 11, 25, 0, 30, tzinfo=dt.timezone.utc)
    for n in range(1, 41):
        ticket = TicketPrint(
            office_name=OFFICES[0][0], unit=OFFICES[0][1], field_name=FIELDS[n % 2], code=f"A{n:03d}",
            people_ahead=n % 7, issued_at=start + dt.timedelta(seconds=17 * n),
            priority_label=PRIORITY_LABELS_VI["elderly"] if n % 5 == 0 else None,
            qr_url=f"{BASES[0]}/t/{secrets.token_urlsafe(18)}", reprint=n % 9 == 0)
        assert_same(ticket, width)
    assert render._header_ink.cache_info().hits > 0 and render._foot.cache_info().hits > 0


def test_every_code_glyph_and_two_letter_prefixes_match():
    rng = random.Random(7)
    base = random_ticket(rng)
    for code in ["A000", "B001", "Đ010", "W111", "HT999", "AB1000", "Q7", "MM048", "Z0", "A"]:
        assert_same(TicketPrint(**{**base.__dict__, "code": code}), PaperWidth.MM58)


def test_an_admin_edit_is_never_served_from_the_cache():
    rng = random.Random(3)
    ticket = random_ticket(rng)
    before = render_ticket(ticket, PaperWidth.MM80).head.tobytes()
    for change in ({"office_name": ticket.office_name + " mới"}, {"unit": "UBND phường Mới"},
                   {"field_name": "Lĩnh vực đổi tên"}, {"footer": "Chân phiếu mới"}):
        edited = TicketPrint(**{**ticket.__dict__, **change})
        assert_same(edited, PaperWidth.MM80)
        picture = render_ticket(edited, PaperWidth.MM80)
        assert (picture.head.tobytes(), picture.foot.tobytes()) != (before, render_ticket(ticket, 576).foot.tobytes())


def test_the_caches_are_bounded_and_forget_empties_them():
    rng = random.Random(11)
    for _ in range(5):
        render_ticket(random_ticket(rng), PaperWidth.MM58)
    for cached in (render._header_ink, render._text_ink, render._code_ink, render._boxed_ink, render._foot):
        assert cached.cache_info().maxsize == render.CACHE_SIZE
    assert render._text_ink.cache_info().currsize > 0
    render.forget()
    assert all(c.cache_info().currsize == 0 for c in (render._header_ink, render._text_ink, render._code_ink,
                                                       render._boxed_ink, render._foot))
    assert_same(random_ticket(rng), PaperWidth.MM58)  # and a ticket after forget() is still the same


def test_a_picture_handed_out_can_be_drawn_on_without_touching_the_next_ticket():
    rng = random.Random(5)
    ticket = random_ticket(rng)
    first = render_ticket(ticket, PaperWidth.MM58)
    first.foot.paste(0, (0, 0, first.foot.width, first.foot.height))
    first.head.paste(0, (0, 0, first.head.width, first.head.height))
    assert_same(ticket, PaperWidth.MM58)


def test_qr_matrices_are_module_for_module_those_of_the_qrcode_package():
    rng = random.Random(1)
    texts = [f"{rng.choice(BASES)}/t/{secrets.token_urlsafe(18)}" for _ in range(150)]
    texts += ["".join(rng.choice(string.digits + string.ascii_uppercase + " $%*+-./:abcđ") for _ in range(rng.randint(1, 300)))
              for _ in range(60)]
    texts += ["1234567890" * 5, "HTTP://X/T/" + "9" * 30, "a"]
    for text in texts:
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
        code.add_data(text)
        code.make(fit=True)
        size, rows = qr_rows(text)
        assert size == len(code.modules)
        assert rows == [sum(1 << c for c, dark in enumerate(row) if dark) for row in code.modules], text


def test_a_url_too_long_for_the_paper_is_refused_as_before():
    url = "http://10.0.0.2:8000/t/" + "x" * 400
    with pytest.raises(ValueError):
        reference.qr_picture(url, 5, PaperWidth.MM58)
    with pytest.raises(ValueError):
        render.qr_picture(url, 5, PaperWidth.MM58)


@pytest.mark.parametrize("width", [PaperWidth.MM58, PaperWidth.MM80])
def test_a_new_count_of_people_ahead_draws_only_its_own_line_and_the_same_ticket(width):
    """A long queue gives every ticket a count not seen before: the words before it are drawn once."""
    render.forget()
    rng = random.Random(12)
    base = random_ticket(rng)
    assert_same(TicketPrint(**{**base.__dict__, "people_ahead": 100}), width)
    before = render._text_ink.cache_info()
    ticket = TicketPrint(**{**base.__dict__, "people_ahead": 101})
    render_ticket(ticket, width)
    after = render._text_ink.cache_info()
    # The count's line is drawn ("101"), the line of words before it is kept, as is the time's line.
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 2)
    assert_same(ticket, width)
    render.forget()
