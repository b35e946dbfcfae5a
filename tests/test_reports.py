"""Reports as the province reads them: the reasons citizens gave and their comments, where each
rating came from, and the CSV and XLSX an official prints and sends as they are."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from server import reports
from server.auth import create_pairing, create_user
from server.models import Rating

from .conftest import PASSWORD

DAY = "from=2026-11-25&to=2026-11-25"
FORMULA = '=HYPERLINK("http://x","y")'


def _login(client, username):
    r = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def _tablet(app, counter):
    """A rating tablet paired to `counter`, as the hall has one."""
    _, code = create_pairing(app.extensions["motcua"].storage, "tablet", counter)
    tablet = app.test_client()
    assert tablet.post("/api/devices/pair", json={"code": code}).status_code == 200
    return tablet


def _serve(client, headers, counter, clock, wait_min, service_min):
    clock.advance(minutes=wait_min)
    called = client.post(f"/api/counters/{counter}/call-next", headers=headers)
    assert called.status_code == 200, called.get_json()
    clock.advance(minutes=service_min)
    assert client.post(f"/api/counters/{counter}/finish", headers=headers).status_code == 200
    return called.get_json()["code"]


@pytest.fixture
def morning(app, client, clerk, clock):
    """A morning at two counters: three citizens rate at counter 1's tablet, one on the phone at
    counter 2, one rating from before motcua recorded sources, one no-show."""
    create_user(app.extensions["motcua"].storage, "canbo2", PASSWORD, "clerk", "Lê Thị Cúc")
    clerk2 = _login(client, "canbo2")
    phone = app.test_client()  # the citizen's own phone: no staff credentials
    tablet = _tablet(app, 1)
    tokens = {}
    for field in ("ho-tich", "ho-tich", "chung-thuc", "ho-tich", "chung-thuc"):  # 08:00, 08:01, … 08:04
        t = client.post("/api/tickets", json={"field": field}).get_json()
        tokens[t["code"]] = t["token"]
        clock.advance(minutes=1)

    def rate(who, code, score, reasons=(), comment=""):
        r = who.post("/api/ratings", json={"token": tokens[code], "score": score, "reasons": list(reasons),
                                           "comment": comment})
        assert r.status_code == 201, r.get_json()

    a1 = _serve(client, clerk, 1, clock, 9, 4)              # A001 waits 14 min, rated at 08:18
    rate(tablet, a1, 1, ["waiting", "attitude"], "@Chờ lâu quá, cán bộ nói chuyện riêng")
    a2 = _serve(client, clerk, 1, clock, 2, 6)              # A002 waits 19 min, until 08:26
    rate(tablet, a2, 3)
    b1 = _serve(client, clerk2, 2, clock, 1, 3)             # B001 waits 25 min, rated at 08:30
    rate(phone, b1, 2, [], "Cán bộ hướng dẫn tận tình")
    a3 = _serve(client, clerk, 1, clock, 1, 5)              # A003 waits 28 min, until 08:36
    rate(tablet, a3, 1, ["waiting"])
    with app.extensions["motcua"].storage.write() as s:     # rated before sources were recorded
        s.execute(update(Rating).where(Rating.score == 3).values(source=None))
    client.post("/api/counters/2/call-next", headers=clerk2)  # B002 waits 32 min, then no-show
    client.post("/api/counters/2/no-show", headers=clerk2)
    assert (a1, a2, b1, a3) == ("A001", "A002", "B001", "A003")
    return {"a1": a1, "b1": b1, "tokens": tokens}


def _summary(client, admin):
    r = client.get(f"/api/reports/summary?{DAY}", headers=admin)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_the_summary_counts_reasons_per_clerk_counter_and_field(client, admin, morning):
    report = _summary(client, admin)
    assert [r["code"] for r in report["reasons"]][:3] == ["attitude", "guidance", "waiting"]
    assert {"code": "waiting", "name": "Thời gian chờ lâu"} in report["reasons"]
    totals = report["totals"]
    assert totals["reasons"]["waiting"] == 2 and totals["reasons"]["attitude"] == 1
    assert totals["reasons"]["harassment"] == 0
    counters = {c["number"]: c for c in report["by_counter"]}
    assert counters[1]["reasons"]["waiting"] == 2 and counters[2]["reasons"]["waiting"] == 0
    clerks = {c["username"]: c for c in report["by_clerk"]}
    assert clerks["canbo1"]["reasons"] == {**{r["code"]: 0 for r in report["reasons"]}, "waiting": 2, "attitude": 1}
    fields = {f["code"]: f for f in report["by_field"]}
    assert fields["ho-tich"]["reasons"]["attitude"] == 1 and fields["chung-thuc"]["reasons"]["waiting"] == 0
    # the shape the page and the old exports read is unchanged
    assert totals["ratings"]["count"] == 4 and totals["ratings"]["by_level"] == {"3": 1, "2": 1, "1": 2}
    assert report["rating_levels"][0] == {"score": 3, "name": "Rất hài lòng"}
    assert report["office"]["name"] == "UBND phường Mẫu"


def test_the_summary_shows_where_ratings_came_from(client, admin, morning):
    report = _summary(client, admin)
    assert report["totals"]["rating_sources"] == {"tablet": 2, "phone": 1, "unknown": 1}
    clerks = {c["username"]: c for c in report["by_clerk"]}
    assert clerks["canbo1"]["rating_sources"] == {"tablet": 2, "phone": 0, "unknown": 1}
    assert clerks["canbo2"]["rating_sources"] == {"tablet": 0, "phone": 1, "unknown": 0}


def test_the_summary_lists_comments_with_their_ticket_counter_clerk_and_office_time(client, admin, morning):
    comments = _summary(client, admin)["comments"]
    assert [c["ticket"] for c in comments] == [morning["a1"], morning["b1"]]
    first, second = comments
    assert first["comment"].startswith("@Chờ lâu quá")
    assert (first["counter"], first["clerk"], first["clerk_name"], first["field"]) == (1, "canbo1", "Nguyễn Văn An",
                                                                                      "ho-tich")
    assert (first["score"], first["level"], first["reasons"], first["source"]) == (
        1, "Không hài lòng", ["attitude", "waiting"], "tablet")
    assert first["at"] == "2026-11-25T08:18:00+07:00"  # the office's time, with its offset
    assert (second["counter"], second["clerk"], second["source"], second["score"]) == (2, "canbo2", "phone", 2)


def test_a_reason_the_office_has_since_dropped_still_counts(app, client, admin, morning):
    r = client.patch("/api/admin/office", json={"rating_reasons": ["Thái độ phục vụ chưa tốt", "Khác"]}, headers=admin)
    assert r.status_code == 200, r.get_json()
    report = _summary(client, admin)
    assert report["totals"]["reasons"]["waiting"] == 2
    assert {"code": "waiting", "name": "Thời gian chờ lâu"} in report["reasons"]


def _workbook(client, admin):
    r = client.get(f"/api/reports/summary.xlsx?{DAY}", headers=admin)
    assert r.status_code == 200
    return load_workbook(io.BytesIO(r.get_data()))


def _row(sheet, first_cell):
    return next(row for row in sheet.iter_rows(min_row=3) if row[0].value == first_cell)


def test_the_workbook_can_be_printed_and_sent_as_it_is(client, admin, morning):
    book = _workbook(client, admin)
    assert book.sheetnames == ["Tổng hợp", "Theo lĩnh vực", "Theo quầy", "Theo cán bộ", "Theo ngày", "Theo giờ",
                               "Lý do không hài lòng", "Góp ý"]
    for sheet in book.worksheets:
        title = sheet["A1"].value
        assert "UBND phường Mẫu" in title and "ngày 25/11/2026" in title, (sheet.title, title)
        assert sheet.freeze_panes.endswith("3")  # the header stays on screen
        assert sheet.print_title_rows == "$1:$2" and sheet.page_setup.fitToWidth == 1
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert all(sheet.column_dimensions[c].width for c in "ABC")
        assert "all" not in [c.value for row in sheet.iter_rows() for c in row]
    assert book["Theo cán bộ"].page_setup.orientation == "landscape"

    fields = book["Theo lĩnh vực"]
    headers = [c.value for c in fields[2]]
    assert headers[:3] == ["Mã", "Lĩnh vực", "Phiếu đã cấp (phiếu)"] and "Chờ trung bình (phút)" in headers
    ho_tich = _row(fields, "ho-tich")
    wait = ho_tich[headers.index("Chờ trung bình (phút)")]
    # A001 waited 14 min, A002 19, A003 28: minutes, as numbers
    assert wait.data_type == "n" and wait.value == pytest.approx(61 / 3, abs=0.005) and wait.number_format == "#,##0.0"
    share = ho_tich[headers.index("Tỷ lệ hài lòng (%)")]
    assert share.value == pytest.approx(1 / 3, abs=0.001) and share.number_format == "0.0%"
    total = _row(fields, "Tổng cộng")
    assert [c.value for c in total[2:5]] == [5, 4, 1] and total[0].font.bold

    days = book["Theo ngày"]
    day = days["A3"]
    assert day.is_date and day.value == dt.datetime(2026, 11, 25) and day.number_format == "dd/mm/yyyy"
    assert days["B3"].value == "Thứ Tư"

    summary = {row[0].value: row[1] for row in book["Tổng hợp"].iter_rows(min_row=3)}
    assert summary["Số phiếu đã cấp"].value == 5 and summary["Thời gian chờ trung bình"].value == pytest.approx(23.6)
    assert summary["Tỷ lệ hài lòng"].number_format == "0.0%" and summary["Tỷ lệ hài lòng"].value == 0.5
    assert summary["Đánh giá qua máy tính bảng"].value == 2 and summary["Đánh giá chưa rõ nguồn"].value == 1

    clerks = book["Theo cán bộ"]
    clerk_headers = [c.value for c in clerks[2]]
    canbo1 = _row(clerks, "canbo1")
    assert canbo1[clerk_headers.index("Đánh giá qua máy tính bảng (lượt)")].value == 2

    reasons = book["Lý do không hài lòng"]
    reason_headers = [c.value for c in reasons[2]]
    waiting = reason_headers.index("Thời gian chờ lâu (lượt)")
    by_name = {(row[0].value, row[1].value): row for row in reasons.iter_rows(min_row=3)}
    assert by_name[("Cán bộ", "Nguyễn Văn An")][waiting].value == 2
    assert by_name[("Quầy", "Quầy 1")][waiting].value == 2
    assert by_name[("Tổng cộng", "Toàn cơ quan")][waiting].value == 2
    assert by_name[("Tổng cộng", "Toàn cơ quan")][reason_headers.index("Không hài lòng (lượt)")].value == 2

    comments = book["Góp ý"]
    headers = [c.value for c in comments[2]]
    first = [c for c in comments[3]]
    assert first[headers.index("Số phiếu")].value == morning["a1"]
    at = first[headers.index("Thời gian")]
    assert at.is_date and at.value == dt.datetime(2026, 11, 25, 8, 18) and at.number_format == "dd/mm/yyyy hh:mm"
    assert first[headers.index("Lý do")].value == "Thái độ phục vụ chưa tốt; Thời gian chờ lâu"
    assert first[headers.index("Nguồn")].value == "Máy tính bảng tại quầy"
    assert _row(comments, "Tổng cộng")[1].value == 2


def test_the_csv_keeps_its_columns_and_adds_sources_reasons_and_comments(client, admin, morning):
    r = client.get(f"/api/reports/summary.csv?{DAY}", headers=admin)
    raw = r.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads the Vietnamese right
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:14] == [label for _, label in reports.COLUMNS]
    assert header[14:17] == ["Đánh giá qua máy tính bảng", "Đánh giá qua điện thoại", "Đánh giá chưa rõ nguồn"]
    totals = rows[1]
    assert totals[:6] == ["Tổng", "all", "Toàn cơ quan", "5", "4", "1"]
    assert totals[14:17] == ["2", "1", "1"]
    assert totals[header.index("Lý do: Thời gian chờ lâu")] == "2"
    clerk = next(row for row in rows if row[:2] == ["Cán bộ", "canbo1"])
    assert clerk[header.index("Lý do: Thái độ phục vụ chưa tốt")] == "1"

    blank = rows.index([])
    comment_header = rows[blank + 1]
    assert comment_header[:3] == ["Nhóm", "Số phiếu", "Thời gian"]
    comments = [dict(zip(comment_header, row)) for row in rows[blank + 2:]]
    assert [c["Nhóm"] for c in comments] == ["Góp ý", "Góp ý"]
    assert comments[0]["Số phiếu"] == morning["a1"] and comments[0]["Thời gian"] == "2026-11-25 08:18"
    assert comments[0]["Nội dung góp ý"] == "'@Chờ lâu quá, cán bộ nói chuyện riêng"  # never a formula
    assert comments[1]["Nội dung góp ý"] == "Cán bộ hướng dẫn tận tình"


def test_exports_write_formula_like_text_as_text(client, admin, morning):
    r = client.patch("/api/admin/fields/chung-thuc", json={"name": FORMULA}, headers=admin)
    assert r.status_code == 200, r.get_json()

    rows = list(csv.reader(io.StringIO(client.get(f"/api/reports/summary.csv?{DAY}", headers=admin)
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    field = next(row for row in rows if row[:2] == ["Lĩnh vực", "chung-thuc"])
    assert field[2] == "'" + FORMULA
    assert any(row and row[-1] == "'@Chờ lâu quá, cán bộ nói chuyện riêng" for row in rows)
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "@", "\t", "\r")]

    raw = client.get(f"/api/reports/summary.xlsx?{DAY}", headers=admin).get_data()
    book = load_workbook(io.BytesIO(raw))
    cell = _row(book["Theo lĩnh vực"], "chung-thuc")[1]
    assert cell.value == FORMULA and cell.data_type == "s" and cell.quotePrefix
    comment = [c for c in book["Góp ý"][3] if isinstance(c.value, str) and c.value.startswith("@")]
    assert comment and comment[0].data_type == "s"
    for sheet in book.worksheets:
        assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"], sheet.title
    import zipfile

    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_negative_numbers_stay_numbers(client, admin, morning):
    report = _summary(client, admin)
    report["totals"]["waiting_time_s"]["mean"] = -60.0  # a clock put back: shown as it is, never as text
    rows = list(csv.reader(io.StringIO(reports.to_csv(report).lstrip("\ufeff"))))
    assert rows[1][6] == "-60.0"
    book = load_workbook(io.BytesIO(reports.to_xlsx(report)))
    summary = {row[0].value: row[1] for row in book["Tổng hợp"].iter_rows(min_row=3)}
    assert summary["Thời gian chờ trung bình"].value == -1 and summary["Thời gian chờ trung bình"].data_type == "n"


def test_an_empty_period_still_makes_a_workbook(client, admin):
    book = _workbook(client, admin)
    assert _row(book["Theo lĩnh vực"], "Tổng cộng")[2].value == 0
    assert _row(book["Góp ý"], "Tổng cộng")[1].value == 0
    r = client.get(f"/api/reports/summary.csv?{DAY}", headers=admin)
    assert r.get_data(as_text=True).lstrip("\ufeff").splitlines()[1].startswith("Tổng,all,Toàn cơ quan,0,0,0")
