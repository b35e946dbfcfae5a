"""storage.DirectInsert: the rows every ticket writes, on the driver's cursor, exactly as SQLAlchemy writes them."""
from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event as sql_events
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from server.models import Event
from server.setup import migrate
from server.storage import DirectInsert, Storage



@pytest.fixture
def storage(database_url):
    migrate(database_url)
    storage = Storage(database_url)
    yield storage
    storage.dispose()


def test_a_direct_insert_stores_what_sqlalchemy_would(storage):
    # An hour in Hà Nội (UTC+7), Vietnamese in the JSON, and empty columns: each converted as the model says.
    at = dt.datetime(2026, 11, 27, 8, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    row = {"office_id": None, "at": at, "kind": "issued", "ticket_id": None, "field_id": None, "counter_id": None,
           "user_id": None, "device_id": None, "data": {"code": "A001", "field": "Hộ tịch", "priority": None}}
    direct = DirectInsert(Event.__table__)
    with storage.write() as s:
        s.connection().execute(insert(Event), {**row, "kind": "through-sqlalchemy"})
        direct(s.connection(), {**row, "kind": "direct"})
    with storage.read() as s:
        stored = {event.kind: event for event in s.scalars(select(Event))}
        raw = dict(s.connection().exec_driver_sql("SELECT kind, at FROM event").all())
    assert set(stored) == {"through-sqlalchemy", "direct"}
    for event in stored.values():
        assert event.at == at and event.at.tzinfo == dt.timezone.utc  # 01:30:15.123456 UTC, read back aware
        assert event.data == {"code": "A001", "field": "Hộ tịch", "priority": None}
        assert event.office_id is None and event.ticket_id is None
    # The same text (SQLite) or timestamp (PostgreSQL) in the column itself: queries compare them alike.
    assert raw["direct"] == raw["through-sqlalchemy"]


def test_a_direct_insert_that_fails_raises_sqlalchemys_error_and_its_transaction_writes_nothing(storage):
    direct = DirectInsert(Event.__table__)
    now = dt.datetime.now(dt.timezone.utc)
    row = {"office_id": None, "at": now, "kind": "issued", "ticket_id": None, "field_id": None, "counter_id": None,
           "user_id": None, "device_id": None, "data": {}}
    with pytest.raises(IntegrityError):  # what the issue path already handles, not the driver's own class
        with storage.write() as s:
            direct(s.connection(), row)  # a good row first, then one for a ticket that does not exist
            direct(s.connection(), {**row, "ticket_id": 987654})
    with storage.read() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0


def test_a_direct_insert_refuses_a_column_its_table_lacks(storage):
    with pytest.raises(ValueError, match="not a column"):
        with storage.write() as s:
            DirectInsert(Event.__table__, ("kind", "at", "nonsense"))(s.connection(), {"kind": "x", "at": None})
    with storage.read() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0


def test_a_direct_insert_of_many_rows_stores_them_all_or_none(storage):
    direct = DirectInsert(Event.__table__)
    now = dt.datetime.now(dt.timezone.utc)
    rows = [{"office_id": None, "at": now, "kind": "printed", "ticket_id": None, "field_id": None, "counter_id": None,
             "user_id": None, "device_id": None, "data": {"job_id": f"job-{n}"}} for n in range(3)]
    with storage.write() as s:
        direct.many(s.connection(), rows)
    with pytest.raises(IntegrityError):
        with storage.write() as s:
            direct.many(s.connection(), rows + [{**rows[0], "ticket_id": 987654}])
    with storage.read() as s:
        assert sorted(e.data["job_id"] for e in s.scalars(select(Event))) == ["job-0", "job-1", "job-2"]


def test_every_write_of_a_process_goes_through_one_sqlite_connection_that_reads_leave_alone(tmp_path):
    """SQLite drops a connection's page cache whenever another connection has written since: with
    one connection for every write (plain or grouped) and reads on others, its cache stays warm.
    Its statement journal (the savepoints of grouped writes) is kept in memory, not in a file."""
    url = f"sqlite:///{tmp_path / 'one-writer.db'}"
    migrate(url)
    storage = Storage(url)
    storage.group_commits(lambda: time.sleep(0.001))
    writers = []
    sql_events.listen(storage.engine, "begin", lambda conn: writers.append(conn.connection.dbapi_connection))
    row = {"office_id": None, "at": dt.datetime.now(dt.timezone.utc), "kind": "issued", "ticket_id": None,
           "field_id": None, "counter_id": None, "user_id": None, "device_id": None, "data": {}}
    try:
        for _ in range(3):
            with storage.write() as s:
                s.execute(insert(Event), row)
            with storage.read() as s, storage.read() as other:  # two readers at once, between the writes
                assert s.scalar(select(func.count()).select_from(Event)) == other.scalar(
                    select(func.count()).select_from(Event))
            with storage.write(grouped=True) as s:
                s.execute(insert(Event), row)
        assert len(writers) == 6 and len({id(conn) for conn in writers}) == 1
        with storage.write() as s:
            assert s.connection().exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY
        with storage.read() as s:
            assert s.scalar(select(func.count()).select_from(Event)) == 6
    finally:
        storage.dispose()
