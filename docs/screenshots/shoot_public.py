"""Screenshots of the public surfaces (kiosk, board, rating tablet, ticket page) with a realistic morning,
at every screen size offices own (issue 7).

    .venv/bin/python docs/screenshots/shoot_public.py

Starts a real server in a temporary folder with a province centre's office (30 counters, 12 fields),
issues and calls tickets through the API, and photographs each page in Debian's Chromium:

- display-{4,12,30}-{1920x1080,1366x768}.png   the board for 4, 12 and 30 counters
- kiosk-{WxH}.png, kiosk-ticket-{WxH}.png       the kiosk and its ticket (with a priority badge)
- rating-{WxH}.png, rating-reasons-{WxH}.png    the rating tablet, landscape and upright
- ticket-360x740.png                            a ticket's page on a phone
- book-slot-360x740.png, book-code-360x740.png, booking-360x740.png
                                                booking on a phone: the slot choice, the code, the booking's page
- kiosk-checkin-{WxH}.png                       the kiosk's keyboard for a booking's code
- display-booked-{1920x1080,1366x768}.png       the board calling a booked ticket ("Đặt lịch")
- display.png, kiosk.png, kiosk-landscape.png, kiosk-ticket.png, rating.png, rating-reasons.png,
  ticket.png, book-slot.png, book-code.png, kiosk-checkin.png, display-booked.png
                                                the README's pictures (the main sizes)
"""
from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.browser.helpers import big_office, seed_with  # noqa: E402
from tests.live import LiveServer  # noqa: E402

OUT = Path(__file__).resolve().parent
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--autoplay-policy=no-user-gesture-required"]
BOARDS = [(1920, 1080), (1366, 768)]
KIOSKS = [(1080, 1920), (1280, 1024), (1366, 768), (768, 1024), (1920, 1080)]
TABLETS = [(1280, 800), (800, 1280)]
PHONE = (360, 740)


def post(server, path, headers, body=None):
    return requests.post(server.url + path, json=body or {}, headers=headers, timeout=5)


def morning(server) -> dict:
    """About ninety tickets, most of the 30 counters at work, one paused, a priority call, two announcements."""
    fields = [f["code"] for f in requests.get(server.url + "/api/fields", timeout=5).json()["fields"]]
    weights = [14, 11, 5, 4, 3, 6, 3, 6, 7, 2, 3, 4]
    issued: dict[str, list[dict]] = {}
    for field, count in zip(fields, weights, strict=True):
        for _ in range(count):
            issued.setdefault(field, []).append(server.issue(field))
    clerk = server.clerk_headers("canbo1")
    admin = server.login(*server.admin)
    for text in ["Bộ phận một cửa làm việc từ thứ Hai đến thứ Sáu, sáng 7:30–11:30, chiều 13:30–17:00.",
                 "Vui lòng chuẩn bị sẵn căn cước và giấy tờ liên quan trước khi đến quầy."]:
        post(server, "/api/admin/announcements", admin, {"text": text})
    for number in range(1, 31):
        if number in (5, 17, 26):
            continue
        post(server, f"/api/counters/{number}/call-next", clerk)
        time.sleep(0.02)
    post(server, "/api/counters/5/pause", clerk)
    # The elderly citizen who just arrived is called first at counter 2.
    elderly = server.issue("chung-thuc", priority="elderly")
    post(server, "/api/counters/2/call", clerk, {"code": elderly["code"]})
    issued["chung-thuc"].append(elderly)
    return issued


def book(server, start: str, phone: str, name: str = "") -> dict:
    r = requests.post(server.url + "/api/bookings", json={"field": "ho-tich", "start": start, "phone": phone,
                                                          "name": name}, timeout=5)
    assert r.status_code == 201, r.text
    return r.json()


def hours_around_now(slot_minutes: int) -> str:
    """A period with a slot under way now (and the next), so a booking can be checked in and called first."""
    now = dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).replace(second=0, microsecond=0)
    start = now - dt.timedelta(minutes=now.minute % slot_minutes)
    last = now.replace(hour=23, minute=59)
    while start + dt.timedelta(minutes=2 * slot_minutes) > last:
        start -= dt.timedelta(minutes=slot_minutes)
    return f"{start:%H:%M}-{min(start + dt.timedelta(hours=1), last):%H:%M}"


def booking_shots(server, context) -> None:
    """Booking on a phone (tomorrow, a few slots already taken), the kiosk's keyboard, a booked call on the board."""
    phones = (f"09{n:08d}" for n in range(10_000_000, 20_000_000))
    today = requests.get(server.url + "/api/booking/slots?field=ho-tich", timeout=5).json()["date"]
    tomorrow = (dt.date.fromisoformat(today) + dt.timedelta(days=1)).isoformat()
    starts = [s["start"] for s in requests.get(f"{server.url}/api/booking/slots?field=ho-tich&date={tomorrow}",
                                                timeout=5).json()["slots"]]
    for start, taken in zip(starts, [4, 3, 4, 1, 2, 0, 1], strict=False):  # the morning fills first
        for _ in range(taken):
            book(server, start, next(phones))

    phone = context.new_page()
    phone.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    phone.goto(server.url + "/book?field=ho-tich")
    phone.locator(f'.day[data-date="{tomorrow}"]').click()
    phone.wait_for_selector(".slot")
    phone.evaluate("document.fonts.ready")
    shoot(phone, f"book-slot-{PHONE[0]}x{PHONE[1]}.png")
    phone.locator(f'.slot[data-start="{starts[3]}"]').click()
    phone.fill("#phone", "0912 345 678")
    phone.fill("#name", "Nguyễn Thị Hoa")
    phone.locator("#submit").click()
    phone.wait_for_selector("#done-code:not(:empty)")
    phone.evaluate("(async () => { await document.getElementById('done-qr').decode(); })()")
    shoot(phone, f"book-code-{PHONE[0]}x{PHONE[1]}.png")
    phone.locator("#done-page").click()
    phone.wait_for_selector(".state.is-booked")
    phone.evaluate("(async () => { await document.getElementById('qr').decode(); })()")
    shoot(phone, f"booking-{PHONE[0]}x{PHONE[1]}.png")
    code = phone.locator("#code").text_content()
    shutil.copyfile(OUT / f"book-slot-{PHONE[0]}x{PHONE[1]}.png", OUT / "book-slot.png")
    shutil.copyfile(OUT / f"book-code-{PHONE[0]}x{PHONE[1]}.png", OUT / "book-code.png")

    kiosk = context.new_page()
    for width, height in KIOSKS[:4]:
        kiosk.set_viewport_size({"width": width, "height": height})
        kiosk.goto(server.url + "/kiosk")
        kiosk.wait_for_selector("#booked-open:not([hidden])")
        kiosk.locator("#booked-open").click()
        for c in code[:4]:  # a citizen halfway through the code
            kiosk.locator(f'#keypad .key[data-key="{c}"]').click()
        kiosk.evaluate("document.fonts.ready")
        shoot(kiosk, f"kiosk-checkin-{width}x{height}.png")
    shutil.copyfile(OUT / "kiosk-checkin-1080x1920.png", OUT / "kiosk-checkin.png")

    # A booking for the slot under way, checked in at the kiosk, called first at counter 1.
    admin = server.login(*server.admin)
    r = requests.patch(server.url + "/api/admin/fields/ho-tich", headers=admin, timeout=5, json={
        "hours": [hours_around_now(10)], "booking": {"slot_minutes": 10, "seats": 4, "days_ahead": 6}})
    assert r.status_code == 200, r.text
    now = requests.get(server.url + "/api/booking/slots?field=ho-tich", timeout=5).json()["slots"][0]
    made = book(server, now["start"], next(phones), "Lê Văn Tám")
    r = requests.post(server.url + "/api/bookings/check-in", json={"code": made["code"]}, timeout=5)
    assert r.status_code == 201, r.text
    board = context.new_page()
    for width, height in BOARDS:
        board.set_viewport_size({"width": width, "height": height})
        board.goto(f"{server.url}/display?voice=off&page_seconds=600&counters={','.join(map(str, range(1, 13)))}")
        board.wait_for_selector(".tile")
        if width == BOARDS[0][0]:
            board.wait_for_timeout(300)
            post(server, "/api/counters/1/call-next", server.login("canbo1", "mat-khau-rat-dai-1"))
            board.wait_for_selector("#hero-booked:not([hidden])")
            board.wait_for_timeout(4500)  # the flash is over
        board.evaluate("document.fonts.ready")
        shoot(board, f"display-booked-{width}x{height}.png")
    shutil.copyfile(OUT / "display-booked-1920x1080.png", OUT / "display-booked.png")


def shoot(page, name: str) -> None:
    page.wait_for_timeout(400)
    page.screenshot(path=OUT / name)


def main() -> None:
    with tempfile.TemporaryDirectory() as home, sync_playwright() as p:
        server = LiveServer(Path(home) / "office", env={"BOOKING_RATE_LIMIT": "0", "BOOKING_CHECKIN_AFTER": "60"})
        seed_with(Path(home), server, big_office(30))
        server.start()
        try:
            issued = morning(server)
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
            page = context.new_page()

            for counters in (4, 12, 30):
                only = ",".join(str(n) for n in range(1, counters + 1))
                for width, height in BOARDS:
                    page.set_viewport_size({"width": width, "height": height})
                    page.goto(f"{server.url}/display?voice=off&page_seconds=600&counters={only}")
                    page.wait_for_selector(".tile")
                    page.evaluate("document.fonts.ready")
                    shoot(page, f"display-{counters}-{width}x{height}.png")
            shutil.copyfile(OUT / "display-12-1920x1080.png", OUT / "display.png")

            for width, height in KIOSKS:
                page.set_viewport_size({"width": width, "height": height})
                page.goto(server.url + "/kiosk")
                page.wait_for_selector(".field")
                page.evaluate("document.fonts.ready")
                shoot(page, f"kiosk-{width}x{height}.png")
                page.locator('[data-priority="pregnant"]').click()
                page.locator('.field[data-field="ho-tich"]').click()
                page.wait_for_selector("#ticket-code:not(:empty)")
                page.wait_for_selector("#ticket-print:not([data-status=waiting])")
                shoot(page, f"kiosk-ticket-{width}x{height}.png")
            shutil.copyfile(OUT / "kiosk-1080x1920.png", OUT / "kiosk.png")
            shutil.copyfile(OUT / "kiosk-1920x1080.png", OUT / "kiosk-landscape.png")
            shutil.copyfile(OUT / "kiosk-ticket-1080x1920.png", OUT / "kiosk-ticket.png")
            for width, height in [(1920, 1080)]:
                (OUT / f"kiosk-{width}x{height}.png").unlink()  # not one of the sizes; kept as kiosk-landscape.png
                (OUT / f"kiosk-ticket-{width}x{height}.png").unlink()

            tablet = context.new_page()
            tablet.set_viewport_size({"width": 1280, "height": 800})
            tablet.goto(f"{server.url}/rating?pair={server.pairing_code('tablet', counter=1)}")
            tablet.wait_for_selector("#idle:not([hidden])")
            tablet.wait_for_timeout(300)
            post(server, "/api/counters/1/finish", server.clerk_headers("canbo2"))
            tablet.wait_for_selector("#rate:not([hidden])")
            for width, height in TABLETS:
                tablet.set_viewport_size({"width": width, "height": height})
                shoot(tablet, f"rating-{width}x{height}.png")
            tablet.locator('.level[data-score="1"]').click()
            tablet.locator('.reason[data-reason="waiting"]').click()
            for width, height in TABLETS:
                tablet.set_viewport_size({"width": width, "height": height})
                shoot(tablet, f"rating-reasons-{width}x{height}.png")
            shutil.copyfile(OUT / "rating-1280x800.png", OUT / "rating.png")
            shutil.copyfile(OUT / "rating-reasons-1280x800.png", OUT / "rating-reasons.png")

            phone = context.new_page()
            phone.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
            phone.goto(issued["ho-tich"][-1]["track_url"])
            phone.wait_for_selector("#status-title:not(:empty)")
            shoot(phone, f"ticket-{PHONE[0]}x{PHONE[1]}.png")
            shutil.copyfile(OUT / f"ticket-{PHONE[0]}x{PHONE[1]}.png", OUT / "ticket.png")

            booking_shots(server, context)
            browser.close()
        finally:
            server.stop()
    print("screenshots in", OUT)


if __name__ == "__main__":
    main()
