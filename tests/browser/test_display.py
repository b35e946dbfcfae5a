"""The display board in a real Chromium against a real server: calls, the voice, resync."""
from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import Page, expect

from .helpers import Clerk, admin_headers, wait_until

BOARD = {"width": 1920, "height": 1080}


@pytest.fixture
def board(page: Page, live_server) -> Page:
    page.set_viewport_size(BOARD)
    page.goto(live_server.url + "/display")
    expect(page.locator("#office-name")).not_to_have_text("")
    expect(page.locator("#sound-gate")).to_be_hidden()  # autoplay is allowed in the test browser
    return page


def spoken_clips(page: Page, count: int, timeout_s: float = 40) -> list[str]:
    """Wait until the board has started `count` clips; return its clip log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        log = page.evaluate("window.motcuaVoice.log")
        if len(log) >= count:
            return log
        time.sleep(0.2)
    raise AssertionError(f"the board started only {log}")


ONE_SAYING_A015_AT_3 = ["moi-cong-dan-co-so", "chu-a", "so-muoi", "so-lam", "den-quay-so", "so-ba"]


def test_a_call_shows_within_a_second_and_is_spoken_in_order(board: Page, live_server):
    clerk = Clerk(live_server)
    for _ in range(15):
        live_server.issue("ho-tich")
    for _ in range(14):  # A001..A014 called and finished at counter 1, so A015 is next
        clerk.call_next(1)
    expect(board.locator("#hero-code")).to_have_text("A014")
    # Let the board finish what it is saying about A014, then listen from a clean log.
    board.evaluate("window.motcuaVoice.queue.length = 0")
    wait_until(board, "!window.motcuaVoice.busy", 20)
    board.evaluate("window.motcuaVoice.log.length = 0; window.motcuaVoice.calls.length = 0")

    requested: list[str] = []
    board.on("request", lambda r: requested.append(r.url) if "/display/voice/" in r.url else None)
    other_clerk = Clerk(live_server, "canbo2")
    started = time.monotonic()
    called = other_clerk.act(3, "call", {"code": "A015"})
    assert called["code"] == "A015"
    expect(board.locator("#hero-code")).to_have_text("A015", timeout=1000)
    assert time.monotonic() - started < 1.0
    expect(board.locator("#hero-counter")).to_have_text("3")
    expect(board.locator('.tile[data-counter="3"] .tile-code')).to_have_text("A015")
    expect(board.locator("#recent-list li").first).to_contain_text("A015")
    expect(board.locator("#hero")).to_have_class(re.compile(r"\bflash\b"))

    log = spoken_clips(board, 1 + 2 * len(ONE_SAYING_A015_AT_3))
    assert log == ["chime"] + ONE_SAYING_A015_AT_3 * 2
    # The clips really came from the server (each fetched once, then cached), none failed.
    fetched = [re.sub(r".*/display/voice/", "", url) for url in requested]
    assert set(ONE_SAYING_A015_AT_3) - {"so-ba"} <= set(fetched) | set(board.evaluate(
        "[...window.motcuaVoice.buffers.keys()]"))
    assert not [entry for entry in log if entry.startswith("failed:")]


def test_a_recall_is_announced_again_and_calls_never_cut_each_other(board: Page, live_server):
    live_server.issue("ho-tich")
    live_server.issue("chung-thuc")
    clerk = Clerk(live_server)
    clerk.call_next(1)           # A001 at counter 1
    clerk.recall(1)              # called again while the first announcement still plays
    Clerk(live_server, "canbo2").call_next(2)  # B001 at counter 2
    expect(board.locator("#hero-code")).to_have_text("B001", timeout=1000)
    wait_until(board, "window.motcuaVoice.calls.length >= 3", 2)
    assert board.evaluate("window.motcuaVoice.calls") == ["A001@1", "A001@1", "B001@2"]

    saying = lambda code_clips, counter_clip: (  # noqa: E731
        ["moi-cong-dan-co-so", *code_clips, "den-quay-so", counter_clip])
    a001 = saying(["chu-a", "so-mot"], "so-mot")
    b001 = saying(["chu-b", "so-mot"], "so-hai")
    expected = ["chime", *a001, *a001, "chime", *a001, *a001, "chime", *b001, *b001]
    # Each announcement plays to its end before the next starts: the clip log is the three, whole, in order.
    assert spoken_clips(board, len(expected), timeout_s=60) == expected


def test_recall_marks_the_call_on_the_board(board: Page, live_server):
    live_server.issue("ho-tich", priority="elderly")
    clerk = Clerk(live_server)
    clerk.call_next(1)
    # In public only that it is a priority ticket, never why (the reason stays with the clerk and the paper).
    expect(board.locator("#hero-priority")).to_have_text("Ưu tiên")
    expect(board.locator("body")).not_to_contain_text("Người cao tuổi")
    expect(board.locator("#hero-recall")).to_be_hidden()
    clerk.recall(1)
    expect(board.locator("#hero-recall")).to_be_visible()
    expect(board.locator('.tile[data-counter="1"]')).to_have_class(re.compile(r"\bis-priority\b"))


def test_board_for_some_counters_shows_and_says_only_those(page: Page, live_server):
    page.set_viewport_size(BOARD)
    page.goto(live_server.url + "/display?counters=2,3")
    expect(page.locator(".tile")).to_have_count(2)
    live_server.issue("ho-tich")
    live_server.issue("ho-tich")
    Clerk(live_server).call_next(1)          # not on this board
    Clerk(live_server, "canbo2").call_next(2)
    expect(page.locator("#hero-code")).to_have_text("A002")
    page.wait_for_timeout(300)
    assert page.evaluate("window.motcuaVoice.calls") == ["A002@2"]
    expect(page.locator("#recent-list li")).to_have_count(1)


def test_waiting_counts_follow_the_queue(board: Page, live_server):
    row = board.locator('#waiting-list li[data-field="chung-thuc"] .waiting-count')
    expect(row).to_have_text("0 người")
    live_server.issue("chung-thuc")
    live_server.issue("chung-thuc")
    expect(row).to_have_text("2 người")


def test_date_and_time_in_vietnamese(board: Page):
    expect(board.locator("#clock")).to_have_text(
        re.compile(r"^(Thứ (Hai|Ba|Tư|Năm|Sáu|Bảy)|Chủ Nhật), \d\d/\d\d/\d{4} \d\d:\d\d$"))
    text = board.evaluate("""async () => {
        const m = await import('/static/common/clock.js');
        return m.vietnameseDateTime(Date.parse('2026-11-25T01:15:00Z'), 420);
    }""")
    assert text == "Thứ Tư, 25/11/2026 08:15"


def test_announcement_with_html_is_shown_as_text(board: Page, live_server):
    text = '<img src=x onerror="document.title=\'hacked\'"><b>Nghỉ trưa 11:30–13:00</b>'
    r = requests.post(live_server.url + "/api/admin/announcements", json={"text": text},
                      headers=admin_headers(live_server), timeout=5)
    assert r.status_code in (200, 201), r.text
    expect(board.locator("#ticker-text")).to_have_text(text)  # arrives with the next `state`
    assert board.locator("#ticker img, #ticker b").count() == 0
    assert board.title() != "hacked"


def test_without_autoplay_the_board_asks_for_a_touch(browser, live_server):
    context = browser.new_context(viewport=BOARD)
    page = context.new_page()
    # Chromium here allows sound without a gesture; make this page's AudioContext start suspended, as a TV would.
    page.add_init_script("""
        const Real = window.AudioContext;
        window.AudioContext = class extends Real {
            constructor(...a) { super(...a); this.suspend(); this._gesture = false;
                document.addEventListener('pointerdown', () => { this._gesture = true; }, true); }
            resume() { return this._gesture ? super.resume() : Promise.resolve(); }
        };""")
    page.goto(live_server.url + "/display")
    gate = page.locator("#sound-gate")
    expect(gate).to_be_visible()
    expect(gate).to_have_text("Chạm để bật âm thanh")
    gate.click()
    expect(gate).to_be_hidden()
    context.close()


def test_board_comes_back_by_itself_after_a_server_restart(board: Page, live_server):
    live_server.issue("ho-tich")
    live_server.restart()
    expect(board.locator("#offline")).to_be_visible(timeout=5000)
    expect(board.locator("#offline")).to_be_hidden(timeout=15000)
    Clerk(live_server).call_next(1)
    expect(board.locator("#hero-code")).to_have_text("A001", timeout=2000)
    expect(board.locator('#waiting-list li[data-field="ho-tich"] .waiting-count')).to_have_text("0 người")


def test_the_page_says_numbers_like_the_voice_pack_builder(board: Page):
    """numbers.js (what the board plays) agrees with words.py (what the pack was built from) on 0..999."""
    from display.voice.words import call_clips, number_words

    said = board.evaluate("""async () => {
        const m = await import('/display/static/numbers.js');
        return { words: Array.from({ length: 1000 }, (_, n) => m.numberWords(n).join(' ')),
                 call: m.callClips('K121', 12), text: m.callText('A015', 3) };
    }""")
    assert said["words"] == [" ".join(number_words(n)) for n in range(1000)]
    assert said["call"] == call_clips("K121", 12)
    assert said["text"] == "Mời công dân có số a mười lăm đến quầy số ba"


def test_a_counter_that_pauses_or_finishes_updates_its_tile_live(board: Page, live_server):
    clerk = Clerk(live_server)
    ticket = live_server.issue("ho-tich")
    clerk.call_next(2)
    tile = board.locator('.tile[data-counter="2"]')
    expect(tile).to_contain_text(ticket["code"])
    clerk.finish(2)
    expect(tile).not_to_contain_text(ticket["code"])
    clerk.act(2, "pause")
    expect(tile).to_contain_text("Tạm dừng")
    expect(tile).to_have_class(re.compile(r"\bis-paused\b"))
    clerk.act(2, "resume")
    expect(tile).not_to_contain_text("Tạm dừng")


def test_the_boards_websocket_is_not_compressed_and_hears_calls(board: Page, live_server):
    """Chromium offers permessage-deflate on every websocket; accepted, the server kept a zlib
    compressor per board and compressed every call once per board (200 boards: 149 MB instead of
    100 MB). The server declines it, and the board still hears calls."""
    board.wait_for_function("() => { const e = window.motcuaBoard.socket.io.engine;"
                            " return e && e.readyState === 'open' && e.transport.name === 'websocket'; }")
    assert board.evaluate("window.motcuaBoard.socket.io.engine.transport.ws.extensions") == ""
    ticket = live_server.issue("ho-tich")
    Clerk(live_server).call_next(1)
    expect(board.locator('.tile[data-counter="1"]')).to_contain_text(ticket["code"])
