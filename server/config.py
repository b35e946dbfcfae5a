"""Configuration, read from the environment in one place.

Every setting has a safe default for the embedded mode (one office, one PC):
a SQLite file in the working folder, a preview printer, eventlet, no message
queue. A `.env` file in the working folder may hold the same variables.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

ASYNC_MODES = ("eventlet", "threading")


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message says which and why."""


def _load_dotenv(folder: Path) -> None:
    env_file = folder / ".env"
    if env_file.is_file():
        from dotenv import load_dotenv

        load_dotenv(env_file, override=False)


def normalise_database_url(url: str) -> str:
    """`postgresql://...` works as written with the driver we install (psycopg 3)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def parse_rate(text: str, name: str = "TICKET_RATE_LIMIT") -> str | None:
    """`30/minute` -> the same string (for Flask-Limiter); `0` -> None (off)."""
    text = (text or "").strip()
    if text in ("", "0", "off", "none"):
        return None
    count, _, period = text.partition("/")
    if not count.isdigit() or period not in ("second", "minute", "hour", "day"):
        raise ConfigError(f"{name} must look like '30/minute' or be 0, not {text!r}")
    return f"{int(count)}/{period}"


def _int(env: dict, name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ConfigError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def _secret_key(instance: Path) -> str:
    """Generated on first run and kept beside the database, readable by the owner only."""
    path = instance / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    from .storage import private_folder

    private_folder(instance)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


@dataclass
class Config:
    database_url: str
    secret_key: str
    message_queue_url: str | None = None
    printer: str = "preview"
    timezone: str = "Asia/Ho_Chi_Minh"
    async_mode: str = "eventlet"
    ticket_rate_limit: str | None = "30/minute"
    default_office: str | None = None  # the slug the bare paths serve (default: the first office)
    booking_rate_limit: str | None = "10/hour"  # bookings per client address; None: off
    booking_checkin_before: int = 30  # minutes before a slot's start its booking can be checked in
    booking_checkin_after: int = 15  # minutes after; then it is missed
    booking_per_phone: int = 2  # bookings one phone may hold a day at an office
    ticket_issuers: str = "anyone"  # "kiosks": only paired kiosks (and booking check-ins) issue tickets
    instance_path: Path = field(default_factory=lambda: Path.cwd())
    public_url: str | None = None  # how phones reach the server, for QR codes
    sqlite_synchronous: str = "FULL"
    session_hours: int = 12
    login_rate_limit: str = "10/minute"
    proxy_hops: int = 0  # reverse proxies in front that set X-Forwarded-* (nginx: 1)
    access_log: bool = True  # one JSON line per request on standard output (ACCESS_LOG=0: none)
    header_timeout: int = 10  # seconds for a request line and its headers (and keep-alive idling)
    max_connections: int = 5000
    max_connections_per_address: int = 200  # 0: no cap (behind a proxy the proxy caps per address)
    seed_file: Path | None = None
    testing: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: dict | None = None, folder: Path | None = None) -> "Config":
        folder = Path(folder or os.environ.get("MOTCUA_HOME") or Path.cwd()).resolve()
        if env is None:
            _load_dotenv(folder)
            env = dict(os.environ)
        instance = folder / "motcua-data"
        database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'motcua.db'}"
        async_mode = env.get("ASYNC_MODE", "eventlet").strip() or "eventlet"
        if async_mode not in ASYNC_MODES:
            raise ConfigError(f"ASYNC_MODE must be one of {', '.join(ASYNC_MODES)}, not {async_mode!r}")
        timezone = env.get("TIMEZONE", "Asia/Ho_Chi_Minh")
        try:
            ZoneInfo(timezone)
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError
            raise ConfigError(f"TIMEZONE {timezone!r} is not a known time zone") from exc
        issuers = (env.get("TICKET_ISSUERS", "anyone").strip() or "anyone").lower()
        if issuers not in ("anyone", "kiosks"):
            raise ConfigError(f"TICKET_ISSUERS must be 'anyone' or 'kiosks', not {issuers!r}")
        synchronous = env.get("SQLITE_SYNCHRONOUS", "FULL").upper()
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ConfigError("SQLITE_SYNCHRONOUS must be FULL, EXTRA or NORMAL")
        return cls(
            database_url=normalise_database_url(database_url),
            secret_key=env.get("SECRET_KEY") or _secret_key(instance),
            message_queue_url=env.get("MESSAGE_QUEUE_URL") or None,
            printer=env.get("PRINTER", "preview") or "preview",
            timezone=timezone,
            async_mode=async_mode,
            ticket_rate_limit=parse_rate(env.get("TICKET_RATE_LIMIT", "30/minute")),
            ticket_issuers=issuers,
            booking_rate_limit=parse_rate(env.get("BOOKING_RATE_LIMIT", "10/hour"), "BOOKING_RATE_LIMIT"),
            booking_checkin_before=_int(env, "BOOKING_CHECKIN_BEFORE", 30),
            booking_checkin_after=_int(env, "BOOKING_CHECKIN_AFTER", 15),
            booking_per_phone=max(1, _int(env, "BOOKING_PER_PHONE", 2)),
            default_office=(env.get("DEFAULT_OFFICE") or "").strip().lower() or None,
            instance_path=instance,
            public_url=(env.get("PUBLIC_URL") or "").rstrip("/") or None,
            sqlite_synchronous=synchronous,
            session_hours=_int(env, "SESSION_HOURS", 12),
            login_rate_limit=env.get("LOGIN_RATE_LIMIT", "10/minute"),
            proxy_hops=_int(env, "PROXY_HOPS", 0),
            access_log=env.get("ACCESS_LOG", "1").strip().lower() not in ("0", "no", "off", "false"),
            header_timeout=max(1, _int(env, "HEADER_TIMEOUT", 10)),
            max_connections=max(64, _int(env, "MAX_CONNECTIONS", 5000)),
            max_connections_per_address=_int(env, "MAX_CONNECTIONS_PER_ADDRESS", 200),
        )
