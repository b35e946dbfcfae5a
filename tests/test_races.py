"""Concurrent kiosks and counters against a real server process: nothing repeated, skipped or double-called."""
from __future__ import annotations

import json
import os
import threading
from collections import Counter as Tally

import pytest
import requests

from server.setup import demo_seed

from .conftest import _PG_SKIP, _drop_schema, _pg_schema_url
from .live import LiveServer

pytestmark = pytest.mark.slow

KIOSKS, TICKETS_PER_KIOSK = 8, 30
COUNTERS = (1, 2, 3, 4)
FIELDS = ("ho-tich", "chung-thuc")


def _seed_four_counters_on_two_fields(path):
    seed = demo_seed()
    seed["counters"] = [{"number": n, "name": f"Quầy {n}", "fields": list(FIELDS)} for n in COUNTERS]
    path.write_text(json.dumps(seed, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def busy_server(request, tmp_path):
    env = {}
    schema = None
    if request.param == "postgresql":
        if _PG_SKIP:
            pytest.skip(_PG_SKIP)
        env["DATABASE_URL"], schema = _pg_schema_url()
    server = LiveServer(tmp_path / "office", env=env)
    result = server.cli("init", "--seed", str(_seed_four_counters_on_two_fields(tmp_path / "seed.json")))
    assert result.returncode == 0, result.stderr
    server.start()
    yield server
    server.stop()
    if schema:
        _drop_schema(schema)


def test_concurrent_kiosks_and_counters(busy_server):
    server = busy_server
    issued, called, errors = [], [], []
    lock = threading.Lock()
    kiosks_done = threading.Event()

    def kiosk(i):
        session = requests.Session()
        for n in range(TICKETS_PER_KIOSK):
            r = session.post(server.url + "/api/tickets", json={"field": FIELDS[(i + n) % 2]}, timeout=30)
            with lock:
                (issued.append(r.json()) if r.status_code == 201 else errors.append(r.text))

    def counter(number, headers):
        session = requests.Session()
        while True:
            r = session.post(f"{server.url}/api/counters/{number}/call-next", headers=headers, timeout=30)
            if r.status_code == 200:
                with lock:
                    called.append(r.json()["code"])
            elif r.status_code == 404 and r.json()["error"]["code"] == "queue_empty":
                if kiosks_done.is_set():
                    return
            else:
                with lock:
                    errors.append(r.text)
                return

    clerks = [server.clerk_headers(f"canbo{n}") for n in COUNTERS]
    kiosk_threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(KIOSKS)]
    counter_threads = [threading.Thread(target=counter, args=(n, h)) for n, h in zip(COUNTERS, clerks)]
    for t in kiosk_threads + counter_threads:
        t.start()
    for t in kiosk_threads:
        t.join(120)
    kiosks_done.set()
    for t in counter_threads:
        t.join(120)

    assert errors == []
    total = KIOSKS * TICKETS_PER_KIOSK
    assert len(issued) == total
    for field in FIELDS:
        numbers = sorted(t["number"] for t in issued if t["field"] == field)
        assert numbers == list(range(1, len(numbers) + 1)), f"{field}: repeated or skipped numbers"
    repeated = [code for code, times in Tally(called).items() if times > 1]
    assert repeated == [], "a ticket was called by two counters"
    assert sorted(called) == sorted(t["code"] for t in issued), "every ticket called exactly once"


def test_idempotent_retries_racing_make_one_ticket(live_server):
    results = []

    def tap():
        r = requests.post(live_server.url + "/api/tickets", json={"field": "ho-tich"},
                          headers={"Idempotency-Key": "may-1-lan-cham-7"}, timeout=30)
        results.append((r.status_code, r.json()["token"]))

    threads = [threading.Thread(target=tap) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert {status for status, _ in results} == {201}
    assert len({token for _, token in results}) == 1
    assert live_server.issue("ho-tich")["code"] == "A002"


@pytest.mark.skipif(bool(_PG_SKIP), reason=_PG_SKIP or "")
def test_two_server_processes_share_postgresql_and_redis(tmp_path):
    """The scaled-out setup: two processes, one database, Redis carrying Socket.IO between them."""
    import redis
    import socketio

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("MOTCUA_REQUIRE_SERVICES"):
            raise
        pytest.skip("no Redis at 127.0.0.1:6379")
    url, schema = _pg_schema_url()
    env = {"DATABASE_URL": url, "MESSAGE_QUEUE_URL": "redis://127.0.0.1:6379/0", "SECRET_KEY": "shared-secret"}
    # One process in each async mode: both must speak through the same Redis and PostgreSQL.
    a = LiveServer(tmp_path / "a", env=env, async_mode="eventlet").start()
    b = LiveServer(tmp_path / "b", env=env, async_mode="threading").start()
    try:
        heard = threading.Event()
        calls = []
        board = socketio.Client()
        board.on("ticket_called", lambda data: (calls.append(data), heard.set()))
        board.connect(a.url, transports=["websocket"])
        ticket = a.issue("ho-tich")
        assert b.issue("ho-tich")["code"] == "A002"  # one numbering across processes
        clerk = b.clerk_headers()
        r = requests.post(b.url + "/api/counters/1/call-next", headers=clerk, timeout=10)
        assert r.status_code == 200 and r.json()["code"] == ticket["code"]
        assert heard.wait(5), "a board on process A did not hear a call made on process B"
        assert calls[0]["ticket"]["code"] == ticket["code"]
        board.disconnect()
    finally:
        a.stop()
        b.stop()
        _drop_schema(schema)
