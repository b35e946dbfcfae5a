"""Operations: what a monitoring system and a backup job need from motcua.

- `probe_database`, `probe_message_queue`, `probe_printer`: does each part answer?
  Each returns a `Check` (ok / warn / fail / skip, a detail in Vietnamese, how long it took).
- `Health`: the cached probes behind `GET /api/health`, cheap enough to be polled every
  second: the database is probed (read AND write) at most every `PROBE_EVERY_S` while it is
  well, every `RECHECK_FAILED_S` while it is not, and at once after a request failed on it.
- `run_checks`: everything `motcua check` prints, one line per part.
- `backup`: SQLite through its online backup API (a consistent copy while tickets are being
  issued, checked before it replaces anything), PostgreSQL through `pg_dump`.

No Flask in here: the API, the CLI and the tests call these with a config and a storage.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

PROBE_EVERY_S = 5.0
RECHECK_FAILED_S = 1.0
MIN_FREE_BYTES = 1 << 20  # below 1 MiB free the database will fail its next writes: say so first
PROBE_TIMEOUT_S = 2.0

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"


@dataclass
class Check:
    name: str  # configuration, database, message_queue, printer
    status: str  # ok warn fail skip
    detail: str
    ms: float = 0.0
    data: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == FAIL


def _timed(name: str, probe) -> Check:
    started = time.perf_counter()
    try:
        check = probe()
    except Exception as exc:  # noqa: BLE001 - a probe that raised is a failed part, said in one line
        check = Check(name, FAIL, f"{type(exc).__name__}: {exc}")
    check.ms = round((time.perf_counter() - started) * 1000, 1)
    return check


def redact(url: str | None) -> str:
    """A URL fit to print: its password replaced by ***."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    if not database_url.startswith("sqlite"):
        return None
    path = database_url.split("///", 1)[-1].split("?", 1)[0]
    return None if not path or path == ":memory:" or path.startswith("file:") else Path(path)


# ----- the database ----------------------------------------------------------------------------
def probe_database(storage) -> Check:
    """Read the schema's version and write: on SQLite take the write lock and write beside the
    file (a full or read-only disk fails here before it fails a ticket); on PostgreSQL commit a
    transaction that takes a transaction id (a read-only or unreachable server fails)."""
    return _timed("database", lambda: _probe_sqlite(storage.url) if storage.is_sqlite else _probe_postgresql(storage))


def _probe_sqlite(url: str) -> Check:
    path = sqlite_path(url)
    if path is None:
        return Check("database", OK, "SQLite trong bộ nhớ")
    if not path.exists():
        return Check("database", FAIL, f"không có tệp cơ sở dữ liệu {path} (chạy: motcua init)")
    folder = path.parent
    disk = os.statvfs(folder)
    free = disk.f_bavail * disk.f_frsize
    if disk.f_flag & os.ST_RDONLY:
        return Check("database", FAIL, f"ổ đĩa chứa {folder} chỉ cho đọc (read-only)", data={"free_bytes": free})
    if free < MIN_FREE_BYTES:
        return Check("database", FAIL, f"ổ đĩa chứa {folder} đã đầy (còn {free // 1024} KB)",
                     data={"free_bytes": free})
    conn = sqlite3.connect(path, timeout=PROBE_TIMEOUT_S, isolation_level=None)
    try:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        conn.execute("BEGIN IMMEDIATE")  # the write lock: not held elsewhere for long, file writable
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    probe = folder / f".motcua-write-probe-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)
    finally:
        try:
            probe.unlink()
        except FileNotFoundError:
            pass
    return Check("database", OK, f"đọc và ghi được (SQLite {path}, còn trống {free // (1 << 20)} MB)",
                 data={"engine": "sqlite", "schema": version[0] if version else None, "free_bytes": free})


def _probe_postgresql(storage) -> Check:
    from sqlalchemy import text

    with storage.engine.connect() as conn:
        with conn.begin():
            conn.execute(text(f"SET LOCAL statement_timeout = {int(PROBE_TIMEOUT_S * 1000)}"))
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            conn.execute(text("SELECT txid_current()"))  # needs a writable primary; commits a transaction id
    return Check("database", OK, "đọc và ghi được (PostgreSQL)", data={"engine": "postgresql", "schema": version})


# ----- the message queue -----------------------------------------------------------------------
def probe_message_queue(url: str | None, client=None) -> Check:
    if not url:
        return Check("message_queue", SKIP, "không dùng (một tiến trình; MESSAGE_QUEUE_URL chưa đặt)")

    def ping():
        redis_client = client or _redis_client(url)
        redis_client.ping()
        return Check("message_queue", OK, f"Redis trả lời ({redact(url)})")

    check = _timed("message_queue", ping)
    if check.failed:
        check.detail = f"không kết nối được Redis {redact(url)}: {check.detail}"
    return check


def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


# ----- the printer -----------------------------------------------------------------------------
def probe_printer(config) -> Check:
    """The server's own printer (PRINTER). Printers on kiosk PCs answer through their agents
    (the admin's printer page); here they show only as failed jobs in the spool."""
    spec = config.printer
    if spec == "none":
        return Check("printer", SKIP, "không dùng máy in (PRINTER=none): kiosk hiện mã QR trên màn hình")

    def status():
        from printer.backends import open_backend

        backend = open_backend(spec, preview_folder=config.instance_path / "prints")
        if backend.settings.kind == "preview":
            folder = Path(backend.settings.target)
            folder.mkdir(parents=True, exist_ok=True)
            if not os.access(folder, os.W_OK):
                return Check("printer", FAIL, f"không ghi được ảnh xem trước vào {folder}")
            return Check("printer", OK, f"xem trước (ảnh PNG trong {folder})")
        try:
            state = backend.status(connect_timeout=PROBE_TIMEOUT_S)
        finally:
            backend.close()
        if not state.ready:
            return Check("printer", FAIL, f"{spec}: {state.problem_vi()}", data=state.to_dict())
        said = "" if state.answered else " (máy in không báo trạng thái)"
        near_end = "; sắp hết giấy" if state.paper_near_end else ""
        return Check("printer", WARN if near_end else OK, f"{spec} sẵn sàng{said}{near_end}", data=state.to_dict())

    return _timed("printer", status)


def failed_print_jobs(storage) -> int:
    from sqlalchemy import func, select

    from .models import PrintJob

    with storage.read() as s:
        return s.scalar(select(func.count()).select_from(PrintJob).where(PrintJob.status == "failed")) or 0


# ----- /api/health -----------------------------------------------------------------------------
class Health:
    """What `GET /api/health` answers, probed rarely and shared by every request in between."""

    def __init__(self, storage, message_queue_url: str | None, clock=time.monotonic):
        self.storage = storage
        self.message_queue_url = message_queue_url
        self.clock = clock
        self._lock = threading.Lock()
        self._redis = None
        self._database: Check | None = None
        self._queue: Check | None = None
        self._next_probe = 0.0

    def invalidate(self) -> None:
        """A request just failed on the database: the next health answer probes again."""
        self._next_probe = 0.0

    def report(self) -> tuple[dict, bool]:
        """({"status", "database", "message_queue"?}, whether the server can take tickets)."""
        if self.clock() >= self._next_probe or self._database is None:
            # One probe at a time; whoever finds it running answers what was last known.
            if self._lock.acquire(blocking=self._database is None):
                try:
                    self._probe()
                finally:
                    self._lock.release()
        database, queue = self._database, self._queue
        body = {"status": "ok", "database": "ok" if not database.failed else "error"}
        if queue is not None and queue.status != SKIP:
            body["message_queue"] = "ok" if not queue.failed else "error"
            if queue.failed:
                body["status"] = "degraded"  # calls still work; other processes' boards catch up later
        if database.failed:
            body["status"] = "error"
        return body, not database.failed

    def _probe(self) -> None:
        self._database = probe_database(self.storage)
        if self.message_queue_url:
            if self._redis is None:
                self._redis = _redis_client(self.message_queue_url)
            self._queue = probe_message_queue(self.message_queue_url, self._redis)
            if self._queue.failed:  # the next probe starts from a new client: nothing kept from the outage
                with contextlib.suppress(Exception):
                    self._redis.close()
                self._redis = None
        well = not self._database.failed and not (self._queue and self._queue.failed)
        self._next_probe = self.clock() + (PROBE_EVERY_S if well else RECHECK_FAILED_S)
        if not well:
            import logging

            log = logging.getLogger(__name__)
            for check in (self._database, self._queue):
                if check is not None and check.failed:
                    log.warning("health: %s: %s", check.name, check.detail)


# ----- motcua check ----------------------------------------------------------------------------
def check_configuration(config) -> Check:
    notes, status = [], OK
    try:
        from printer.backends import parse_printer_spec

        if config.printer != "none":
            parse_printer_spec(config.printer)
    except ValueError as err:
        return Check("configuration", FAIL, str(err))
    except ImportError:
        pass
    kind = "SQLite" if config.is_sqlite else "PostgreSQL"
    if config.message_queue_url:
        if config.is_sqlite:
            notes.append("nhiều tiến trình trên một tệp SQLite: nên dùng PostgreSQL")
            status = WARN
        key_file = config.instance_path / "secret_key"
        if key_file.is_file() and key_file.read_text().strip() == config.secret_key:
            notes.append("SECRET_KEY sinh riêng cho máy này: đặt cùng một SECRET_KEY cho mọi tiến trình")
            status = WARN
    detail = (f"{kind}, {config.async_mode}, hàng đợi tin nhắn: {'Redis' if config.message_queue_url else 'không'}, "
              f"máy in: {config.printer}, PROXY_HOPS={config.proxy_hops}")
    return Check("configuration", status, "; ".join([detail, *notes]))


def run_checks(config) -> list[Check]:
    """Every part in turn. The database is opened here, not by a running server."""
    from .setup import SCHEMA_REVISION
    from .storage import Storage

    checks = [check_configuration(config)]
    path = sqlite_path(config.database_url)
    if path is not None and not path.exists():
        checks.append(Check("database", FAIL, f"không có tệp cơ sở dữ liệu {path} (chạy: motcua init)"))
    else:
        storage = Storage(config.database_url, synchronous=config.sqlite_synchronous, pool_size=1)
        try:
            database = probe_database(storage)
            schema = database.data.get("schema")
            if not database.failed and schema != SCHEMA_REVISION:
                database.status = FAIL
                database.detail = (f"lược đồ cơ sở dữ liệu ở phiên bản {schema}, cần {SCHEMA_REVISION} "
                                   "(chạy: motcua init)")
            checks.append(database)
            if not database.failed:
                failed = failed_print_jobs(storage)
                if failed:
                    checks.append(Check("print_jobs", WARN, f"{failed} phiếu in lỗi chờ quản trị in lại hoặc hủy"))
        finally:
            storage.dispose()
    checks.append(probe_message_queue(config.message_queue_url))
    checks.append(probe_printer(config))
    return checks


def configuration_failed(message: str) -> list[Check]:
    """What `motcua check` reports when the settings cannot even be read (nothing else is tried)."""
    return [Check("configuration", FAIL, message)]


def format_checks(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    return "\n".join(f"{c.status.upper():<5} {c.name:<{width}}  {c.detail}" + (f" ({c.ms:.0f} ms)" if c.ms else "")
                     for c in checks)


def checks_as_json(checks: list[Check]) -> dict:
    return {"ok": not any(c.failed for c in checks), "checks": [asdict(c) for c in checks]}


# ----- motcua backup ---------------------------------------------------------------------------
class BackupError(Exception):
    pass


@dataclass
class Backup:
    path: Path
    bytes: int
    seconds: float
    tickets: int | None = None
    how: str = ""


def backup(config, target: str | Path) -> Backup:
    target = Path(target).expanduser().resolve()
    source = sqlite_path(config.database_url)
    if source is not None:
        return backup_sqlite(source, target)
    if config.is_sqlite:
        raise BackupError("cơ sở dữ liệu SQLite trong bộ nhớ: không có gì để sao lưu")
    return backup_postgresql(config.database_url, target)


def backup_sqlite(source: Path, target: Path) -> Backup:
    """A consistent copy of a live database: the online backup API copies one snapshot (WAL:
    writers go on meanwhile); the copy is checked, made a single self-contained file, and
    only then moved into place (the old backup stays if anything fails)."""
    source = source.resolve()
    if not source.exists():
        raise BackupError(f"không có tệp cơ sở dữ liệu {source}")
    if target == source or target.name.startswith(source.name + "-"):
        raise BackupError("tệp sao lưu không được là chính cơ sở dữ liệu")
    if target.is_dir():
        raise BackupError(f"{target} là một thư mục; hãy ghi tên tệp, ví dụ {target / 'motcua.db'}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    started = time.perf_counter()
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, timeout=30)  # never writes to the source
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # private from its first byte
        os.close(fd)
        dst = sqlite3.connect(partial, isolation_level=None)
        try:
            src.backup(dst)  # all pages in one step: one snapshot, however busy the server is
            dst.execute("PRAGMA journal_mode=DELETE")  # one file, restorable by copying it
            result = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if result != "ok":
                raise BackupError(f"bản sao không toàn vẹn: {result}")
            tickets = dst.execute("SELECT count(*) FROM ticket").fetchone()[0]
        finally:
            dst.close()
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, target)
        _fsync_folder(target.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    return Backup(target, target.stat().st_size, time.perf_counter() - started, tickets,
                  "SQLite online backup, integrity_check ok")


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def pg_dump_command(database_url: str, target: Path) -> tuple[list[str], dict]:
    """pg_dump's arguments and environment for our URL (password in PGPASSWORD, not argv).
    A search_path in the URL's options (motcua in its own schema) dumps that schema only."""
    url = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", database_url)
    parts = urlsplit(url)
    env = {}
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        netloc = parts.netloc.replace(f":{parts.password}@", "@", 1)
        parts = parts._replace(netloc=netloc)
    command = ["pg_dump", "--format=custom", f"--file={target}"]
    options = parse_qs(parts.query).get("options", [""])[-1]
    match = re.search(r"search_path\s*=\s*([\w$]+)", options)
    if match:
        command.append(f"--schema={match.group(1)}")
    command.append(f"--dbname={urlunsplit(parts)}")
    return command, env


def backup_postgresql(database_url: str, target: Path) -> Backup:
    command, env = pg_dump_command(database_url, target.with_name(f".{target.name}.partial"))
    if shutil.which("pg_dump") is None:
        raise BackupError("không tìm thấy pg_dump (Debian: apt install postgresql-client). Sao lưu PostgreSQL bằng: "
                          + " ".join(command[:-1] + [f"--file={target}", f"--dbname={redact(database_url)}"]))
    partial = target.with_name(f".{target.name}.partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    old_umask = os.umask(0o077)
    try:
        result = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True)
    finally:
        os.umask(old_umask)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump thất bại: {result.stderr.strip()}")
    os.replace(partial, target)
    return Backup(target, target.stat().st_size, time.perf_counter() - started, None,
                  "pg_dump --format=custom (khôi phục bằng pg_restore)")
