"""A real motcua server in a subprocess, on a free localhost port, for tests that need one.

Used by the realtime, race, durability and browser tests. The server runs
exactly as an office runs it (`python -m server.cli run`), in its own
folder, with its own database.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
ADMIN_LINE = re.compile(r"Tài khoản quản trị đầu tiên: (\S+) / mật khẩu: (\S+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, home: Path, *, async_mode: str = "threading", env: dict | None = None,
                 python: str | None = None):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "MOTCUA_HOME": str(self.home),
            "ASYNC_MODE": async_mode,
            "PRINTER": "dummy",
            "TICKET_RATE_LIMIT": "0",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None
        self.python = python or sys.executable  # bench: a server from a plain install, without test extras
        self.admin: tuple[str, str] | None = None
        self.log_path = self.home / "server.log"

    # ----- lifecycle ------------------------------------------------------
    def start(self, timeout: float = 20) -> "LiveServer":
        self._log = open(self.log_path, "a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [self.python, "-m", "server.cli", "run", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
            try:
                if requests.get(self.url + "/api/health", timeout=0.5).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"server did not answer in {timeout}s:\n{self.log_path.read_text()}")
        match = ADMIN_LINE.search(self.log_path.read_text(encoding="utf-8"))
        if match and self.admin is None:
            self.admin = (match.group(1), match.group(2))
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()

    def kill(self) -> None:
        """kill -9: no chance to flush or clean up."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()

    def restart(self) -> "LiveServer":
        self.stop()
        return self.start()

    # ----- the command line, as an admin uses it --------------------------
    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, env=self.env,
                              input=stdin, capture_output=True, text=True, timeout=60)

    def add_user(self, name: str, role: str = "clerk", password: str = "mat-khau-rat-dai-1",
                 office: str | None = None) -> tuple[str, str]:
        office_args = ["--office", office] if office else []
        result = self.cli("user", "add", name, "--role", role, *office_args, "--password-stdin", stdin=password + "\n")
        assert result.returncode == 0, result.stderr
        return name, password

    def pairing_code(self, kind: str, counter: int | None = None) -> str:
        args = ["device", "pair", kind] + (["--counter", str(counter)] if counter else [])
        result = self.cli(*args)
        assert result.returncode == 0, result.stderr
        return re.search(r"Mã ghép nối: (\S+)", result.stdout).group(1)

    # ----- the API ----------------------------------------------------------
    def login(self, username: str, password: str) -> dict:
        r = requests.post(self.url + "/api/auth/login", json={"username": username, "password": password}, timeout=5)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def clerk_headers(self, name: str = "canbo1") -> dict:
        return self.login(*self.add_user(name))

    def issue(self, field: str = "ho-tich", **kwargs) -> dict:
        r = requests.post(self.url + "/api/tickets", json={"field": field, **kwargs}, timeout=5)
        assert r.status_code == 201, r.text
        return r.json()
