"""A page served for one office of a province (/o/<slug>/…) keeps its API calls, its socket and its
links in that office; with no slug everything is as in a one-office install.

The server side of /o/<slug> comes separately: here the page frame is given the slug (as the server
will render it) and the office's API paths are answered by today's paths, so the pages' side is
checked on its own, in a real Chromium against a real server.
"""
from __future__ import annotations

import re

import pytest
from flask import render_template
from playwright.sync_api import Page, expect

from tests.conftest import build
from tests.live import LiveServer

SLUG = "phuong-ba-dinh"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("offices") / "office").start()
    yield server
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


def as_office_page(page: Page, server) -> list[str]:
    """Serve the surfaces as the server will under /o/<slug>: the frame carries the slug, the office's
    API paths answer as today's. Returns the office paths the page asked for."""
    asked: list[str] = []

    def office_path(route):
        asked.append(route.request.url.split(server.url, 1)[1])
        route.fulfill(response=route.fetch(url=route.request.url.replace(f"/o/{SLUG}", "", 1)))

    # <html data-office> as page.html renders it for an office (set before the page's module runs).
    page.add_init_script(f"""
        new MutationObserver((_, watcher) => {{
            if (!document.documentElement) return;
            document.documentElement.dataset.office = '{SLUG}';
            watcher.disconnect();
        }}).observe(document, {{ childList: true }});""")
    page.route(f"**/o/{SLUG}/**", office_path)
    return asked


def test_a_kiosk_of_an_office_asks_that_office(page: Page, server):
    asked = as_office_page(page, server)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.set_viewport_size({"width": 1080, "height": 1920})
    page.goto(server.url + "/kiosk")
    expect(page.locator("html")).to_have_attribute("data-office", SLUG)
    page.locator('.field[data-field="ho-tich"]').click()
    expect(page.locator("#ticket-code")).to_have_text("A001")
    expect(page.locator("#ticket-print")).to_have_text("Vui lòng nhận phiếu")
    assert f"/o/{SLUG}/api/fields" in asked and f"/o/{SLUG}/api/tickets" in asked
    assert any(f"office={SLUG}" in url for url in sockets), sockets
    # The QR is the ticket's own (tokens belong to no office): the same path under any office.
    expect(page.locator("#ticket-qr")).to_have_attribute("src", re.compile(r"^/qr/[\w-]+\.svg$"))


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
