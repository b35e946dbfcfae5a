"""kill -9 of the server in the middle of a stream of issues: every acknowledged ticket survives."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest
import requests

pytestmark = pytest.mark.slow


def test_acknowledged_tickets_survive_kill_9(live_server):
    server = live_server
    acknowledged, stop = [], threading.Event()

    def stream():
        session = requests.Session()
        while not stop.is_set():
            try:
                r = session.post(server.url + "/api/tickets", json={"field": "ho-tich"}, timeout=2)
            except requests.RequestException:
                return  # the server is gone
            if r.status_code == 201:
                acknowledged.append(r.json())

    writers = [threading.Thread(target=stream) for _ in range(4)]
    for w in writers:
        w.start()
    while len(acknowledged) < 60:
        time.sleep(0.01)
    server.kill()  # SIGKILL mid-stream
    stop.set()
    for w in writers:
        w.join(10)

    server.start()
    for ticket in acknowledged:
        r = requests.get(f"{server.url}/api/tickets/{ticket['token']}", timeout=5)
        assert r.status_code == 200 and r.json()["code"] == ticket["code"]

    database = server.home / "motcua-data" / "motcua.db"
    with sqlite3.connect(database) as db:
        numbers = [n for (n,) in db.execute(
            "SELECT number FROM ticket t JOIN field f ON f.id = t.issued_field_id "
            "WHERE f.code = 'ho-tich' ORDER BY number")]
    assert numbers == list(range(1, len(numbers) + 1)), "no number skipped or repeated"
    assert len(numbers) >= len(acknowledged)
    nxt = server.issue("ho-tich")
    assert nxt["number"] == len(numbers) + 1, "numbering continues after the crash"
