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
    # On a new database `init` makes the first admin and says so (the server will not, later).
    from tests.live import ADMIN_LINE

    match = ADMIN_LINE.search(result.stdout + result.stderr)
    if match and server.admin is None:
        server.admin = (match.group(1), match.group(2))


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


# ----- a province centre: many counters and fields (the device matrix and the screenshots) -----
MORE_FIELDS = [
    {"code": "cu-tru", "prefix": "L", "name": "Cư trú", "hint": "Đăng ký thường trú, tạm trú, lưu trú", "minutes": 6},
    {"code": "tu-phap-nuoc-ngoai", "prefix": "M", "name": "Tư pháp – hộ tịch có yếu tố nước ngoài",
     "hint": "Kết hôn, khai sinh, nhận cha mẹ con có yếu tố nước ngoài", "minutes": 20},
    {"code": "tai-nguyen-moi-truong", "prefix": "N", "name": "Tài nguyên và môi trường",
     "hint": "Khai thác nước, xả thải, đánh giá tác động môi trường", "minutes": 15},
    {"code": "giao-duc", "prefix": "P", "name": "Giáo dục và đào tạo",
     "hint": "Chuyển trường, công nhận văn bằng, cấp bản sao", "minutes": 8},
]


def big_office(counters: int = 30, named: tuple[int, ...] = (3, 7)):
    """A `seed_with` change: 12 fields (long names among them) and `counters` counters, each serving a few."""
    def change(seed):
        # Open all day, so the tests and the screenshots work whatever the hour.
        seed["fields"] = [{k: v for k, v in f.items() if k not in ("hours", "daily_cap")}
                          for f in seed["fields"]] + [dict(f) for f in MORE_FIELDS]
        codes = [f["code"] for f in seed["fields"]]
        seed["counters"] = [
            {"number": n, "name": f"Quầy {n} – một cửa liên thông" if n in named else f"Quầy {n}",
             "fields": [codes[(n - 1) % len(codes)], codes[n % len(codes)], codes[(n + 4) % len(codes)]]}
            for n in range(1, counters + 1)
        ]
    return change
