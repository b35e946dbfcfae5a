"""The province's wall (/province) in a real Chromium against a real server of three offices: only
province users get in, every office shows in the server's order (the hall in trouble on top, marked),
a ticket issued in one office reaches the wall without a reload, a click opens that office's board, a
dropped connection says so and heals by itself, and on a 1920x1080 or a 1366x768 TV the names and
figures are big enough to read across a room, with many offices paged."""
from __future__ import annotations

import json
import re
import time

import pytest
import requests
from playwright.sync_api import Page, expect

from server.setup import demo_seed
from tests.live import LiveServer

from .helpers import wait_until

OFFICES = {"phuong-ba-dinh": "UBND phường Ba Đình", "xa-soc-son": "UBND xã Sóc Sơn"}
PROVINCE = ("tinh.vanphong", "mat-khau-rat-dai-1")
TV = {"width": 1920, "height": 1080}
SMALL_TV = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """The default office (the demo ward) and two more, a province user and a clerk of one office."""
    home = tmp_path_factory.mktemp("province")
    server = LiveServer(home / "server").start()
    seed = demo_seed()
    for field in seed["fields"]:  # open all day, whatever the hour the tests run at
        field.pop("hours", None)
    (home / "seed.json").write_text(json.dumps(seed, ensure_ascii=False), encoding="utf-8")
    try:
        for slug, name in OFFICES.items():
            result = server.cli("office", "add", slug, "--name", name, "--seed", str(home / "seed.json"))
            assert result.returncode == 0, result.stderr
        server.add_user(PROVINCE[0], role="province", password=PROVINCE[1])
        server.add_user("canbo.sson", office="xa-soc-son")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def wall(browser, province):
    """One page for the whole module: the wall, resized through the TV sizes."""
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", viewport=TV)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert errors == []


def issue(server, office: str, field: str = "ho-tich") -> dict:
    r = requests.post(f"{server.url}/o/{office}/api/tickets", json={"field": field}, timeout=5)
    assert r.status_code == 201, r.text
    return r.json()


def overview(server) -> list[dict]:
    headers = server.login(*PROVINCE)
    r = requests.get(server.url + "/api/province/overview", headers=headers, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()["offices"]


def log_in(page: Page, username: str, password: str) -> None:
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def rows(page: Page):
    return page.locator("#offices .office")


def test_a_clerk_is_told_the_wall_is_for_the_province(wall: Page, province):
    wall.goto(province.url + "/province/")
    log_in(wall, "canbo.sson", "mat-khau-rat-dai-1")
    expect(wall.locator("#login-error")).to_contain_text("Trang này dành cho tài khoản cấp tỉnh")
    expect(wall.locator("#wall-view")).to_be_hidden()
    wall.get_by_role("button", name="Đăng xuất").click()
    expect(wall.get_by_role("button", name="Đăng nhập")).to_be_visible()
    expect(wall.locator("#login-error")).to_be_hidden()


def test_every_office_in_the_servers_order_and_a_new_ticket_arrives_live(wall: Page, province):
    issue(province, "xa-soc-son")       # the longest wait: Sóc Sơn's hall is on top
    time.sleep(1.1)                     # (waits are counted in whole seconds)
    issue(province, "phuong-ba-dinh")
    wall.goto(province.url + "/province/?alert_minutes=0.001")  # any wait at all is marked red here
    log_in(wall, *PROVINCE)
    expect(rows(wall)).to_have_count(3)
    names = [o["name"] for o in overview(province)]
    assert names[0] == OFFICES["xa-soc-son"] and names[1] == OFFICES["phuong-ba-dinh"]
    expect(wall.locator("#offices .office-link")).to_have_text(names)
    top = rows(wall).first
    expect(top).to_have_class(re.compile(r"\bis-alert\b"))
    expect(rows(wall).last).not_to_have_class(re.compile(r"\bis-(alert|warn)\b"))  # nobody waits there
    expect(top.locator(".fig.waiting")).to_have_text("1")
    expect(top.locator(".fig.share")).to_have_text("—")  # no rating yet today
    expect(wall.locator("#updated")).to_have_text(re.compile(r"^Cập nhật lúc \d\d:\d\d:\d\d$"))

    wall.evaluate("window.stillTheSamePage = true")
    ba_dinh = wall.locator('.office[data-office="phuong-ba-dinh"]')
    expect(ba_dinh.locator(".fig.waiting")).to_have_text("1")
    for _ in range(3):
        issue(province, "phuong-ba-dinh")
    expect(ba_dinh.locator(".fig.waiting")).to_have_text("4", timeout=6000)  # at most one update every 2 s
    expect(wall.locator("#totals")).to_contain_text("đang chờ 5")
    assert wall.evaluate("window.stillTheSamePage") is True  # no reload
    expect(wall.locator("#offices .office-link")).to_have_text([o["name"] for o in overview(province)])


def test_served_and_ratings_are_written_the_vietnamese_way(wall: Page, province):
    clerk = province.login("canbo.sson", "mat-khau-rat-dai-1")
    url = f"{province.url}/o/xa-soc-son/api/counters/2"
    scores = [3, 3, 2, 1, 3, 3, 3]  # 6 of 7 satisfied: 85,7 %
    for score in scores:
        ticket = issue(province, "xa-soc-son", "chung-thuc")
        for action, body in (("call", {"code": ticket["code"]}), ("finish", {})):
            r = requests.post(f"{url}/{action}", json=body, headers=clerk, timeout=5)
            assert r.status_code == 200, r.text
        r = requests.post(province.url + "/api/ratings", json={"token": ticket["token"], "score": score}, timeout=5)
        assert r.status_code == 201, r.text
    row = wall.locator('.office[data-office="xa-soc-son"]')
    expect(row.locator(".fig.share")).to_have_text("85,7\u00a0%", timeout=6000)
    figures = row.locator(".fig")
    expect(figures.nth(2)).to_have_text(str(len(scores)))  # served today
    expect(figures.nth(5)).to_have_text(str(len(scores)))  # rated today


def test_a_click_on_an_office_opens_its_board(wall: Page, province):
    with wall.expect_popup() as opened:
        wall.locator('.office[data-office="phuong-ba-dinh"]').click()
    board = opened.value
    try:
        expect(board).to_have_url(re.compile(r"/o/phuong-ba-dinh/display/$"))
        expect(board.locator("#office-name")).to_have_text(OFFICES["phuong-ba-dinh"])
    finally:
        board.close()
    report = wall.locator('.office[data-office="phuong-ba-dinh"] .report-link')
    expect(report).to_have_attribute("href", "/o/phuong-ba-dinh/admin/#reports")


def test_a_dropped_connection_says_so_and_heals_by_itself(wall: Page, province):
    expect(wall.locator("#offline")).to_be_hidden()
    wall.evaluate("window.motcuaWall.socket.io.engine.close()")
    expect(wall.locator("#offline")).to_be_visible()
    expect(wall.locator("#offline")).to_be_hidden(timeout=10_000)  # reconnected, and in the room again
    ba_dinh = wall.locator('.office[data-office="phuong-ba-dinh"] .fig.waiting')
    before = int(ba_dinh.inner_text())
    issue(province, "phuong-ba-dinh")
    expect(ba_dinh).to_have_text(str(before + 1), timeout=6000)


def font_px(page: Page, selector: str) -> list[float]:
    return page.evaluate(f"""[...document.querySelectorAll({selector!r})]
        .filter((n) => n.getClientRects().length).map((n) => parseFloat(getComputedStyle(n).fontSize))""")


def fits_the_screen(page: Page) -> None:
    """Nothing scrolls; every row on screen is whole, inside the list's box."""
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth && "
                         "document.documentElement.scrollHeight <= innerHeight")
    outside = page.evaluate("""(() => {
        const box = document.getElementById('offices').getBoundingClientRect();
        return [...document.querySelectorAll('#offices .office')].filter((r) => r.getClientRects().length)
            .filter((r) => { const b = r.getBoundingClientRect(); return b.top < box.top - 1 || b.bottom > box.bottom + 1
                || b.right > box.right + 1; }).length;
    })()""")
    assert outside == 0


@pytest.mark.parametrize("size, least", [(TV, 36), (SMALL_TV, 28)])
def test_readable_across_a_room(wall: Page, province, size, least):
    wall.set_viewport_size(size)
    wait_until(wall, "document.querySelectorAll('#offices .office:not([hidden])').length === 3")
    for selector in ("#offices .office-link", "#offices .fig"):
        sizes = font_px(wall, selector)
        assert sizes and min(sizes) >= least, (selector, sizes)
    assert min(font_px(wall, ".offices-head span")) >= 20
    assert min(font_px(wall, "#updated, #clock")) >= 20
    fits_the_screen(wall)
    wall.screenshot(path=str(province.home / f"wall-{size['width']}x{size['height']}.png"))


def test_a_hundred_offices_turn_pages_on_a_tv(wall: Page, province):
    headers = province.login(*PROVINCE)
    for n in range(1, 38):
        r = requests.post(province.url + "/api/admin/offices", headers=headers, timeout=5,
                          json={"slug": f"xa-mau-{n}", "name": f"UBND xã Mẫu Sơn Thượng số {n}"})
        assert r.status_code == 201, r.text
    wall.set_viewport_size(SMALL_TV)
    wall.goto(province.url + "/province/?page_seconds=3")
    expect(rows(wall)).to_have_count(40)
    indicator = wall.locator("#offices-page")
    expect(indicator).to_contain_text(re.compile(r"Trang 1/\d+"))
    pages = int(re.search(r"/(\d+)", indicator.inner_text()).group(1))
    assert pages >= 3
    fits_the_screen(wall)
    first_page = wall.locator("#offices .office:not([hidden]) .office-link").all_inner_texts()
    assert first_page[0] == OFFICES["xa-soc-son"]  # the hall in trouble opens the first page
    expect(indicator).to_contain_text("Trang 2/", timeout=8000)  # turned by itself
    fits_the_screen(wall)
    assert min(font_px(wall, "#offices .office-link, #offices .fig")) >= 28

    wall.set_viewport_size(TV)  # a bigger TV: fewer pages, bigger type, still whole rows
    expect(indicator).to_contain_text(re.compile(r"Trang \d+/\d+"))
    fits_the_screen(wall)
    assert min(font_px(wall, "#offices .office-link, #offices .fig")) >= 36
