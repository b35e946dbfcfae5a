"""The database connection: SQLite (WAL, durable commits) by default, PostgreSQL for scale.

`Storage.write()` opens a transaction that takes the write lock at once on
SQLite (`BEGIN IMMEDIATE`), so two writers never deadlock upgrading a read
lock, and an in-process lock keeps threads of one process from spinning in
SQLite's busy handler. PostgreSQL relies on row locks instead. On SQLite the
writes of a process share one connection (`engine`) and reads have a pool of
their own: the writing connection made every write since its last one itself,
so SQLite keeps its page cache (it drops it after another connection's write).

Group commit (SQLite under eventlet, `group_commits`): a durable commit waits for the disk,
and eventlet's hub waits with it, so one commit a ticket caps issuing at the disk's pace.
`write(grouped=True)` runs its block in a savepoint of a transaction that several requests
share: the first one opens it, gives every other ready request a turn to add its block, then
commits them all with one fsync. Each block still succeeds or fails on its own (its savepoint),
nobody is answered before the commit, and a failed commit fails every block in it.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import create_engine, event, insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker


class Storage:
    def __init__(self, url: str, *, synchronous: str = "FULL", pool_size: int = 10):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            prepare_sqlite_file(url)
            connect_args = {"timeout": 30, "check_same_thread": False}
            # The process's writes take turns (`_write_lock`), so one connection does them all, and
            # its page cache stays warm: SQLite drops a connection's whole cache when another
            # connection has written since. Sharing one pool with the readers, a ticket read 16
            # pages back from the files; now 7 (a ticket's inserts alone: twice the time, cold).
            # Reads have a pool of their own. (A second writing connection only for a write inside
            # a write, which SQLite's file lock would refuse anyway.)
            self.engine = create_engine(url, connect_args=connect_args, pool_size=1, max_overflow=4)
            reader = create_engine(url, connect_args=connect_args)
            _configure_sqlite(self.engine, synchronous, writer=True)
            _configure_sqlite(reader, synchronous)
        else:
            # A database host that vanished costs seconds, not a TCP timeout, for health and every request.
            self.engine = create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True,
                                        connect_args={"connect_timeout": 5})
            # PostgreSQL reads each statement from its own snapshot anyway (READ COMMITTED), so a read
            # needs no transaction: without one it saves a BEGIN and a ROLLBACK round trip each time.
            reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._reader = reader
        self._writer = self.engine.execution_options(motcua_begin="IMMEDIATE")
        self._read_sessions = sessionmaker(reader, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._writer, expire_on_commit=False)
        # One writer at a time inside this process (SQLite only); other processes wait on the file lock.
        self._write_lock = threading.RLock() if self.is_sqlite else contextlib.nullcontext()
        self._yield_turn: Callable[[], None] | None = None  # set by group_commits()
        self._group: _Group | None = None  # the shared transaction that grouped writes join, while open

    def group_commits(self, yield_turn: Callable[[], None]) -> None:
        """Let `write(grouped=True)` blocks share one commit (SQLite only). `yield_turn` lets every
        other ready request run (eventlet.sleep(0)): it must be a green switch, not a thread's."""
        if self.is_sqlite:
            self._yield_turn = yield_turn

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session to read with (never to write: on PostgreSQL it has no transaction)."""
        session = self._read_sessions()
        session.info["opened_ns"] = time.monotonic_ns()  # its snapshot is no older (see Views._booking_starts)
        try:
            yield session
        finally:
            session.close()  # detaches objects with their loaded values; the transaction ends

    @contextlib.contextmanager
    def read_rows(self) -> Iterator[Connection]:
        """A connection to read rows with, for the hottest lookups (a board's `state` check, a
        device's token): half the cost of `read()` on SQLite (90 against 178 µs for one indexed
        count), since no ORM session is opened, flushed and closed around the statement."""
        with self._reader.connect() as connection:
            yield connection

    @contextlib.contextmanager
    def write(self, grouped: bool = False) -> Iterator[Session]:
        """A transaction that commits when the block ends and rolls back on any error.
        `grouped`: the block may share its commit with other requests' (see the module's text);
        only for a block that writes a few rows, never waits on the network and never opens
        another write (the group's transaction holds this process's write lock until it commits)."""
        if grouped and self._yield_turn is not None:
            with self._grouped_write() as session:
                yield session
            return
        with self._write_lock:
            session = self._write_sessions()
            session.info["opened_ns"] = time.monotonic_ns()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    @contextlib.contextmanager
    def _grouped_write(self) -> Iterator[Session]:
        while True:
            group = self._group
            if group is None:  # lead a new group: its blocks run one at a time (`body`)
                group = self._group = _Group()
                group.body.acquire()
                leader = True
                break
            group.body.acquire()
            if group.open:
                leader = False
                break
            group.body.release()  # it committed while this waited: join the next one
        failure: BaseException | None = None
        try:
            if leader:
                self._open_group(group)
            session = Session(bind=group.connection, join_transaction_mode="create_savepoint",
                              expire_on_commit=False)
            session.info["opened_ns"] = time.monotonic_ns()
            try:
                yield session
                session.commit()  # releases this block's savepoint; the group commits later
            except BaseException as err:
                session.rollback()  # to this block's savepoint: the others' rows stay
                failure = err
            finally:
                session.close()
            group.members += 1
        except BaseException as err:  # the group's transaction could not be opened
            failure = failure or err
        finally:
            group.body.release()
        if leader:
            self._commit_group(group)
        else:
            group.done.wait()
        # A block's own error is told after the commit: what it conflicted with (another request's
        # row in the same group) is then there to be read.
        if failure is not None:
            raise failure
        if group.error is not None:
            raise group.error

    def _open_group(self, group: "_Group") -> None:
        self._write_lock.acquire()
        try:
            group.connection = self._writer.connect()
            group.connection.begin()  # BEGIN IMMEDIATE
        except BaseException as err:
            group.error = err
            self._stop_joining(group)
            if group.connection is not None:
                group.connection.close()
                group.connection = None
            self._write_lock.release()
            raise

    def _commit_group(self, group: "_Group") -> None:
        if group.connection is None:  # never opened (the leader's error is raised to the leader)
            group.done.set()
            return
        try:
            for _ in range(GROUP_TURNS):  # the requests ready now add their blocks
                seen = group.members
                self._yield_turn()
                if group.members == seen or group.members >= GROUP_MAX:
                    break
            with group.body:  # a block that yielded mid-way ends first; no one joins from here on
                self._stop_joining(group)
            group.connection.commit()
        except BaseException as err:
            group.error = err
            with contextlib.suppress(Exception):
                group.connection.rollback()
        finally:
            self._stop_joining(group)  # (already, unless a turn raised)
            group.connection.close()
            self._write_lock.release()
            group.done.set()

    def _stop_joining(self, group: "_Group") -> None:
        group.open = False
        if self._group is group:
            self._group = None

    def dispose(self) -> None:
        self.engine.dispose()
        if self.is_sqlite:
            self._reader.dispose()


GROUP_TURNS = 4  # at most this many rounds of other requests joining one commit
GROUP_MAX = 64  # blocks in one commit, at most (a burst is answered in slices, not all at the end)


class _Group:
    """One shared transaction of grouped writes."""

    def __init__(self):
        self.body = threading.Lock()  # one block at a time on the shared connection
        self.done = threading.Event()  # committed (or failed): its blocks may answer
        self.open = True  # blocks may still join
        self.members = 0
        self.connection = None
        self.error: BaseException | None = None


def private_folder(path: Path) -> None:
    """Make a folder only its owner can enter (the data folder: database, key, prints)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
        path.chmod(0o700)


def prepare_sqlite_file(url: str) -> None:
    """The SQLite file and its folder exist and only their owner can read them.

    SQLite gives the -wal and -shm files the database file's own mode, so 600 here keeps
    the whole database private. A folder made here is 700; one the admin made is left as is."""
    path = url.split("///", 1)[-1].split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    file = Path(path)
    if not file.parent.exists():
        private_folder(file.parent)
    fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    if file.stat().st_uid == os.getuid() and file.stat().st_mode & 0o077:
        file.chmod(0o600)


def _configure_sqlite(engine: Engine, synchronous: str, writer: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's begin event, not pysqlite, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if writer:
            # The statement journal (a grouped block's savepoint keeps the pages it changes, to roll
            # back to) in memory: in a temporary file it cost one file a group and 25-37 writes a
            # ticket. Readers keep their sorts' temporary files (a report may sort many rows).
            cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = connection.get_execution_options().get("motcua_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class DirectInsert:
    """`INSERT INTO table (columns) VALUES (...)` run on the driver's own cursor, inside the
    caller's transaction: SQLAlchemy compiles it once per dialect and its column types convert
    the values (aware datetimes, JSON) exactly as `conn.execute(insert(table), values)` would, but
    no execution context is built per row: a third to a half of the cost. For the rows every
    ticket writes.

    `values` must hold every one of `columns` (no column defaults are applied here); nothing is
    returned. A driver error is raised as SQLAlchemy's own (IntegrityError, OperationalError...),
    so callers handle it as they handle any statement's."""

    def __init__(self, table, columns: tuple[str, ...] | None = None):
        """`columns`: by default every column but an autoincrementing primary key."""
        self.table = table
        self.columns = columns or tuple(c.key for c in table.columns if c is not table.autoincrement_column)
        self._prepared: dict[str, tuple[str, bool, tuple]] = {}  # dialect name -> (sql, positional, converters)

    def _prepare(self, dialect) -> tuple[str, bool, tuple]:
        compiled = insert(self.table).compile(dialect=dialect, column_keys=list(self.columns))
        names = compiled.positiontup if compiled.positional else list(compiled.binds)
        if sorted(names) != sorted(self.columns):
            unknown = sorted(set(self.columns) - set(names))
            raise ValueError(f"{self.table.name}: {', '.join(unknown) or 'a name given twice'} is not a column")
        converters = tuple((name, self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                           for name in names)
        prepared = self._prepared[dialect.name] = (compiled.string, compiled.positional, converters)
        return prepared

    def __call__(self, conn, values: dict) -> None:
        self.many(conn, [values])

    def many(self, conn, rows: list[dict]) -> None:
        """Several rows in one `executemany`."""
        dialect = conn.dialect
        sql, positional, converters = self._prepared.get(dialect.name) or self._prepare(dialect)
        params = []
        for values in rows:
            converted = [(name, values[name] if convert is None else convert(values[name]))
                         for name, convert in converters]
            params.append(tuple(value for _, value in converted) if positional else dict(converted))
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            if len(params) == 1:
                cursor.execute(sql, params[0])
            else:
                cursor.executemany(sql, params)
        except dialect.loaded_dbapi.Error as err:
            raise DBAPIError.instance(sql, params, err, dialect.loaded_dbapi.Error, dialect=dialect) from err
        finally:
            cursor.close()
