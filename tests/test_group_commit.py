"""Tickets issued at the same moment share one durable commit (SQLite under eventlet): each is
still numbered in order, refused on its own, answered only once it is on disk, and never lost.

The storage's group commit is checked directly (threads joining one transaction), then the way
kiosks meet it: a real eventlet server, many kiosks tapping at once."""
from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest
import requests
from sqlalchemy import event, text

from server.setup import demo_seed
from server.storage import Storage

from .live import LiveServer


# ----- the storage itself ----------------------------------------------------------------------
@pytest.fixture
def storage(tmp_path):
    storage = Storage(f"sqlite:///{tmp_path / 'group.db'}")
    with storage.write() as s:
        s.execute(text("CREATE TABLE row (id INTEGER PRIMARY KEY, who TEXT UNIQUE NOT NULL)"))
    storage.group_commits(lambda: time.sleep(0.002))  # a thread's turn stands in for eventlet's
    yield storage
    storage.dispose()


def _together(count: int, work) -> list:
    """Run `work(i)` in `count` threads released at the same moment; their results or errors."""
    start = threading.Barrier(count)
    results: list = [None] * count

    def run(i):
        start.wait()
        try:
            results[i] = work(i)
        except Exception as err:  # the test looks at it
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_blocks_at_one_moment_share_commits_and_each_is_on_disk_when_it_returns(storage):
    commits = []
    event.listen(storage.engine, "commit", lambda conn: commits.append(1))

    def block(i):
        with storage.write(grouped=True) as s:
            s.execute(text("INSERT INTO row (who) VALUES (:who)"), {"who": f"kiosk-{i}"})
        # Returned: another connection (another process, after a crash) reads the row.
        with storage.read() as s:
            return s.execute(text("SELECT count(*) FROM row WHERE who = :who"), {"who": f"kiosk-{i}"}).scalar()

    assert _together(24, block) == [1] * 24
    assert len(commits) < 24, "every block paid its own commit"
    with storage.read() as s:
        assert s.execute(text("SELECT count(*) FROM row")).scalar() == 24


def test_a_block_that_fails_leaves_the_others_in_its_commit_whole(storage):
    def block(i):
        with storage.write(grouped=True) as s:
            s.execute(text("INSERT INTO row (who) VALUES (:who)"), {"who": f"kiosk-{i}"})
            if i % 3 == 0:
                raise ValueError(f"kiosk {i} refused")  # as a rule refusing a ticket mid-way
        return "ok"

    results = _together(12, block)
    assert [str(r) if isinstance(r, ValueError) else r for r in results] == [
        f"kiosk {i} refused" if i % 3 == 0 else "ok" for i in range(12)]
    with storage.read() as s:
        stored = set(s.execute(text("SELECT who FROM row")).scalars())
    assert stored == {f"kiosk-{i}" for i in range(12) if i % 3}


def test_a_conflict_with_a_row_of_the_same_commit_is_told_after_that_row_is_readable(storage):
    """Two retries of one request in one group: the second's conflict must come when the first's
    row can be read, so it can answer with that row (as the issue endpoint does)."""
    def block(_i):
        try:
            with storage.write(grouped=True) as s:
                s.execute(text("INSERT INTO row (who) VALUES ('the-same-key')"))
            return "inserted"
        except Exception:
            with storage.read() as s:
                found = s.execute(text("SELECT count(*) FROM row WHERE who = 'the-same-key'")).scalar()
            return f"conflict, found {found}"

    results = _together(8, block)
    assert sorted(results) == ["conflict, found 1"] * 7 + ["inserted"]


def test_writes_outside_the_group_wait_for_its_commit_and_are_never_mixed_into_it(storage):
    """A counter's call (an ordinary write) during a burst of kiosks: its own transaction, whole."""
    def work(i):
        if i == 0:
            with storage.write() as s:
                s.execute(text("INSERT INTO row (who) VALUES ('counter')"))
                raise RuntimeError("rolled back on its own")
        with storage.write(grouped=True) as s:
            s.execute(text("INSERT INTO row (who) VALUES (:who)"), {"who": f"kiosk-{i}"})
        return "ok"

    results = _together(10, work)
    assert isinstance(results[0], RuntimeError) and results[1:] == ["ok"] * 9
    with storage.read() as s:
        stored = set(s.execute(text("SELECT who FROM row")).scalars())
    assert stored == {f"kiosk-{i}" for i in range(1, 10)}


# ----- kiosks against a real eventlet server --------------------------------------------------------
CAP = 10


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    """An eventlet server (the production mode: tickets there share commits) whose `chung-thuc`
    field gives CAP numbers a day."""
    home = tmp_path_factory.mktemp("group")
    seed = demo_seed()
    for field in seed["fields"]:
        if field["code"] == "chung-thuc":
            field["daily_cap"] = CAP
    (home / "seed.json").write_text(json.dumps(seed, ensure_ascii=False), encoding="utf-8")
    server = LiveServer(home / "office", async_mode="eventlet", env={"PRINTER": "preview"})
    assert server.cli("init", "--seed", str(home / "seed.json")).returncode == 0
    server.start()
    yield server
    server.stop()


def _tap(server, field: str, key: str | None = None) -> requests.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return requests.post(server.url + "/api/tickets", json={"field": field}, headers=headers, timeout=30)


@pytest.mark.slow
def test_many_kiosks_at_once_get_every_number_once_and_every_answered_ticket_survives_kill_9(hall):
    def kiosk(i):
        session = requests.Session()
        return [session.post(hall.url + "/api/tickets", json={"field": "ho-tich"}, timeout=30).json()
                for _ in range(15)]

    answered = [ticket for batch in _together(16, kiosk) for ticket in batch]
    assert len(answered) == 240 and all("token" in t for t in answered), answered[:3]
    assert sorted(t["number"] for t in answered) == list(range(1, 241))
    hall.kill()  # SIGKILL: what was answered was committed first
    hall.start()
    for ticket in answered[::7] + answered[-3:]:
        r = requests.get(f"{hall.url}/api/tickets/{ticket['token']}", timeout=5)
        assert r.status_code == 200 and r.json()["code"] == ticket["code"]
    with sqlite3.connect(hall.home / "motcua-data" / "motcua.db") as db:
        stored = {token for (token,) in db.execute("SELECT token FROM ticket")}
    assert {t["token"] for t in answered} <= stored
    assert hall.issue("ho-tich")["number"] == 241


@pytest.mark.slow
def test_kiosks_refused_at_the_days_cap_leave_the_others_numbered_in_order(hall):
    results = _together(24, lambda i: _tap(hall, "chung-thuc"))
    issued = [r.json() for r in results if r.status_code == 201]
    refused = [r.json()["error"]["code"] for r in results if r.status_code != 201]
    assert sorted(t["number"] for t in issued) == list(range(1, CAP + 1))
    assert refused == ["daily_cap_reached"] * (24 - CAP)
    with sqlite3.connect(hall.home / "motcua-data" / "motcua.db") as db:
        (count,) = db.execute("SELECT count(*) FROM ticket t JOIN field f ON f.id = t.issued_field_id "
                              "WHERE f.code = 'chung-thuc'").fetchone()
        (jobs,) = db.execute("SELECT count(*) FROM print_job j JOIN ticket t ON t.id = j.ticket_id "
                             "JOIN field f ON f.id = t.issued_field_id WHERE f.code = 'chung-thuc'").fetchone()
    assert count == CAP and jobs == CAP, "a refused tap left a ticket or a print job behind"


@pytest.mark.slow
def test_a_kiosks_retries_racing_into_one_commit_make_one_ticket(hall):
    results = _together(10, lambda i: _tap(hall, "kinh-doanh", key="cham-mot-lan-42"))
    assert {r.status_code for r in results} == {201}, [r.text for r in results if r.status_code != 201]
    assert len({r.json()["token"] for r in results}) == 1
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in results) == [""] + ["true"] * 9


@pytest.mark.slow
def test_a_full_disk_fails_every_ticket_of_a_shared_commit_cleanly_and_their_retries_get_them(tmp_path):
    from .stack import wait_until
    from .test_faults import _fill, office_on_a_small_disk

    with office_on_a_small_disk(tmp_path, async_mode="eventlet", env={"PRINTER": "preview"}) as office:
        server = office.server
        _fill(office.disk)
        failed = _together(8, lambda i: _tap(server, "ho-tich", key=f"cham-{i}"))
        assert [r.status_code for r in failed] == [503] * 8, [r.text for r in failed]
        assert {r.json()["error"]["code"] for r in failed} == {"database_unavailable"}

        (office.disk / "filler").unlink()  # the operator frees some space
        assert wait_until(lambda: requests.get(server.url + "/api/health", timeout=5).status_code == 200, 5)
        retried = _together(8, lambda i: _tap(server, "ho-tich", key=f"cham-{i}"))
        assert [r.status_code for r in retried] == [201] * 8, [r.text for r in retried]
        assert sorted(r.json()["number"] for r in retried) == list(range(6, 14))
    assert office.stored == list(range(1, 14)), "the failed taps left nothing behind"
