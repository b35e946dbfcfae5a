"""Create or migrate the database, load an office's seed file, make the first admin."""
from __future__ import annotations

import json
import secrets
from importlib import resources
from pathlib import Path

from sqlalchemy import select

from .administration import PREFIX
from .administration.common import booking as booking_settings
from .auth import create_user
from .config import Config
from .engine import RATING_LEVELS, QueueError, normalise_span, parse_hours
from .models import Counter, CounterField, Field, Office, User
from .storage import Storage

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration. A test checks it against Alembic's head; knowing it lets a server
# that is already up to date start without importing Alembic at all.
SCHEMA_REVISION = "0007"


class SeedError(ValueError):
    pass


def schema_is_current(database_url: str) -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_REVISION
    except SQLAlchemyError:  # no database or no alembic_version table yet
        return False
    finally:
        engine.dispose()


def migrate(database_url: str) -> None:
    """Bring the schema to the newest revision; upgrades never drop data. A new SQLite database
    is made at the newest revision at once (`_create_newest_schema`)."""
    sqlite = database_url.startswith("sqlite")
    if sqlite:
        from .storage import prepare_sqlite_file

        prepare_sqlite_file(database_url)
    if schema_is_current(database_url):
        return
    if sqlite and (_create_newest_schema(database_url) or schema_is_current(database_url)):  # or another process did
        return
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(cfg, "head")


# What `alembic stamp` writes on SQLite: its version table, as Alembic makes it.
_ALEMBIC_VERSION_TABLE = ("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                          "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))")


def _create_newest_schema(database_url: str) -> bool:
    """A new SQLite database (an office's first start) gets the newest schema at once: the models'
    tables and Alembic's version table at SCHEMA_REVISION, in one transaction, as Alembic's own
    recipe builds a database from scratch (`create_all`, then `stamp head`). Importing Alembic and
    running every migration on an empty file took 0.3-0.7 s of the first start; a test holds this
    schema to the one the migrations build. False: the database has tables already (an install to
    upgrade, or another process that made them a moment ago), for Alembic to bring up to date."""
    from sqlalchemy import inspect, text

    from .models import Base

    storage = Storage(database_url)
    try:
        with storage.write() as s:  # BEGIN IMMEDIATE: a second process starting now waits, then finds the tables
            conn = s.connection()
            if inspect(conn).get_table_names():
                return False
            Base.metadata.create_all(conn)
            conn.execute(text(_ALEMBIC_VERSION_TABLE))
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:revision)"),
                         {"revision": SCHEMA_REVISION})
        return True
    finally:
        storage.dispose()


def demo_seed() -> dict:
    return json.loads(resources.files("server").joinpath("data/fields-vi.json").read_text(encoding="utf-8"))


def load_seed(path: str | Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise SeedError(f"Không đọc được tệp {path}: {err}") from err
    validate_seed(data)
    return data


def validate_seed(data: dict) -> None:
    if not isinstance(data, dict) or not isinstance(data.get("fields"), list):
        raise SeedError("Tệp cấu hình cần có danh sách \"fields\".")
    prefixes, codes = set(), set()
    for f in data["fields"]:
        code, prefix, name = f.get("code"), f.get("prefix"), f.get("name")
        if not (isinstance(code, str) and code and isinstance(name, str) and name):
            raise SeedError(f"Lĩnh vực thiếu code hoặc name: {f}")
        if not (isinstance(prefix, str) and PREFIX.match(prefix)):
            raise SeedError(f"Tiền tố của lĩnh vực {code} phải là 1–2 chữ in hoa: {prefix!r}")
        if prefix in prefixes or code in codes:
            raise SeedError(f"Trùng mã hoặc tiền tố: {code} / {prefix}")
        prefixes.add(prefix)
        codes.add(code)
        try:
            parse_hours(f.get("hours") or [])
        except ValueError as err:
            raise SeedError(f"Giờ cấp số của lĩnh vực {code} không hợp lệ: {err}") from err
        try:
            booking_settings(f.get("booking"))
        except QueueError as err:
            raise SeedError(f"Đặt lịch của lĩnh vực {code}: {err.message}") from err
    numbers = [c.get("number") for c in data.get("counters", [])]
    for c in data.get("counters", []):
        if not isinstance(c.get("number"), int) or c["number"] < 1:
            raise SeedError(f"Số quầy không hợp lệ: {c}")
        served = c.get("fields", [])
        unknown = set(served) - codes
        if unknown:
            raise SeedError(f"Quầy {c['number']} phục vụ lĩnh vực không có: {', '.join(sorted(unknown))}")
        if numbers.count(c["number"]) > 1:
            raise SeedError(f"Quầy số {c['number']} ghi hai lần; mỗi quầy một số riêng.")
        twice = sorted({code for code in served if served.count(code) > 1})
        if twice:
            raise SeedError(f"Quầy {c['number']} ghi lĩnh vực {', '.join(twice)} hai lần; mỗi lĩnh vực chỉ ghi một lần.")
    levels = data.get("rating_levels")
    if levels and len(levels) not in RATING_LEVELS:
        raise SeedError("Thang đánh giá phải có 3 hoặc 5 mức.")


def apply_seed(storage: Storage, data: dict, office: str | None = None, default_slug: str = "default") -> int:
    """Create or update an office, its fields and counters from a seed (by code and number).

    `office`: the office's slug; when not given, the first office (made as `default_slug`
    when there is none yet). Returns the office's id."""
    validate_seed(data)
    with storage.write() as s:
        if office is not None:
            row = s.scalar(select(Office).where(Office.slug == office))
        else:
            row = s.scalar(select(Office).order_by(Office.id).limit(1))
        row = row or Office(slug=office or default_slug, name="", settings={}, active=True)
        info = data.get("office", {})
        row.name = info.get("name") or row.name or "Bộ phận một cửa"
        row.unit = info.get("unit") or row.unit or ""
        if data.get("rating_levels"):
            row.rating_scale = len(data["rating_levels"])
        settings = dict(row.settings or {})
        if data.get("rating_reasons"):
            settings["rating_reasons"] = data["rating_reasons"]
        row.settings = settings
        s.add(row)
        s.flush()
        office_id = row.id
        by_code = {f.code: f for f in s.scalars(select(Field).where(Field.office_id == office_id))}
        for position, f in enumerate(data["fields"]):
            field = by_code.get(f["code"]) or Field(office_id=office_id, code=f["code"])
            field.name, field.prefix, field.hint = f["name"], f["prefix"], f.get("hint", "")
            field.minutes, field.daily_cap = f.get("minutes"), f.get("daily_cap")
            field.hours = [normalise_span(span) for span in f.get("hours") or []]
            field.booking = booking_settings(f.get("booking"))
            field.icon, field.position, field.active = f.get("icon"), position, f.get("active", True)
            s.add(field)
            by_code[field.code] = field
        s.flush()
        by_number = {c.number: c for c in s.scalars(select(Counter).where(Counter.office_id == office_id))}
        for c in data.get("counters", []):
            counter = by_number.get(c["number"]) or Counter(office_id=office_id, number=c["number"], state="open")
            counter.name = c.get("name") or f"Quầy {c['number']}"
            counter.active = True
            s.add(counter)
            s.flush()
            counter.field_links = [CounterField(counter_id=counter.id, field_id=by_code[code].id, position=i)
                                   for i, code in enumerate(c.get("fields", []))]
    return office_id


def is_seeded(storage: Storage) -> bool:
    with storage.read() as s:
        return s.scalar(select(Field.id).limit(1)) is not None


def ensure_first_admin(storage: Storage) -> tuple[str, str] | None:
    """When no admin exists, make `admin` with a random password, to be shown once."""
    with storage.read() as s:
        if s.scalar(select(User.id).where(User.role == "admin").limit(1)):
            return None
    password = secrets.token_urlsafe(12)
    create_user(storage, "admin", password, "admin", "Quản trị viên")
    return "admin", password


def prepare(config: Config, seed_file: str | Path | None = None, demo: bool = True) -> Storage:
    """Migrate, then seed (a given file, or the demo office when the database is empty)."""
    from .storage import private_folder

    private_folder(config.instance_path)  # motcua-data: the key, the database, the printed pictures
    migrate(config.database_url)
    storage = Storage(config.database_url, synchronous=config.sqlite_synchronous)
    default_slug = config.default_office or "default"
    if seed_file:
        apply_seed(storage, load_seed(seed_file), default_slug=default_slug)
    elif demo and not is_seeded(storage):
        apply_seed(storage, demo_seed(), default_slug=default_slug)
    return storage
