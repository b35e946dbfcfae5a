"""A province's deployment in miniature: two `motcua run` processes on PostgreSQL, joined by a
Redis of the test's own, behind Debian's nginx with the shipped site config.

Process A runs eventlet (the default), B threading: both must speak through the same Redis
and PostgreSQL. Shared by the tests of a module (starting it costs a few seconds).
"""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from server.setup import demo_seed

from .conftest import _PG_SKIP, PASSWORD, PG_URL, _drop_schema, _pg_schema_url
from .live import ADMIN_LINE, LiveServer
from .nginx import Nginx, nginx_binary, session_from
from .redis_process import RedisProcess, redis_binary

COUNTERS = (1, 2, 3, 4)
FIELDS = ("ho-tich", "chung-thuc")


def unavailable() -> str | None:
    """Why the stack cannot run here (None: it can). In CI (MOTCUA_REQUIRE_SERVICES) that fails."""
    reason = _PG_SKIP
    if reason is None and nginx_binary() is None:
        reason = "no nginx (Debian: apt-get install nginx)"
    if reason is None and redis_binary() is None:
        reason = "no redis-server (Debian: apt-get install redis-server)"
    if reason and os.environ.get("MOTCUA_REQUIRE_SERVICES"):
        raise RuntimeError(f"MOTCUA_REQUIRE_SERVICES is set but {reason}")
    return reason


def skip_unless_available() -> None:
    reason = unavailable()
    if reason:
        pytest.skip(reason)


class Stack:
    def __init__(self, folder: Path, env: dict | None = None):
        self.folder = Path(folder)
        self.extra_env = env or {}
        self.schema = None

    def start(self) -> "Stack":
        self.redis = RedisProcess(self.folder / "redis").start()
        url, self.schema = _pg_schema_url()
        env = {"DATABASE_URL": url, "MESSAGE_QUEUE_URL": self.redis.url, "SECRET_KEY": "one-key-for-every-process",
               "PROXY_HOPS": "1", **self.extra_env}
        self.a = LiveServer(self.folder / "a", env=env, async_mode="eventlet")
        self.b = LiveServer(self.folder / "b", env=env, async_mode="threading")
        seed = demo_seed()
        seed["counters"] = [{"number": n, "name": f"Quầy {n}", "fields": list(FIELDS)} for n in COUNTERS]
        (self.folder / "seed.json").write_text(json.dumps(seed, ensure_ascii=False), encoding="utf-8")
        result = self.a.cli("init", "--seed", str(self.folder / "seed.json"))
        assert result.returncode == 0, result.stderr
        admin = ADMIN_LINE.search(result.stdout)
        self.a.start()
        self.b.start()
        self.admin = self.a.login(admin.group(1), admin.group(2))
        self.nginx = Nginx(self.folder / "nginx", [self.a.port, self.b.port]).start()
        self.url = self.nginx.url
        return self

    def stop(self) -> None:
        for part in ("nginx", "a", "b", "redis"):
            if hasattr(self, part):
                getattr(self, part).stop()
        if self.schema:
            _drop_schema(self.schema)

    def process(self, port: str | int) -> str:
        """'a' or 'b' for a port as nginx logs it."""
        return {str(self.a.port): "a", str(self.b.port): "b"}[str(port)]

    def db(self):
        """A connection to the stack's schema (autocommit), as an operator's psql."""
        import psycopg

        conn = psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True, application_name="motcua-test-operator")
        conn.execute(f"SET search_path TO {self.schema}")
        return conn

    def ticket_numbers(self) -> dict[str, list[int]]:
        with self.db() as conn:
            rows = conn.execute("SELECT f.code, t.number FROM ticket t JOIN field f ON f.id = t.issued_field_id "
                                "ORDER BY f.code, t.number").fetchall()
        numbers: dict[str, list[int]] = {}
        for code, number in rows:
            numbers.setdefault(code, []).append(number)
        return numbers

    def add_user(self, name: str) -> tuple[str, str]:
        """A clerk, made by the admin (the API is quicker than a `motcua user add` per clerk)."""
        r = requests.post(self.a.url + "/api/admin/users", headers=self.admin, timeout=10,
                          json={"username": name, "password": PASSWORD, "role": "clerk"})
        assert r.status_code == 201, r.text
        return name, PASSWORD

    def pairing_code(self, kind: str = "kiosk") -> str:
        r = requests.post(self.a.url + "/api/admin/devices", headers=self.admin, json={"kind": kind}, timeout=10)
        assert r.status_code == 201, r.text
        return r.json()["code"]

    def clerk(self, name: str, address: str):
        """A clerk logged in through nginx from their own PC: (session, headers)."""
        user, password = self.add_user(name)
        session = session_from(address)
        r = session.post(self.url + "/api/auth/login", json={"username": user, "password": password}, timeout=10)
        assert r.status_code == 200, r.text
        return session, {"Authorization": f"Bearer {r.json()['token']}"}


class Kiosk:
    """A paired kiosk on the LAN, through nginx. Like the kiosk page it keeps a tap's
    Idempotency-Key for every retry, so a retry can never make a second ticket."""

    def __init__(self, stack: Stack, address: str):
        self.stack = stack
        self.session = session_from(address)
        code = stack.pairing_code("kiosk")
        r = self.session.post(stack.url + "/api/devices/pair", json={"code": code}, timeout=10)
        assert r.status_code == 200, r.text
        self.session.headers["X-Device-Token"] = r.json()["token"]

    def post(self, field: str, key: str, url: str | None = None, timeout: float = 30):
        return self.session.post((url or self.stack.url) + "/api/tickets", json={"field": field},
                                 headers={"Idempotency-Key": key}, timeout=timeout)

    def take(self, field: str, tries: int = 50, url: str | None = None) -> tuple[dict, list]:
        """A tap, retried (same key) through a server's restart: (the ticket, what went wrong before)."""
        key, trouble = uuid.uuid4().hex, []
        for _ in range(tries):
            try:
                r = self.post(field, key, url)
            except requests.RequestException as err:
                trouble.append(type(err).__name__)
            else:
                if r.status_code == 201:
                    return r.json(), trouble
                assert r.status_code >= 500, r.text  # only a server that is away is worth a retry
                trouble.append(r.status_code)
            time.sleep(0.2)
        raise AssertionError(f"no ticket after {tries} tries: {trouble}")


class Board:
    """A display board (python-socketio client) that records what it hears, and when.

    python-engineio's client gives up on a long-poll answer of more than 16 packets (a guard
    of its decoder); a browser's engine.io client has no such cap, and a busy hall sends
    more than 16 events between two polls. The test's boards read like browsers."""

    def __init__(self, url: str, *, address: str | None = None, transports: list[str] | None = None):
        """`address`: long-polling from that loopback address (a websocket always comes from 127.0.0.1)."""
        import engineio.payload
        import socketio

        engineio.payload.Payload.max_decode_packets = max(engineio.payload.Payload.max_decode_packets, 4096)
        self.url = url
        self.transports = transports
        self.client = socketio.Client(http_session=session_from(address) if address else None,
                                      reconnection_delay=0.2, reconnection_delay_max=1, randomization_factor=0)
        self.address = address or "127.0.0.1"
        self.calls: list[tuple[float, str]] = []
        self.states: list[float] = []
        self.lock = threading.Lock()
        self.client.on("ticket_called", self._called)
        self.client.on("state", self._state)

    def _called(self, data):
        with self.lock:
            self.calls.append((time.monotonic(), data["ticket"]["code"]))

    def _state(self, _data):
        with self.lock:
            self.states.append(time.monotonic())

    def connect(self) -> "Board":
        self.client.connect(self.url, transports=self.transports, wait_timeout=10)
        deadline = time.monotonic() + 5
        while not self.states and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.states, f"board {self.address} got no state on connect"
        return self

    def heard(self, since: float = 0.0) -> list[str]:
        with self.lock:
            return [code for at, code in self.calls if at >= since]

    def states_since(self, since: float) -> int:
        with self.lock:
            return sum(1 for at in self.states if at >= since)

    def disconnect(self) -> None:
        try:
            self.client.disconnect()
        except Exception:  # already gone
            pass


def wait_until(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
