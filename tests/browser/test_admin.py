"""The admin console in a real browser: fields reach the kiosk live, HTML stays text, users and devices,
dialogs that say what they add or edit, reports with charts, reasons and comments in Vietnamese
numbers and dd/mm/yyyy dates, and downloads whose contents are checked."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from zoneinfo import ZoneInfo

import pytest
import requests
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from server.setup import demo_seed

from .helpers import ticket

pytestmark = pytest.mark.browser

OFFICE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HOSTILE = '<img src=x onerror="document.title=\'pwned\'">Tư pháp <b>đậm</b>'


def admin_login(page: Page, server) -> None:
    page.goto(server.url + "/admin/")
    page.get_by_label("Tên đăng nhập").fill(server.admin[0])
    page.get_by_label("Mật khẩu").fill(server.admin[1])
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Tổng quan hôm nay")).to_be_visible()


SECTIONS = {"Tổng quan": "overview", "Cơ quan": "office", "Lĩnh vực": "fields", "Quầy": "counters",
            "Người dùng": "users", "Thiết bị": "devices", "Thông báo": "announcements", "Báo cáo": "reports"}


def open_section(page: Page, name: str) -> None:
    """Open a section from the menu and wait until it is the one on screen."""
    page.locator(".sidebar").get_by_role("link", name=name, exact=True).click()
    expect(page.locator(f"#{SECTIONS[name]}")).to_be_visible()


def add_button(page: Page):
    """The "Thêm" button of the section on screen (every section has one)."""
    return page.locator("section.panel:visible").get_by_role("button", name="Thêm")


def fill_dialog(page: Page, values: dict) -> None:
    dialog = page.locator("#edit-dialog")
    for label, value in values.items():
        dialog.get_by_label(label, exact=True).fill(value)
    dialog.get_by_role("button", name="Lưu").click()
    expect(dialog).to_be_hidden()


def test_a_clerk_account_cannot_open_the_admin(page: Page, live_server):
    name, password = live_server.add_user("canbo1")
    page.goto(live_server.url + "/admin/")
    page.get_by_label("Tên đăng nhập").fill(name)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("#login-error")).to_have_text("Tài khoản này không có quyền quản trị.")
    expect(page.locator("#app")).to_be_hidden()


def test_admin_adds_a_field_and_the_kiosk_gets_it_without_reload(page: Page, browser, live_server):
    kiosk = browser.new_page()  # its own window: a background tab would not paint
    kiosk.set_viewport_size({"width": 1080, "height": 1920})  # a kiosk stands upright: every field on one page
    kiosk.goto(live_server.url + "/kiosk")
    kiosk_renders_fields = kiosk.locator("script[src]").count() > 0  # the placeholder kiosk has no script

    admin_login(page, live_server)
    open_section(page, "Lĩnh vực")
    add_button(page).click()
    fill_dialog(page, {"Tên": "Tư pháp – Quốc tịch", "Tiền tố": "QT", "Mô tả": "Nhập, thôi quốc tịch",
                       "Giờ cấp số": "07:30-11:30, 13:30-16:30", "Tối đa mỗi ngày": "30", "Phút mỗi lượt": "20"})
    expect(page.locator("#message")).to_have_text("Đã lưu.")
    row = page.locator("#fields-body tr", has_text="Tư pháp – Quốc tịch")
    expect(row).to_contain_text("07:30-11:30, 13:30-16:30")
    expect(row).to_contain_text("Đang dùng")

    fields = requests.get(live_server.url + "/api/fields", timeout=5).json()["fields"]
    added = next(f for f in fields if f["prefix"] == "QT")
    assert added["name"] == "Tư pháp – Quốc tịch" and added["daily_cap"] == 30
    if kiosk_renders_fields:
        expect(kiosk.get_by_text("Tư pháp – Quốc tịch")).to_be_visible(timeout=3000)

    # a rule broken is said inside the dialog, and nothing changes
    add_button(page).click()
    dialog = page.locator("#edit-dialog")
    dialog.get_by_label("Tên", exact=True).fill("Trùng tiền tố")
    dialog.get_by_label("Tiền tố", exact=True).fill("qt")
    dialog.get_by_role("button", name="Lưu").click()
    expect(dialog.locator(".error")).to_contain_text("Tiền tố QT đã dùng")
    dialog.get_by_role("button", name="Huỷ").click()

    # disabling takes it off the kiosk
    row.get_by_role("button", name="Tạm ngừng").click()
    expect(row).to_contain_text("Đã ngừng")
    fields = requests.get(live_server.url + "/api/fields", timeout=5).json()["fields"]
    assert "QT" not in [f["prefix"] for f in fields]


def test_html_in_a_field_or_announcement_is_shown_as_text(page: Page, live_server):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    admin_login(page, live_server)
    open_section(page, "Lĩnh vực")
    add_button(page).click()
    fill_dialog(page, {"Tên": HOSTILE, "Tiền tố": "X"})
    cell = page.locator("#fields-body .name", has_text="Tư pháp")
    expect(cell).to_have_text(HOSTILE)
    assert page.locator("#fields-body img, #fields-body b").count() == 0

    open_section(page, "Thông báo")
    add_button(page).click()
    fill_dialog(page, {"Nội dung": "<script>document.title='pwned'</script><b>Chú ý</b> nghỉ trưa"})
    expect(page.locator(".announcement-text")).to_have_text("<script>document.title='pwned'</script><b>Chú ý</b> nghỉ trưa")
    assert page.locator("#announcements-body script, #announcements-body b").count() == 0
    assert page.title() != "pwned" and not dialogs
    board = requests.get(live_server.url + "/api/state", timeout=5).json()["announcements"]
    assert board[-1]["text"].startswith("<script>")


def test_counters_users_and_devices(page: Page, live_server):
    admin_login(page, live_server)

    open_section(page, "Quầy")
    add_button(page).click()
    dialog = page.locator("#edit-dialog")
    dialog.get_by_label("Số quầy").fill("7")
    dialog.get_by_label("Tên", exact=True).fill("Quầy 7 – Đất đai")
    dialog.get_by_label("Xây dựng").check()
    dialog.get_by_label("Đất đai").check()
    dialog.locator("li", has_text="Đất đai").get_by_role("button", name="↑").click()  # serve it first
    dialog.get_by_role("button", name="Lưu").click()
    expect(page.locator("#counters-body tr", has_text="Quầy 7 – Đất đai")).to_be_visible()
    counters = requests.get(live_server.url + "/api/state", timeout=5).json()["counters"]
    assert next(c for c in counters if c["number"] == 7)["fields"] == ["dat-dai", "xay-dung"]

    open_section(page, "Người dùng")
    add_button(page).click()
    fill_dialog(page, {"Tên đăng nhập": "canbo9", "Họ tên": "Phạm Văn Dũng", "Mật khẩu (ít nhất 10 ký tự)": "mat-khau-cua-dung"})
    row = page.locator("#users-body tr", has_text="canbo9")
    expect(row).to_contain_text("Cán bộ")
    live_server.login("canbo9", "mat-khau-cua-dung")
    row.get_by_role("button", name="Đặt lại mật khẩu").click()
    fill_dialog(page, {"Mật khẩu (ít nhất 10 ký tự)": "mat-khau-moi-cua-dung"})
    expect(page.locator("#message")).to_have_text("Đã đổi mật khẩu của Phạm Văn Dũng.")
    live_server.login("canbo9", "mat-khau-moi-cua-dung")
    row.get_by_role("button", name="Tạm ngừng").click()
    expect(row).to_contain_text("Đã ngừng")
    # no button to lock yourself out
    expect(page.locator("#users-body tr", has_text=live_server.admin[0]).get_by_role("button", name="Tạm ngừng")).to_have_count(0)

    open_section(page, "Thiết bị")
    page.get_by_role("button", name="Tạo mã ghép nối").click()
    dialog.get_by_label("Loại").select_option("tablet")
    dialog.get_by_label("Quầy (Máy đánh giá)").select_option("1")
    dialog.get_by_label("Tên", exact=True).fill("Máy đánh giá quầy 1")
    dialog.get_by_role("button", name="Tạo mã ghép nối").click()
    code = page.locator(".pairing-code").inner_text()
    expect(page.locator(".pairing-url")).to_have_text(re.compile(rf"/rating\?pair={code}$"))
    qr = page.locator(".pairing img.qr")
    expect(qr).to_be_visible()
    # the picture has loaded (or failed to) before it is judged: visible is not yet loaded
    assert qr.evaluate("img => img.complete ? img.naturalWidth > 0 : new Promise((done) => {"
                       " img.addEventListener('load', () => done(img.naturalWidth > 0), { once: true });"
                       " img.addEventListener('error', () => done(false), { once: true }); })")
    expect(page.locator("#devices-body tr", has_text="Máy đánh giá quầy 1")).to_contain_text("Chờ ghép nối")
    paired = requests.post(live_server.url + "/api/devices/pair", json={"code": code}, timeout=5)
    assert paired.status_code == 200
    token = paired.json()["token"]
    page.once("dialog", lambda d: d.accept())
    open_section(page, "Tổng quan")
    open_section(page, "Thiết bị")
    device_row = page.locator("#devices-body tr", has_text="Máy đánh giá quầy 1")
    expect(device_row).to_contain_text("Đã ghép nối")
    device_row.get_by_role("button", name="Thu hồi").click()
    expect(device_row).to_contain_text("Đã thu hồi")
    assert requests.get(live_server.url + "/api/devices/me", headers={"X-Device-Token": token}, timeout=5).status_code == 401


def a_served_day(server) -> list[dict]:
    """Five tickets over two fields: three served and rated (two at counter 1's tablet, one on a phone,
    the last unhappy with a reason and a comment), one no-show, one still waiting."""
    clerk = server.clerk_headers("canbo1")
    tickets = [server.issue("ho-tich"), server.issue("ho-tich"), server.issue("chung-thuc"),
               server.issue("chung-thuc"), server.issue("ho-tich")]
    tokens = {t["code"]: t["token"] for t in tickets}  # the citizens' papers: staff answers carry no token
    paired = requests.post(server.url + "/api/devices/pair", json={"code": server.pairing_code("tablet", 1)}, timeout=5)
    tablet = {"X-Device-Token": paired.json()["token"]}

    def act(action):
        r = requests.post(f"{server.url}/api/counters/1/{action}", json={}, headers=clerk, timeout=5)
        assert r.status_code == 200, r.text
        return r.json()

    def rate(code, score, headers=None, **more):
        r = requests.post(server.url + "/api/ratings", json={"token": tokens[code], "score": score, **more},
                          headers=headers or {}, timeout=5)
        assert r.status_code == 201, r.text

    for score in (3, 2):
        ticket = act("call-next")
        act("finish")
        rate(ticket["code"], score, tablet)
    act("call-next")
    act("no-show")
    ticket = act("call-next")
    act("finish")
    rate(ticket["code"], 1, reasons=["waiting", "harassment"], comment=COMMENT)
    return tickets


COMMENT = "@Chờ hơn một tiếng <b>mà</b> không ai hướng dẫn"


def test_reports_draw_charts_and_download_csv_and_xlsx(page: Page, live_server, tmp_path):
    a_served_day(live_server)
    admin_login(page, live_server)
    open_section(page, "Báo cáo")
    expect(page.locator(".stat", has_text="Phiếu đã cấp")).to_contain_text("5")
    expect(page.locator(".stat", has_text="Đã phục vụ")).to_contain_text("3")
    expect(page.locator(".stat", has_text="Vắng mặt")).to_contain_text("1")
    charts = page.locator("figure.chart")
    expect(charts).to_have_count(5)
    for title in ["Số phiếu theo giờ", "Thời gian chờ theo lĩnh vực (phút, trung bình)", "Vắng mặt theo lĩnh vực",
                  "Mức hài lòng theo quầy", "Mức hài lòng theo cán bộ"]:
        expect(page.locator("figure.chart figcaption", has_text=title)).to_be_visible()
    assert page.locator("figure.chart", has_text="Số phiếu theo giờ").locator("rect.bar").count() >= 11
    counter_chart = page.locator("figure.chart", has_text="Mức hài lòng theo quầy")
    # 2 of 3 ratings at "Hài lòng" or better, written the Vietnamese way (issue 7: "93,6 %", not "94%")
    expect(counter_chart).to_contain_text("66,7 % · 3 lượt")

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Tải CSV").click()
    text = csv_download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["Nhóm", "Mã", "Tên", "Số phiếu cấp"]
    totals = next(r for r in rows if r and r[0] == "Tổng")
    assert totals[3:6] == ["5", "3", "1"]
    assert totals[rows[0].index("Lý do: Thời gian chờ lâu")] == "1"
    assert any(r and r[0] == "Lĩnh vực" and r[2] == "Hộ tịch" and r[3] == "3" for r in rows)
    comment = next(r for r in rows if r and r[0] == "Góp ý")
    assert comment[-1] == "'" + COMMENT  # starts with @: written so no spreadsheet runs it

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Tải Excel (XLSX)").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes()))  # the saved file has no extension
    # issue 7: a sheet per table with a "Tổng cộng" row, not one flat table with a total coded "all"
    summary = {row[0].value: row[1].value for row in book["Tổng hợp"].iter_rows(min_row=3)}
    assert summary["Số phiếu đã cấp"] == 5 and summary["Đã phục vụ"] == 3
    fields = [[c.value for c in row] for row in book["Theo lĩnh vực"].iter_rows()]
    assert fields[1][:3] == ["Mã", "Lĩnh vực", "Phiếu đã cấp (phiếu)"]
    assert next(r for r in fields if r[0] == "Tổng cộng")[2:5] == [5, 3, 1]
    reasons = [[c.value for c in row] for row in book["Lý do không hài lòng"].iter_rows()]
    assert next(r for r in reasons if r[0] == "Tổng cộng")[reasons[1].index("Thời gian chờ lâu (lượt)")] == 1
    assert book["Góp ý"]["K3"].value == COMMENT and book["Góp ý"]["K3"].data_type == "s"


def test_reports_show_reasons_comments_and_sources_in_vietnamese_numbers_and_dates(page: Page, live_server):
    a_served_day(live_server)
    today = dt.datetime.now(OFFICE_TZ).strftime("%d/%m/%Y")
    admin_login(page, live_server)
    open_section(page, "Báo cáo")
    expect(page.locator("#report-to")).to_have_value(today)
    expect(page.locator("#report-period")).to_contain_text(f"đến ngày {today}")
    # decimal comma and a space before %: "12,3 phút", "66,7 %"
    expect(page.locator(".stat", has_text="Chờ trung bình").locator("strong")).to_have_text(re.compile(r"^\d+,\d\sphút$"))
    expect(page.locator(".stat", has_text="Hài lòng").locator("strong")).to_have_text("66,7 %")
    assert not re.search(r"\d\.\d\s(phút|%)", page.locator("#reports-body").inner_text())

    expect(page.locator(".sources")).to_have_text(
        "Nguồn đánh giá: Máy tính bảng tại quầy 2 · Điện thoại 1 · Chưa rõ nguồn 0")
    clerk_table = page.locator("h2", has_text="Theo cán bộ").locator("xpath=following-sibling::table[1]")
    expect(clerk_table.locator("th")).to_contain_text(["Máy tính bảng tại quầy", "Điện thoại"])
    expect(clerk_table.locator("tr.total")).to_contain_text("Tổng cộng")

    reasons = page.locator(".reasons table")
    expect(reasons.locator("th")).to_contain_text(["Không hài lòng", "Thời gian chờ lâu", "Gây phiền hà, nhũng nhiễu"])
    header = reasons.locator("th").all_inner_texts()
    waiting = [h.lower() for h in header].index("thời gian chờ lâu")
    for name in ("Chứng thực", "Quầy 1", "Tổng cộng (Toàn cơ quan)"):  # B002 was the unhappy one
        row = reasons.locator("tr", has=page.get_by_role("cell", name=name, exact=True))
        expect(row.locator("td").nth(waiting)).to_have_text("1")

    comments = page.locator(".comments table tbody tr")
    expect(comments).to_have_count(1)
    expect(comments.first).to_contain_text(COMMENT)  # as text: no <b> made bold
    assert page.locator(".comments b").count() == 0
    expect(comments.first.locator("td").first).to_have_text(re.compile(rf"^{re.escape(today)} \d\d:\d\d$"))
    expect(comments.first).to_contain_text("Không hài lòng")
    expect(comments.first).to_contain_text("Thời gian chờ lâu; Gây phiền hà, nhũng nhiễu")
    by_day = page.locator("h2", has_text="Theo ngày").locator("xpath=following-sibling::table[1]")
    expect(by_day.locator("tbody tr").first.locator("td").first).to_have_text(today)


def test_the_date_range_reads_and_writes_dd_mm_yyyy_whatever_the_browser_locale(browser, live_server):
    """A PC set to US English in another time zone: the fields still show and accept 25/11/2026."""
    live_server.issue("ho-tich")
    context = browser.new_context(locale="en-US", timezone_id="America/Los_Angeles")
    page = context.new_page()
    try:
        admin_login(page, live_server)
        open_section(page, "Báo cáo")
        now = dt.datetime.now(OFFICE_TZ).date()
        today = now.strftime("%d/%m/%Y")
        week_ago = (now - dt.timedelta(days=6)).strftime("%d/%m/%Y")
        expect(page.locator("#report-from")).to_have_value(week_ago)  # the office's day, not Los Angeles'
        expect(page.locator("#report-to")).to_have_value(today)
        assert page.locator("#report-from").get_attribute("type") in (None, "text")

        page.get_by_role("button", name="Hôm nay").click()
        expect(page.locator("#report-from")).to_have_value(today)
        expect(page.locator("#report-period")).to_have_text(f"Báo cáo ngày {today}")
        expect(page.locator(".stat", has_text="Phiếu đã cấp")).to_contain_text("1")

        page.get_by_label("Từ ngày").fill("1/11/2026")
        page.get_by_label("Đến ngày").fill("31/02/2026")
        page.get_by_role("button", name="Xem báo cáo").click()
        expect(page.locator("#report-error")).to_have_text("Ngày phải viết theo dạng ngày/tháng/năm, ví dụ 25/11/2026.")
        expect(page.locator("#report-to")).to_have_attribute("aria-invalid", "")

        page.get_by_label("Đến ngày").fill("30/11/2026")
        page.get_by_label("Từ ngày").fill("01/12/2026")
        page.get_by_role("button", name="Xem báo cáo").click()
        expect(page.locator("#report-error")).to_have_text("Ngày bắt đầu phải trước hoặc trùng ngày kết thúc.")

        page.get_by_label("Từ ngày").fill("1/11/2026")
        page.get_by_role("button", name="Xem báo cáo").click()
        expect(page.locator("#report-error")).to_be_hidden()
        expect(page.locator("#report-from")).to_have_value("01/11/2026")
        expect(page.locator("#report-period")).to_have_text("Báo cáo từ ngày 01/11/2026 đến ngày 30/11/2026")
        expect(page.locator("#download-xlsx")).to_have_attribute("href", re.compile(r"from=2026-11-01&to=2026-11-30$"))

        # the calendar button's picker hands its day back in dd/mm/yyyy
        picker = page.locator('input.picker[data-for="to"]')
        picker.evaluate("input => { input.value = '2026-11-20'; input.dispatchEvent(new Event('change')); }")
        expect(page.locator("#report-to")).to_have_value("20/11/2026")
        expect(page.get_by_role("button", name="Chọn ngày kết thúc trên lịch")).to_be_visible()

        page.get_by_role("button", name="Tháng trước").click()
        expect(page.locator("#report-period")).to_contain_text("đến ngày")
        assert re.fullmatch(r"01/\d\d/\d{4}", page.locator("#report-from").input_value())
    finally:
        context.close()


def test_every_dialog_says_what_it_adds_or_edits(page: Page, live_server):
    admin_login(page, live_server)
    dialog = page.locator("#edit-dialog")
    title = dialog.locator("h2")

    def check(open_it, expected):
        open_it()
        expect(title).to_have_text(expected)
        dialog.get_by_role("button", name="Huỷ").click()
        expect(dialog).to_be_hidden()

    open_section(page, "Cơ quan")
    check(lambda: page.locator("#office").get_by_role("button", name="Sửa").click(), "Sửa thông tin cơ quan")
    open_section(page, "Lĩnh vực")
    check(lambda: add_button(page).click(), "Thêm lĩnh vực")
    check(lambda: page.locator("#fields-body tr", has_text="Chứng thực").get_by_role("button", name="Sửa").click(),
          "Sửa lĩnh vực Chứng thực")
    open_section(page, "Quầy")
    check(lambda: add_button(page).click(), "Thêm quầy")
    check(lambda: page.locator("#counters-body tr", has_text="Quầy 3").get_by_role("button", name="Sửa").click(),
          "Sửa quầy 3")
    open_section(page, "Người dùng")
    check(lambda: add_button(page).click(), "Thêm người dùng")
    open_section(page, "Thiết bị")
    check(lambda: page.get_by_role("button", name="Tạo mã ghép nối").click(), "Ghép nối thiết bị mới")
    open_section(page, "Thông báo")
    check(lambda: add_button(page).click(), "Thêm thông báo")
    assert page.locator("#edit-dialog h2", has_text=re.compile(r"^Thêm$")).count() == 0

    # hours as offices write them: the hint shows it, the engine stores it as 07:30-11:30
    open_section(page, "Lĩnh vực")
    add_button(page).click()
    hours = dialog.get_by_label("Giờ cấp số", exact=True)
    expect(hours).to_have_attribute("placeholder", "7h30-11h30, 13h30-16h30")
    expect(dialog.locator(".hint", has_text="Ví dụ: 7h")).to_have_text("Ví dụ: 7h30-11h30, 13h30-16h30 (để trống: cả ngày)")
    fill_dialog(page, {"Tên": "Giờ kiểu mới", "Tiền tố": "GM", "Giờ cấp số": "7h30-11h30, 13h-16h30"})
    expect(page.locator("#fields-body tr", has_text="Giờ kiểu mới")).to_contain_text("07:30-11:30, 13:00-16:30")


def test_admin_in_english(page: Page, live_server):
    page.goto(live_server.url + "/admin/")
    page.get_by_role("link", name="English").click()
    page.get_by_label("Username").fill(live_server.admin[0])
    page.get_by_label("Password").fill(live_server.admin[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Today at a glance")).to_be_visible()
    page.locator(".sidebar").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("link", name="Download CSV")).to_be_visible()


def test_staff_pages_run_under_the_content_security_policy(page: Page, live_server):
    """The console and the admin, logged in, with the reports' charts drawn: no CSP violation, no script error."""
    problems = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    live_server.issue("ho-tich")
    admin_login(page, live_server)
    for name in SECTIONS:
        open_section(page, name)
    expect(page.locator("figure.chart").first).to_be_visible()
    page.goto(live_server.url + "/counter/")
    page.locator(".counter-choice, button", has_text="Quầy 1").first.click()
    expect(page.locator("#current-code")).to_be_attached()
    page.wait_for_timeout(300)
    assert problems == []


# ----- many offices: the province's offices, and tickets taken outside the kiosks ----------
def test_a_province_user_adds_renames_switches_to_and_stops_an_office(page: Page, live_server, tmp_path):
    name, password = live_server.add_user("tinh.vanphong", role="province")
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(demo_seed(), ensure_ascii=False), encoding="utf-8")
    result = live_server.cli("office", "add", "phuong-hoan-kiem", "--name", "UBND phường Hoàn Kiếm", "--seed", str(seed))
    assert result.returncode == 0, result.stderr
    live_server.issue("ho-tich")
    assert requests.post(live_server.url + "/o/phuong-hoan-kiem/api/tickets", json={"field": "ho-tich"},
                         timeout=5).status_code == 201
    confirms: list[str] = []
    page.on("dialog", lambda d: (confirms.append(d.message), d.accept()))
    page.goto(live_server.url + "/admin/")
    page.get_by_label("Tên đăng nhập").fill(name)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Tổng quan hôm nay")).to_be_visible()
    home_office = page.locator("#office-title").inner_text()

    page.locator(".sidebar").get_by_role("link", name="Các cơ quan").click()
    expect(page.get_by_role("heading", name="Các cơ quan trong tỉnh")).to_be_visible()
    page.locator("#offices").get_by_role("button", name="Thêm").click()
    expect(page.locator("#edit-dialog h2")).to_have_text("Thêm cơ quan")
    fill_dialog(page, {"Mã cơ quan": "xa-ba-vi", "Tên cơ quan": "UBND xã Ba Vì"})
    expect(page.locator("#message")).to_contain_text("Đã thêm cơ quan UBND xã Ba Vì.")
    row = page.locator("#offices-body tr", has_text="xa-ba-vi")
    expect(row).to_contain_text("Bộ phận tiếp nhận và trả kết quả")
    expect(row).to_contain_text("Đang dùng")
    assert requests.get(live_server.url + "/o/xa-ba-vi/kiosk/", timeout=5).status_code == 200

    row.get_by_role("button", name="Sửa").click()
    expect(page.locator("#edit-dialog h2")).to_have_text("Sửa cơ quan UBND xã Ba Vì")
    fill_dialog(page, {"Tên cơ quan": "Trung tâm Phục vụ hành chính công xã Ba Vì"})
    expect(row).to_contain_text("Trung tâm Phục vụ hành chính công xã Ba Vì")
    headers = live_server.login(name, password)
    offices = requests.get(live_server.url + "/api/admin/offices", headers=headers, timeout=5).json()["offices"]
    assert {"slug": "xa-ba-vi", "name": "Trung tâm Phục vụ hành chính công xã Ba Vì",
            "unit": "Bộ phận tiếp nhận và trả kết quả", "active": True} in offices

    # the switcher moves the whole admin to that office's own address
    page.locator("#office-switch").select_option(label="Trung tâm Phục vụ hành chính công xã Ba Vì")
    expect(page).to_have_url(re.compile(r"/o/xa-ba-vi/admin/#offices$"))
    expect(page.locator("#office-title")).to_have_text("Trung tâm Phục vụ hành chính công xã Ba Vì")
    expect(page.locator("#offices-body tr", has_text="xa-ba-vi")).to_contain_text("Đang xem")

    # every office's report at once, from any office's admin
    open_section(page, "Báo cáo")
    page.get_by_label("Phạm vi").select_option(label="Tất cả cơ quan")
    expect(page.locator("#report-period")).to_contain_text("Tất cả cơ quan")
    by_office = page.locator("table.by-office")
    # every office, by name (a silent one with zeros), and the province's total
    expect(by_office.locator("tbody tr")).to_have_count(4)
    rows = by_office.locator("tbody tr")
    expect(rows.nth(0)).to_contain_text("Trung tâm Phục vụ hành chính công xã Ba Vì")
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("0")  # issued nothing yet, still listed
    expect(rows.nth(1)).to_contain_text("UBND phường Hoàn Kiếm")
    expect(rows.nth(2)).to_contain_text(home_office)
    expect(by_office.locator("tr.total")).to_contain_text("Tổng cộng (Toàn tỉnh)")
    csv_link = page.locator("#download-csv")
    expect(csv_link).to_have_attribute("href", re.compile(r"^/o/xa-ba-vi/api/reports/summary\.csv\?.*office=all"))
    download = page.request.get(live_server.url + csv_link.get_attribute("href"))
    assert download.status == 200 and home_office in download.text()
    expect(by_office.get_by_role("link", name=home_office)).to_have_attribute("href", re.compile(r"^/o/[a-z0-9-]+/admin/#reports$"))

    # stopping the office on screen: asked first, then the admin moves to the plain address
    page.locator(".sidebar").get_by_role("link", name="Các cơ quan").click()
    page.locator("#offices-body tr", has_text="xa-ba-vi").get_by_role("button", name="Tạm ngừng").click()
    expect(page).to_have_url(re.compile(r"^http://[^/]+/admin/#offices$"))
    expect(page.locator("#offices-body tr", has_text="xa-ba-vi")).to_contain_text("Đã ngừng")
    assert confirms and confirms[-1].startswith("Ngừng cơ quan Trung tâm Phục vụ hành chính công xã Ba Vì?")
    assert requests.get(live_server.url + "/o/xa-ba-vi/kiosk/", timeout=5).status_code == 404
    expect(page.locator("#office-switch option")).to_have_count(2)


def test_an_admin_sees_and_cancels_tickets_taken_outside_the_kiosks(page: Page, live_server):
    kiosk = requests.Session()  # a paired kiosk's tickets are not listed
    r = kiosk.post(live_server.url + "/api/devices/pair", json={"code": live_server.pairing_code("kiosk")}, timeout=5)
    assert r.status_code == 200, r.text
    assert kiosk.post(live_server.url + "/api/tickets", json={"field": "ho-tich"}, timeout=5).json()["code"] == "A001"
    outside = live_server.issue("ho-tich")  # from a PC on the LAN, not a kiosk
    assert outside["code"] == "A002"

    answers = iter([False, True])  # first "no", then "yes"
    asked: list[str] = []
    page.on("dialog", lambda d: (asked.append(d.message), d.accept() if next(answers) else d.dismiss()))
    admin_login(page, live_server)
    section = page.locator("section.outside-kiosks")
    expect(section.get_by_role("heading")).to_have_text("Phiếu lấy ngoài máy lấy số (1)")
    row = section.locator("table.outside-waiting tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("A002")
    expect(row).to_contain_text("127.0.0.1")
    expect(row).to_contain_text("Đang chờ")

    row.get_by_role("button", name="Huỷ phiếu").click()  # "no": nothing changes
    assert asked == ["Huỷ phiếu A002? Phiếu bị huỷ sẽ không được gọi nữa."]
    assert ticket(live_server, outside["token"])["status"] == "waiting"

    row.get_by_role("button", name="Huỷ phiếu").click()
    expect(page.locator("#message")).to_have_text("Đã huỷ phiếu A002.")
    assert ticket(live_server, outside["token"])["status"] == "cancelled"
    # no longer waiting: folded away with the tickets that are settled, and nothing left to cancel
    expect(section.locator("table.outside-waiting")).to_contain_text("Không phiếu nào trong số này đang chờ.")
    settled = section.locator("details.outside-settled")
    settled.locator("summary").click()
    expect(settled.locator("summary")).to_have_text("Đã gọi, đã phục vụ hoặc đã huỷ (1)")
    expect(settled.locator("tbody tr")).to_contain_text(["A002"])
    expect(settled.locator("tbody tr")).to_contain_text(["Đã huỷ"])
    expect(section.get_by_role("button", name="Huỷ phiếu")).to_have_count(0)
