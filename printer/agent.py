"""The printer agent: prints a kiosk's tickets on a printer attached to the kiosk PC.

    motcua printer-agent --server http://10.0.0.2:8000 --token <kiosk token> --printer usb:04b8:0202

It connects to the server's `/printer` Socket.IO namespace with the kiosk's
device token, receives `print_job` {job_id, ticket}, draws and prints the
ticket for its own printer (width, QR mode) and answers `print_ack`.

Never printed twice, across server restarts, network cuts and its own crashes:
a journal on disk records `start` before a job is sent to the printer and
`done`/`failed`/`unsent` after. The server re-sends every unacknowledged job on
reconnect; a job already `done` is acknowledged again without printing; a job
with a `start` but no outcome (the agent died while printing) is reported as
failed for the admin to reprint rather than printed again.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import socketio

from printer.backends import PrintError, open_backend
from printer.ticket import TicketPrint

log = logging.getLogger("motcua.printer_agent")
NAMESPACE = "/printer"


class Journal:
    """Append-only record of what happened to each job id, fsynced before it matters."""

    KEEP = 5000  # job ids remembered after a compaction: days of tickets

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.state: dict[str, str] = {}
        lines = 0
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                state, _, job_id = line.partition(" ")
                if job_id:
                    self.state[job_id] = state
                    lines += 1
        if lines > 4 * self.KEEP:
            self._compact()
        self._file = open(self.path, "a", encoding="utf-8")

    def _compact(self) -> None:
        kept = list(self.state.items())[-self.KEEP:]  # dicts keep insertion order: the newest jobs
        self.state = dict(kept)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(f"{state} {job_id}\n" for job_id, state in kept), encoding="utf-8")
        os.replace(tmp, self.path)

    def get(self, job_id: str) -> str | None:
        return self.state.get(job_id)

    def record(self, job_id: str, state: str) -> None:
        self.state.pop(job_id, None)
        self.state[job_id] = state
        self._file.write(f"{state} {job_id}\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


class PrinterAgent:
    def __init__(self, server_url: str, token: str, printer_spec: str, state_dir: Path | str | None = None):
        self.server_url = server_url
        self.token = token
        self.backend = open_backend(printer_spec, preview_folder=Path(state_dir or ".") / "prints")
        state_dir = Path(state_dir) if state_dir else Path.home() / ".motcua-printer-agent"
        self.journal = Journal(state_dir / "jobs.journal")
        self._lock = threading.Lock()  # one job at a time, in order
        self._stop = threading.Event()
        self._unsent_acks: list[dict] = []
        self.connected = threading.Event()
        self.sio = socketio.Client(reconnection=True, reconnection_attempts=0,
                                   reconnection_delay=1, reconnection_delay_max=10)
        self.sio.on("connect", self._on_connect, namespace=NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        self.sio.on("print_job", self._on_job, namespace=NAMESPACE)

    def _on_connect(self):
        log.info("connected to %s", self.server_url)
        self.connected.set()
        unsent, self._unsent_acks = self._unsent_acks, []
        for ack in unsent:
            self._send_ack(ack)

    def _on_disconnect(self, *_reason):
        log.warning("disconnected from %s; reconnecting", self.server_url)
        self.connected.clear()

    def _on_job(self, data):
        ack = self.handle(data)
        if ack is not None:
            self._send_ack(ack)

    def _send_ack(self, ack: dict) -> None:
        try:
            self.sio.emit("print_ack", ack, namespace=NAMESPACE)
        except Exception:
            # Not connected (yet): sent again on connect; and the server re-sends the
            # job on reconnect anyway, which the journal answers without printing.
            log.warning("could not acknowledge %s yet", ack.get("job_id"))
            self._unsent_acks.append(ack)

    def handle(self, data) -> dict | None:
        """Print one job unless the journal says it was already tried; returns the acknowledgement."""
        if not isinstance(data, dict) or not data.get("job_id"):
            return None
        job_id = str(data["job_id"])
        with self._lock:
            seen = self.journal.get(job_id)
            if seen == "done":
                return {"job_id": job_id, "status": "printed"}
            if seen == "start":
                return {"job_id": job_id, "status": "failed", "retryable": False,
                        "error": "Máy in ở kiosk bị gián đoạn khi đang in; vé có thể đã in hoặc chưa"}
            if seen == "failed":
                return {"job_id": job_id, "status": "failed", "retryable": False,
                        "error": "Lệnh in này đã lỗi trước đó"}
            try:
                ticket = TicketPrint.from_dict(data["ticket"])
            except Exception as exc:
                return {"job_id": job_id, "status": "failed", "retryable": False, "error": f"Dữ liệu vé sai: {exc}"}
            self.journal.record(job_id, "start")
            try:
                self.backend.print_ticket(ticket, job_id)
            except PrintError as exc:
                self.journal.record(job_id, "unsent" if exc.retryable else "failed")
                return {"job_id": job_id, "status": "failed", "retryable": exc.retryable, "error": exc.message}
            except Exception as exc:
                self.journal.record(job_id, "failed")
                return {"job_id": job_id, "status": "failed", "retryable": False, "error": str(exc)}
            self.journal.record(job_id, "done")
            return {"job_id": job_id, "status": "printed"}

    def run(self) -> None:
        """Connect and serve until stop(); retries the first connection forever."""
        delay = 1.0
        while not self._stop.is_set():
            try:
                self.sio.connect(self.server_url, auth={"token": self.token}, namespaces=[NAMESPACE],
                                 transports=["websocket", "polling"], wait_timeout=5)
            except socketio.exceptions.ConnectionError as exc:
                log.warning("cannot reach %s (%s); retrying in %.0f s", self.server_url, exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 1.0
            # The client reconnects by itself after a cut; wait() returns only after disconnect().
            self.sio.wait()
        self.journal.close()

    def stop(self) -> None:
        self._stop.set()
        try:
            self.sio.disconnect()
        except Exception:
            pass


def run(server_url: str, token: str, printer_spec: str, state_dir: Path | str | None = None) -> None:
    PrinterAgent(server_url, token, printer_spec, state_dir).run()
