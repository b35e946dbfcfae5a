"""Screenshots of the staff surfaces: the counter console and the admin (overview and reports).

Starts a real server (tests/live.py) with a realistic morning of tickets, calls, no-shows and
ratings, then drives Debian's Chromium with Playwright. Run from the repository root:
    .venv/bin/python docs/screenshots/shoot_staff.py              # everything
    .venv/bin/python docs/screenshots/shoot_staff.py --only counter   # the console only
    .venv/bin/python docs/screenshots/shoot_staff.py --only admin     # the admin only

The console at the sizes clerks' PCs have: counter-1366x768.png, counter-1280x720.png (a citizen who
booked online in service, marked "Đặt lịch", another waiting), counter-checkin-1280x720.png (checking a
booking in by its code), counter-paused-1280x720.png, counter-transfer-1280x720.png (and counter.png, the
README's). The admin: admin.png (overview), reports.png, admin-fields.png, admin-bookings.png (today's
bookings by slot), admin-bookings-print.png (the same list as it prints on A4),
admin-field-booking.png (a field's booking settings) and reports-bookings.png (the reports' bookings).

Bookings are made on the server's real clock: Hộ tịch's hours are set for a while to a window around the
current time (so slots exist now, whatever the hour), citizens book and are checked in at the counter,
then its hours and settings are put back as the demo office has them.

A province of 17 offices, each with its morning so far (`--only province`): the province's wall on
the TVs it is made for, province-1920x1080.png (the README's province.png) and province-1366x768.png,
and the province's admin: admin-offices.png (every office, the office switcher) and
reports-all-offices.png (one report of every office).
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import random
import shutil
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

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
    kiosk = requests.Session()  # the hall's kiosk, paired as an office pairs it
    kiosk.post(server.url + "/api/devices/pair", json={"code": server.pairing_code("kiosk")}, timeout=5)
    tokens = {}  # the citizens keep their papers: staff answers carry no token
    for n in range(46):
        body = {"field": rng.choice(FIELDS), "priority": rng.choice(PRIORITIES)}
        if n in (43, 45):  # two taken from a PC on the LAN: the admin sees them
            ticket = server.issue(**body)
        else:
            ticket = kiosk.post(server.url + "/api/tickets", json=body, timeout=5).json()
        tokens[ticket["code"]] = ticket["token"]
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
                post(server, "/api/ratings", token=tokens[called.json()["code"]], score=score,
                     reasons=["waiting"] if score == 1 else [])
    for number in (1, 2, 4):  # the morning goes on: someone at each of these counters
        post(server, f"/api/counters/{number}/call-next", clerks[number])
    admin = server.login(*server.admin)
    post(server, "/api/admin/announcements", admin, text="Giờ làm việc: sáng 7:30–11:30, chiều 13:30–17:00 (thứ Hai đến thứ Sáu)")
    post(server, "/api/admin/announcements", admin, text="Nộp hồ sơ trực tuyến tại Cổng Dịch vụ công quốc gia: dichvucong.gov.vn")


BOOKERS = [("Nguyễn Thị Hoa", "0912345678"), ("Trần Minh Quân", "0983120456"), ("Lê Thị Thu", "0905777321"),
           ("Phạm Văn Dũng", "0868001234"), ("Hoàng Thị Lan", "0936555018"), ("Vũ Đức Anh", "0977246810"),
           ("Đặng Thị Mai", "0944112233")]


def bookings_today(server) -> bool:
    """Citizens who booked Hộ tịch online today: three checked in at counter 1 (one of them now in service),
    two still to come, one cancelled by the office, one for tomorrow. Needs the console's clerk logged in."""
    admin = server.login(*server.admin)
    fields = requests.get(server.url + "/api/admin/fields", headers=admin, timeout=5).json()["fields"]
    original = next(f for f in fields if f["code"] == "ho-tich")
    now = datetime.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))  # the demo office's time zone
    # Slots k = 0, 1, … from `first`, the slot under way; the day's last slot ends by 23:59.
    for minutes in (15, 10, 5):
        step = datetime.timedelta(minutes=minutes)
        first = now.replace(minute=now.minute - now.minute % minutes, second=0, microsecond=0)
        end = min(first + 8 * step, now.replace(hour=23, minute=59, second=0, microsecond=0))
        if first + 4 * step <= end:
            break
    else:
        print("bookings: too near midnight for a window of slots; the pictures show none")
        return False
    requests.patch(server.url + "/api/admin/fields/ho-tich", headers=admin, timeout=5, json={
        "hours": [f"{first:%H:%M}-{end:%H:%M}"], "booking": {"slot_minutes": minutes, "seats": 3, "days_ahead": 6}})
    slot = lambda k: (first + k * step).isoformat()  # noqa: E731
    made = []
    for k, (name, phone) in zip([0, 0, 1, 2, 2, 3], BOOKERS):
        r = post(server, "/api/bookings", field="ho-tich", start=slot(k), phone=phone, name=name)
        assert r.status_code == 201, r.text
        made.append(r.json())
    clerk = server.login("nguyenvanan", "mat-khau-rat-dai-1")
    for booking in made[:3]:  # the slot under way and the next: they came in
        r = post(server, "/api/bookings/check-in", clerk, code=booking["code"])
        assert r.status_code == 201, r.text
    post(server, f"/api/admin/bookings/{made[5]['code']}/cancel", admin,
         reason="Công dân gọi điện xin dời lịch sang tuần sau")
    # counter 1 finishes whom it serves and calls next: the first booked citizen, whose slot has started
    post(server, "/api/counters/1/finish", clerk)
    post(server, "/api/counters/1/call-next", clerk)
    requests.patch(server.url + "/api/admin/fields/ho-tich", headers=admin, timeout=5,
                   json={"hours": original["hours"], "booking": original["booking"]})
    tomorrow = (now + datetime.timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    post(server, "/api/bookings", field="ho-tich", start=tomorrow.isoformat(), phone=BOOKERS[6][1], name=BOOKERS[6][0])
    return True


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
    # A citizen who booked online hands the clerk a code: D, type it, Enter issues and prints the ticket.
    page.keyboard.press("d")
    page.locator("#checkin-dialog").wait_for()
    page.keyboard.type("k7m2qx")
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "counter-checkin-1280x720.png"))
    page.keyboard.press("Escape")
    page.locator("#checkin-dialog").wait_for(state="hidden")
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


# ----- a province: its wall and its admin ---------------------------------------------
MORE_WARDS = [("phuong-cua-nam", "UBND phường Cửa Nam"), ("phuong-ngoc-ha", "UBND phường Ngọc Hà"),
              ("phuong-giang-vo", "UBND phường Giảng Võ"), ("phuong-hai-ba-trung", "UBND phường Hai Bà Trưng"),
              ("phuong-dong-da", "UBND phường Đống Đa"), ("phuong-van-mieu", "UBND phường Văn Miếu – Quốc Tử Giám"),
              ("xa-dong-anh", "UBND xã Đông Anh"), ("phuong-hoang-mai", "UBND phường Hoàng Mai"),
              ("xa-gia-lam", "UBND xã Gia Lâm"), ("phuong-tay-ho", "UBND phường Tây Hồ")]
PROVINCE_USER = ("vanphong.tinh", "mat-khau-rat-dai-1")


def a_province_today(server, slugs: list[str]) -> None:
    """Every office's morning so far, through the queue engine with a clock that runs up to now (as
    `motcua demo-day` does for a past day): citizens arrive, some offices have fewer counters staffed
    than their hall needs, so waits differ from one hall to the next."""
    from server.config import Config
    from server.engine import QueueEngine, QueueError
    from server.storage import Storage

    config = Config.from_env(env={}, folder=server.home)
    tz = config.tz
    now = datetime.datetime.now(tz).replace(microsecond=0)
    start = max(now - datetime.timedelta(minutes=150), now.replace(hour=0, minute=5, second=0))
    storage = Storage(config.database_url, synchronous="NORMAL")
    for n, slug in enumerate(slugs):
        rng = random.Random(11 + n)
        clock = {"now": start}
        engine = QueueEngine(storage, tz, clock=lambda: clock["now"])
        office = engine.offices.by_slug(slug).id
        staffed = list(range(1, rng.choice([2, 3, 3, 4, 4, 5]) + 1))
        # citizens come for what the staffed counters serve (nobody waits for a counter nobody works)
        fields = sorted({code for c in engine.state(office=office)["counters"] if c["number"] in staffed
                         for code in c["fields"]})
        load = rng.choice([0.45, 0.55, 0.65, 0.75, 0.85, 1.05, 1.25])  # arrivals / what the staffed counters serve
        per_minute = load * len(staffed) / 7
        busy, current, tokens = {c: start for c in staffed}, {c: None for c in staffed}, {}
        while clock["now"] < now:
            for _ in range(_poisson(rng, per_minute)):
                priority = rng.choice(["elderly", "disabled", "pregnant"]) if rng.random() < 0.08 else None
                try:
                    ticket = engine.issue_ticket(rng.choices(fields, [5 if f in ("ho-tich", "chung-thuc") else 1
                                                                      for f in fields])[0], priority, office=office)
                    tokens[ticket["code"]] = ticket["token"]
                except QueueError:
                    pass  # a field outside its hours
            for number in staffed:
                if busy[number] > clock["now"]:
                    continue
                if current[number]:
                    done = engine.finish(number, office=office)
                    if rng.random() < 0.6:
                        engine.rate(tokens[done["code"]], rng.choices([3, 2, 1], [72, 22, 6])[0], source="phone")
                try:
                    called = engine.call_next(number, office=office)
                except QueueError:
                    current[number] = None
                    busy[number] = clock["now"] + datetime.timedelta(minutes=1)
                    continue
                if rng.random() < 0.05:
                    engine.no_show(number, office=office)
                    current[number] = None
                    busy[number] = clock["now"] + datetime.timedelta(minutes=1)
                    continue
                current[number] = called["code"]
                busy[number] = clock["now"] + datetime.timedelta(minutes=rng.uniform(3, 11))
            clock["now"] += datetime.timedelta(minutes=1)
        for number in range(len(staffed) + 1, 6):  # nobody at the other counters today
            engine.set_counter_state(number, "closed", office=office)
    storage.dispose()


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


def shoot_province() -> None:
    with tempfile.TemporaryDirectory() as home:
        server = LiveServer(Path(home))
        yesterday = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
        result = server.cli("demo-day", "--offices", "6", "--date", yesterday, "--visitors", "120")
        assert result.returncode == 0, result.stderr
        seed = Path(home) / "seed.json"
        from server.setup import demo_seed

        seed.write_text(json.dumps(demo_seed(), ensure_ascii=False), encoding="utf-8")
        for slug, name in MORE_WARDS:
            result = server.cli("office", "add", slug, "--name", name, "--seed", str(seed))
            assert result.returncode == 0, result.stderr
        slugs = [line.split("\t")[0] for line in server.cli("office", "list").stdout.splitlines()]
        a_province_today(server, slugs)
        server.add_user(*PROVINCE_USER[:1], role="province", password=PROVINCE_USER[1])
        server.start()
        try:
            headers = server.login(*PROVINCE_USER)
            requests.patch(server.url + "/api/admin/offices/default", headers=headers, timeout=5,
                           json={"name": "Trung tâm Phục vụ hành chính công thành phố – Chi nhánh số 1"})
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                            args=["--headless=new", "--no-sandbox", "--disable-gpu"])
                context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN",
                                              timezone_id="Asia/Ho_Chi_Minh")
                page = context.new_page()
                log_in(page, server.url + "/province/?page_seconds=600", *PROVINCE_USER)
                page.locator("#offices .office").first.wait_for()
                page.mouse.move(5, 5)  # nobody points at the TV: no row's report link is shown
                page.wait_for_timeout(2000)  # fonts in, the rows measured, the first update's glow gone
                for width, height in [(1920, 1080), (1366, 768)]:
                    page.set_viewport_size({"width": width, "height": height})
                    page.wait_for_timeout(500)
                    page.screenshot(path=str(OUT / f"province-{width}x{height}.png"))
                shutil.copyfile(OUT / "province-1920x1080.png", OUT / "province.png")

                page.set_viewport_size({"width": 1366, "height": 768})
                page.goto(server.url + "/o/phuong-ba-dinh/admin/#offices")
                page.locator("#offices-body table").wait_for()
                page.locator("#office-switcher").wait_for()
                page.wait_for_timeout(300)
                page.screenshot(path=str(OUT / "admin-offices.png"))
                page.set_viewport_size({"width": 1920, "height": 1080})
                page.goto(server.url + "/o/phuong-ba-dinh/admin/#reports")
                page.get_by_label("Phạm vi").select_option("all")
                page.locator("table.by-office").wait_for()
                page.get_by_role("button", name="7 ngày qua").click()
                page.wait_for_timeout(800)
                page.screenshot(path=str(OUT / "reports-all-offices.png"))
                browser.close()
        finally:
            server.stop()


def shoot_bookings(page, booked: bool) -> None:
    """The admin's bookings on an office PC's screen: a field's settings, today's list, the list on paper."""
    page.set_viewport_size({"width": 1366, "height": 768})
    page.locator("#fields-body tr", has_text="Hộ tịch").get_by_role("button", name="Sửa").click()
    page.locator("#edit-dialog .booking-settings").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "admin-field-booking.png"))
    page.keyboard.press("Escape")
    page.locator(".sidebar").get_by_role("link", name="Đặt lịch").click()
    page.get_by_role("button", name="Hôm nay").click()
    page.locator("table.bookings").wait_for()
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "admin-bookings.png"))
    # as it prints: A4's printable width (190 mm at 96 dpi), the office and the day on top, the table alone
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 718, "height": 1015})
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "admin-bookings-print.png"))
    page.emulate_media(media="screen")
    # the reports' section of today's bookings: made, checked in, cancelled, the wait from the slot's start
    page.set_viewport_size({"width": 1366, "height": 768})
    if not booked:
        return
    page.locator(".sidebar").get_by_role("link", name="Báo cáo").click()
    page.locator("#report-form").get_by_role("button", name="Hôm nay").click()
    page.locator(".bookings-report table").wait_for()
    page.wait_for_timeout(300)
    page.locator(".bookings-report").screenshot(path=str(OUT / "reports-bookings.png"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["counter", "admin", "province"], help="shoot one surface only")
    only = parser.parse_args().only
    if only in (None, "province"):
        shoot_province()
        if only == "province":
            print("saved:", ", ".join(sorted(p.name for p in OUT.glob("province*.png"))))
            return
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
            booked = bookings_today(server)
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
                shoot_bookings(page, booked)
                browser.close()
        finally:
            server.stop()
    print("saved:", ", ".join(sorted(p.name for p in OUT.glob("*.png"))))


if __name__ == "__main__":
    main()
