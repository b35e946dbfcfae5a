"""The `motcua` command as an admin uses it: init, user add, device pair, migrations."""
from __future__ import annotations

import json
import subprocess
import sys

from .live import ROOT


def motcua(tmp_path, *args, stdin=None, env=None):
    import os

    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, input=stdin, text=True,
                          capture_output=True, timeout=60,
                          env={**os.environ, "MOTCUA_HOME": str(tmp_path), **(env or {})})


def test_init_creates_the_demo_office_and_an_admin_shown_once(tmp_path):
    first = motcua(tmp_path, "init")
    assert first.returncode == 0, first.stderr
    assert "Tài khoản quản trị đầu tiên: admin / mật khẩu:" in first.stdout
    again = motcua(tmp_path, "init")
    assert again.returncode == 0 and "mật khẩu" not in again.stdout  # never a second time
    assert (tmp_path / "motcua-data" / "motcua.db").exists()


def test_init_with_a_bad_seed_says_why_and_changes_nothing(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"fields": [{"code": "a", "name": "A", "prefix": "a1"}]}), encoding="utf-8")
    result = motcua(tmp_path, "init", "--seed", str(bad))
    assert result.returncode == 2 and "Tiền tố" in result.stderr


def test_user_add_takes_the_password_from_stdin_and_refuses_weak_ones(tmp_path):
    ok = motcua(tmp_path, "user", "add", "lan", "--role", "clerk", "--password-stdin", stdin="mot-mat-khau-dai\n")
    assert ok.returncode == 0 and "lan" in ok.stdout
    weak = motcua(tmp_path, "user", "add", "minh", "--role", "admin", "--password-stdin", stdin="123\n")
    assert weak.returncode == 2 and "ít nhất 10 ký tự" in weak.stderr
    twice = motcua(tmp_path, "user", "add", "lan", "--role", "clerk", "--password-stdin", stdin="mot-mat-khau-dai\n")
    assert twice.returncode == 2 and "đã có" in twice.stderr


def test_device_pair_prints_a_code_and_the_link(tmp_path):
    result = motcua(tmp_path, "device", "pair", "tablet", "--counter", "2")
    assert result.returncode == 0, result.stderr
    assert "Mã ghép nối:" in result.stdout and "/rating?pair=" in result.stdout
    missing = motcua(tmp_path, "device", "pair", "tablet")
    assert missing.returncode == 2 and "--counter" in missing.stderr
    unknown = motcua(tmp_path, "device", "pair", "tablet", "--counter", "99")
    assert unknown.returncode == 2 and "99" in unknown.stderr


def test_bad_configuration_is_refused_before_anything_runs(tmp_path):
    result = motcua(tmp_path, "init", env={"ASYNC_MODE": "gevent"})
    assert result.returncode == 2 and "ASYNC_MODE" in result.stderr


def test_migrations_match_the_models(database_url):
    """A model change without its migration would lose data on upgrade: catch it here."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from server.setup import MIGRATIONS, migrate

    url = database_url
    migrate(url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.check(cfg)  # raises when the models and the migrations differ
    from alembic.script import ScriptDirectory

    from server.setup import SCHEMA_REVISION

    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_REVISION


def test_demo_day_fills_the_reports_with_a_plausible_morning(tmp_path):
    result = motcua(tmp_path, "demo-day", "--date", "2026-11-24", "--visitors", "150")
    assert result.returncode == 0, result.stderr
    assert "150 phiếu" in result.stdout
    from server.config import Config
    from server.reports import summary
    from server.storage import Storage

    config = Config.from_env(env={}, folder=tmp_path)
    report = summary(Storage(config.database_url), *[__import__("datetime").date(2026, 11, 24)] * 2, config.tz)
    totals = report["totals"]
    assert totals["issued"] == 150 and totals["served"] > 100
    assert totals["waiting_time_s"]["p90"] > totals["waiting_time_s"]["median"] > 0
    assert len(report["by_hour"]) >= 3 and report["totals"]["ratings"]["count"] > 20


def test_init_with_a_counter_listing_a_field_twice_says_so(tmp_path):
    """Issue 10: a clear message, not an IntegrityError traceback."""
    from server.setup import demo_seed

    seed = demo_seed()
    seed["counters"][0]["fields"] = ["ho-tich", "ho-tich"]
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed, ensure_ascii=False), encoding="utf-8")
    result = motcua(tmp_path, "init", "--seed", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "ghi lĩnh vực ho-tich hai lần" in result.stderr
    seed = demo_seed()
    seed["counters"][1]["number"] = seed["counters"][0]["number"]
    path.write_text(json.dumps(seed, ensure_ascii=False), encoding="utf-8")
    result = motcua(tmp_path, "init", "--seed", str(path))
    assert result.returncode == 2 and "Quầy số 1 ghi hai lần" in result.stderr
