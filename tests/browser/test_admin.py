"""The admin console in a real browser: fields reach the kiosk live, HTML stays text, users and devices,
reports with charts and downloads whose contents are checked."""
from __future__ import annotations

import csv
import io
import re

import pytest
import requests
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

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
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
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
    """Five tickets over two fields: three served and rated, one no-show, one still waiting."""
    clerk = server.clerk_headers("canbo1")
    tickets = [server.issue("ho-tich"), server.issue("ho-tich"), server.issue("chung-thuc"),
               server.issue("chung-thuc"), server.issue("ho-tich")]

    def act(action):
        r = requests.post(f"{server.url}/api/counters/1/{action}", json={}, headers=clerk, timeout=5)
        assert r.status_code == 200, r.text
        return r.json()

    for score in (3, 2):
        ticket = act("call-next")
        act("finish")
        requests.post(server.url + "/api/ratings", json={"token": ticket["token"], "score": score}, timeout=5)
    act("call-next")
    act("no-show")
    ticket = act("call-next")
    act("finish")
    requests.post(server.url + "/api/ratings", json={"token": ticket["token"], "score": 1, "reasons": ["waiting"]},
                  timeout=5)
    return tickets


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
    expect(counter_chart).to_contain_text("67% · 3 lượt")  # 2 of 3 ratings at "Hài lòng" or better

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Tải CSV").click()
    text = csv_download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["Nhóm", "Mã", "Tên", "Số phiếu cấp"]
    totals = next(r for r in rows if r[0] == "Tổng")
    assert totals[3:6] == ["5", "3", "1"]
    assert any(r[0] == "Lĩnh vực" and r[2] == "Hộ tịch" and r[3] == "3" for r in rows)

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Tải Excel (XLSX)").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes()))  # the saved file has no extension
    sheet = book["Tổng hợp"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1][:3] == ["Nhóm", "Mã", "Tên"]
    assert next(r for r in values if r[0] == "Tổng")[3:6] == [5, 3, 1]


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
