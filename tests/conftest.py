"""Fixtures: a fresh app and database per test (SQLite, and PostgreSQL where it answers),
a controllable clock, logged-in clerks and admins, and live servers in subprocesses."""
from __future__ import annotations

import datetime as dt
import os
import uuid
from zoneinfo import ZoneInfo

import pytest

from server import create_app
from server.auth import create_user
from server.config import Config
from server.setup import apply_seed, demo_seed, migrate

from .live import LiveServer

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PG_URL = os.environ.get("MOTCUA_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")
PASSWORD = "mat-khau-rat-dai-1"


class Clock:
    """A clock the test moves by hand; starts at 08:00 local time on a working day."""

    def __init__(self, local: dt.datetime | None = None):
        self.now = local or dt.datetime(2026, 11, 25, 8, 0, tzinfo=TZ)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)

    def set_local(self, *args) -> None:
        self.now = dt.datetime(*args, tzinfo=TZ)


def _postgres_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=2):
            return None
    except Exception as err:  # noqa: BLE001 - any failure means: no PostgreSQL here
        return f"no PostgreSQL at {PG_URL} ({type(err).__name__})"


_PG_SKIP = _postgres_available()
if _PG_SKIP and os.environ.get("MOTCUA_REQUIRE_SERVICES"):
    raise RuntimeError(f"MOTCUA_REQUIRE_SERVICES is set but {_PG_SKIP}")


def _pg_schema_url() -> str:
    """A fresh schema per test, so tests never see each other's rows."""
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{PG_URL}?application_name={schema}&options=-csearch_path%3D{schema}", schema


def _drop_schema(schema: str) -> None:
    import time

    import psycopg

    # A background emitter of the test's app may still hold (or open) a connection: end those first.
    for attempt in range(5):
        try:
            with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute("SET lock_timeout = '2s'")
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                             (schema,))
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                return
        except psycopg.Error:
            if attempt == 4:
                raise
            time.sleep(0.2)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """Each test that takes this fixture runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'motcua.db'}"
        return
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    url, schema = _pg_schema_url()
    yield url
    _drop_schema(schema)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'motcua.db'}"


@pytest.fixture
def clock():
    return Clock()


def make_config(tmp_path, database_url, **overrides) -> Config:
    values = dict(database_url=database_url, secret_key="test-secret", printer="dummy", async_mode="threading",
                  ticket_rate_limit=None, instance_path=tmp_path / "data", testing=True)
    values.update(overrides)
    return Config(**values)


def build(tmp_path, database_url, clock, seed=None, **overrides):
    config = make_config(tmp_path, database_url, **overrides)
    migrate(config.database_url)
    app = create_app(config, engine_clock=clock)
    apply_seed(app.extensions["motcua"].storage, seed or demo_seed())
    return app


@pytest.fixture
def app(tmp_path, database_url, clock):
    app = build(tmp_path, database_url, clock)
    yield app
    app.extensions["motcua"].storage.dispose()


@pytest.fixture
def engine(app):
    return app.extensions["motcua"].engine


@pytest.fixture
def client(app):
    return app.test_client()


def _login(client, username: str) -> dict:
    r = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


@pytest.fixture
def clerk(app, client):
    """Bearer headers of a logged-in clerk."""
    create_user(app.extensions["motcua"].storage, "canbo1", PASSWORD, "clerk", "Nguyễn Văn An")
    return _login(client, "canbo1")


@pytest.fixture
def admin(app, client):
    create_user(app.extensions["motcua"].storage, "quantri", PASSWORD, "admin", "Trần Thị Bình")
    return _login(client, "quantri")


@pytest.fixture
def live_server(tmp_path):
    """A real server process on the embedded default (SQLite), threading mode."""
    server = LiveServer(tmp_path / "live").start()
    yield server
    server.stop()


@pytest.fixture(params=["threading", "eventlet"])
def live_server_any_mode(request, tmp_path):
    """The same server in each async mode."""
    server = LiveServer(tmp_path / f"live-{request.param}", async_mode=request.param).start()
    yield server
    server.stop()
