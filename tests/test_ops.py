"""Operations: /api/health, `motcua check` and `motcua backup`, as an IT department uses them."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import threading
import time

import pytest
import requests
from sqlalchemy.exc import OperationalError

from server import ops

from .conftest import _PG_SKIP, _drop_schema, _pg_schema_url, build
from .live import ROOT, LiveServer, free_port
from .redis_process import RedisProcess, redis_binary


# ----- /api/health ------------------------------------------------------------------------------
@pytest.fixture
def sqlite_app(tmp_path, sqlite_url, clock):
    app = build(tmp_path, sqlite_url, clock)
    yield app
    app.extensions["motcua"].storage.dispose()


@pytest.fixture
def sqlite_client(sqlite_app):
    return sqlite_app.test_client()


def test_health_reports_the_database(client):
    r = client.get("/api/health")
    assert r.status_code == 200 and r.get_json() == {"status": "ok", "database": "ok"}


def test_health_probes_the_database_rarely_however_often_it_is_polled(app, monkeypatch):
    probes = []
    real = ops.probe_database
    monkeypatch.setattr(ops, "probe_database", lambda storage: probes.append(1) or real(storage))
    now = [1000.0]
    health = ops.Health(app.extensions["motcua"].storage, None, clock=lambda: now[0])
    for _ in range(50):
        assert health.report() == ({"status": "ok", "database": "ok"}, True)
    assert len(probes) == 1
    now[0] += ops.PROBE_EVERY_S + 0.1
    health.report()
    assert len(probes) == 2
    health.invalidate()  # what a request that failed on the database does
    health.report()
    assert len(probes) == 3


@pytest.mark.skipif(not redis_binary(), reason="no redis-server (Debian: apt-get install redis-server)")
def test_health_says_the_message_queue_is_back_once_redis_is(app, tmp_path):
    """Redis goes and comes back on the same port: health says error within the recheck, then ok
    again at the next probe, from a new client (nothing kept from the outage)."""
    redis = RedisProcess(tmp_path / "redis").start()
    now = [1000.0]
    health = ops.Health(app.extensions["motcua"].storage, redis.url, clock=lambda: now[0])
    try:
        assert health.report()[0]["message_queue"] == "ok"
        redis.kill()
        now[0] += ops.PROBE_EVERY_S + 0.1
        body, can_take_tickets = health.report()
        assert body["message_queue"] == "error" and body["status"] == "degraded" and can_take_tickets
        assert health._redis is None  # the client of before the outage is dropped with the failure
        now[0] += ops.RECHECK_FAILED_S + 0.1
        assert health.report()[0]["message_queue"] == "error"  # still away: probed again, still said
        redis.start()  # the same port
        now[0] += ops.RECHECK_FAILED_S + 0.1
        assert health.report()[0] == {"status": "ok", "database": "ok", "message_queue": "ok"}
    finally:
        redis.kill()


def test_health_answers_503_when_the_disk_is_full(sqlite_client, monkeypatch):
    client = sqlite_client
    monkeypatch.setattr(ops, "MIN_FREE_BYTES", 1 << 62)  # every disk is "full" now
    r = client.get("/api/health")
    body = r.get_json()
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert body["status"] == "error" and body["database"] == "error"
    assert body["error"]["code"] == "database_unavailable" and body["error"]["message"]


def _sqlite_error(message: str, code: int) -> OperationalError:
    orig = sqlite3.OperationalError(message)
    orig.sqlite_errorcode = code  # what sqlite3 sets on a real error
    return OperationalError("INSERT INTO ticket ...", {}, orig)


@pytest.mark.parametrize("message, code", [("database is locked", 5), ("database or disk is full", 13),
                                           ("attempt to write a readonly database", 8), ("disk I/O error", 10)])
def test_a_database_that_cannot_be_written_answers_503_with_retry_after(sqlite_client, monkeypatch, message, code):
    client, engine = sqlite_client, sqlite_client.application.extensions["motcua"].engine
    assert client.get("/api/health").status_code == 200

    def fail(*args, **kwargs):
        raise _sqlite_error(message, code)

    monkeypatch.setattr(engine, "issue_ticket", fail)
    r = client.post("/api/tickets", json={"field": "ho-tich"})
    assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0
    assert r.get_json()["error"]["code"] == "database_unavailable"
    # Health learns of it at once instead of answering what it knew a few seconds ago.
    assert client.application.extensions["motcua_health"]._next_probe == 0.0


def test_a_mistake_in_a_statement_stays_a_500(sqlite_client, monkeypatch):
    client, engine = sqlite_client, sqlite_client.application.extensions["motcua"].engine
    def fail(*args, **kwargs):
        raise _sqlite_error("no such table: tickett", 1)

    monkeypatch.setattr(engine, "issue_ticket", fail)
    r = client.post("/api/tickets", json={"field": "ho-tich"})
    assert r.status_code == 500 and r.get_json()["error"]["code"] == "internal_error"


# ----- motcua check -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def office(tmp_path_factory):
    """An initialised embedded office (SQLite), no server running: what `motcua check` sees at 3 a.m."""
    server = LiveServer(tmp_path_factory.mktemp("office"), env={"PRINTER": "dummy"})
    result = server.cli("init")
    assert result.returncode == 0, result.stderr
    return server


def _check(server, **env) -> tuple[int, dict]:
    saved = dict(server.env)
    server.env.update(env)
    try:
        result = server.cli("check", "--json")
    finally:
        server.env = saved
    return result.returncode, {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def test_check_says_each_part_answers_and_exits_0(office):
    result = office.cli("check")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines] == ["configuration", "database", "message_queue", "printer"]
    assert lines[1].startswith("OK") and "đọc và ghi được" in lines[1]
    assert lines[2].startswith("SKIP")
    code, checks = _check(office)
    assert code == 0 and checks["database"]["status"] == "ok" and checks["database"]["data"]["schema"]


def _checks(server, **env) -> dict[str, ops.Check]:
    """`motcua check` in this process (the command itself is run by the tests above and below)."""
    from server.config import Config

    config = Config.from_env({k: v for k, v in {**server.env, **env}.items() if k != "MOTCUA_HOME"}, server.home)
    return {c.name: c for c in ops.run_checks(config)}


def test_check_fails_for_a_printer_or_a_redis_that_does_not_answer(office, tmp_path):
    closed = free_port()
    checks = _checks(office, PRINTER=f"tcp://127.0.0.1:{closed}")
    assert checks["printer"].failed and "Không kết nối được máy in" in checks["printer"].detail
    checks = _checks(office, MESSAGE_QUEUE_URL=f"redis://:secret@127.0.0.1:{closed}/0")
    assert checks["message_queue"].failed and not checks["database"].failed
    assert "secret" not in checks["message_queue"].detail  # a password is never printed
    assert checks["configuration"].status == "warn"  # several processes on one SQLite file, and no shared key
    if redis_binary():
        redis = RedisProcess(tmp_path / "redis").start()
        try:
            assert _checks(office, MESSAGE_QUEUE_URL=redis.url)["message_queue"].status == "ok"
        finally:
            redis.kill()


def test_check_reports_settings_it_cannot_read_as_a_failed_line():
    checks = ops.configuration_failed("ASYNC_MODE must be one of eventlet, threading, not 'gevent'")
    assert ops.format_checks(checks).startswith("FAIL  configuration  ASYNC_MODE")
    assert ops.checks_as_json(checks)["ok"] is False


def test_check_fails_when_there_is_no_database_yet(tmp_path):
    fresh = LiveServer(tmp_path / "fresh", env={"SECRET_KEY": "k"})
    code, checks = _check(fresh)
    assert code == 1 and "motcua init" in checks["database"]["detail"]


@pytest.mark.postgres
@pytest.mark.skipif(bool(_PG_SKIP), reason=_PG_SKIP or "")
def test_check_and_backup_and_restore_on_postgresql(tmp_path):
    url, schema = _pg_schema_url()
    try:
        server = LiveServer(tmp_path / "pg", env={"DATABASE_URL": url, "SECRET_KEY": "k", "PRINTER": "none"})
        assert server.cli("init").returncode == 0
        code, checks = _check(server)
        assert code == 0 and checks["database"]["status"] == "ok" and checks["printer"]["status"] == "skip"
        dump = tmp_path / "backups" / "motcua.dump"
        result = server.cli("backup", str(dump))
        assert result.returncode == 0, result.stderr
        assert "pg_dump" in result.stdout and stat.S_IMODE(dump.stat().st_mode) == 0o600
        listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True).stdout
        assert f"TABLE {schema} ticket" in listing, listing

        # Restore as docs/deployment.md says: the schema is gone, pg_restore brings it back whole.
        _drop_schema(schema)
        pg = os.environ.get("MOTCUA_TEST_PG", "postgresql://root@127.0.0.1:5432/test").replace("+psycopg", "")
        restored = subprocess.run(["pg_restore", "--no-owner", f"--dbname={pg}", str(dump)],
                                  capture_output=True, text=True)
        assert restored.returncode == 0, restored.stderr
        code, checks = _check(server)
        assert code == 0 and checks["database"]["data"]["schema"]

        # Without pg_dump, backup says what to run instead.
        result = subprocess.run([server.python, "-m", "server.cli", "backup", str(tmp_path / "x.dump")],
                                cwd=ROOT,
                                env={**server.env, "PATH": str(tmp_path / "nowhere")},
                                capture_output=True, text=True)
        assert result.returncode == 1 and "pg_dump" in result.stderr and "--format=custom" in result.stderr
    finally:
        _drop_schema(schema)


# ----- motcua backup (SQLite) -------------------------------------------------------------------
def _numbers(database) -> dict[str, list[int]]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT f.code, t.number FROM ticket t JOIN field f ON f.id = t.issued_field_id "
                          "ORDER BY f.code, t.number").fetchall()
    numbers: dict[str, list[int]] = {}
    for code, number in rows:
        numbers.setdefault(code, []).append(number)
    return numbers


@pytest.mark.slow
def test_backup_while_tickets_are_being_issued_is_whole_and_restores(tmp_path):
    server = LiveServer(tmp_path / "office").start()
    acknowledged, stop = [], threading.Event()
    lock = threading.Lock()

    def kiosk(i):
        session = requests.Session()
        field = ("ho-tich", "chung-thuc")[i % 2]
        while not stop.is_set():
            r = session.post(server.url + "/api/tickets", json={"field": field}, timeout=10)
            assert r.status_code == 201, r.text
            with lock:
                acknowledged.append((time.monotonic(), r.json()))

    kiosks = [threading.Thread(target=kiosk, args=(i,), daemon=True) for i in range(4)]
    backups = []
    try:
        for k in kiosks:
            k.start()
        for n in range(3):
            while len(acknowledged) < 15 * (n + 1):
                time.sleep(0.01)
            started = time.monotonic()
            target = tmp_path / "backups" / f"motcua-{n}.db"
            result = server.cli("backup", str(target))
            assert result.returncode == 0, result.stderr
            backups.append((started, target))
    finally:
        stop.set()
        for k in kiosks:
            k.join(10)

    for started, target in backups:
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert not target.with_name(target.name + "-wal").exists()  # one self-contained file
        with sqlite3.connect(target) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
            tokens = {token for (token,) in db.execute("SELECT token FROM ticket")}
        for field, numbers in _numbers(target).items():
            assert numbers == list(range(1, len(numbers) + 1)), f"{target.name} {field}: a gap or a repeat"
        before = [t["token"] for at, t in acknowledged if at < started]
        assert set(before) <= tokens, "a ticket acknowledged before the backup began is missing from it"

    # Restore (docs/deployment.md): stop, put the copy in place, drop the old WAL, start.
    server.stop()
    restored = LiveServer(tmp_path / "restored")
    data = restored.home / "motcua-data"
    data.mkdir(mode=0o700)
    last = backups[-1][1]
    shutil.copy2(last, data / "motcua.db")
    restored.start()
    try:
        with sqlite3.connect(last) as db:
            token, code = db.execute("SELECT token, code FROM ticket ORDER BY id DESC LIMIT 1").fetchone()
        r = requests.get(f"{restored.url}/api/tickets/{token}", timeout=5)
        assert r.status_code == 200 and r.json()["code"] == code
        numbers = _numbers(last)["ho-tich"]
        assert restored.issue("ho-tich")["number"] == len(numbers) + 1  # numbering goes on from the copy
    finally:
        restored.stop()


def test_backup_refuses_to_overwrite_the_database_itself(office):
    database = office.home / "motcua-data" / "motcua.db"
    result = office.cli("backup", str(database))
    assert result.returncode == 1 and "chính cơ sở dữ liệu" in result.stderr
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
