"""The rating tablet in a real Chromium against a real server: pairing, rate_request, one rating per ticket."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import Page, expect

from .helpers import Clerk, ticket

TABLET = {"width": 1280, "height": 800}


@pytest.fixture
def tablet(page: Page, live_server) -> Page:
    """A tablet paired to counter 1 through the link `motcua device pair tablet --counter 1` prints."""
    page.set_viewport_size(TABLET)
    code = live_server.pairing_code("tablet", counter=1)
    page.goto(f"{live_server.url}/rating?pair={code}")
    expect(page.locator("#idle")).to_be_visible()
    expect(page.locator("#idle-counter")).to_have_text("Quầy 1")
    assert "pair=" not in page.url  # the one-time code leaves the address bar
    page.wait_for_timeout(300)  # the socket joins the counter's room on connect
    return page


def serve(live_server, clerk: Clerk, field: str = "ho-tich") -> dict:
    issued = live_server.issue(field)
    clerk.call_next(1)
    clerk.finish(1)
    return issued


def test_finish_asks_the_paired_tablet_and_the_rating_is_stored_once(tablet: Page, live_server):
    clerk = Clerk(live_server)
    issued = serve(live_server, clerk)
    expect(tablet.locator("#rate")).to_be_visible(timeout=2000)
    expect(tablet.locator("#rate-code")).to_have_text(issued["code"])
    levels = tablet.locator(".level")
    expect(levels).to_have_count(3)
    expect(levels.nth(0)).to_contain_text("Rất hài lòng")
    expect(levels.nth(2)).to_contain_text("Không hài lòng")
    assert tablet.locator(".level svg.face").count() == 3

    tablet.locator('.level[data-score="3"]').click()
    expect(tablet.locator("#thanks")).to_be_visible()
    expect(tablet.locator("#thanks-title")).to_have_text("Cảm ơn ông/bà đã đánh giá!")
    assert ticket(live_server, issued["token"])["rated"] is True

    again = requests.post(live_server.url + "/api/ratings", json={"token": issued["token"], "score": 1}, timeout=5)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"
    expect(tablet.locator("#idle")).to_be_visible(timeout=10000)


def test_the_lowest_level_asks_reasons_and_a_comment(tablet: Page, live_server):
    clerk = Clerk(live_server)
    issued = serve(live_server, clerk)
    tablet.locator('.level[data-score="1"]').click()
    expect(tablet.locator(".rate-question")).to_have_text("Xin cho biết vì sao ông/bà chưa hài lòng")
    tablet.locator('.reason[data-reason="waiting"]').click()
    tablet.locator('.reason[data-reason="guidance"]').click()
    tablet.locator('.reason[data-reason="guidance"]').click()  # changed their mind
    comment = tablet.locator("#rate-comment")
    comment.fill("x" * 600)
    assert len(comment.input_value()) == 500  # the office's limit
    comment.fill("Phải chờ quá lâu <b>ở sảnh</b>")
    tablet.locator("#rate-send").click()
    expect(tablet.locator("#thanks")).to_be_visible()
    assert ticket(live_server, issued["token"])["rated"] is True
    # A second request for the same ticket (e.g. the phone already rated) is refused by the server.
    refused = requests.post(live_server.url + "/api/ratings", json={"token": issued["token"], "score": 3}, timeout=5)
    assert refused.status_code == 409


def test_a_rating_from_the_phone_sends_the_tablet_back_to_idle(tablet: Page, live_server):
    issued = serve(live_server, Clerk(live_server))
    expect(tablet.locator("#rate")).to_be_visible()
    r = requests.post(live_server.url + "/api/ratings", json={"token": issued["token"], "score": 2}, timeout=5)
    assert r.status_code == 201
    expect(tablet.locator("#idle")).to_be_visible()


def test_another_counter_finishing_does_not_ask_this_tablet(tablet: Page, live_server):
    live_server.issue("chung-thuc")
    clerk = Clerk(live_server)
    clerk.call_next(2)
    clerk.finish(2)
    tablet.wait_for_timeout(800)
    expect(tablet.locator("#idle")).to_be_visible()


def test_an_unpaired_tablet_shows_the_pairing_screen_and_pairs_with_a_code(page: Page, live_server):
    page.set_viewport_size(TABLET)
    page.goto(live_server.url + "/rating")
    expect(page.locator("#pairing h1")).to_have_text("Ghép nối máy đánh giá với quầy")
    page.locator("#pair-code").fill("SAI-MA-00")
    page.locator("#pair-form button").click()
    expect(page.locator("#pair-error")).to_have_text("Mã ghép nối không đúng hoặc đã hết hạn.")
    page.locator("#pair-code").fill(live_server.pairing_code("tablet", counter=2).lower())
    page.locator("#pair-form button").click()
    expect(page.locator("#idle-counter")).to_have_text("Quầy 2")
    page.wait_for_timeout(300)
    live_server.issue("chung-thuc")
    clerk = Clerk(live_server)
    clerk.call_next(2)
    clerk.finish(2)
    expect(page.locator("#rate-code")).to_have_text("B001")


def test_the_tablet_goes_idle_when_nobody_rates(tablet: Page, live_server):
    tablet.clock.install()
    serve(live_server, Clerk(live_server))
    expect(tablet.locator("#rate")).to_be_visible()
    tablet.clock.run_for(31_000)
    expect(tablet.locator("#idle")).to_be_visible()


def test_the_tablet_reconnects_after_a_server_restart(tablet: Page, live_server):
    live_server.restart()
    expect(tablet.locator("#offline")).to_be_hidden(timeout=15000)
    tablet.wait_for_timeout(300)
    issued = serve(live_server, Clerk(live_server))
    expect(tablet.locator("#rate-code")).to_have_text(issued["code"], timeout=3000)
