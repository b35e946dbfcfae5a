"""Online booking in a real Chromium against a real server (issue 11): a citizen books on a phone-sized
page, cancels from the booking's page, checks in at the kiosk by the on-screen keyboard or a barcode
scanner, and the booked ticket is called first and marked "Đặt lịch" on the board and its pages.

The server runs on the real clock, so the demo field `ho-tich` is given, through the admin API, hours
around the present minute (10-minute slots, the one under way listed first) and the check-in window
stays open an hour after a slot's start: the tests pass at any hour of the day. One server, one
browser page for the module, resized through the sizes.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import time
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Page, expect

from server.setup import demo_seed
from tests.conftest import build
from tests.live import LiveServer

from .helpers import Clerk, admin_headers

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SLOT_MINUTES = 10
SEATS = 8
DAYS_AHEAD = 6
PHONE = {"width": 360, "height": 740}
KIOSKS = {"1080x1920": (1080, 1920), "1280x1024": (1280, 1024), "1366x768": (1366, 768), "768x1024": (768, 1024)}
CODE = re.compile(r"^[A-HJ-NP-Z2-9]{6}$")
_phones = itertools.count(1)


def next_phone() -> str:
    """A new phone number each time (a phone holds at most two bookings a day)."""
    return f"09{next(_phones):08d}"


def hours_around_now() -> str:
    """A period of the day with the slot under way now and the next (never past 23:59: slots tile one day)."""
    now = dt.datetime.now(TZ).replace(second=0, microsecond=0)
    start = now - dt.timedelta(minutes=now.minute % SLOT_MINUTES)
    last = now.replace(hour=23, minute=59)
    while start + dt.timedelta(minutes=2 * SLOT_MINUTES) > last:  # two slots at least, the one under way first
        start -= dt.timedelta(minutes=SLOT_MINUTES)
    end = min(start + dt.timedelta(hours=1), last)
    return f"{start:%H:%M}-{end:%H:%M}"


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("booking") / "office",
                        env={"BOOKING_RATE_LIMIT": "0", "BOOKING_CHECKIN_AFTER": "60"}).start()
    try:
        r = requests.patch(server.url + "/api/admin/fields/ho-tich", headers=admin_headers(server), timeout=5, json={
            "hours": [hours_around_now()],
            "booking": {"slot_minutes": SLOT_MINUTES, "seats": SEATS, "days_ahead": DAYS_AHEAD}})
        assert r.status_code == 200, r.text
        server.clerk = Clerk(server)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def screen(browser):
    """One page for the module: the phone, the kiosk and the board in turn."""
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == []


# ----- the API, as other people and the clerk use it ------------------------------------------
def today(server) -> str:
    return slots(server)["date"]


def slots(server, day: str | None = None, field: str = "ho-tich") -> dict:
    query = f"field={field}" + (f"&date={day}" if day else "")
    r = requests.get(f"{server.url}/api/booking/slots?{query}", timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def day_after(server, n: int) -> str:
    return (dt.date.fromisoformat(today(server)) + dt.timedelta(days=n)).isoformat()


def book(server, start: str, field: str = "ho-tich", phone: str | None = None, expect_status: int = 201) -> dict:
    r = requests.post(server.url + "/api/bookings", timeout=5,
                      json={"field": field, "start": start, "phone": phone or next_phone(), "name": "Trần Văn Ba"})
    assert r.status_code == expect_status, r.text
    return r.json()


def booking(server, token: str) -> dict:
    r = requests.get(f"{server.url}/api/bookings/{token}", timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def check_in(server, code: str) -> dict:
    r = requests.post(server.url + "/api/bookings/check-in", json={"code": code}, timeout=5)
    assert r.status_code == 201, r.text
    return r.json()


def issued_today(server, field: str = "ho-tich") -> int:
    listed = requests.get(server.url + "/api/fields", timeout=5).json()["fields"]
    return next(f["issued_today"] for f in listed if f["code"] == field)


def now_slot(server) -> dict:
    """The slot under way (listed first today): its booked tickets are called before every walk-in."""
    return slots(server)["slots"][0]


def drain(server, counter: int = 1) -> None:
    """Call and finish everything waiting at the counter, so a test starts from an empty queue."""
    for _ in range(50):
        r = requests.post(f"{server.url}/api/counters/{counter}/call-next", headers=server.clerk.headers, timeout=5)
        if r.status_code == 404:
            break
        assert r.status_code == 200, r.text
    requests.post(f"{server.url}/api/counters/{counter}/finish", headers=server.clerk.headers, timeout=5)


def rects(page: Page, selector: str) -> list[dict]:
    return page.evaluate("""(selector) => [...document.querySelectorAll(selector)]
        .filter((e) => e.getClientRects().length > 0)
        .map((e) => { const r = e.getBoundingClientRect();
            return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height }; })""",
                         selector)


def inside(rect: dict, width: float, height: float) -> bool:
    return rect["left"] >= -0.5 and rect["top"] >= -0.5 and rect["right"] <= width + 0.5 and rect["bottom"] <= height + 0.5


def qr_width(page: Page, selector: str) -> int:
    return page.evaluate("async (selector) => { const img = document.querySelector(selector);"
                         " await img.decode(); return img.naturalWidth; }", selector)


def no_sideways_scroll(page: Page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= innerWidth + 1")


# ----- the pages' routes (no browser) -----------------------------------------------------------
def test_the_booking_pages_and_the_booking_qr(tmp_path, sqlite_url, clock):
    app = build(tmp_path, sqlite_url, clock)
    try:
        client = app.test_client()
        for path in ("/book", "/book/", "/o/default/book", "/b/khong-co-lich-hen-nay"):
            r = client.get(path)
            assert r.status_code == 200, path
            csp = r.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert b'id="step-field"' in client.get("/book").data
        assert client.get("/o/khong-co/book").status_code == 404
        assert client.get("/b/x").status_code == 404  # not a token
        made = client.post("/api/bookings", json={"field": "ho-tich", "start": "2026-11-25T09:00:00+07:00",
                                                  "phone": "0912345678", "name": ""}).get_json()
        qr = client.get(f"/b/{made['token']}/qr.svg")
        assert qr.status_code == 200 and qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
        assert client.get("/b/khong-co-lich-hen-nay/qr.svg").status_code == 404
        # A second office: the bare /book asks which one; an office's own /book does not.
        app.extensions["motcua"].admin.add_office({"slug": "phuong-hai", "name": "UBND phường Hai"})
        app.extensions["motcua"].engine.offices.forget()
        chooser = client.get("/book").get_data(as_text=True)
        assert 'href="/o/phuong-hai/book"' in chooser and 'href="/o/default/book"' in chooser
        assert 'id="step-field"' in client.get("/o/phuong-hai/book").get_data(as_text=True)
    finally:
        app.extensions["motcua"].storage.dispose()


# ----- booking on a phone ----------------------------------------------------------------------
def test_a_citizen_books_a_slot_on_a_phone(screen: Page, office):
    tomorrow = day_after(office, 1)
    full = slots(office, tomorrow)["slots"][0]
    for _ in range(SEATS):
        book(office, full["start"])
    first = now_slot(office)

    screen.set_viewport_size(PHONE)
    screen.goto(office.url + "/book")
    fields = screen.locator("#field-list .choice")
    expect(fields).to_have_count(2)  # only the fields that take bookings (ho-tich, dat-dai)
    expect(fields.nth(0)).to_contain_text("Hộ tịch")
    expect(fields.nth(1)).to_contain_text("Đất đai")
    fields.nth(0).click()

    days = screen.locator("#day-list .day")
    expect(days).to_have_count(DAYS_AHEAD + 1)  # today and the days ahead
    expect(days.nth(0)).to_contain_text("Hôm nay")
    expect(days.nth(1)).to_contain_text("Ngày mai")
    weekday = re.compile(r"(Thứ (Hai|Ba|Tư|Năm|Sáu|Bảy)|Chủ nhật)\s*\d\d/\d\d")
    for n in range(DAYS_AHEAD + 1):
        expect(days.nth(n)).to_contain_text(weekday)
        expect(days.nth(n)).to_contain_text("chỗ")

    # Tomorrow's first slot is taken: shown, but it cannot be chosen.
    days.nth(1).click()
    taken = screen.locator(f'.slot[data-start="{full["start"]}"]')
    expect(taken).to_be_disabled()
    expect(taken).to_contain_text("Hết chỗ")
    expect(screen.locator(".slot:not([disabled])").first).to_contain_text(f"Còn {SEATS} chỗ")
    screen.locator("#step-slot [data-back]").click()  # back to the days: today after all

    days.nth(0).click()
    slot = screen.locator(f'.slot[data-start="{first["start"]}"]')
    expect(slot).to_contain_text(f'{first["start"][11:16]} – {first["end"][11:16]}')
    expect(slot).to_contain_text(f'Còn {first["left"]} chỗ')
    slot.click()
    expect(screen.locator("#summary")).to_contain_text("Hộ tịch")
    expect(screen.locator("#summary")).to_contain_text(first["start"][11:16])
    screen.fill("#phone", "0987 654 321")
    screen.fill("#name", "Nguyễn Thị Hoa")
    assert no_sideways_scroll(screen)
    assert all(r["height"] >= 56 for r in rects(screen, "#submit, #phone, #name"))  # big targets
    screen.locator("#submit").click()

    expect(screen.locator("#done-code")).to_have_text(CODE)
    code = screen.locator("#done-code").text_content() or ""
    assert screen.evaluate("parseFloat(getComputedStyle(document.getElementById('done-code')).fontSize)") >= 48
    assert qr_width(screen, "#done-qr") > 100
    expect(screen.locator("#done-facts")).to_contain_text("Nguyễn Thị Hoa · 09xx xxx 321")  # the phone masked
    expect(screen.locator("#done-howto")).to_contain_text(code)
    assert no_sideways_scroll(screen)
    ics = requests.get(office.url + screen.locator("#done-ics").get_attribute("href"), timeout=5)
    assert ics.status_code == 200 and ics.headers["Content-Type"].startswith("text/calendar")
    assert f"mã {code}" in ics.text and "BEGIN:VEVENT" in ics.text
    assert now_slot(office)["left"] == first["left"] - 1

    # The booking's own page (the cancel link): booked, the same code.
    screen.locator("#done-page").click()
    expect(screen.locator("#state-title")).to_have_text("Đã đặt lịch hẹn")
    expect(screen.locator("#code")).to_have_text(code)
    token = screen.url.rsplit("/b/", 1)[1]
    assert booking(office, token)["status"] == "booked"
    # Back on /book, the booking made on this phone is one tap away.
    screen.goto(office.url + "/book")
    expect(screen.locator("#mine-list")).to_contain_text(code)


def test_a_lost_answer_is_sent_again_with_the_same_key_and_books_once(screen: Page, office):
    first = now_slot(office)
    screen.set_viewport_size(PHONE)
    screen.goto(office.url + "/book?field=ho-tich")  # a link straight to the field
    screen.locator("#day-list .day").first.click()
    screen.locator(f'.slot[data-start="{first["start"]}"]').click()
    screen.fill("#phone", next_phone())
    keys: list[str] = []

    def lose_the_first_answer(route):
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fetch()  # the server books…
            route.abort()  # …and the answer never reaches the phone
        else:
            route.continue_()

    screen.route("**/api/bookings", lose_the_first_answer)
    try:
        screen.locator("#submit").click()
        expect(screen.locator("#alert")).to_contain_text("Mất kết nối")
        expect(screen.locator("#submit")).to_have_text("Thử lại")
        screen.locator("#submit").click()
        expect(screen.locator("#done-code")).to_have_text(CODE)
    finally:
        screen.unroute("**/api/bookings")
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    assert now_slot(office)["left"] == first["left"] - 1  # one seat taken, not two


def test_errors_are_shown_as_the_api_words_them(screen: Page, office):
    day = day_after(office, 2)
    chosen = slots(office, day)["slots"][0]
    screen.set_viewport_size(PHONE)
    screen.goto(office.url + "/book?field=ho-tich")
    screen.locator(f'.day[data-date="{day}"]').click()
    screen.locator(f'.slot[data-start="{chosen["start"]}"]').click()

    screen.fill("#phone", "12345")
    screen.locator("#submit").click()
    wrong_phone = book(office, chosen["start"], phone="12345", expect_status=422)["error"]["message"]
    expect(screen.locator("#alert")).to_have_text(wrong_phone)
    expect(screen.locator("#step-contact")).to_be_visible()

    # Others take the last seats while this citizen types: the slot list again, the slot now full.
    for _ in range(SEATS):
        book(office, chosen["start"])
    full = book(office, chosen["start"], expect_status=409)["error"]["message"]
    screen.fill("#phone", next_phone())
    screen.locator("#submit").click()
    expect(screen.locator("#alert")).to_have_text(full)
    expect(screen.locator("#step-slot")).to_be_visible()
    expect(screen.locator(f'.slot[data-start="{chosen["start"]}"]')).to_be_disabled()


def test_a_citizen_cancels_from_the_booking_page(screen: Page, office):
    first = now_slot(office)
    made = book(office, first["start"])
    screen.set_viewport_size(PHONE)
    screen.goto(made["booking_url"])
    expect(screen.locator("#code")).to_have_text(made["code"])
    assert qr_width(screen, "#qr") > 100
    expect(screen.locator("#howto")).to_contain_text(made["checkin_from"][11:16])
    screen.locator("#cancel").click()
    expect(screen.locator("#confirm")).to_be_visible()
    screen.locator("#confirm-no").click()  # changed their mind: nothing happens
    expect(screen.locator("#confirm")).to_be_hidden()
    assert booking(office, made["token"])["status"] == "booked"

    screen.locator("#cancel").click()
    screen.locator("#confirm-yes").click()
    expect(screen.locator("#state-title")).to_have_text("Lịch hẹn đã huỷ")
    expect(screen.locator("#cancel")).to_be_hidden()
    expect(screen.locator("#book-again")).to_be_visible()
    assert booking(office, made["token"])["status"] == "cancelled"
    assert now_slot(office)["left"] == first["left"]  # the seat is free again
    assert no_sideways_scroll(screen)

    screen.goto(office.url + "/b/khong-co-lich-hen-nay")
    expect(screen.locator("#state-title")).to_have_text("Không tìm thấy lịch hẹn này.")
    expect(screen.locator("#actions")).to_be_hidden()


def test_fields_listed_with_their_booking_settings_need_no_asking_around(screen: Page, office):
    """When GET /api/fields carries each field's `booking` (as the admin's list does), the page takes
    the bookable fields and the days ahead from it, and asks no other field for slots."""
    asked: list[str] = []

    def with_settings(route):
        response = route.fetch()
        body = response.json()
        for field in body["fields"]:
            field["booking"] = {"slot_minutes": SLOT_MINUTES, "seats": SEATS, "days_ahead": 2} \
                if field["code"] == "ho-tich" else None
        route.fulfill(response=response, json=body)

    def note(request):
        if "/api/booking/slots" in request.url:
            asked.append(request.url)

    screen.route("**/api/fields", with_settings)
    screen.on("request", note)
    try:
        screen.set_viewport_size(PHONE)
        screen.goto(office.url + "/book")
        expect(screen.locator("#field-list .choice")).to_have_count(1)
        screen.locator("#field-list .choice").click()
        expect(screen.locator("#day-list .day")).to_have_count(3)  # today and the 2 days ahead it says
    finally:
        screen.unroute("**/api/fields")
        screen.remove_listener("request", note)
    assert asked and all("field=ho-tich" in url for url in asked)


# ----- checking in at the kiosk -----------------------------------------------------------------
def open_kiosk(page: Page, server, size) -> Page:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(server.url + "/kiosk")
    expect(page.locator("#booked-open")).to_be_visible()
    return page


def type_code(page: Page, code: str) -> None:
    for c in code:
        page.locator(f'#keypad .key[data-key="{c}"]').click()


def test_check_in_by_typing_the_code_on_the_kiosk(screen: Page, office):
    made = book(office, now_slot(office)["start"])
    kiosk = open_kiosk(screen, office, KIOSKS["1080x1920"])
    expect(kiosk.locator("#booked-open")).to_contain_text("Đã đặt lịch trước")
    kiosk.locator("#booked-open").click()
    expect(kiosk.locator("#keypad .key[data-key]")).to_have_count(32)  # the code's letters and digits

    wrong = "ABCDEF" if made["code"] != "ABCDEF" else "FEDCBA"
    type_code(kiosk, wrong)
    expect(kiosk.locator("#checkin-message")).to_contain_text(f"Không tìm thấy mã đặt lịch {wrong}")
    expect(kiosk.locator("#checkin-walkin")).to_be_hidden()  # a typo: the code can be corrected
    for _ in range(6):
        kiosk.locator("#key-delete").click()
    expect(kiosk.locator("#code-boxes")).to_have_attribute("data-code", "")

    type_code(kiosk, made["code"])
    expect(kiosk.locator("#ticket-code")).to_have_text(re.compile(r"^A\d{3}$"))
    expect(kiosk.locator("#ticket-booking")).to_have_text(f"Đặt lịch {made['start'][11:16]}")
    expect(kiosk.locator("#ticket-print")).to_have_text("Vui lòng nhận phiếu")
    assert qr_width(kiosk, "#ticket-qr") > 100
    assert booking(office, made["token"])["status"] == "checked_in"
    kiosk.locator("#ticket-done").click()
    expect(kiosk.locator("#start")).to_be_visible()


def test_too_early_says_when_to_come_back_and_offers_a_walk_in_ticket(screen: Page, office):
    later = book(office, slots(office, day_after(office, 3))["slots"][0]["start"])
    kiosk = open_kiosk(screen, office, KIOSKS["1366x768"])
    kiosk.locator("#booked-open").click()
    type_code(kiosk, later["code"])
    expect(kiosk.locator("#checkin-message")).to_contain_text("quay lại xác nhận từ")
    expect(kiosk.locator("#checkin-message")).to_contain_text("lấy số thường")
    kiosk.locator("#checkin-walkin").click()
    expect(kiosk.locator("#start")).to_be_visible()
    expect(kiosk.locator('.field[data-field="ho-tich"]')).to_be_visible()
    assert booking(office, later["token"])["status"] == "booked"


def test_a_barcode_scanner_typing_the_booking_address_checks_in(screen: Page, office):
    by_qr = book(office, now_slot(office)["start"])
    by_code = book(office, now_slot(office)["start"])
    kiosk = open_kiosk(screen, office, KIOSKS["1366x768"])
    before = issued_today(office)
    # A finger left a field's button focused: the scanner's Enter must not press it.
    kiosk.locator('.field[data-field="ho-tich"]').focus()
    kiosk.keyboard.type(by_qr["booking_url"])
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#ticket-booking")).to_have_text(f"Đặt lịch {by_qr['start'][11:16]}")
    assert booking(office, by_qr["token"])["status"] == "checked_in"
    assert issued_today(office) == before + 1  # the booking's ticket, and no walk-in ticket

    # The next citizen scans while that ticket is still on screen: a code (as a scanner of printed codes types it).
    shown = kiosk.locator("#ticket-code").text_content()
    kiosk.keyboard.type(by_code["code"].lower())
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#ticket-code")).not_to_have_text(shown or "")
    expect(kiosk.locator("#ticket-booking")).to_be_visible()
    assert booking(office, by_code["token"])["status"] == "checked_in"
    kiosk.locator("#ticket-done").click()


@pytest.mark.parametrize("size", list(KIOSKS), ids=list(KIOSKS))
def test_the_check_in_keyboard_fits_every_kiosk(screen: Page, office, size):
    width, height = KIOSKS[size]
    later = book(office, slots(office, day_after(office, 4))["slots"][0]["start"])
    kiosk = open_kiosk(screen, office, KIOSKS[size])
    kiosk.locator("#booked-open").click()
    type_code(kiosk, later["code"])  # too early: the longest message, with its button
    expect(kiosk.locator("#checkin-walkin")).to_be_visible()
    kiosk.evaluate("document.fonts.ready")
    keys = rects(kiosk, "#keypad .key")
    assert len(keys) == 34
    for key in keys:
        assert inside(key, width, height), f"a key is off the screen at {size}"
        assert key["height"] >= 60 and key["width"] >= 60, f"a key is too small at {size}: {key}"
    for selector in ("#code-boxes", "#checkin-notice", "#checkin-walkin", "#checkin-back"):
        [box] = rects(kiosk, selector)
        assert inside(box, width, height), f"{selector} is off the screen at {size}"
    assert kiosk.evaluate("document.scrollingElement.scrollHeight <= innerHeight + 1"
                          " && document.scrollingElement.scrollWidth <= innerWidth + 1")
    kiosk.locator("#checkin-back").click()
    expect(kiosk.locator("#start")).to_be_visible()


# ----- called first, and marked ------------------------------------------------------------------
def test_the_booking_page_follows_its_ticket_live(screen: Page, office):
    drain(office)
    check_in(office, book(office, now_slot(office)["start"])["code"])  # someone checked in before
    made = book(office, now_slot(office)["start"])
    ticket = check_in(office, made["code"])
    screen.set_viewport_size(PHONE)
    screen.goto(made["booking_url"])
    expect(screen.locator("#state-title")).to_have_text("Đã xác nhận lịch hẹn")
    expect(screen.locator("#ticket-code")).to_have_text(ticket["code"])
    expect(screen.locator("#ticket-mark")).to_have_text(f"Đặt lịch {made['start'][11:16]}")
    expect(screen.locator("#ticket-title")).to_have_text("Trước ông/bà còn 1 người")
    office.clerk.call_next(1)  # without a reload, from here on
    expect(screen.locator("#ticket-title")).to_have_text("Ông/bà là người tiếp theo")
    office.clerk.call_next(1)
    expect(screen.locator("#ticket-title")).to_have_text("Mời ông/bà đến quầy số 1")
    expect(screen.locator("#track")).to_have_attribute("href", f"/t/{ticket['token']}")
    office.clerk.finish(1)


def test_the_booked_ticket_is_called_first_and_marked_on_the_board(screen: Page, office):
    drain(office)
    walk_in = office.issue("ho-tich")
    elderly = office.issue("ho-tich", priority="elderly")
    made = book(office, now_slot(office)["start"])
    booked = check_in(office, made["code"])
    assert booked["booked_start"] == made["start"]

    screen.set_viewport_size({"width": 1920, "height": 1080})
    screen.goto(office.url + "/display?voice=off")
    expect(screen.locator('#counter-tiles .tile[data-counter="1"]')).to_be_visible()
    called = office.clerk.call_next(1)
    assert called["code"] == booked["code"]  # before the walk-ins, the priority one included
    expect(screen.locator("#hero-code")).to_have_text(booked["code"])
    expect(screen.locator("#hero-booked")).to_be_visible()
    expect(screen.locator("#hero-booked")).to_have_text("Đặt lịch")
    expect(screen.locator("#hero-priority")).to_be_hidden()
    tile = screen.locator('#counter-tiles .tile[data-counter="1"]')
    expect(tile.locator(".tile-flag.is-booked")).to_have_text("Đặt lịch")
    expect(screen.locator("#recent-list li").first.locator(".recent-flag")).to_have_text("Đặt lịch")
    assert "Trần Văn Ba" not in (screen.locator("body").text_content() or "")  # no personal data in the hall

    # Then the priority walk-in, then the other: no mark on them.
    assert office.clerk.call_next(1)["code"] == elderly["code"]
    expect(screen.locator("#hero-code")).to_have_text(elderly["code"])
    expect(screen.locator("#hero-booked")).to_be_hidden()
    expect(screen.locator("#hero-priority")).to_be_visible()
    expect(tile.locator(".tile-flag.is-booked")).to_have_count(0)
    assert office.clerk.call_next(1)["code"] == walk_in["code"]

    # The booked ticket's own page says it was booked, and for when.
    screen.set_viewport_size(PHONE)
    screen.goto(booked["track_url"])
    expect(screen.locator("#code")).to_have_text(booked["code"])
    expect(screen.locator("#booked")).to_have_text(f"Đặt lịch {made['start'][11:16]}")
    screen.goto(walk_in["track_url"])
    expect(screen.locator("#code")).to_have_text(walk_in["code"])
    expect(screen.locator("#booked")).to_be_hidden()


# ----- several offices: the bare /book asks which one (last: it adds an office) -----------------
def test_with_several_offices_the_bare_book_asks_which_office(screen: Page, office, tmp_path):
    seed = tmp_path / "seed.json"
    data = demo_seed()
    data["office"]["name"] = "UBND phường Hai"
    seed.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = office.cli("office", "add", "phuong-hai", "--name", "UBND phường Hai", "--seed", str(seed))
    assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 10  # the server looks its offices up again within seconds
    while 'id="office-list"' not in requests.get(office.url + "/book", timeout=5).text:
        assert time.monotonic() < deadline, "the bare /book never asked which office"
        time.sleep(0.2)
    screen.set_viewport_size(PHONE)
    screen.goto(office.url + "/book")
    offices = screen.locator("#office-list .choice")
    expect(offices).to_have_count(2)
    expect(offices.nth(1)).to_contain_text("UBND phường Hai")
    offices.nth(1).click()
    expect(screen).to_have_url(re.compile(r"/o/phuong-hai/book$"))
    expect(screen.locator(".book-office")).to_have_text("UBND phường Hai")
    expect(screen.locator("#field-list .choice").first).to_contain_text("Hộ tịch")
    assert no_sideways_scroll(screen)

    # Its booking's QR scanned at the other office's kiosk: told where to go, not "not found".
    r = requests.get(office.url + f"/o/phuong-hai/api/booking/slots?field=ho-tich&date={day_after(office, 1)}", timeout=5)
    elsewhere = requests.post(office.url + "/o/phuong-hai/api/bookings", timeout=5, json={
        "field": "ho-tich", "start": r.json()["slots"][0]["start"], "phone": next_phone(), "name": ""}).json()
    kiosk = open_kiosk(screen, office, KIOSKS["1366x768"])
    kiosk.keyboard.type(elsewhere["booking_url"])
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#notice")).to_contain_text("đặt tại UBND phường Hai")
    assert booking(office, elsewhere["token"])["status"] == "booked"
