"""Two offices of a province in one deployment, in a real Chromium against a real server: each office's
kiosk numbers its own tickets (both have an A001), each clerk works their own office's counters, and each
board shows only its own office's calls. A page served for an office (/o/<slug>/…) keeps its API calls,
socket and links in that office; staff who log in on another office's address land on their own; with no
slug everything is as in a one-office install.
"""
from __future__ import annotations

import json
import re

import pytest
from flask import render_template
from playwright.sync_api import Page, expect

from server.setup import demo_seed
from tests.conftest import build
from tests.live import LiveServer

SLUG = "phuong-ba-dinh"
NAME = "UBND phường Ba Đình"
PASSWORD = "mat-khau-rat-dai-1"
BOARD = {"width": 960, "height": 1080}   # two boards side by side on one 1920x1080 screen
KIOSK = {"width": 1080, "height": 1920}
CONSOLE = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The ward of a one-office install (the default office) and a second office added while it runs."""
    home = tmp_path_factory.mktemp("offices")
    server = LiveServer(home / "office").start()
    try:
        seed = demo_seed()
        for field in seed["fields"]:  # open all day, whatever the hour the tests run at
            field.pop("hours", None)
        (home / "seed.json").write_text(json.dumps(seed, ensure_ascii=False), encoding="utf-8")
        result = server.cli("office", "add", SLUG, "--name", NAME, "--seed", str(home / "seed.json"))
        assert result.returncode == 0, result.stderr
        listing = server.cli("office", "list").stdout
        server.default_slug = re.search(r"^(\S+)\t.*\(mặc định\)", listing, re.M).group(1)
        server.add_user("canbo.mau", office=server.default_slug)
        server.add_user("canbo.badinh", office=SLUG)
        server.add_user("quantri.badinh", role="admin", office=SLUG)
        yield server
    finally:
        server.stop()


def test_the_page_frame_names_its_office_only_when_it_has_one(tmp_path, sqlite_url, clock):
    app = build(tmp_path, sqlite_url, clock)
    try:
        with app.test_request_context("/kiosk/"):
            plain = render_template("kiosk/kiosk.html")
            office = render_template("kiosk/kiosk.html", office_slug=SLUG)
            index = render_template("index.html", office={"name": "UBND phường Ba Đình", "unit": ""}, office_slug=SLUG)
    finally:
        app.extensions["motcua"].storage.dispose()
    assert "data-office" not in plain
    assert re.search(rf'<html lang="vi" data-office="{SLUG}">', office)
    assert f'href="/o/{SLUG}/kiosk"' in index and f'href="/o/{SLUG}/display"' in index


def test_links_and_calls_stay_put_without_an_office(page: Page, server):
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url.split(server.url, 1)[-1]))
    page.goto(server.url + "/display?voice=off")
    expect(page.locator(".tile").first).to_be_visible()
    helpers = page.evaluate("""async () => {
        const m = await import('/static/common/api.js');
        return [m.OFFICE, m.officeUrl('/kiosk'), m.officeUrl('/api/state'), m.qrUrl('abc'), m.ticketPageUrl('abc')];
    }""")
    assert helpers == ["", "/kiosk", "/api/state", "/qr/abc.svg", "/t/abc"]
    assert not [url for url in asked if url.startswith("/o/")]


def test_the_one_helper_for_links(page: Page, server):
    """officeUrl() puts a page's office in front of the surfaces and the API, and nothing else."""
    page.goto(server.url + "/display?voice=off")
    page.evaluate(f"document.documentElement.dataset.office = '{SLUG}'")
    got = page.evaluate("""async () => {
        const m = await import('/static/common/api.js?as-an-office');  // a fresh module reads the slug
        return [m.OFFICE, ...['/kiosk', '/display?counters=1,2', '/counter/', '/rating', '/admin', '/api/fields',
                              '/display/voice/chime', '/t/abc', '/qr/abc.svg', '/static/common/base.css']
            .map((path) => m.officeUrl(path))];
    }""")
    prefix = f"/o/{SLUG}"
    assert got == [SLUG, f"{prefix}/kiosk", f"{prefix}/display?counters=1,2", f"{prefix}/counter/", f"{prefix}/rating",
                   f"{prefix}/admin", f"{prefix}/api/fields", f"{prefix}/display/voice/chime",
                   "/t/abc", "/qr/abc.svg", "/static/common/base.css"]


def window(browser, url: str, size: dict) -> Page:
    """A surface in its own window (a background tab would not paint), failing the test on any script error."""
    page = browser.new_page(viewport=size, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url)
    return page


def console_calls_next(page: Page, username: str, counter: int) -> None:
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("button", name=re.compile(f"^Quầy {counter}")).click()
    expect(page.locator("#current-code")).to_have_text("Chưa gọi số nào")
    page.get_by_role("button", name=re.compile("Gọi số tiếp theo")).click()
    expect(page.locator("#current-code")).to_have_text("A001")


def test_two_offices_side_by_side_each_board_shows_only_its_own_calls(browser, server):
    office_url = f"{server.url}/o/{SLUG}"
    board_a = window(browser, server.url + "/display/?voice=off", BOARD)       # the default office, bare paths
    board_b = window(browser, office_url + "/display/?voice=off", BOARD)
    kiosk_a = window(browser, server.url + "/kiosk/", KIOSK)
    asked: list[str] = []
    sockets: list[str] = []
    kiosk_b = browser.new_page(viewport=KIOSK, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    kiosk_b.errors = []
    kiosk_b.on("pageerror", lambda e: kiosk_b.errors.append(str(e)))
    kiosk_b.on("request", lambda r: asked.append(r.url.split(server.url, 1)[-1]))
    kiosk_b.on("websocket", lambda ws: sockets.append(ws.url))
    kiosk_b.goto(office_url + "/kiosk/")
    pages = [board_a, board_b, kiosk_a, kiosk_b]
    try:
        expect(board_a.locator("#office-name")).to_have_text(demo_seed()["office"]["name"])
        expect(board_b.locator("#office-name")).to_have_text(NAME)
        expect(kiosk_b.locator("html")).to_have_attribute("data-office", SLUG)
        assert kiosk_a.locator("html").get_attribute("data-office") is None
        for board in (board_a, board_b):
            expect(board.locator("#hero")).to_have_class(re.compile(r"\bis-empty\b"))

        # each kiosk numbers in its own office: both give A001
        for kiosk in (kiosk_a, kiosk_b):
            kiosk.locator('.field[data-field="ho-tich"]').click()
            expect(kiosk.locator("#ticket-code")).to_have_text("A001")
            expect(kiosk.locator("#ticket-print")).to_have_text("Vui lòng nhận phiếu")
        assert f"/o/{SLUG}/api/fields" in asked and f"/o/{SLUG}/api/tickets" in asked
        assert not [path for path in asked if path.startswith("/api/")]
        assert any(f"office={SLUG}" in url for url in sockets), sockets
        # the QR is the ticket's own (tokens belong to no office): the same path under any office
        expect(kiosk_b.locator("#ticket-qr")).to_have_attribute("src", re.compile(r"^/qr/[\w-]+\.svg$"))

        # the default office's clerk calls at counter 1 (the window that was its kiosk, now a console)
        kiosk_a.set_viewport_size(CONSOLE)
        kiosk_a.goto(server.url + "/counter/")
        console_calls_next(kiosk_a, "canbo.mau", 1)
        expect(board_a.locator("#hero-code")).to_have_text("A001")
        expect(board_a.locator("#hero-counter")).to_have_text("1")
        board_b.wait_for_timeout(500)  # time enough for a stray event to arrive
        expect(board_b.locator("#hero")).to_have_class(re.compile(r"\bis-empty\b"))
        assert board_b.evaluate("window.motcuaBoard.model.recent.length") == 0

        # Ba Đình's clerk logs in on the default office's address and lands on their own console
        kiosk_b.set_viewport_size(CONSOLE)
        kiosk_b.goto(f"{server.url}/o/{server.default_slug}/counter/")
        console_calls_next(kiosk_b, "canbo.badinh", 2)
        expect(kiosk_b).to_have_url(re.compile(rf"/o/{SLUG}/counter/$"))
        expect(board_b.locator("#hero-code")).to_have_text("A001")
        expect(board_b.locator("#hero-counter")).to_have_text("2")
        expect(board_b.locator('.tile[data-counter="2"] .tile-code')).to_have_text("A001")
        board_a.wait_for_timeout(500)
        expect(board_a.locator("#hero-counter")).to_have_text("1")  # untouched by the other office's call
        expect(board_a.locator('.tile[data-counter="2"] .tile-code')).to_have_text("—")
        assert board_a.evaluate("window.motcuaBoard.model.recent.length") == 1
        assert board_b.evaluate("window.motcuaBoard.model.recent.length") == 1
        for page in pages:
            assert page.errors == [], page.url
    finally:
        for page in pages:
            page.context.close()


def test_staff_who_log_in_on_another_offices_address_land_on_their_own(page: Page, server):
    page.goto(f"{server.url}/o/{server.default_slug}/admin/#reports")
    page.get_by_label("Tên đăng nhập").fill("quantri.badinh")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(re.compile(rf"/o/{SLUG}/admin/#reports$"))
    expect(page.locator("#office-title")).to_have_text(NAME)  # already logged in: no second login
    expect(page.get_by_role("heading", name="Báo cáo", exact=True)).to_be_visible()
    # on the plain address every call already goes to the admin's own office: it stays as it is
    page.goto(server.url + "/admin/")
    expect(page.locator("#office-title")).to_have_text(NAME)
    assert "/o/" not in page.url
