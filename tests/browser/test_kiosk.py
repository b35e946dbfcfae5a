"""The kiosk in a real Chromium against a real server: a tap makes one ticket, shown with its QR."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Page, expect

from .helpers import admin_headers, seed_with

PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}


def fields(server) -> dict:
    return {f["code"]: f for f in requests.get(server.url + "/api/fields", timeout=5).json()["fields"]}


def open_kiosk(page: Page, server, viewport=PORTRAIT) -> Page:
    page.set_viewport_size(viewport)
    page.goto(server.url + "/kiosk")
    expect(page.locator(".field").first).to_be_visible()
    return page


@pytest.mark.parametrize("viewport", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_tapping_a_field_shows_the_ticket_with_its_qr(page: Page, live_server, viewport):
    live_server.issue("ho-tich")  # someone is already waiting
    kiosk = open_kiosk(page, live_server, viewport)
    button = kiosk.locator('.field[data-field="ho-tich"]')
    expect(button).to_contain_text("Hộ tịch")
    expect(button).to_contain_text("Khai sinh, kết hôn")
    expect(button).to_contain_text("Đang chờ: 1 người")
    button.click()

    expect(kiosk.locator("#ticket-code")).to_have_text("A002")
    expect(kiosk.locator("#ticket-field")).to_have_text("Hộ tịch")
    expect(kiosk.locator("#ticket-ahead")).to_have_text("1 người")
    expect(kiosk.locator("#ticket-wait")).to_contain_text("phút")
    expect(kiosk.locator("#ticket-print")).to_have_text("Vui lòng nhận phiếu")
    qr = kiosk.locator("#ticket-qr")
    expect(qr).to_have_attribute("src", re.compile(r"^/qr/[\w-]+\.svg$"))
    assert kiosk.evaluate("(async () => { const img = document.getElementById('ticket-qr');"
                          " await img.decode(); return img.naturalWidth; })()") > 100
    assert fields(live_server)["ho-tich"]["waiting"] == 2
    # Body text is large enough for the elderly.
    assert kiosk.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 24

    kiosk.locator("#ticket-done").click()
    expect(kiosk.locator('.field[data-field="ho-tich"]')).to_contain_text("Đang chờ: 2 người")


def test_the_kiosk_goes_back_to_the_start_by_itself(page: Page, live_server):
    page.set_viewport_size(PORTRAIT)
    page.goto(live_server.url + "/kiosk?ticket_seconds=3")  # the ticket stays 20 s unless set otherwise
    kiosk = page
    kiosk.locator('.field[data-field="chung-thuc"]').click()
    expect(kiosk.locator("#ticket")).to_be_visible()
    expect(kiosk.locator("#ticket")).to_be_hidden(timeout=13000)
    expect(kiosk.locator("#start")).to_be_visible()


def test_a_double_tap_makes_one_ticket(page: Page, live_server):
    kiosk = open_kiosk(page, live_server)
    keys = []
    kiosk.on("request", lambda r: keys.append(r.headers.get("idempotency-key"))
             if r.url.endswith("/api/tickets") and r.method == "POST" else None)
    kiosk.locator('.field[data-field="kinh-doanh"]').dblclick()
    expect(kiosk.locator("#ticket-code")).to_have_text("G001")
    kiosk.wait_for_timeout(500)
    assert fields(live_server)["kinh-doanh"]["issued_today"] == 1
    assert len(set(keys)) == 1 and keys[0]


def test_a_retry_after_a_lost_answer_reuses_the_key_and_makes_one_ticket(page: Page, live_server):
    kiosk = open_kiosk(page, live_server)
    sent = []

    def lose_first_answer(route):
        sent.append(route.request.headers.get("idempotency-key"))
        response = route.fetch()  # the server issues the ticket…
        if len(sent) == 1:
            route.abort()          # …but the answer never reaches the kiosk
        else:
            route.fulfill(response=response)

    kiosk.route("**/api/tickets", lose_first_answer)
    button = kiosk.locator('.field[data-field="ho-tich"]')
    button.click()
    expect(kiosk.locator("#notice")).to_contain_text("Mất kết nối")
    button.click()
    expect(kiosk.locator("#ticket-code")).to_have_text("A001")
    assert sent[0] == sent[1]
    assert fields(live_server)["ho-tich"]["issued_today"] == 1


def test_priority_is_one_tap_away(page: Page, live_server):
    kiosk = open_kiosk(page, live_server)
    kiosk.locator('[data-priority="elderly"]').click()
    expect(kiosk.locator('[data-priority="elderly"]')).to_have_attribute("aria-pressed", "true")
    kiosk.locator('.field[data-field="ho-tich"]').click()
    expect(kiosk.locator("#ticket-priority")).to_have_text("Ưu tiên: Người cao tuổi")
    kiosk.locator("#ticket-done").click()
    expect(kiosk.locator('[data-priority="elderly"]')).to_have_attribute("aria-pressed", "false")


def _closed_window() -> list[str]:
    """Issuing hours that do not include now (a one-minute window two hours away)."""
    start = dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) + dt.timedelta(hours=2)
    if start.hour >= 23:
        start -= dt.timedelta(hours=4)
    return [f"{start:%H:%M}-{start + dt.timedelta(minutes=1):%H:%M}"]


def test_outside_hours_or_past_the_cap_the_button_says_so_and_issues_nothing(page: Page, live_server, tmp_path):
    hours = _closed_window()

    def change(seed):
        by_code = {f["code"]: f for f in seed["fields"]}
        by_code["dat-dai"]["hours"] = hours
        by_code["chung-thuc"]["daily_cap"] = 1

    seed_with(tmp_path, live_server, change)
    live_server.issue("chung-thuc")
    kiosk = open_kiosk(page, live_server)

    closed = kiosk.locator('.field[data-field="dat-dai"]')
    expect(closed).to_contain_text("Ngoài giờ cấp số")
    closed.click(force=True)  # aria-disabled, yet a tap must explain why
    expect(kiosk.locator("#notice")).to_contain_text(f"Giờ cấp số: {hours[0].replace('-', '–')}")
    full = kiosk.locator('.field[data-field="chung-thuc"]')
    expect(full).to_contain_text("Đã hết số hôm nay")
    full.click(force=True)
    expect(kiosk.locator("#ticket")).to_be_hidden()
    state = fields(live_server)
    assert state["dat-dai"]["issued_today"] == 0 and state["chung-thuc"]["issued_today"] == 1


def test_field_text_with_html_is_shown_as_text(page: Page, live_server, tmp_path):
    name = '<img src=x onerror="document.title=\'hacked\'">Hộ tịch <b>mới</b>'

    def change(seed):
        seed["fields"][0]["name"] = name
        seed["fields"][0]["hint"] = "<script>document.title='hacked'</script>"

    seed_with(tmp_path, live_server, change)
    kiosk = open_kiosk(page, live_server)
    button = kiosk.locator('.field[data-field="ho-tich"]')
    expect(button.locator(".field-name")).to_have_text(name)
    expect(button.locator(".field-hint")).to_have_text("<script>document.title='hacked'</script>")
    assert button.locator("img, b, script").count() == 0
    assert kiosk.title() == "Lấy số thứ tự"


def test_a_field_added_by_the_admin_appears_without_reload(page: Page, live_server):
    kiosk = open_kiosk(page, live_server)
    expect(kiosk.locator(".field")).to_have_count(8)
    r = requests.post(live_server.url + "/api/admin/fields", headers=admin_headers(live_server), timeout=5,
                      json={"code": "cu-tru", "name": "Cư trú", "prefix": "L", "hint": "Đăng ký thường trú, tạm trú"})
    assert r.status_code in (200, 201), r.text
    expect(kiosk.locator('.field[data-field="cu-tru"]')).to_contain_text("Cư trú")


def test_the_kiosk_survives_a_server_restart(page: Page, live_server):
    kiosk = open_kiosk(page, live_server)
    live_server.restart()
    expect(kiosk.locator("#offline")).to_be_hidden(timeout=15000)
    live_server.issue("xay-dung")
    expect(kiosk.locator('.field[data-field="xay-dung"]')).to_contain_text("Đang chờ: 1 người")
    kiosk.locator('.field[data-field="xay-dung"]').click()
    expect(kiosk.locator("#ticket-code")).to_have_text("H002")


def test_public_pages_run_under_the_content_security_policy(page: Page, live_server):
    """No inline script or style, no eval: the browser reports no CSP violation and no script error."""
    problems = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    mine = live_server.issue("ho-tich")
    for path, ready in [("/kiosk", ".field"), ("/display", ".tile"), ("/rating", "#pairing:not([hidden])"),
                        (f"/t/{mine['token']}", "#code:not(:empty)")]:
        response = page.goto(live_server.url + path)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_selector(ready)
        page.wait_for_timeout(300)
    assert problems == []


def test_a_printer_that_is_off_still_gives_the_ticket_on_screen(page: Page, tmp_path):
    """The network printer refuses connections: the ticket is issued, shown with its QR, and kept for retry."""
    from tests.live import LiveServer, free_port

    server = LiveServer(tmp_path / "office", env={"PRINTER": f"tcp://127.0.0.1:{free_port()}"}).start()
    try:
        kiosk = open_kiosk(page, server)
        kiosk.locator('.field[data-field="chung-thuc"]').click()
        expect(kiosk.locator("#ticket-code")).to_have_text("B001")
        expect(kiosk.locator("#ticket-print")).to_have_text("Máy in gặp sự cố — vui lòng chụp mã QR")
        expect(kiosk.locator("#ticket-qr")).to_have_attribute("src", re.compile(r"^/qr/[\w-]+\.svg$"))
        assert fields(server)["chung-thuc"]["waiting"] == 1
        jobs = requests.get(server.url + "/api/print-jobs", headers=admin_headers(server), timeout=5).json()
        assert any(job["ticket_code"] == "B001" and not job["printed"] and job["last_error"] for job in jobs["jobs"])
    finally:
        server.stop()
