"""Small helpers the public-surface browser tests share: a clerk at work, seeds, waiting for the board."""
from __future__ import annotations

import json
from pathlib import Path

import requests

from server.setup import demo_seed


class Clerk:
    """A clerk working a counter through the API, as the console does."""

    def __init__(self, server, name: str = "canbo1"):
        self.server = server
        self.headers = server.clerk_headers(name)

    def act(self, counter: int, action: str, body: dict | None = None, expect: int = 200) -> dict:
        r = requests.post(f"{self.server.url}/api/counters/{counter}/{action}", json=body or {},
                          headers=self.headers, timeout=5)
        assert r.status_code == expect, r.text
        return r.json()

    def call_next(self, counter: int = 1) -> dict:
        return self.act(counter, "call-next")

    def recall(self, counter: int = 1) -> dict:
        return self.act(counter, "recall")

    def finish(self, counter: int = 1) -> dict:
        return self.act(counter, "finish")


def seed_with(tmp_path: Path, server, change) -> None:
    """Apply the demo office with `change(seed)` made to it, through `motcua init --seed`."""
    seed = demo_seed()
    change(seed)
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed, ensure_ascii=False), encoding="utf-8")
    result = server.cli("init", "--seed", str(path))
    assert result.returncode == 0, result.stderr


def admin_headers(server) -> dict:
    assert server.admin, "the live server printed no first admin account"
    return server.login(*server.admin)


def ticket(server, token: str) -> dict:
    r = requests.get(f"{server.url}/api/tickets/{token}", timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def wait_until(page, expression: str, timeout_s: float = 10) -> None:
    """Poll a JS expression with page.evaluate (wait_for_function needs eval, which the pages' CSP forbids)."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.evaluate(expression):
            return
        time.sleep(0.1)
    raise AssertionError(f"still false after {timeout_s}s: {expression}")
