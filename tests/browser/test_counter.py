"""The clerk's console in a real browser: log in, pick a counter, call, recall, no-show, finish,
transfer, pause, call a given number — by button and by keyboard — against a real server."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


@pytest.fixture
def clerk_login(live_server):
    return live_server.add_user("canbo1")


def log_in(page: Page, server, credentials, counter: int = 1) -> None:
    page.goto(server.url + "/counter/")
    page.get_by_label("Tên đăng nhập").fill(credentials[0])
    page.get_by_label("Mật khẩu").fill(credentials[1])
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("button", name=re.compile(f"^Quầy {counter}")).click()
    expect(page.locator("#counter-title")).to_have_text(f"Quầy {counter}")


def ticket_status(server, token: str) -> str:
    return requests.get(f"{server.url}/api/tickets/{token}", timeout=5).json()["status"]


def test_wrong_password_is_said_plainly(page: Page, live_server, clerk_login):
    page.goto(live_server.url + "/counter/")
    page.get_by_label("Tên đăng nhập").fill("canbo1")
    page.get_by_label("Mật khẩu").fill("sai-mat-khau-roi")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("#login-error")).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    expect(page.locator("#console-view")).to_be_hidden()


def test_clerk_calls_recalls_and_finishes_by_button(page: Page, live_server, clerk_login):
    first = live_server.issue("ho-tich")
    second = live_server.issue("chung-thuc", priority="elderly")
    log_in(page, live_server, clerk_login)

    waiting = page.locator("#waiting-list li")
    expect(waiting).to_have_count(2)
    # the priority ticket is first and marked
    expect(waiting.first).to_contain_text(second["code"])
    expect(waiting.first).to_contain_text("Người cao tuổi")
    expect(page.get_by_role("button", name=re.compile("Gọi lại"))).to_be_disabled()

    page.get_by_role("button", name=re.compile("Gọi số tiếp theo")).click()
    expect(page.locator("#current-code")).to_have_text(second["code"])
    expect(page.locator("#current-priority")).to_have_text("Ưu tiên: Người cao tuổi")
    expect(page.locator("#message")).to_have_text(f"Đã gọi số {second['code']}.")
    expect(page.locator("#current-timer")).to_have_text(re.compile(r"00:0[1-9]"), timeout=4000)

    page.get_by_role("button", name=re.compile("Gọi lại")).click()
    expect(page.locator("#message")).to_have_text(f"Đã gọi lại số {second['code']}.")

    page.get_by_role("button", name=re.compile("Hoàn thành")).click()
    expect(page.locator("#message")).to_have_text(f"Đã hoàn thành số {second['code']}.")
    expect(page.locator("#served-today")).to_have_text("1")
    assert ticket_status(live_server, second["token"]) == "done"

    page.get_by_role("button", name=re.compile("Gọi số tiếp theo")).click()
    expect(page.locator("#current-code")).to_have_text(first["code"])
    page.get_by_role("button", name=re.compile("Vắng mặt")).click()
    expect(page.locator("#no-show-list")).to_contain_text(first["code"])
    assert ticket_status(live_server, first["token"]) == "no_show"

    # an empty queue is said plainly, not as a code
    page.get_by_role("button", name=re.compile("Gọi số tiếp theo")).click()
    expect(page.locator("#message")).to_have_text("Không còn ai đang chờ ở các lĩnh vực của quầy này.")

    # the no-show comes back by its button
    page.locator("#no-show-list").get_by_role("button", name="Gọi số này").click()
    expect(page.locator("#current-code")).to_have_text(first["code"])
    assert ticket_status(live_server, first["token"]) == "called"


def test_clerk_works_with_the_keyboard_alone(page: Page, live_server, clerk_login):
    tickets = [live_server.issue("ho-tich") for _ in range(3)]
    log_in(page, live_server, clerk_login)
    expect(page.locator("#waiting-list li")).to_have_count(3)

    page.keyboard.press("Space")
    expect(page.locator("#current-code")).to_have_text(tickets[0]["code"])
    page.keyboard.press("r")
    expect(page.locator("#message")).to_have_text(f"Đã gọi lại số {tickets[0]['code']}.")
    page.keyboard.press("h")
    expect(page.locator("#served-today")).to_have_text("1")
    assert ticket_status(live_server, tickets[0]["token"]) == "done"

    page.keyboard.press("n")
    expect(page.locator("#current-code")).to_have_text(tickets[1]["code"])
    page.keyboard.press("v")
    expect(page.locator("#no-show-list")).to_contain_text(tickets[1]["code"])

    # G: call a given number
    page.keyboard.press("g")
    expect(page.locator("#call-dialog")).to_be_visible()
    page.keyboard.type(tickets[2]["code"].lower())
    page.keyboard.press("Enter")
    expect(page.locator("#call-dialog")).to_be_hidden()
    expect(page.locator("#current-code")).to_have_text(tickets[2]["code"])

    # P while serving: refused plainly; after finishing, P pauses and P resumes
    page.keyboard.press("p")
    expect(page.locator("#message")).to_contain_text("Hãy bấm Hoàn thành hoặc Vắng mặt trước khi tạm dừng")
    page.keyboard.press("h")
    expect(page.locator("#served-today")).to_have_text("2")
    page.keyboard.press("p")
    expect(page.locator("#counter-state")).to_have_text("Đang tạm dừng")
    expect(page.locator("#paused-banner")).to_be_visible()
    page.keyboard.press("n")
    expect(page.locator("#message")).to_contain_text("đang tạm dừng")
    page.keyboard.press("p")
    expect(page.locator("#counter-state")).to_have_text("Đang mở")


def test_calling_a_number_that_does_not_exist_says_so_in_the_dialog(page: Page, live_server, clerk_login):
    log_in(page, live_server, clerk_login)
    page.get_by_role("button", name=re.compile("Gọi số cụ thể")).click()
    page.locator("#call-code").fill("A999")
    page.get_by_role("button", name="Gọi", exact=True).click()
    expect(page.locator("#call-error")).to_have_text("Không tìm thấy số A999 trong ngày hôm nay.")
    page.keyboard.press("Escape")
    expect(page.locator("#call-dialog")).to_be_hidden()


def test_transfer_sends_the_ticket_to_another_field(page: Page, live_server, clerk_login):
    ticket = live_server.issue("ho-tich")
    log_in(page, live_server, clerk_login)
    page.keyboard.press("n")
    expect(page.locator("#current-code")).to_have_text(ticket["code"])
    page.keyboard.press("t")
    page.get_by_role("button", name="C · Đất đai").click()
    expect(page.locator("#message")).to_have_text(f"Đã chuyển số {ticket['code']} sang lĩnh vực Đất đai.")
    expect(page.locator("#current")).to_have_class(re.compile("empty"))
    status = requests.get(f"{live_server.url}/api/tickets/{ticket['token']}", timeout=5).json()
    assert status["status"] == "waiting" and status["field"] == "dat-dai"


def test_the_waiting_list_follows_the_kiosk_live(page: Page, live_server, clerk_login):
    log_in(page, live_server, clerk_login)
    expect(page.locator("#waiting-list")).to_contain_text("Không có ai đang chờ.")
    ticket = live_server.issue("chung-thuc")
    expect(page.locator("#waiting-list li").first).to_contain_text(ticket["code"], timeout=3000)
    expect(page.locator("#waiting-count")).to_have_text("1")


def test_english_switch(page: Page, live_server, clerk_login):
    page.goto(live_server.url + "/counter/")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.get_by_label("Username").fill(clerk_login[0])
    page.get_by_label("Password").fill(clerk_login[1])
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name=re.compile("^Quầy 1")).click()
    expect(page.get_by_role("button", name=re.compile("Call next"))).to_be_visible()
    page.keyboard.press("n")
    expect(page.locator("#message")).to_have_text("Nobody is waiting in this counter's fields.")
    page.get_by_role("link", name="Tiếng Việt").click()
    expect(page.get_by_role("button", name=re.compile("Gọi số tiếp theo"))).to_be_visible()
