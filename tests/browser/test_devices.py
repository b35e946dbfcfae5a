"""Every surface at the sizes offices own (issue 7), against one real server of a province centre:
30 counters, 12 fields (long names among them), a busy morning. One server and one browser for
the module; one page is resized through the sizes.

What a person needs is asserted, not pixels: every counter and field reachable (on screen, or on a
page the screen turns to), text big enough to read across a hall, the ticket's code, QR, print
message and "Xong" inside the screen, the clerk's buttons and no-shows without scrolling.
"""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.live import LiveServer

from .helpers import Clerk, big_office, seed_with

COUNTERS = 30
KIOSKS = {"1080x1920": (1080, 1920), "1280x1024": (1280, 1024), "1366x768": (1366, 768), "768x1024": (768, 1024)}
BOARDS = {"1920x1080": (1920, 1080), "1366x768": (1366, 768)}
CONSOLES = {"1366x768": (1366, 768), "1280x720": (1280, 720)}
TABLETS = {"1280x800": (1280, 800), "800x1280": (800, 1280)}
PHONE = (360, 740)
REASON_NAMES = ["Người cao tuổi", "Người khuyết tật", "Phụ nữ mang thai hoặc có con nhỏ", "Người có công với cách mạng"]
CONSOLE_COUNTER = 1  # serves ho-tich, chung-thuc and kinh-doanh in big_office()
TABLET_COUNTER = 10  # left idle by the morning, so its tablet is asked only about our ticket


def post(server, path, headers, body=None):
    return requests.post(server.url + path, json=body or {}, headers=headers, timeout=5)


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    """A province centre at mid-morning: tickets everywhere, most counters serving, one paused."""
    home = tmp_path_factory.mktemp("devices")
    server = LiveServer(home / "office")
    seed_with(home, server, big_office(COUNTERS))
    server.start()
    try:
        fields = [f["code"] for f in requests.get(server.url + "/api/fields", timeout=5).json()["fields"]]
        for i in range(48):
            server.issue(fields[i % len(fields)])
        for i in range(14):
            server.issue(["ho-tich", "chung-thuc", "kinh-doanh"][i % 3])
        clerk = Clerk(server, "truongca")
        for _ in range(3):  # three no-shows the console's clerk may bring back
            clerk.call_next(CONSOLE_COUNTER)
            clerk.act(CONSOLE_COUNTER, "no-show")
        clerk.call_next(CONSOLE_COUNTER)
        for number in range(2, COUNTERS + 1):
            if number in (5, 10):
                continue
            post(server, f"/api/counters/{number}/call-next", clerk.headers)  # some queues may be empty
        clerk.act(5, "pause")
        server.fields = fields
        server.clerk = clerk
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def context(browser):
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    yield context
    context.close()


@pytest.fixture(scope="module")
def screen(context):
    """One page for the public surfaces, resized through the sizes."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    yield page
    assert errors == []


def inside(rect: dict, width: float, height: float) -> bool:
    return rect["left"] >= -0.5 and rect["top"] >= -0.5 and rect["right"] <= width + 0.5 and rect["bottom"] <= height + 0.5


def rects(page: Page, selector: str) -> list[dict]:
    """Bounding boxes of the elements that are displayed, with their text."""
    return page.evaluate("""(selector) => [...document.querySelectorAll(selector)]
        .filter((e) => e.getClientRects().length > 0)
        .map((e) => { const r = e.getBoundingClientRect();
            return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, height: r.height,
                     text: e.textContent.trim(), font: parseFloat(getComputedStyle(e).fontSize) }; })""", selector)


def settled(page: Page) -> None:
    """Fonts loaded and the pages measured again after them (the pager re-measures at the next frame)."""
    page.evaluate("document.fonts.ready")
    page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def no_page_scroll(page: Page) -> bool:
    return page.evaluate("document.scrollingElement.scrollHeight <= innerHeight + 1"
                         " && document.scrollingElement.scrollWidth <= innerWidth + 1")


# ----- the board -------------------------------------------------------------------------
BOARD_PAGES = """() => {
    const pager = window.motcuaBoard.pagers.counters;
    const box = document.getElementById('counter-tiles').getBoundingClientRect();
    const pages = [];
    for (let i = 0; i < pager.count; i += 1) {
        pager.show(i);
        pages.push({
            indicator: document.getElementById('counters-page').hidden ? '' : document.getElementById('counters-page').textContent,
            tiles: [...document.querySelectorAll('#counter-tiles .tile')].filter((t) => !t.hidden).map((t) => {
                const r = t.getBoundingClientRect();
                const number = t.querySelector('.tile-number'), code = t.querySelector('.tile-code');
                return { number: Number(t.dataset.counter), ticket: t.classList.contains('has-ticket'),
                         numberPx: parseFloat(getComputedStyle(number).fontSize),
                         codePx: parseFloat(getComputedStyle(code).fontSize), code: code.textContent,
                         codeRight: code.getBoundingClientRect().right,
                         left: r.left, top: r.top, right: r.right, bottom: r.bottom };
            }),
        });
    }
    const waiting = window.motcuaBoard.pagers.waiting;
    const fields = [];
    for (let i = 0; i < waiting.count; i += 1) {
        waiting.show(i);
        for (const li of document.querySelectorAll('#waiting-list li')) {
            if (li.hidden) continue;
            const name = li.querySelector('.waiting-name'), r = li.getBoundingClientRect();
            fields.push({ code: li.dataset.field, cut: name.scrollWidth > name.clientWidth + 1,
                          bottom: r.bottom, font: parseFloat(getComputedStyle(li).fontSize) });
        }
    }
    pager.show(0);
    waiting.show(0);
    return { pages, fields, box: { top: box.top, bottom: box.bottom, left: box.left, right: box.right },
             waitingBottom: document.getElementById('waiting-list').getBoundingClientRect().bottom,
             hero: parseFloat(getComputedStyle(document.getElementById('hero-code')).fontSize) };
}"""


def open_board(page: Page, server, size, counters: int | None = None, query: str = "") -> Page:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    only = f"&counters={','.join(str(n) for n in range(1, counters + 1))}" if counters else ""
    page.goto(f"{server.url}/display?voice=off{only}{query}")
    expect(page.locator("#counter-tiles .tile")).to_have_count(counters or COUNTERS)
    settled(page)
    return page


@pytest.mark.parametrize("size", list(BOARDS), ids=list(BOARDS))
@pytest.mark.parametrize("counters", [4, 12, 30])
def test_the_board_shows_every_counter_readably(screen: Page, office, counters, size):
    width, height = BOARDS[size]
    board = open_board(screen, office, BOARDS[size], counters)
    seen = board.evaluate(BOARD_PAGES)
    shown = [tile["number"] for page in seen["pages"] for tile in page["tiles"]]
    assert sorted(shown) == list(range(1, counters + 1))  # every counter, once, across the pages
    for page in seen["pages"]:
        for tile in page["tiles"]:
            where = f"counter {tile['number']} at {size}"
            assert tile["numberPx"] >= 28, where
            assert tile["codePx"] >= 28 or not tile["ticket"], where  # a paused counter says so in smaller words
            assert tile["bottom"] <= seen["box"]["bottom"] + 1 and tile["right"] <= seen["box"]["right"] + 1, where
            assert tile["codeRight"] <= tile["right"] + 1, f"{where}: '{tile['code']}' runs out of its tile"
            assert inside(tile, width, height), where
        if len(seen["pages"]) > 1:
            assert re.fullmatch(r"Trang \d+/\d+", page["indicator"]), page["indicator"]
    if counters == 4:
        assert len(seen["pages"]) == 1
    assert seen["hero"] >= 80
    # Every field's waiting count, its name whole (wrapped, never cut), across the pages.
    assert sorted(f["code"] for f in seen["fields"]) == sorted(office.fields)
    assert not [f["code"] for f in seen["fields"] if f["cut"]]
    assert all(f["font"] >= 24 for f in seen["fields"])
    assert all(f["bottom"] <= seen["waitingBottom"] + 1 for f in seen["fields"])
    assert no_page_scroll(board)


def test_the_board_pages_turn_by_themselves_with_an_indicator(screen: Page, office):
    board = open_board(screen, office, BOARDS["1366x768"], query="&page_seconds=1")
    indicator = board.locator("#counters-page")
    expect(indicator).to_have_text(re.compile(r"^Trang 1/\d"))
    expect(indicator).to_have_text(re.compile(r"^Trang 2/\d"), timeout=5000)


def test_recent_calls_read_down_each_column_newest_first(screen: Page, office):
    board = open_board(screen, office, BOARDS["1920x1080"])
    recent = requests.get(office.url + "/api/state", timeout=5).json()["recent_calls"]
    items = rects(board, "#recent-list li")
    codes = [c["text"] for c in rects(board, "#recent-list .recent-code")]
    assert len(items) >= 4
    assert codes == [call["ticket"]["code"] for call in recent][:len(items)]
    for before, after in zip(items, items[1:]):
        same_column = abs(before["left"] - after["left"]) < 2
        assert (same_column and after["top"] > before["top"]) or after["left"] > before["right"] - 2, (before, after)


def test_the_board_says_priority_but_never_why(screen: Page, office):
    board = open_board(screen, office, BOARDS["1366x768"])
    mine = office.issue("cu-tru", priority="disabled")
    office.clerk.act(20, "call", {"code": mine["code"]})
    expect(board.locator("#hero-code")).to_have_text(mine["code"])
    expect(board.locator("#hero-priority")).to_have_text("Ưu tiên")
    expect(board.locator('.tile[data-counter="20"] .tile-flag')).to_have_text("Ưu tiên")
    text = board.locator("body").inner_text()
    assert not [name for name in REASON_NAMES if name in text]


def test_an_empty_board_says_so_plainly(screen: Page, office):
    screen.set_viewport_size({"width": 1366, "height": 768})
    screen.goto(office.url + "/display?voice=off&counters=99")  # a board for a counter with no calls
    expect(screen.locator("#hero-empty")).to_be_visible()
    expect(screen.locator("#hero-empty")).to_contain_text("Chưa có số nào được gọi")
    expect(screen.locator("#hero-call")).to_be_hidden()
    assert "đến quầy số" not in screen.locator("#hero").inner_text()


def test_one_message_per_call_redraws_the_tile_and_the_counts(screen: Page, office):
    """`ticket_called` carrying `counter_tile` and `fields` (the lead's server change) is applied as is."""
    board = open_board(screen, office, BOARDS["1920x1080"], 12)
    board.evaluate("""() => window.motcuaBoard.handlers.ticket_called({
        ticket: { code: 'K777', field: 'tra-ket-qua', priority: null }, counter: 9, recall: false,
        at: new Date().toISOString(),
        counter_tile: { number: 9, name: 'Quầy 9', state: 'open', fields: ['tra-ket-qua'],
                        current: { code: 'K777', field: 'tra-ket-qua', priority: 'elderly' } },
        fields: [{ code: 'tra-ket-qua', waiting: 42, estimated_wait_s: 600 }] })""")
    expect(board.locator('.tile[data-counter="9"] .tile-code')).to_have_text("K777")
    expect(board.locator('.tile[data-counter="9"] .tile-flag')).to_have_text("Ưu tiên")
    expect(board.locator('#waiting-list li[data-field="tra-ket-qua"] .waiting-count')).to_have_text("42 người")
    expect(board.locator("#hero-code")).to_have_text("K777")


def test_the_sound_button_covers_nothing(browser, office):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    try:
        page = context.new_page()
        page.add_init_script("""
            const Real = window.AudioContext;
            window.AudioContext = class extends Real {
                constructor(...a) { super(...a); this.suspend(); }
                resume() { return Promise.resolve(); }
            };""")
        page.goto(office.url + "/display")
        gate = page.locator("#sound-gate")
        expect(gate).to_be_visible()
        [button] = rects(page, "#sound-gate")
        for selector in ("#hero", "#counter-tiles", "#recent-list", "#waiting-list", "#clock", ".office"):
            for other in rects(page, selector):
                apart = (button["right"] <= other["left"] or other["right"] <= button["left"]
                         or button["bottom"] <= other["top"] or other["bottom"] <= button["top"])
                assert apart, f"the sound button covers {selector}"
    finally:
        context.close()


# ----- the kiosk ----------------------------------------------------------------------------
def open_kiosk(page: Page, server, size, query: str = "") -> Page:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"{server.url}/kiosk{query}")
    expect(page.locator(".field").first).to_be_visible()
    settled(page)
    return page


@pytest.mark.parametrize("size", list(KIOSKS), ids=list(KIOSKS))
def test_every_field_and_the_priority_choice_are_reachable_on_one_screen(screen: Page, office, size):
    width, height = KIOSKS[size]
    kiosk = open_kiosk(screen, office, KIOSKS[size])
    choices = rects(kiosk, ".priority-choice")
    assert len(choices) == 4 and all(inside(c, width, height) for c in choices)
    reached: list[str] = []
    for _ in range(len(office.fields)):
        tiles = kiosk.evaluate("""() => [...document.querySelectorAll('.field')].filter((f) => !f.hidden)
            .map((f) => { const r = f.getBoundingClientRect();
                return { code: f.dataset.field, left: r.left, top: r.top, right: r.right, bottom: r.bottom }; })""")
        assert tiles, f"an empty page at {size}"
        for tile in tiles:
            assert inside(tile, width, height), f"{tile['code']} is off the screen at {size}"
        reached += [t["code"] for t in tiles]
        next_page = kiosk.locator("#page-next")
        if not next_page.is_visible() or next_page.is_disabled():
            break
        [button] = rects(kiosk, "#page-next")
        assert inside(button, width, height) and button["height"] >= 60  # a big, obvious control
        next_page.click()
    # Live counts may re-measure the pages while we turn them: a field seen twice is fine, a missing one is not.
    assert set(reached) == set(office.fields)
    assert no_page_scroll(kiosk)


@pytest.mark.parametrize("size", list(KIOSKS), ids=list(KIOSKS))
def test_the_whole_ticket_is_on_screen_with_a_priority_badge(screen: Page, office, size):
    width, height = KIOSKS[size]
    kiosk = open_kiosk(screen, office, KIOSKS[size])
    kiosk.locator('[data-priority="pregnant"]').click()
    kiosk.locator(".field:not([hidden])").first.click()
    expect(kiosk.locator("#ticket-print")).to_have_text("Vui lòng nhận phiếu")
    expect(kiosk.locator("#ticket-priority")).to_be_visible()
    assert kiosk.evaluate("(async () => { const img = document.getElementById('ticket-qr');"
                          " await img.decode(); return img.naturalWidth; })()") > 100
    for selector in ("#ticket-code", "#ticket-qr", "#ticket-print", "#ticket-done", "#ticket-priority"):
        [box] = rects(kiosk, selector)
        assert inside(box, width, height), f"{selector} is off the screen at {size}"
    [qr] = rects(kiosk, "#ticket-qr")
    assert qr["height"] >= 150  # big enough for a phone to scan from arm's length
    kiosk.locator("#ticket-done").click()
    # The priority was for that ticket only: the next person starts with none.
    expect(kiosk.locator('[data-priority="pregnant"]')).to_have_attribute("aria-pressed", "false")


def test_a_chosen_priority_is_forgotten_when_nobody_touches_the_kiosk(screen: Page, office):
    kiosk = open_kiosk(screen, office, KIOSKS["1366x768"], "?idle_seconds=1.5")
    choice = kiosk.locator('[data-priority="elderly"]')
    choice.click()
    expect(choice).to_have_attribute("aria-pressed", "true")
    expect(choice).to_have_attribute("aria-pressed", "false", timeout=10_000)


def test_the_ticket_stays_20_seconds_and_a_touch_gives_it_more(context, office):
    kiosk = context.new_page()
    try:
        kiosk.clock.install()
        open_kiosk(kiosk, office, KIOSKS["1366x768"])
        kiosk.locator(".field:not([hidden])").first.click()
        expect(kiosk.locator("#ticket-countdown")).to_have_text("(20)")
        kiosk.clock.run_for(15_000)
        expect(kiosk.locator("#ticket")).to_be_visible()
        expect(kiosk.locator("#ticket-countdown")).to_have_text("(5)")
        kiosk.locator("#ticket-qr").click()  # a touch on the ticket (looking for the phone, pointing at the QR)
        expect(kiosk.locator("#ticket-countdown")).to_have_text("(20)")
        kiosk.clock.run_for(15_000)  # 30 s in all: past the first 20
        expect(kiosk.locator("#ticket")).to_be_visible()
        kiosk.clock.run_for(6_000)
        expect(kiosk.locator("#ticket")).to_be_hidden()
        expect(kiosk.locator("#start")).to_be_visible()
    finally:
        kiosk.close()


def test_a_print_still_on_its_way_is_followed_until_it_prints(screen: Page, office):
    """The server will answer at once with print_status "queued": the kiosk waits, then says what happened."""
    kiosk = open_kiosk(screen, office, KIOSKS["1080x1920"])

    def queued(route):
        response = route.fetch()
        body = response.json()
        body.update(printed=False, print_status="queued")
        route.fulfill(response=response, json=body)

    kiosk.route("**/api/tickets", queued)
    try:
        kiosk.locator(".field:not([hidden])").first.click()
        # The ticket is on screen at once; `follow` answers with the print as it stands (printed, here).
        expect(kiosk.locator("#ticket-code")).not_to_be_empty()
        expect(kiosk.locator("#ticket-print")).to_have_text("Vui lòng nhận phiếu")
    finally:
        kiosk.unroute("**/api/tickets")
        kiosk.locator("#ticket-done").click()


# ----- the clerk's console --------------------------------------------------------------------
def _without_tokens(data):
    if isinstance(data, dict):
        return {k: _without_tokens(v) for k, v in data.items() if k != "token"}
    if isinstance(data, list):
        return [_without_tokens(v) for v in data]
    return data


def strip_tokens(route):
    """Staff views will lose ticket tokens (a clerk must not rate their own service): the console must not care."""
    response = route.fetch()
    if "application/json" not in (response.headers.get("content-type") or ""):
        route.fulfill(response=response)
        return
    route.fulfill(response=response, json=_without_tokens(response.json()))


@pytest.fixture(scope="module")
def console(browser, office):
    """The clerk of counter 1 at a PC whose time zone is not the office's, with no ticket tokens in sight."""
    context = browser.new_context(locale="vi-VN", timezone_id="America/New_York")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route(re.compile(r".*/api/counters.*"), strip_tokens)
    name, password = office.add_user("nhanvien")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(office.url + "/counter/")
    page.get_by_label("Tên đăng nhập").fill(name)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("button", name=re.compile(f"^Quầy {CONSOLE_COUNTER} ")).click()
    expect(page.locator("#counter-title")).to_have_text(f"Quầy {CONSOLE_COUNTER}")
    yield page
    context.close()
    assert errors == []


@pytest.mark.parametrize("size", list(CONSOLES), ids=list(CONSOLES))
def test_the_console_needs_no_scrolling(console: Page, office, size):
    width, height = CONSOLES[size]
    console.set_viewport_size({"width": width, "height": height})
    expect(console.locator("#no-show-list li")).to_have_count(3)
    expect(console.locator("#waiting-list li").nth(10)).to_be_attached()
    for selector in ("[data-action]", "#no-show-list li", "#no-show-list button", "#current-code", "#served-today"):
        found = rects(console, selector)
        assert found, selector
        for box in found:
            assert inside(box, width, height), f"{selector} '{box['text']}' is off the screen at {size}"
    assert no_page_scroll(console)
    # The waiting list scrolls inside its card instead.
    assert console.evaluate("(() => { const l = document.getElementById('waiting-list');"
                            " return l.scrollHeight > l.clientHeight; })()")


def test_the_console_speaks_for_its_office(console: Page, office):
    expect(console.locator("#office-name")).to_have_text("UBND phường Mẫu")
    expect(console.locator('[data-action="next"] kbd').first).to_have_text("Phím cách")
    # Issue times are the office's wall clock, though this PC is in New York.
    view = requests.get(f"{office.url}/api/counters/{CONSOLE_COUNTER}", headers=office.clerk.headers, timeout=5).json()
    first = view["waiting"][0]
    expected = re.search(r"T(\d\d:\d\d)", first["issued_at"]).group(1)
    expect(console.locator("#waiting-list li").first.locator(".time")).to_have_text(expected)


def test_a_paused_counter_cannot_call_and_says_how_to_resume(console: Page, office):
    console.set_viewport_size({"width": 1280, "height": 720})
    console.keyboard.press("h")  # finish the ticket in service, so the counter may pause
    expect(console.locator("#current")).to_have_class(re.compile("empty"))
    console.keyboard.press("p")
    expect(console.locator("#counter-state")).to_have_text("Đang tạm dừng")
    next_button = console.locator('[data-action="next"]')
    expect(next_button).to_be_disabled()
    expect(console.locator("#current-field")).to_contain_text("Tiếp tục")
    requests_sent: list[str] = []
    console.on("request", lambda r: requests_sent.append(r.url) if "/call-next" in r.url else None)
    console.keyboard.press(" ")
    expect(console.locator("#message")).to_contain_text("Tiếp tục")
    expect(console.locator("#message")).not_to_have_class(re.compile("error"))
    assert requests_sent == []  # Space asked nothing of the server
    console.keyboard.press("p")
    expect(console.locator("#counter-state")).to_have_text("Đang mở")
    expect(next_button).to_be_enabled()


def test_the_transfer_dialog_fits_with_twelve_fields(console: Page, office):
    console.set_viewport_size({"width": 1280, "height": 720})
    console.keyboard.press("n")
    expect(console.locator("#current-code")).not_to_have_text("Chưa gọi số nào")
    console.keyboard.press("t")
    expect(console.locator("#transfer-dialog")).to_be_visible()
    choices = rects(console, "#transfer-fields .choice")
    assert len(choices) == len(office.fields) - 1
    assert all(inside(c, 1280, 720) for c in choices)
    assert console.evaluate("(() => { const l = document.getElementById('transfer-fields');"
                            " return l.scrollHeight <= l.clientHeight + 1; })()")
    console.keyboard.press("Escape")
    expect(console.locator("#transfer-dialog")).to_be_hidden()
    # Served and finished by the clerk with no token at hand.
    code = console.locator("#current-code").inner_text()
    console.keyboard.press("h")
    expect(console.locator("#message")).to_have_text(f"Đã hoàn thành số {code}.")


# ----- the phone and the rating tablet ---------------------------------------------------------
def test_the_ticket_page_on_a_phone(screen: Page, office):
    mine = office.issue("chung-thuc")
    screen.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    screen.goto(mine["track_url"])
    expect(screen.locator("#status-title")).to_have_text(re.compile(r"^(Trước ông/bà còn \d+ người|Ông/bà là người tiếp theo)$"))
    for selector in ("#code", "#status-title"):
        [box] = rects(screen, selector)
        assert inside(box, *PHONE), selector
    office.clerk.act(13, "call", {"code": mine["code"]})
    expect(screen.locator("#status-title")).to_have_text("Mời ông/bà đến quầy số 13")
    office.clerk.finish(13)
    expect(screen.locator("#status-title")).to_have_text("Đã tiếp nhận hồ sơ")
    expect(screen.locator(".level")).to_have_count(3)
    for box in rects(screen, ".level"):
        assert inside(box, *PHONE), box["text"]
    assert screen.evaluate("document.scrollingElement.scrollWidth <= innerWidth")


@pytest.fixture(scope="module")
def tablet(browser, office):
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{office.url}/rating?pair={office.pairing_code('tablet', counter=TABLET_COUNTER)}")
    expect(page.locator("#idle")).to_be_visible()
    page.wait_for_timeout(300)  # the socket joins the counter's room on connect
    yield page
    context.close()


def test_the_rating_tablet_upright_and_sideways(tablet: Page, office):
    mine = office.issue("dat-dai")
    office.clerk.act(TABLET_COUNTER, "call", {"code": mine["code"]})
    office.clerk.finish(TABLET_COUNTER)
    expect(tablet.locator("#rate-code")).to_have_text(mine["code"])
    moods = {tablet.locator(f'.level[data-score="{score}"] .level-name').inner_text():
             float(tablet.locator(f'.level[data-score="{score}"] svg.face').get_attribute("data-mood")) for score in (1, 2, 3)}
    # "Hài lòng" is a smile (not a neutral face); "Rất hài lòng" a bigger one; "Không hài lòng" a frown.
    assert moods["Không hài lòng"] < 0 < moods["Hài lòng"] < moods["Rất hài lòng"]
    for size, (width, height) in TABLETS.items():
        tablet.set_viewport_size({"width": width, "height": height})
        for box in rects(tablet, ".level"):
            assert inside(box, width, height), f"{box['text']} at {size}"
    tablet.locator('.level[data-score="1"]').click()
    for size, (width, height) in TABLETS.items():
        tablet.set_viewport_size({"width": width, "height": height})
        for selector in (".reason", "#rate-comment", "#rate-send"):
            for box in rects(tablet, selector):
                assert inside(box, width, height), f"{selector} {box['text']} at {size}"
    tablet.locator('.reason[data-reason="waiting"]').click()
    tablet.locator("#rate-send").click()
    expect(tablet.locator("#thanks-title")).to_have_text("Cảm ơn ông/bà đã đánh giá!")
