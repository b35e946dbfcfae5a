"""Screenshots of the staff surfaces: the counter console and the admin (overview and reports).

Starts a real server (tests/live.py) with a realistic morning of tickets, calls, no-shows and
ratings, then drives Debian's Chromium with Playwright. Run from the repository root:
    .venv/bin/python docs/screenshots/shoot_staff.py              # everything
    .venv/bin/python docs/screenshots/shoot_staff.py --only counter   # the console only
    .venv/bin/python docs/screenshots/shoot_staff.py --only admin     # the admin only

The console at the sizes clerks' PCs have: counter-1366x768.png, counter-1280x720.png,
counter-paused-1280x720.png, counter-transfer-1280x720.png (and counter.png, the README's).
"""
from __future__ import annotations

import argparse
import datetime
import random
import shutil
import sys
import tempfile
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.live import LiveServer  # noqa: E402

OUT = Path(__file__).resolve().parent
FIELDS = ["ho-tich", "ho-tich", "ho-tich", "chung-thuc", "chung-thuc", "bao-tro-xa-hoi", "nguoi-co-cong", "kinh-doanh"]
PRIORITIES = [None] * 8 + ["elderly", "disabled", "pregnant"]


def post(server, path, headers=None, **body):
    return requests.post(server.url + path, json=body, headers=headers, timeout=5)


def a_busy_morning(server) -> None:
    rng = random.Random(7)
    clerks = {1: server.login(*server.add_user("nguyenvanan")), 2: server.login(*server.add_user("tranthibinh")),
              4: server.login(*server.add_user("lethicuc")), 5: server.login(*server.add_user("phamvandung"))}
    for _ in range(46):
        server.issue(rng.choice(FIELDS), priority=rng.choice(PRIORITIES))
    for _ in range(7):  # each counter serves a few
        for number, headers in clerks.items():
            called = post(server, f"/api/counters/{number}/call-next", headers)
            if called.status_code != 200:
                continue
            if rng.random() < 0.12:
                post(server, f"/api/counters/{number}/no-show", headers)
                continue
            post(server, f"/api/counters/{number}/finish", headers)
            if rng.random() < 0.8:
                score = rng.choice([3, 3, 3, 2, 2, 1])
                post(server, "/api/ratings", token=called.json()["token"], score=score,
                     reasons=["waiting"] if score == 1 else [])
    for number in (1, 2, 4):  # the morning goes on: someone at each of these counters
        post(server, f"/api/counters/{number}/call-next", clerks[number])
    admin = server.login(*server.admin)
    post(server, "/api/admin/announcements", admin, text="Giờ làm việc: sáng 7:30–11:30, chiều 13:30–17:00 (thứ Hai đến thứ Sáu)")
    post(server, "/api/admin/announcements", admin, text="Nộp hồ sơ trực tuyến tại Cổng Dịch vụ công quốc gia: dichvucong.gov.vn")


def log_in(page, url, username, password):
    page.goto(url)
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def shoot_console(browser, server) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    log_in(page, server.url + "/counter/", "nguyenvanan", "mat-khau-rat-dai-1")
    page.get_by_role("button", name="Quầy 1").click()
    page.locator("#current-code").wait_for()
    page.wait_for_timeout(2500)  # let the timer run a little
    for width, height in [(1366, 768), (1280, 720)]:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        page.screenshot(path=str(OUT / f"counter-{width}x{height}.png"))
    shutil.copyfile(OUT / "counter-1366x768.png", OUT / "counter.png")
    page.keyboard.press("t")
    page.locator("#transfer-dialog").wait_for()
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "counter-transfer-1280x720.png"))
    page.keyboard.press("Escape")
    # Counter 2's clerk takes a break: finish, pause, and Space says how to resume.
    page.get_by_role("button", name="Đổi quầy").click()
    page.get_by_role("button", name="Quầy 2").click()
    page.locator("#current-code").wait_for()
    page.wait_for_timeout(500)
    page.keyboard.press("h")
    page.wait_for_timeout(500)
    page.keyboard.press("p")
    page.locator("#counter-state.paused").wait_for()
    page.keyboard.press(" ")
    page.wait_for_timeout(400)
    page.screenshot(path=str(OUT / "counter-paused-1280x720.png"))
    context.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["counter", "admin"], help="shoot one surface only")
    only = parser.parse_args().only
    with tempfile.TemporaryDirectory() as home:
        server = LiveServer(Path(home))
        today = datetime.date.today()
        for days_ago in (3, 2, 1) if only != "counter" else ():  # realistic mornings for the reports
            day = today - datetime.timedelta(days=days_ago)
            result = server.cli("demo-day", "--date", day.isoformat(), "--visitors", str(120 + 30 * days_ago))
            assert result.returncode == 0, result.stderr
        server.start()
        try:
            a_busy_morning(server)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                            args=["--headless=new", "--no-sandbox", "--disable-gpu"])
                if only != "admin":
                    shoot_console(browser, server)
                if only == "counter":
                    browser.close()
                    return

                context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN",
                                              timezone_id="Asia/Ho_Chi_Minh")
                page = context.new_page()
                log_in(page, server.url + "/admin/", *server.admin)
                page.get_by_role("heading", name="Tổng quan hôm nay").wait_for()
                page.locator("#overview-body table").first.wait_for()
                page.screenshot(path=str(OUT / "admin.png"))
                page.locator(".sidebar").get_by_role("link", name="Báo cáo").click()
                page.locator("figure.chart").first.wait_for()
                page.wait_for_timeout(300)
                page.screenshot(path=str(OUT / "reports.png"))
                page.locator(".sidebar").get_by_role("link", name="Lĩnh vực").click()
                page.locator("#fields-body table").wait_for()
                page.screenshot(path=str(OUT / "admin-fields.png"))
                browser.close()
        finally:
            server.stop()
    print("saved:", ", ".join(sorted(p.name for p in OUT.glob("*.png"))))


if __name__ == "__main__":
    main()
