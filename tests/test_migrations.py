"""Upgrading in place (issue 9): a database made by the released schema (0001, one office) becomes
a many-office one without losing a row, and the install keeps working: its numbering, its users,
its paired devices and its tickets' QR links. On SQLite and on PostgreSQL."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

from alembic import command
from alembic.config import Config as AlembicConfig
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text

from server.auth import _sha, device_from_token
from server.setup import MIGRATIONS, migrate
from server.storage import Storage

from .conftest import PASSWORD, build

UTC = dt.timezone.utc
DAY = dt.date(2026, 11, 25)  # the test clock's service day
TABLES = ("office", "field", "counter", "counter_field", "user_account", "api_token", "device", "day_counter",
          "ticket", "event", "rating", "announcement", "print_job")


def _upgrade_to(url: str, revision: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, revision)


def _a_busy_office_of_the_last_release(url: str) -> None:
    """Rows as the released one-office motcua wrote them (its own SQL, not today's models)."""
    at = dt.datetime(2026, 11, 25, 1, 0)  # stored as naive UTC, as UTCDateTime does
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO office (id, name, unit, rating_scale, settings) "
                       "VALUES (1, 'UBND phường Mẫu', 'Bộ phận một cửa', 3, '{}')"))
        for fid, code, prefix in ((1, "ho-tich", "A"), (2, "chung-thuc", "B")):
            c.execute(text("INSERT INTO field (id, code, name, hint, prefix, active, position, hours) "
                           "VALUES (:id, :code, :name, '', :prefix, :yes, :id, '[]')"),
                      {"id": fid, "code": code, "name": code, "prefix": prefix, "yes": True})
        for cid in (1, 2):
            c.execute(text("INSERT INTO counter (id, number, name, state, active) VALUES (:id, :id, :name, 'open', :yes)"),
                      {"id": cid, "name": f"Quầy {cid}", "yes": True})
            c.execute(text("INSERT INTO counter_field (counter_id, field_id, position) VALUES (:c, 1, 0), (:c, 2, 1)"),
                      {"c": cid})
        password = PasswordHasher().hash(PASSWORD)
        for uid, name, role in ((1, "admin", "admin"), (2, "canbo1", "clerk")):
            c.execute(text("INSERT INTO user_account (id, username, display_name, password_hash, role, active, created_at) "
                           "VALUES (:id, :name, :name, :hash, :role, :yes, :at)"),
                      {"id": uid, "name": name, "hash": password, "role": role, "yes": True, "at": at})
        c.execute(text("INSERT INTO api_token (token_hash, user_id, created_at, expires_at) VALUES (:h, 2, :at, :exp)"),
                  {"h": _sha("old-api-token"), "at": at, "exp": at + dt.timedelta(days=30)})
        c.execute(text("INSERT INTO device (id, kind, name, counter_id, token_hash, created_at, paired_at, settings) "
                       "VALUES (1, 'kiosk', 'kiosk', NULL, :h, :at, :at, '{}')"), {"h": _sha("kiosk-token"), "at": at})
        c.execute(text("INSERT INTO day_counter (field_id, service_day, last_number) VALUES (1, :day, 3)"), {"day": DAY})
        for tid, status in ((1, "done"), (2, "called"), (3, "waiting")):
            c.execute(text(
                "INSERT INTO ticket (id, code, number, service_day, issued_field_id, field_id, priority_rank, status, "
                "token, idempotency_key, device_id, issued_at, counter_id, clerk_id, call_count) "
                "VALUES (:id, :code, :id, :day, 1, 1, 1, :status, :token, :key, 1, :at, :counter, :clerk, :calls)"),
                {"id": tid, "code": f"A00{tid}", "day": DAY, "status": status, "token": f"token-of-ticket-{tid}",
                 "key": f"key-{tid}", "at": at, "counter": 1 if tid < 3 else None, "clerk": 2 if tid < 3 else None,
                 "calls": 1 if tid < 3 else 0})
            c.execute(text("INSERT INTO event (at, kind, ticket_id, field_id, data) VALUES (:at, 'issued', :id, 1, '{}')"),
                      {"at": at, "id": tid})
        c.execute(text("UPDATE counter SET current_ticket_id = 2 WHERE id = 1"))
        c.execute(text("INSERT INTO rating (ticket_id, score, scale, reasons, comment, counter_id, clerk_id, field_id, "
                       "created_at) VALUES (1, 3, 3, '[]', 'Tốt', 1, 2, 1, :at)"), {"at": at})
        c.execute(text("INSERT INTO announcement (text, active, position, created_at) VALUES ('Nghỉ trưa 11h30', :yes, 0, :at)"),
                  {"yes": True, "at": at})
        c.execute(text("INSERT INTO print_job (id, ticket_id, device_id, status, route, reprint, attempts, last_error, "
                       "created_at) VALUES ('job-1', 1, 1, 'printed', 'local', :no, 1, '', :at)"), {"no": False, "at": at})
        if c.dialect.name == "postgresql":  # rows given their ids: move the sequences past them, as inserts would
            for table in ("office", "field", "counter", "user_account", "device", "ticket"):
                c.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"))
    engine.dispose()


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as c:
        counts = {t: c.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in TABLES}
    engine.dispose()
    return counts


def test_a_one_office_database_upgrades_in_place(tmp_path, database_url, clock):
    _upgrade_to(database_url, "0001")
    _a_busy_office_of_the_last_release(database_url)
    before = _counts(database_url)

    migrate(database_url)

    assert _counts(database_url) == before  # not a row lost
    engine = create_engine(database_url)
    with engine.connect() as c:
        assert c.execute(text("SELECT slug, active FROM office")).one() == ("default", True)
        for table in ("field", "counter", "device", "ticket", "rating", "announcement", "event"):
            owners = set(c.execute(text(f"SELECT DISTINCT office_id FROM {table}")).scalars())
            assert owners == {1}, table
        assert dict(c.execute(text("SELECT username, office_id FROM user_account")).all()) == {"admin": 1, "canbo1": 1}
    engine.dispose()

    # …and the install works on: numbering goes on, the clerk and the kiosk keep their access.
    app = build(tmp_path, database_url, clock)
    try:
        client = app.test_client()
        r = client.post("/api/tickets", json={"field": "ho-tich"}, headers={"X-Device-Token": "kiosk-token"})
        assert r.status_code == 201 and r.get_json()["code"] == "A004"
        assert device_from_token(app.extensions["motcua"].storage, "kiosk-token").office_id == 1
        assert client.get("/api/tickets/token-of-ticket-3").get_json()["status"] == "waiting"  # its QR link
        clerk = {"Authorization": "Bearer old-api-token"}
        view = client.get("/api/counters/1", headers=clerk).get_json()
        assert view["current"]["code"] == "A002"
        assert client.post("/api/counters/1/call-next", headers=clerk).get_json()["code"] == "A003"
        login = client.post("/api/auth/login", json={"username": "canbo1", "password": PASSWORD})
        assert login.status_code == 200 and login.get_json()["office"]["slug"] == "default"
        assert client.get("/api/state").get_json()["announcements"][0]["text"] == "Nghỉ trưa 11h30"
        # the office takes a second one beside it: codes are unique per office now
        from server.setup import apply_seed, demo_seed

        apply_seed(app.extensions["motcua"].storage, demo_seed(), office="phuong-moi")
        assert client.post("/o/phuong-moi/api/tickets", json={"field": "ho-tich"}).get_json()["code"] == "A001"
    finally:
        app.extensions["motcua"].storage.dispose()
    Storage(database_url).dispose()


def _schema(url: str) -> dict:
    """Every table's columns, keys, indexes and constraints as SQLite reports them (column order
    aside: a column a migration added comes last, which no statement here depends on)."""
    from sqlalchemy import inspect

    engine = create_engine(url)
    try:
        with engine.connect() as c:
            db = inspect(c)
            schema = {}
            for table in db.get_table_names():
                schema[table] = {
                    "columns": {col["name"]: (str(col["type"]), col["nullable"], col["default"],
                                              col["primary_key"]) for col in db.get_columns(table)},
                    "primary key": db.get_pk_constraint(table)["constrained_columns"],
                    "foreign keys": sorted((fk["constrained_columns"], fk["referred_table"], fk["referred_columns"],
                                            sorted(fk["options"].items())) for fk in db.get_foreign_keys(table)),
                    "indexes": sorted((ix["name"], ix["column_names"], bool(ix["unique"]))
                                      for ix in db.get_indexes(table)),
                    "unique": sorted(((u["name"], u["column_names"]) for u in db.get_unique_constraints(table)),
                                     key=repr),
                    "checks": sorted(((ck["name"], ck["sqltext"]) for ck in db.get_check_constraints(table)),
                                     key=repr),
                }
            # an index's own words (a partial index's WHERE, an expression) as SQLite keeps them
            schema["index statements"] = sorted(
                " ".join(sql.replace('"', "").split())
                for (sql,) in c.execute(text("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")))
            schema["revision"] = c.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            return schema
    finally:
        engine.dispose()


def test_a_new_sqlite_database_gets_the_schema_every_migration_builds(tmp_path):
    """An office's first start makes its database from the models at once (without Alembic, a few
    tenths of a second sooner): it must be the very schema that upgrading through every migration
    builds, and stamped as the newest, so the next release's migration upgrades it like any other."""
    from server.setup import SCHEMA_REVISION

    upgraded = f"sqlite:///{tmp_path / 'upgraded.db'}"
    _upgrade_to(upgraded, "head")
    new = f"sqlite:///{tmp_path / 'new.db'}"
    # as a server's start makes it: in a process of its own, which never loads Alembic
    start = subprocess.run([sys.executable, "-c", "import sys\nfrom server.setup import migrate\n"
                            f"migrate({new!r})\nprint(sorted(m for m in sys.modules if m.startswith('alembic')))"],
                           capture_output=True, text=True, timeout=60)
    assert (start.returncode, start.stdout.strip()) == (0, "[]"), start.stderr

    made, expected = _schema(new), _schema(upgraded)
    assert set(made) == set(expected)
    for table in expected:
        assert made[table] == expected[table], table
    assert made["revision"] == [SCHEMA_REVISION]
    migrate(new)  # the next start finds it current
    assert _schema(new) == expected


def test_processes_making_one_new_database_at_once_all_start(tmp_path):
    """Server processes started together on a new folder: one makes the schema, the others wait
    for it and find it made; none fails and nothing is made twice."""
    url = f"sqlite:///{tmp_path / 'motcua.db'}"
    go = tmp_path / "go"
    script = ("import pathlib, sys, time\n"
              "from server.setup import migrate\n"
              f"pathlib.Path({str(tmp_path)!r}, 'ready-' + sys.argv[1]).touch()\n"
              f"while not pathlib.Path({str(go)!r}).exists(): time.sleep(0.002)\n"
              f"migrate({url!r})\n")
    servers = [subprocess.Popen([sys.executable, "-c", script, str(n)], stderr=subprocess.PIPE, text=True)
               for n in range(3)]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < 3 and time.monotonic() < deadline:  # all imported, all waiting
        time.sleep(0.01)
    go.touch()
    errors = [server.communicate(timeout=60)[1] for server in servers]
    assert [server.returncode for server in servers] == [0, 0, 0], errors
    upgraded = f"sqlite:///{tmp_path / 'upgraded.db'}"
    _upgrade_to(upgraded, "head")
    assert _schema(url) == _schema(upgraded)
