"""Online bookings as the staff see them, in a real Chromium against a real server on the real clock:
the admin turns booking on for a field in its dialog, closes a day, reads a day's bookings with the
citizens' full phones, cancels one with a reason and prints the list; the clerk sees a booked ticket
marked "Đặt lịch" and checks a citizen in by the booking's code at the counter; the reports count them.

One server and one browser for the module. The server runs on the wall clock, so the slot the console
test books is made around the current time: the field's hours are set through the admin API to a window
that starts at the last five-minute mark, with five-minute slots (at 23:5x the window still ends by 23:59).
"""
from __future__ import annotations

import datetime as dt
import re
import time
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.live import LiveServer

pytestmark = pytest.mark.browser

OFFICE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OFFICE_NAME = "UBND phường Mẫu"
STATUS = {"booked": "Đã đặt", "checked_in": "Đã đến", "cancelled": "Đã huỷ", "missed": "Không đến"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The embedded default office (demo fields: Hộ tịch takes bookings, Chứng thực does not), a clerk."""
    server = LiveServer(tmp_path_factory.mktemp("booking-staff") / "office").start()
    try:
        server.add_user("canbo1")
        server.admin_headers = server.login(*server.admin)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def context(browser):
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  viewport={"width": 1366, "height": 768})
    yield context
    context.close()


@pytest.fixture(scope="module")
def admin(context, server):
    """The admin, logged in once for the module; no page error and no CSP refusal on the way."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(server.url + "/admin/")
    page.get_by_label("Tên đăng nhập").fill(server.admin[0])
    page.get_by_label("Mật khẩu").fill(server.admin[1])
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Tổng quan hôm nay")).to_be_visible()
    yield page
    page.close()
    assert errors == []


@pytest.fixture(scope="module")
def console(context, server):
    """The clerk at counter 1 (Hộ tịch, Chứng thực), logged in once for the module."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(server.url + "/counter/")
    page.get_by_label("Tên đăng nhập").fill("canbo1")
    page.get_by_label("Mật khẩu").fill("mat-khau-rat-dai-1")
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("button", name=re.compile("^Quầy 1")).click()
    expect(page.locator("#counter-title")).to_have_text("Quầy 1")
    yield page
    page.close()
    assert errors == []


# ----- helpers ------------------------------------------------------------------------------------------
def office_now() -> dt.datetime:
    return dt.datetime.now(OFFICE_TZ)


def dmy(day: dt.date) -> str:
    return f"{day:%d/%m/%Y}"


def api(server, method: str, path: str, expect_status: int = 200, **kwargs):
    r = requests.request(method, server.url + path, timeout=5, **kwargs)
    assert r.status_code == expect_status, r.text
    return r.json()


def slots(server, field: str, day: dt.date) -> dict:
    return api(server, "GET", f"/api/booking/slots?field={field}&date={day.isoformat()}")


def book(server, field: str, start: str, phone: str, name: str) -> dict:
    return api(server, "POST", "/api/bookings", 201, json={"field": field, "start": start, "phone": phone, "name": name})


def open_hours_around_now(server, field: str) -> dt.datetime:
    """Give `field` a window of hours that starts at the last five-minute mark, with five-minute slots
    bookable today: a slot exists that has started and whose check-in window is open for 5 more minutes at
    least. Returns that slot's start. In the last minutes of a day, waits for the next one."""
    now = office_now()
    if (now.hour, now.minute) >= (23, 57):  # a day's last slot must end by 23:59
        time.sleep((dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(0, 0, 5), OFFICE_TZ) - now)
                   .total_seconds())
        now = office_now()
    start = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    if (start.hour, start.minute) == (23, 55):
        start = start.replace(minute=50)
    end = min(start + dt.timedelta(hours=1), start.replace(hour=23, minute=59))
    api(server, "PATCH", f"/api/admin/fields/{field}", headers=server.admin_headers,
        json={"hours": [f"{start:%H:%M}-{end:%H:%M}"], "booking": {"slot_minutes": 5, "seats": 4, "days_ahead": 1}})
    return start


def open_section(page: Page, name: str, panel: str) -> None:
    page.locator(".sidebar").get_by_role("link", name=name, exact=True).click()
    expect(page.locator(f"#{panel}")).to_be_visible()


# ----- the console -----------------------------------------------------------------------------------------
def test_the_clerk_checks_a_citizen_in_by_code_and_the_booked_ticket_is_marked_and_called_first(console, server):
    start = open_hours_around_now(server, "ho-tich")
    today = start.date()
    slot = next(s for s in slots(server, "ho-tich", today)["slots"] if s["start"] == start.isoformat())
    walk_in = server.issue("ho-tich")  # in the hall before the citizen who booked
    booking = book(server, "ho-tich", slot["start"], "0912345678", "Nguyễn Thị Hoa")
    mark = f"Đặt lịch {start:%H:%M}"

    expect(console.locator("#waiting-list li").first).to_contain_text(walk_in["code"])
    console.keyboard.press("d")
    dialog = console.locator("#checkin-dialog")
    expect(dialog).to_be_visible()
    # a mistyped code is said in the dialog, plainly, before anything is asked of the server
    console.keyboard.type("K7M")
    console.keyboard.press("Enter")
    expect(dialog.locator("#checkin-error")).to_contain_text("Mã đặt lịch gồm 6 ký tự")
    # one nobody booked: the server's words
    console.locator("#checkin-code").fill("ZZZZZZ")
    console.keyboard.press("Enter")
    expect(dialog.locator("#checkin-error")).to_have_text("Không tìm thấy mã đặt lịch ZZZZZZ. Xin kiểm tra lại mã.")
    # the citizen's code, typed as read aloud: lower case, with a space
    console.locator("#checkin-code").fill(f"{booking['code'][:3].lower()} {booking['code'][3:].lower()}")
    console.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    message = console.locator("#message")
    expect(message).to_contain_text(f"Đã xác nhận lịch hẹn {booking['code']}: cấp số ")
    # printing never holds up the answer (issue 8): the clerk is told the paper is on its way, and what to do
    # if it does not come
    expect(message).to_contain_text(f"(Hộ tịch, hẹn {start:%H:%M}). Phiếu đang được in; nếu không thấy phiếu, "
                                    "xin báo số cho công dân.")
    code = re.search(r"cấp số (\w+)", message.inner_text()).group(1)
    assert code != walk_in["code"] and code.startswith("A")

    # its slot has started: first in the list, before the walk-in who came earlier, marked with the slot
    first = console.locator("#waiting-list li").first
    expect(first).to_contain_text(code)
    expect(first.locator(".badge.booked")).to_have_text(mark)
    expect(first).to_have_class(re.compile(r"\bbooked\b"))
    expect(console.locator("#waiting-list li", has_text=walk_in["code"]).locator(".badge")).to_have_count(0)

    # checking the same code in again issues nothing new: the console says when it was done
    console.keyboard.press("d")
    console.locator("#checkin-code").fill(booking["code"])
    console.keyboard.press("Enter")
    expect(message).to_contain_text(f"Lịch hẹn {booking['code']} đã được xác nhận lúc")
    expect(message).to_contain_text(f"số {code}")
    expect(console.locator("#waiting-list li")).to_have_count(2)

    # Space calls it first; the ticket in service says it was booked, and for when
    console.keyboard.press(" ")
    expect(console.locator("#current-code")).to_have_text(code)
    expect(console.locator("#current-booked")).to_have_text(mark)
    expect(console.locator("#current-priority")).to_be_hidden()
    # with the mark and the check-in button, the console still fits a 1280x720 screen without scrolling
    console.set_viewport_size({"width": 1280, "height": 720})
    for selector in ("[data-action]", "#current-booked", "#waiting-list", "#no-show-list"):
        for box in console.locator(selector).evaluate_all(
                "els => els.map((e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })"):
            assert box[0] >= 0 and box[1] >= 0 and box[2] <= 1280 and box[3] <= 720, (selector, box)
    assert console.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight")
    console.set_viewport_size({"width": 1366, "height": 768})
    console.keyboard.press("h")
    expect(console.locator("#served-today")).to_have_text("1")
    console.keyboard.press("n")
    expect(console.locator("#current-code")).to_have_text(walk_in["code"])
    expect(console.locator("#current-booked")).to_be_hidden()
    console.keyboard.press("h")

    booking_now = api(server, "GET", f"/api/bookings/{booking['token']}")
    assert booking_now["status"] == "checked_in" and booking_now["ticket"]["code"] == code


def test_a_booking_for_tomorrow_is_not_checked_in_today_and_the_console_says_what_to_do(console, server):
    tomorrow = office_now().date() + dt.timedelta(days=1)
    slot = slots(server, "ho-tich", tomorrow)["slots"][0]
    booking = book(server, "ho-tich", slot["start"], "0987654321", "Trần Văn Nam")
    console.keyboard.press("d")
    console.locator("#checkin-code").fill(booking["code"])
    console.keyboard.press("Enter")
    error = console.locator("#checkin-error")
    expect(error).to_contain_text(f"Lịch hẹn của ông/bà lúc {slot['start'][11:16]}")
    expect(error).to_contain_text(f"ngày {dmy(tomorrow)}")
    expect(error).to_contain_text("lấy số thường")
    console.get_by_role("button", name=re.compile("^Huỷ")).click()
    expect(console.locator("#checkin-dialog")).to_be_hidden()
    assert api(server, "GET", f"/api/bookings/{booking['token']}")["status"] == "booked"


# ----- the admin -------------------------------------------------------------------------------------------
def test_the_field_dialog_turns_booking_on_and_the_public_slots_answer_for_the_field(admin, server):
    tomorrow = office_now().date() + dt.timedelta(days=1)
    refused = requests.get(f"{server.url}/api/booking/slots?field=chung-thuc&date={tomorrow}", timeout=5)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "field_not_bookable"

    open_section(admin, "Lĩnh vực", "fields")
    row = admin.locator("#fields-body tr", has_text="Chứng thực")
    expect(row.locator("td").nth(5)).to_have_text("—")
    row.get_by_role("button", name="Sửa").click()
    dialog = admin.locator("#edit-dialog")
    booking_on = dialog.get_by_label("Nhận đặt lịch trực tuyến cho lĩnh vực này")
    expect(booking_on).not_to_be_checked()
    expect(dialog.get_by_label("Độ dài mỗi khung giờ (phút)")).to_be_hidden()  # nothing to set while off
    booking_on.check()
    dialog.get_by_label("Độ dài mỗi khung giờ (phút)").fill("20")
    dialog.get_by_label("Số người mỗi khung giờ").fill("3")
    dialog.get_by_label("Cho đặt trước tối đa (ngày)").fill("2")
    dialog.get_by_role("button", name="Lưu").click()
    expect(dialog).to_be_hidden()
    expect(admin.locator("#message")).to_have_text("Đã lưu.")
    expect(row.locator("td").nth(5)).to_have_text("20 phút · 3 ngườiđặt trước 2 ngày")  # two lines

    # the public endpoint now answers for it: 20-minute slots tiling 07:00–17:00 (it has no hours), 3 seats each
    answer = slots(server, "chung-thuc", tomorrow)
    assert answer["slot_minutes"] == 20 and len(answer["slots"]) == 30
    assert answer["slots"][0]["start"] == f"{tomorrow}T07:00:00+07:00" and answer["slots"][0]["left"] == 3
    too_far = requests.get(f"{server.url}/api/booking/slots?field=chung-thuc&date={tomorrow + dt.timedelta(days=2)}",
                           timeout=5)
    assert too_far.status_code == 422  # two days ahead at most

    # the dialog shows what is set, and turning it off stops bookings for the field
    row.get_by_role("button", name="Sửa").click()
    expect(booking_on).to_be_checked()
    expect(dialog.get_by_label("Số người mỗi khung giờ")).to_have_value("3")
    booking_on.uncheck()
    dialog.get_by_role("button", name="Lưu").click()
    expect(row.locator("td").nth(5)).to_have_text("—")
    assert requests.get(f"{server.url}/api/booking/slots?field=chung-thuc&date={tomorrow}", timeout=5).status_code == 422


def test_a_blackout_day_added_in_the_admin_empties_that_days_slots(admin, server):
    day = office_now().date() + dt.timedelta(days=2)
    before = slots(server, "dat-dai", day)["slots"]
    assert len(before) == 16  # 07:00–11:30 and 13:00–16:30 in half hours
    early = book(server, "dat-dai", before[0]["start"], "0909123456", "Bùi Thị Hạnh")  # booked before the day closed

    open_section(admin, "Đặt lịch", "bookings")
    admin.get_by_role("button", name="Thêm ngày nghỉ").click()
    dialog = admin.locator("#edit-dialog")
    dialog.get_by_label("Ngày nghỉ").fill("31/02/2026")
    dialog.get_by_role("button", name="Lưu").click()
    expect(dialog.locator(".error")).to_have_text("Ngày phải viết theo dạng ngày/tháng/năm, ví dụ 25/11/2026.")
    dialog.get_by_label("Ngày nghỉ").fill(f"{day.day}/{day.month}/{day.year}")  # typed without leading zeros
    dialog.get_by_label("Ghi chú").fill("Nghỉ bù – <b>họp</b> toàn cơ quan")
    dialog.get_by_role("button", name="Lưu").click()
    expect(dialog).to_be_hidden()
    # a booking made before stands: the admin is told, to call the citizen
    expect(admin.locator("#message")).to_have_text(
        f"Ngày {dmy(day)} đã có 1 lịch hẹn đặt trước: xem danh sách ngày đó, huỷ và gọi báo cho từng công dân nếu cần.")
    row = admin.locator("table.blackout tbody tr", has_text=dmy(day))
    expect(row).to_contain_text("Nghỉ bù – <b>họp</b> toàn cơ quan")  # text, never HTML

    closed = slots(server, "dat-dai", day)
    assert closed["slots"] == [] and closed["closed"] == "Ngày này cơ quan không nhận đặt lịch."

    # that day's list says so
    admin.locator("#bookings-day").fill(dmy(day))
    admin.get_by_role("button", name="Xem lịch hẹn").click()
    expect(admin.locator(".closed-day")).to_contain_text("Ngày này cơ quan không nhận đặt lịch (Nghỉ bù")
    expect(admin.locator("table.bookings tbody tr", has_text=early["code"])).to_contain_text("0909 123 456")

    admin.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="Xoá").click()
    expect(row).to_have_count(0)
    assert len(slots(server, "dat-dai", day)["slots"]) == 16


def test_the_days_bookings_show_full_phones_and_one_is_cancelled_with_a_reason(admin, server):
    tomorrow = office_now().date() + dt.timedelta(days=1)
    first, second = slots(server, "dat-dai", tomorrow)["slots"][:2]
    hoa = book(server, "dat-dai", first["start"], "0912 345 678", "Nguyễn Thị Hoa")
    tam = book(server, "dat-dai", second["start"], "+84 903 111 222", "Lê Văn Tám")
    assert hoa["phone"] == "09xx xxx 678"  # the public answer masks it; the admin's list has it whole

    open_section(admin, "Đặt lịch", "bookings")
    admin.get_by_role("button", name="Hôm nay").click()
    expect(admin.locator("#bookings-title")).to_contain_text(f"Lịch hẹn ngày {dmy(office_now().date())}")
    admin.get_by_role("button", name="Ngày mai").click()
    expect(admin.locator("#bookings-title")).to_contain_text(f"Lịch hẹn ngày {dmy(tomorrow)}")
    expect(admin.locator("#bookings-day")).to_have_value(dmy(tomorrow))
    row = admin.locator("table.bookings tbody tr", has_text=hoa["code"])
    for text in ("07:00–07:30", "Đất đai", "Nguyễn Thị Hoa", "0912 345 678", "Đã đặt"):
        expect(row).to_contain_text(text)
    expect(row.get_by_role("link", name="0912 345 678")).to_have_attribute("href", "tel:0912345678")
    expect(admin.locator("table.bookings tbody tr", has_text=tam["code"])).to_contain_text("0903 111 222")
    rows = admin.locator("table.bookings tbody tr")
    starts = [t[:5] for t in rows.locator("td:first-child").all_inner_texts()]
    assert starts == sorted(starts)  # by slot

    # the same day typed dd/mm/yyyy
    admin.get_by_role("button", name="Hôm nay").click()
    admin.locator("#bookings-day").fill(f"{tomorrow.day}/{tomorrow.month}/{tomorrow.year}")
    admin.get_by_role("button", name="Xem lịch hẹn").click()
    expect(admin.locator("#bookings-day")).to_have_value(dmy(tomorrow))
    expect(row).to_be_visible()

    # cancel for the citizen: the dialog names the booking and asks why; no reason, no cancel
    row.get_by_role("button", name="Huỷ lịch").click()
    dialog = admin.locator("#edit-dialog")
    expect(dialog.get_by_role("heading")).to_have_text(f"Huỷ lịch hẹn {hoa['code']}")
    expect(dialog.locator(".intro")).to_contain_text("07:00")
    expect(dialog.locator(".intro")).to_contain_text("Nguyễn Thị Hoa (số điện thoại 0912 345 678)")
    dialog.get_by_role("button", name="Huỷ lịch hẹn này").click()
    expect(dialog.locator(".error")).to_contain_text("Cần ghi lý do huỷ")
    assert api(server, "GET", f"/api/bookings/{hoa['token']}")["status"] == "booked"
    dialog.get_by_label("Lý do huỷ").fill("Cán bộ địa chính đi họp; xin hẹn lại ngày khác")
    dialog.get_by_role("button", name="Huỷ lịch hẹn này").click()
    expect(dialog).to_be_hidden()
    expect(admin.locator("#message")).to_have_text(
        f"Đã huỷ lịch hẹn {hoa['code']}. Hãy gọi báo cho công dân: 0912 345 678.")
    expect(row).to_contain_text("Đã huỷ")
    expect(row).to_contain_text("Lý do huỷ: Cán bộ địa chính đi họp; xin hẹn lại ngày khác")
    expect(row.get_by_role("button", name="Huỷ lịch")).to_have_count(0)
    assert api(server, "GET", f"/api/bookings/{hoa['token']}")["status"] == "cancelled"
    assert next(s for s in slots(server, "dat-dai", tomorrow)["slots"] if s["start"] == first["start"])["left"] == 2


def test_the_days_list_prints_alone_on_a4_portrait_under_the_office_and_the_day(admin, server):
    tomorrow = office_now().date() + dt.timedelta(days=1)
    open_section(admin, "Đặt lịch", "bookings")
    admin.get_by_role("button", name="Ngày mai").click()
    expect(admin.locator("table.bookings tbody tr").first).to_contain_text("–")

    # the button prints the page as it stands
    admin.evaluate("void (window.print = () => { window.printed = (window.printed || 0) + 1; })")
    admin.get_by_role("button", name="In danh sách").click()
    assert admin.evaluate("window.printed") == 1

    admin.emulate_media(media="print")
    try:
        expect(admin.locator(".print-head")).to_be_visible()
        expect(admin.locator("#bookings-office")).to_have_text(OFFICE_NAME)
        # the day, but not "Ngày mai": the paper is read on the day itself
        assert re.fullmatch(rf"Lịch hẹn ngày {dmy(tomorrow)}, (thứ \w+|chủ nhật)", admin.locator("#bookings-title").inner_text())
        expect(admin.locator("table.bookings")).to_be_visible()
        for hidden in (".sidebar", ".topbar", "#bookings-form", "#bookings-settings", ".booking-counts",
                       "table.bookings th:last-child", "table.bookings td:last-child"):
            for i in range(admin.locator(hidden).count()):
                expect(admin.locator(hidden).nth(i)).to_be_hidden()
        pdf = admin.pdf(prefer_css_page_size=True)
    finally:
        admin.emulate_media(media="screen")
    width, height = (float(x) for x in re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf).groups())
    assert abs(width - 595) < 2 and abs(height - 842) < 2  # A4 portrait, in points


def test_the_reports_count_bookings_and_the_wait_from_the_slots_start(admin, server):
    """A booking of today checked in and called (through the API); the report's section says what the API says."""
    start = open_hours_around_now(server, "ho-tich")
    slot = next(s for s in slots(server, "ho-tich", start.date())["slots"] if s["start"] == start.isoformat())
    booking = book(server, "ho-tich", slot["start"], "0977000111", "Đỗ Minh Châu")
    clerk = server.login("canbo1", "mat-khau-rat-dai-1")
    api(server, "POST", "/api/bookings/check-in", 201, json={"code": booking["code"]}, headers=clerk)
    api(server, "POST", "/api/counters/2/call-next", headers=clerk)  # counter 2 serves Hộ tịch too
    api(server, "POST", "/api/counters/2/finish", headers=clerk)
    summary = api(server, "GET", "/api/reports/summary?from={0}&to={0}".format(start.date()),
                  headers=server.admin_headers)["bookings"]
    ho_tich = next(f for f in summary["by_field"] if f["code"] == "ho-tich")
    assert ho_tich["checked_in"] >= 1

    open_section(admin, "Báo cáo", "reports")
    admin.locator("#report-form").get_by_role("button", name="Hôm nay").click()
    expect(admin.locator("#bookings-report")).to_have_text("Đặt lịch")
    row = admin.locator("table.bookings-by-field tbody tr", has_text="Hộ tịch")
    cells = row.locator("td")
    expect(cells.nth(1)).to_have_text(str(ho_tich["made"]))
    expect(cells.nth(2)).to_have_text(str(ho_tich["checked_in"]))
    expect(cells.nth(3)).to_have_text(str(ho_tich["missed"]))
    expect(cells.nth(4)).to_have_text(str(ho_tich["cancelled"]))
    mean = ho_tich["wait_from_slot_s"]["mean"] / 60
    expect(cells.nth(6)).to_have_text(f"{mean:.1f}".replace(".", ",") + "\u00a0phút")  # Vietnamese decimals
    total = admin.locator("table.bookings-by-field tr.total")
    expect(total).to_contain_text("Tổng cộng (Toàn cơ quan)")
    expect(total.locator("td").nth(1)).to_have_text(str(summary["totals"]["made"]))
