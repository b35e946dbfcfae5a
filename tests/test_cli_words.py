"""What the `motcua` command says to the person installing an office: Vietnamese role names,
pairing links a tablet can open, and a first start with nothing but motcua's own lines."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tomllib

import pytest

from server import cli

from .live import ROOT, LiveServer


def motcua(tmp_path, *args, stdin=None, env=None):
    environment = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_URL", "PORT")}
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, input=stdin, text=True,
                          capture_output=True, timeout=60,
                          env={**environment, "MOTCUA_HOME": str(tmp_path), **(env or {})})


def test_user_add_names_the_role_in_vietnamese(tmp_path):
    clerk = motcua(tmp_path, "user", "add", "lan", "--role", "clerk", "--password-stdin", stdin="mot-mat-khau-dai\n")
    assert clerk.returncode == 0, clerk.stderr
    assert clerk.stdout.strip() == "Đã tạo tài khoản cán bộ lan."
    admin = motcua(tmp_path, "user", "add", "minh", "--role", "admin", "--password-stdin", stdin="mot-mat-khau-khac\n")
    assert admin.stdout.strip() == "Đã tạo tài khoản quản trị minh."


def test_device_pair_uses_public_url_when_set(tmp_path):
    result = motcua(tmp_path, "device", "pair", "tablet", "--counter", "2",
                    env={"PUBLIC_URL": "https://motcua.phuong-mau.gov.vn/"})
    assert result.returncode == 0, result.stderr
    assert "Mở trên thiết bị: https://motcua.phuong-mau.gov.vn/rating?pair=" in result.stdout
    assert "theo PUBLIC_URL" in result.stdout and "localhost" not in result.stdout


def test_device_pair_without_public_url_gives_the_lan_address(tmp_path):
    result = motcua(tmp_path, "device", "pair", "kiosk", env={"PORT": "8080"})
    assert result.returncode == 0, result.stderr
    address = cli.lan_address()  # what this machine's network says, found the same way
    if address:
        assert f"Mở trên thiết bị: http://{address}:8080/kiosk?pair=" in result.stdout
        assert "địa chỉ mạng LAN của máy này" in result.stdout and "localhost" not in result.stdout
    else:  # a machine on no network at all: say so, and how to fix it
        assert "http://localhost:8080/kiosk?pair=" in result.stdout and "PUBLIC_URL" in result.stdout


class FakeUdp:
    """A UDP socket that only answers which local address would route to a target; it cannot send."""

    def __init__(self, routes: dict[str, str]):
        self.routes, self.local = routes, None

    def __call__(self, family, kind):
        assert (family, kind) == (socket.AF_INET, socket.SOCK_DGRAM)
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def connect(self, address):
        if address[0] not in self.routes:
            raise OSError(101, "Network is unreachable")
        self.local = self.routes[address[0]]

    def getsockname(self):
        return (self.local, 40000)


def test_the_lan_address_is_the_interface_a_private_address_routes_through(monkeypatch):
    monkeypatch.setattr(socket, "socket", FakeUdp({"192.168.254.254": "192.168.1.10"}))
    assert cli.lan_address() == "192.168.1.10"


def test_without_a_route_the_lan_address_comes_from_the_host_name(monkeypatch):
    monkeypatch.setattr(socket, "socket", FakeUdp({}))
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.1.1", 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.5.20", 0))])
    assert cli.lan_address() == "10.0.5.20"
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "",
                                                                 ("127.0.1.1", 0))])
    assert cli.lan_address() is None
    base, how = cli._device_base_url(None, None)
    assert base.startswith("http://localhost:") and "PUBLIC_URL" in how


def test_the_package_declares_its_license_as_an_spdx_expression():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "AGPL-3.0-or-later"  # no setuptools deprecation on install
    assert "setuptools>=77" in project["build-system"]["requires"]  # the first to read an SPDX string


@pytest.mark.slow
def test_the_first_start_under_eventlet_prints_no_deprecation_warning(tmp_path):
    server = LiveServer(tmp_path / "office", async_mode="eventlet").start()
    try:
        log = server.log_path.read_text(encoding="utf-8")
    finally:
        server.stop()
    assert "motcua đang chạy (eventlet" in log
    assert "deprecated" not in log.lower() and "Warning" not in log, log
