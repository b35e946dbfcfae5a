"""Screenshots of the public surfaces (kiosk, board, rating tablet, ticket page) with a realistic morning.

    .venv/bin/python docs/screenshots/shoot_public.py

Starts a real server in a temporary folder, issues and calls tickets through the
API, and photographs each page in Debian's Chromium at its target size.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.live import LiveServer  # noqa: E402

OUT = Path(__file__).resolve().parent
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--autoplay-policy=no-user-gesture-required"]


def post(server, path, headers, body=None):
    r = requests.post(server.url + path, json=body or {}, headers=headers, timeout=5)
    r.raise_for_status()
    return r.json()


def morning(server) -> dict:
    """About forty tickets issued, five counters at work, two announcements."""
    plan = {"ho-tich": 14, "chung-thuc": 11, "bao-tro-xa-hoi": 4, "nguoi-co-cong": 3, "kinh-doanh": 5,
            "xay-dung": 3, "tra-ket-qua": 6}
    issued = {}
    for field, count in plan.items():
        for i in range(count):
            priority = "elderly" if (field == "chung-thuc" and i == 6) else None
            issued.setdefault(field, []).append(server.issue(field, priority=priority))
    clerk = server.clerk_headers("canbo1")
    admin = server.login(*server.admin)
    for text in ["Bộ phận một cửa làm việc từ thứ Hai đến thứ Sáu, sáng 7:30–11:30, chiều 13:30–17:00.",
                 "Vui lòng chuẩn bị sẵn căn cước và giấy tờ liên quan trước khi đến quầy."]:
        post(server, "/api/admin/announcements", admin, {"text": text})
    for counter, calls in [(1, 5), (2, 4), (4, 2), (5, 3), (3, 1)]:
        for _ in range(calls):
            try:
                post(server, f"/api/counters/{counter}/call-next", clerk)
            except requests.HTTPError:
                break
            time.sleep(0.05)
    post(server, "/api/counters/2/call-next", clerk)  # the elderly citizen jumps the line at counter 2
    return issued


def main() -> None:
    with tempfile.TemporaryDirectory() as home, sync_playwright() as p:
        server = LiveServer(Path(home)).start()
        try:
            issued = morning(server)
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
            page = context.new_page()

            page.set_viewport_size({"width": 1920, "height": 1080})
            page.goto(server.url + "/display?voice=off")
            page.wait_for_selector(".tile")
            page.wait_for_timeout(1500)
            page.screenshot(path=OUT / "display.png")

            for name, size in [("kiosk.png", (1080, 1920)), ("kiosk-landscape.png", (1920, 1080))]:
                page.set_viewport_size({"width": size[0], "height": size[1]})
                page.goto(server.url + "/kiosk")
                page.wait_for_selector(".field")
                page.wait_for_timeout(500)
                page.screenshot(path=OUT / name)
            page.set_viewport_size({"width": 1080, "height": 1920})
            page.locator('[data-priority="pregnant"]').click()
            page.locator('.field[data-field="ho-tich"]').click()
            page.wait_for_selector("#ticket-code:not(:empty)")
            page.wait_for_timeout(500)
            page.screenshot(path=OUT / "kiosk-ticket.png")

            tablet = context.new_page()
            tablet.set_viewport_size({"width": 1280, "height": 800})
            tablet.goto(f"{server.url}/rating?pair={server.pairing_code('tablet', counter=1)}")
            tablet.wait_for_selector("#idle:not([hidden])")
            tablet.wait_for_timeout(300)
            post(server, "/api/counters/1/finish", server.clerk_headers("canbo2"))
            tablet.wait_for_selector("#rate:not([hidden])")
            tablet.wait_for_timeout(300)
            tablet.screenshot(path=OUT / "rating.png")
            tablet.locator('.level[data-score="1"]').click()
            tablet.locator('.reason[data-reason="waiting"]').click()
            tablet.wait_for_timeout(200)
            tablet.screenshot(path=OUT / "rating-reasons.png")

            phone = context.new_page()
            phone.set_viewport_size({"width": 390, "height": 844})
            phone.goto(issued["ho-tich"][9]["track_url"])
            phone.wait_for_selector("#status-title:not(:empty)")
            phone.wait_for_timeout(500)
            phone.screenshot(path=OUT / "ticket.png")
            browser.close()
        finally:
            server.stop()
    print("screenshots in", OUT)


if __name__ == "__main__":
    main()
