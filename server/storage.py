"""The database connection: SQLite (WAL, durable commits) by default, PostgreSQL for scale.

`Storage.write()` opens a transaction that takes the write lock at once on
SQLite (`BEGIN IMMEDIATE`), so two writers never deadlock upgrading a read
lock, and an in-process lock keeps threads of one process from spinning in
SQLite's busy handler. PostgreSQL relies on row locks instead.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


class Storage:
    def __init__(self, url: str, *, synchronous: str = "FULL", pool_size: int = 10):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            prepare_sqlite_file(url)
            self.engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
            _configure_sqlite(self.engine, synchronous)
        else:
            # A database host that vanished costs seconds, not a TCP timeout, for health and every request.
            self.engine = create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True,
                                        connect_args={"connect_timeout": 5})
        self._writer = self.engine.execution_options(motcua_begin="IMMEDIATE")
        # PostgreSQL reads each statement from its own snapshot anyway (READ COMMITTED), so a read
        # needs no transaction: without one it saves a BEGIN and a ROLLBACK round trip each time.
        reader = self.engine if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read_sessions = sessionmaker(reader, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._writer, expire_on_commit=False)
        # One writer at a time inside this process (SQLite only); other processes wait on the file lock.
        self._write_lock = threading.RLock() if self.is_sqlite else contextlib.nullcontext()

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
    def write(self) -> Iterator[Session]:
        """A transaction that commits when the block ends and rolls back on any error."""
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

    def dispose(self) -> None:
        self.engine.dispose()


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


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's begin event, not pysqlite, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = connection.get_execution_options().get("motcua_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")
