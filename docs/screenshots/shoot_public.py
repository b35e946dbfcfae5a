"""Screenshots of the public surfaces (kiosk, board, rating tablet, ticket page) with a realistic morning,
at every screen size offices own (issue 7).

    .venv/bin/python docs/screenshots/shoot_public.py

Starts a real server in a temporary folder with a province centre's office (30 counters, 12 fields),
issues and calls tickets through the API, and photographs each page in Debian's Chromium:

- display-{4,12,30}-{1920x1080,1366x768}.png   the board for 4, 12 and 30 counters
- kiosk-{WxH}.png, kiosk-ticket-{WxH}.png       the kiosk and its ticket (with a priority badge)
- rating-{WxH}.png, rating-reasons-{WxH}.png    the rating tablet, landscape and upright
- ticket-360x740.png                            a ticket's page on a phone
- display.png, kiosk.png, kiosk-landscape.png, kiosk-ticket.png, rating.png, rating-reasons.png,
  ticket.png                                    the README's pictures (the main sizes)
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

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


def shoot(page, name: str) -> None:
    page.wait_for_timeout(400)
    page.screenshot(path=OUT / name)


def main() -> None:
    with tempfile.TemporaryDirectory() as home, sync_playwright() as p:
        server = LiveServer(Path(home) / "office")
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
            browser.close()
        finally:
            server.stop()
    print("screenshots in", OUT)


if __name__ == "__main__":
    main()
