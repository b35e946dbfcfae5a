"""Debian's nginx in front of test servers, with the site config we ship (deploy/nginx/motcua.conf).

Only ports and paths change: the site's `listen 80` becomes a free loopback port, its two
example processes (127.0.0.1:8001 and :8002) become the test's, and its logs go to the
test's folder. nginx runs in the foreground under its own prefix (`-p`), so it writes
nothing outside that folder and never touches the machine's own nginx.

Also here: a requests session that speaks from another loopback address. Linux routes all
of 127/8 to the loopback, so 127.0.0.21 and 127.0.0.22 are two kiosks on the LAN for
nginx's per-address limits and sticky hashing, and for the server behind `PROXY_HOPS=1`.
"""
from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from .live import ROOT, free_port

SITE = ROOT / "deploy" / "nginx" / "motcua.conf"
EXAMPLE_PROCESSES = ("127.0.0.1:8001", "127.0.0.1:8002")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def render_site(text: str, port: int, backends: list[int], folder: Path) -> str:
    assert "listen 80;" in text and all(example in text for example in EXAMPLE_PROCESSES)
    text = text.replace("listen 80;", f"listen 127.0.0.1:{port};")
    for example, backend in zip(EXAMPLE_PROCESSES, backends):
        text = text.replace(example, f"127.0.0.1:{backend}")
    return text.replace("/var/log/nginx/", f"{folder}/")


MAIN = """\
daemon off;
master_process on;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {folder}/tmp/body;
    proxy_temp_path       {folder}/tmp/proxy;
    fastcgi_temp_path     {folder}/tmp/fastcgi;
    uwsgi_temp_path       {folder}/tmp/uwsgi;
    scgi_temp_path        {folder}/tmp/scgi;
    include {folder}/motcua.conf;
}}
"""

LOG_LINE = re.compile(r'^(?P<address>\S+) \[(?P<at>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d+) \d+ '
                      r'rt=(?P<rt>\S+) upstream=(?P<upstream>.*?) ut=(?P<ut>.*?) id=(?P<id>\S+)$')


class Nginx:
    def __init__(self, folder: Path, backends: list[int]):
        self.folder = Path(folder)
        self.backends = backends
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10) -> "Nginx":
        binary = nginx_binary()
        (self.folder / "tmp").mkdir(parents=True, exist_ok=True)
        (self.folder / "motcua.conf").write_text(
            render_site(SITE.read_text(encoding="utf-8"), self.port, self.backends, self.folder), encoding="utf-8")
        conf = self.folder / "nginx.conf"
        conf.write_text(MAIN.format(folder=self.folder), encoding="utf-8")
        command = [binary, "-p", str(self.folder), "-c", str(conf), "-e", str(self.folder / "error.log")]
        tested = subprocess.run(command + ["-t", "-q"], capture_output=True, text=True)
        assert tested.returncode == 0, f"nginx -t: {tested.stderr}"
        self._out = open(self.folder / "nginx.out", "a")
        self.proc = subprocess.Popen(command, stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited:\n{(self.folder / 'error.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not listen in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_out", None):
            self._out.close()

    def access_log(self) -> list[dict]:
        """Every request nginx has finished (a websocket is logged when it closes)."""
        path = self.folder / "motcua.access.log"
        if not path.exists():
            return []
        lines = [LOG_LINE.match(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return [m.groupdict() for m in lines if m]

    def upstreams_by_id(self) -> dict[str, str]:
        """X-Request-Id -> the process (port) that answered, as nginx logged it."""
        return {line["id"]: line["upstream"].split(", ")[-1].rsplit(":", 1)[-1] for line in self.access_log()}


class _FromAddress(HTTPAdapter):
    def __init__(self, address: str, **kwargs):
        self.address = address
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(address: str) -> requests.Session:
    """A requests session whose connections come from `address` (127.x.y.z)."""
    session = requests.Session()
    adapter = _FromAddress(address)
    session.mount("http://", adapter)
    return session
