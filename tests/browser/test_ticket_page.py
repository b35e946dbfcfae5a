"""A ticket's own page on a phone (the QR on the ticket), live in a real Chromium against a real server."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import Page, expect

from .helpers import Clerk, ticket

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(page: Page) -> Page:
    page.set_viewport_size(PHONE)
    return page


def test_the_page_follows_its_ticket_live_then_rates_once(phone: Page, live_server):
    live_server.issue("ho-tich")
    live_server.issue("ho-tich")
    mine = live_server.issue("ho-tich")
    phone.goto(mine["track_url"])
    expect(phone.locator("#code")).to_have_text(mine["code"])
    expect(phone.locator("#field")).to_have_text("Hộ tịch")
    expect(phone.locator("#status-title")).to_have_text("Trước ông/bà còn 2 người")
    expect(phone.locator("#status-text")).to_contain_text("Thời gian chờ dự kiến")

    clerk = Clerk(live_server)
    clerk.call_next(1)
    expect(phone.locator("#status-title")).to_have_text("Trước ông/bà còn 1 người")
    clerk.call_next(1)
    expect(phone.locator("#status-title")).to_have_text("Ông/bà là người tiếp theo")
    Clerk(live_server, "canbo2").call_next(2)
    expect(phone.locator("#status-title")).to_have_text("Mời ông/bà đến quầy số 2")

    Clerk(live_server, "canbo3").act(2, "finish")
    expect(phone.locator("#status-title")).to_have_text("Đã tiếp nhận hồ sơ")
    expect(phone.locator(".level")).to_have_count(3)
    phone.locator('.level[data-score="2"]').click()
    expect(phone.locator("#status-text")).to_have_text("Cảm ơn ông/bà đã đánh giá!")
    expect(phone.locator("#rate")).to_be_hidden()
    assert ticket(live_server, mine["token"])["rated"] is True

    phone.reload()  # once rated, the form never comes back
    expect(phone.locator("#status-text")).to_have_text("Phiếu này đã được đánh giá. Xin cảm ơn!")
    expect(phone.locator("#rate")).to_be_hidden()


def test_a_rating_made_at_the_tablet_takes_the_form_away(phone: Page, live_server):
    mine = live_server.issue("ho-tich")
    clerk = Clerk(live_server)
    clerk.call_next(1)
    clerk.finish(1)
    phone.goto(mine["track_url"])
    expect(phone.locator(".level")).to_have_count(3)
    r = requests.post(live_server.url + "/api/ratings", json={"token": mine["token"], "score": 3}, timeout=5)
    assert r.status_code == 201
    expect(phone.locator("#rate")).to_be_hidden()  # told live, not on the next tap
    expect(phone.locator("#status-text")).to_have_text("Phiếu này đã được đánh giá. Xin cảm ơn!")


def test_a_no_show_is_told_where_to_go(phone: Page, live_server):
    mine = live_server.issue("ho-tich")
    phone.goto(mine["track_url"])
    expect(phone.locator("#status-title")).to_have_text("Ông/bà là người tiếp theo")
    clerk = Clerk(live_server)
    clerk.call_next(1)
    clerk.act(1, "no-show")
    expect(phone.locator("#status-title")).to_have_text("Ông/bà đã vắng mặt khi được gọi")
    expect(phone.locator("#status-text")).to_have_text("Vui lòng liên hệ quầy số 1 để được gọi lại.")


def test_an_unknown_ticket_says_so(phone: Page, live_server):
    phone.goto(live_server.url + "/t/khong-co-phieu-nay")
    expect(phone.locator("#status-title")).to_have_text("Không tìm thấy phiếu này.")
    assert requests.get(live_server.url + "/t/<script>", timeout=5).status_code == 404


def test_the_page_keeps_following_after_a_server_restart(phone: Page, live_server):
    live_server.issue("ho-tich")
    mine = live_server.issue("ho-tich")
    phone.goto(mine["track_url"])
    expect(phone.locator("#status-title")).to_have_text("Trước ông/bà còn 1 người")
    live_server.restart()
    expect(phone.locator("#offline")).to_be_hidden(timeout=15000)
    phone.wait_for_timeout(300)
    Clerk(live_server).call_next(1)
    expect(phone.locator("#status-title")).to_have_text("Ông/bà là người tiếp theo")
