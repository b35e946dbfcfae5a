"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium), never a downloaded browser."""
from __future__ import annotations

import os
import shutil

import pytest
from playwright.sync_api import expect

CHROMIUM = os.environ.get("MOTCUA_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.browser

# CI has two cores shared by the server, Chromium and pytest: give pages a little more time
# than Playwright's default 5 s before an expectation fails (a passing check does not wait).
expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("MOTCUA_REQUIRE_SERVICES"):
            pytest.fail(f"{CHROMIUM} is not installed and MOTCUA_REQUIRE_SERVICES is set")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "vi-VN", "timezone_id": "Asia/Ho_Chi_Minh"}
