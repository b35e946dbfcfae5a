"""Configuration from the environment: safe defaults, clear errors."""
import pytest

from server.config import Config, ConfigError, normalise_database_url, parse_rate


def test_embedded_default_needs_nothing(tmp_path):
    config = Config.from_env(env={}, folder=tmp_path)
    assert config.database_url == f"sqlite:///{tmp_path / 'motcua-data' / 'motcua.db'}"
    assert (config.printer, config.async_mode, config.timezone) == ("preview", "eventlet", "Asia/Ho_Chi_Minh")
    assert config.ticket_rate_limit == "30/minute" and config.message_queue_url is None


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = Config.from_env(env={}, folder=tmp_path).secret_key
    again = Config.from_env(env={}, folder=tmp_path).secret_key
    assert first == again and len(first) >= 64
    assert (tmp_path / "motcua-data" / "secret_key").stat().st_mode & 0o077 == 0


def test_postgresql_url_works_as_written():
    assert normalise_database_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize("text,expected", [("30/minute", "30/minute"), ("0", None), ("5/second", "5/second")])
def test_ticket_rate_limit(text, expected):
    assert parse_rate(text) == expected


@pytest.mark.parametrize("env", [{"ASYNC_MODE": "gevent"}, {"TIMEZONE": "Mars/Olympus"},
                                 {"TICKET_RATE_LIMIT": "many"}, {"PROXY_HOPS": "one"},
                                 {"SQLITE_SYNCHRONOUS": "OFF"}])
def test_bad_settings_are_refused_with_a_reason(tmp_path, env):
    with pytest.raises(ConfigError):
        Config.from_env(env=env, folder=tmp_path)


def test_the_data_folder_and_database_are_private(tmp_path):
    """Issue 12: other users of the office PC cannot read the database or its key."""
    import stat
    import subprocess
    import sys

    from .live import ROOT

    env = {"MOTCUA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "SECRET_KEY": "from-the-environment"}
    # Issue 10: with SECRET_KEY set, no key file is written, and init must still make the folder.
    result = subprocess.run([sys.executable, "-m", "server.cli", "init"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    data = tmp_path / "motcua-data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("motcua.db",):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600
    # An older install's folder (755) and database (644) are tightened on the next start.
    data.chmod(0o755)
    (data / "motcua.db").chmod(0o644)
    result = subprocess.run([sys.executable, "-m", "server.cli", "init"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "motcua.db").stat().st_mode) == 0o600
