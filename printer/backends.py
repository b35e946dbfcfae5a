"""Where the bytes go, chosen by the PRINTER setting.

    preview[:FOLDER]          PNG pictures of the tickets in a folder (the default)
    dummy                     keeps the bytes in memory (tests, demos)
    file:PATH                 appends the bytes to a file or a device (/dev/usb/lp0)
    tcp://HOST[:9100]         a network printer (raw port 9100)
    usb:VID:PID               a USB printer, ids in hex (usb:04b8:0202), needs pyusb
    serial:/dev/ttyUSB0       a serial printer, needs pyserial

Options follow a `?`, e.g. `tcp://10.0.0.9:9100?width=58&qr=native&timeout=5`:
    width=58|80 (or 384|576 dots)   paper width, default 80
    qr=image|native                 QR drawn as dots (works everywhere, default) or by the printer
    connect_timeout=SECONDS         opening the connection, default 2 (the kiosk uses less)
    timeout=SECONDS                 each write and status read, default 5
    status=auto|off                 ask the printer its state (DLE EOT) before and after a job
    worker=process|thread|inline    where the server draws and sends (printer/worker.py), default process
    keep=1000                       preview: the newest pictures kept in the folder (0: every one)
    baud=9600                       serial speed
    in_ep=0x82&out_ep=0x01          USB endpoints

The one promise of a backend: `print_ticket` raises `PrintError(retryable=True)`
only when no printable byte of the job reached the printer, so the spool may
send it again without ever printing a ticket twice. Any failure after that
point is `retryable=False`: the job may be half on paper and a person decides.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from typing import TYPE_CHECKING, Callable

from printer.ticket import PAPER_DOTS, TicketPrint

if TYPE_CHECKING:
    from printer.render import RenderedTicket

log = logging.getLogger(__name__)
HW_INIT = b"\x1b@"  # ESC @: initialise; prints nothing

DLE_EOT = b"\x10\x04"
# Printer status (1), offline cause (2), roll paper sensor (4): one byte each.
STATUS_QUERY = DLE_EOT + b"\x01" + DLE_EOT + b"\x02" + DLE_EOT + b"\x04"
WRITE_CHUNK = 4096


class PrintError(Exception):
    """A job did not print. `retryable` is True only when nothing printable reached the printer."""

    def __init__(self, message: str, retryable: bool, status: "PrinterStatus | None" = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status


@dataclass
class PrinterStatus:
    """What the printer said about itself; None means it did not say (many printers cannot)."""

    reachable: bool
    online: bool | None = None
    cover_open: bool | None = None
    paper_out: bool | None = None
    paper_near_end: bool | None = None
    error: str | None = None

    @property
    def answered(self) -> bool:
        return self.online is not None

    @property
    def ready(self) -> bool:
        """Reachable and not known to be unable to print."""
        return self.reachable and self.online is not False and not self.cover_open and not self.paper_out

    def problem_vi(self) -> str | None:
        if not self.reachable:
            return f"Không kết nối được máy in ({self.error})" if self.error else "Không kết nối được máy in"
        if self.paper_out:
            return "Máy in hết giấy"
        if self.cover_open:
            return "Nắp máy in đang mở"
        if self.online is False:
            return "Máy in đang ngoại tuyến (offline)"
        return None

    def to_dict(self) -> dict:
        return {
            "reachable": self.reachable,
            "answered": self.answered,
            "online": self.online,
            "cover_open": self.cover_open,
            "paper_out": self.paper_out,
            "paper_near_end": self.paper_near_end,
            "ready": self.ready,
            "problem": self.problem_vi(),
        }


def parse_status(answer: bytes) -> PrinterStatus:
    """Decode the three DLE EOT answers (Epson ESC/POS reference, n = 1, 2, 4).

    Every answer byte has bit 1 and bit 4 set and bits 0 and 7 clear; a reply that
    does not look like that is not a status (some printers echo or stay silent).
    """
    if len(answer) < 3 or any(b & 0x93 != 0x12 for b in answer[-3:]):
        return PrinterStatus(reachable=True)
    printer, offline_cause, paper = answer[-3:]
    return PrinterStatus(
        reachable=True,
        online=not printer & 0x08,
        cover_open=bool(offline_cause & 0x04),
        paper_out=bool(paper & 0x60) or bool(offline_cause & 0x20),
        paper_near_end=bool(paper & 0x0C),
    )


@dataclass
class PrinterSettings:
    kind: str  # preview dummy file tcp usb serial
    target: str = ""
    width: int = 576
    qr_native: bool = False
    connect_timeout: float = 2.0
    timeout: float = 5.0
    status: bool = True
    options: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        return self.kind if not self.target else f"{self.kind}:{self.target}"


def parse_printer_spec(spec: str | None, preview_folder: Path | str | None = None) -> PrinterSettings:
    spec = (spec or "preview").strip()
    base, _, query = spec.partition("?")
    options = {k: v[-1] for k, v in parse_qs(query).items()}
    if base.startswith("tcp://"):
        kind, target = "tcp", base[len("tcp://"):]
        if not urlsplit("//" + target).hostname:
            raise ValueError(f"PRINTER {spec!r}: no host, expected tcp://HOST:9100")
    else:
        kind, _, target = base.partition(":")
    kind = kind.lower()
    if kind not in ("preview", "dummy", "file", "tcp", "usb", "serial"):
        raise ValueError(
            f"PRINTER {spec!r} is not one of preview, dummy, file:PATH, tcp://HOST:9100, usb:VID:PID, serial:/dev/..."
        )
    if kind == "preview" and not target:
        target = str(preview_folder or "prints")
    if kind in ("file", "serial", "usb") and not target:
        raise ValueError(f"PRINTER {spec!r} needs a device after the colon")
    width_text = options.get("width", "80")
    width = PAPER_DOTS.get(int(width_text), int(width_text)) if width_text.isdigit() else -1
    if width not in PAPER_DOTS.values():
        raise ValueError(f"PRINTER {spec!r}: width must be 58 or 80 (mm), or 384 or 576 (dots)")
    if options.get("qr", "image") not in ("image", "native"):
        raise ValueError(f"PRINTER {spec!r}: qr must be image or native")
    if options.get("worker", "process") not in ("process", "thread", "inline"):
        raise ValueError(f"PRINTER {spec!r}: worker must be process, thread or inline")
    if not options.get("keep", "0").isdigit():
        raise ValueError(f"PRINTER {spec!r}: keep must be a whole number of pictures (0: keep every one)")
    return PrinterSettings(
        kind=kind,
        target=target,
        width=int(width),
        qr_native=options.get("qr") == "native",
        connect_timeout=float(options.get("connect_timeout", 2.0)),
        timeout=float(options.get("timeout", 5.0)),
        status=options.get("status", "auto") != "off",
        options=options,
    )


class Backend:
    """A printer. Thread-safe: jobs to one printer go one at a time."""

    def __init__(self, settings: PrinterSettings):
        self.settings = settings
        self._lock = threading.Lock()

    def render(self, ticket: TicketPrint) -> tuple["RenderedTicket", bytes]:
        # Imported here: a server that only hands jobs to its print worker never loads Pillow.
        from printer.encode import encode_ticket
        from printer.render import render_ticket

        picture = render_ticket(ticket, self.settings.width)
        return picture, encode_ticket(picture, qr_native=self.settings.qr_native)

    def print_ticket(self, ticket: TicketPrint, job_id: str, connect_timeout: float | None = None) -> None:
        picture, data = self.render(ticket)
        with self._lock:
            self._deliver(data, picture, job_id, connect_timeout or self.settings.connect_timeout)

    def status(self, connect_timeout: float | None = None) -> PrinterStatus:
        return PrinterStatus(reachable=True)

    def _deliver(self, data: bytes, picture: "RenderedTicket", job_id: str, connect_timeout: float) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class PreviewBackend(Backend):
    """Writes each ticket as a PNG: the embedded default, so a demo needs no printer.

    The folder keeps the newest `keep` pictures (option `keep`, default `KEEP`; 0: every one),
    so an office left on it for years does not fill its disk (~8.5 KB a ticket). The oldest go
    as new ones come, `TRIM_AT_ONCE` at most a job: a folder that grew before the limit shrinks
    over the next jobs, not all during one. The folder is the printer's own (any `*.png` in it
    counts). Each process counts the pictures it knows of: two servers writing to one folder
    keep up to `keep` each."""

    KEEP = 1000  # a busy office's day or two
    # Pictures beyond `keep` removed by one job, at most: ~1.2 ms of the worker's CPU here (38 µs
    # a removal), and a year's folder of 150,000 pictures is down to `keep` within ~5,000 tickets.
    TRIM_AT_ONCE = 32

    def __init__(self, settings):
        super().__init__(settings)
        self.keep = int(settings.options.get("keep", self.KEEP))
        self._pictures: dict[str, None] | None = None  # file names, oldest first (read at the first job)

    @property
    def folder(self) -> Path:
        return Path(self.settings.target)

    def _deliver(self, data, picture, job_id, connect_timeout):
        try:
            if self._pictures is None and self.keep:
                self._pictures = self._read_folder()
            name = f"{job_id}.png"
            tmp = self.folder / f".{name}.tmp"
            # compress_level 1: half the CPU of the default 6 for a file 25 % larger (8.5 against 6.8 KB)
            png = picture.png(compress_level=1)
            try:
                tmp.write_bytes(png)
            except FileNotFoundError:  # no folder yet (keep=0), or it was removed since
                self.folder.mkdir(parents=True, exist_ok=True)
                tmp.write_bytes(png)
            tmp.replace(self.folder / name)  # whole picture or none
        except OSError as exc:
            raise PrintError(f"Không ghi được ảnh xem trước: {exc}", retryable=True) from exc
        if self._pictures is not None:
            self._pictures.pop(name, None)  # a job written again is the newest now
            self._pictures[name] = None
            self._trim()

    def _read_folder(self) -> dict[str, None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        found = []
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if entry.name.endswith(".png") and not entry.name.startswith(".") and entry.is_file():
                    found.append((entry.stat().st_mtime_ns, entry.name))
        return dict.fromkeys(name for _, name in sorted(found))

    def _trim(self) -> None:
        """Remove the oldest pictures beyond `keep` (at most `TRIM_AT_ONCE` this time)."""
        for _ in range(min(len(self._pictures) - self.keep, self.TRIM_AT_ONCE)):
            oldest = next(iter(self._pictures))
            del self._pictures[oldest]
            try:
                (self.folder / oldest).unlink()
            except FileNotFoundError:  # someone removed it first
                pass
            except OSError:  # it stays; the ticket printed all the same
                log.warning("preview: could not remove %s", oldest, exc_info=True)

    def status(self, connect_timeout=None):
        return PrinterStatus(reachable=True, online=True, cover_open=False, paper_out=False)


class DummyBackend(Backend):
    """Keeps jobs' bytes in memory, in order (the last `KEEP`: a benchmark prints thousands).

    The server's spool reads them where its print worker printed them: `kept_elsewhere` is then
    set to a callable that fetches them (printer.worker's `kept`)."""

    KEEP = 100

    def __init__(self, settings):
        super().__init__(settings)
        self._jobs: list[tuple[str, bytes]] = []
        self.kept_elsewhere: Callable[[], list[tuple[str, bytes]]] | None = None

    @property
    def jobs(self) -> list[tuple[str, bytes]]:
        """(job id, bytes) of the jobs printed, oldest first."""
        return self.kept_elsewhere() if self.kept_elsewhere is not None else self._jobs

    def _deliver(self, data, picture, job_id, connect_timeout):
        self.keep(job_id, data)

    def keep(self, job_id: str, data: bytes) -> None:
        self._jobs.append((job_id, data))
        if len(self._jobs) > self.KEEP:
            del self._jobs[0]

    def status(self, connect_timeout=None):
        return PrinterStatus(reachable=True, online=True, cover_open=False, paper_out=False)


class _StreamBackend(Backend):
    """Shared by tcp, usb, serial and file: open, ask status, write, confirm, close."""

    def _open(self, connect_timeout: float):
        raise NotImplementedError

    def _write(self, conn, data: bytes) -> None:
        raise NotImplementedError

    def _read(self, conn, count: int, timeout: float) -> bytes:
        return b""  # a device we cannot read from never answers a status query

    def _close(self, conn) -> None:
        conn.close()

    def _query_status(self, conn, timeout: float) -> PrinterStatus:
        self._write(conn, STATUS_QUERY)
        return parse_status(self._read(conn, 3, timeout))

    def status(self, connect_timeout=None):
        with self._lock:
            try:
                conn = self._open(connect_timeout or self.settings.connect_timeout)
            except OSError as exc:
                return PrinterStatus(reachable=False, error=str(exc))
            try:
                if not self.settings.status:
                    return PrinterStatus(reachable=True)
                return self._query_status(conn, min(self.settings.timeout, 1.0))
            except (OSError, PrintError) as exc:
                return PrinterStatus(reachable=False, error=str(exc))
            finally:
                self._close(conn)

    def _deliver(self, data, picture, job_id, connect_timeout):
        try:
            conn = self._open(connect_timeout)
        except OSError as exc:
            raise PrintError(f"Không kết nối được máy in: {exc}", retryable=True) from exc
        try:
            self._send_checked(conn, data, connect_timeout)
        finally:
            try:
                self._close(conn)
            except OSError:
                pass

    def _send_checked(self, conn, data: bytes, status_timeout: float) -> None:
        before = None
        if self.settings.status:
            try:
                before = self._query_status(conn, status_timeout)
            except OSError as exc:
                raise PrintError(f"Máy in ngắt kết nối trước khi in: {exc}", retryable=True) from exc
            if not before.reachable:
                raise PrintError("Máy in ngắt kết nối trước khi in", retryable=True, status=before)
            if not before.ready:
                # Nothing of the job was sent: safe to try again when the paper is back.
                raise PrintError(before.problem_vi() or "Máy in chưa sẵn sàng", retryable=True, status=before)
        # ESC @ alone first: it prints nothing, so a failure here still leaves the job untouched.
        try:
            self._write(conn, HW_INIT)
        except OSError as exc:
            raise PrintError(f"Máy in ngắt kết nối trước khi in: {exc}", retryable=True) from exc
        body = data[len(HW_INIT):] if data.startswith(HW_INIT) else data
        try:
            for start in range(0, len(body), WRITE_CHUNK):
                self._write(conn, body[start:start + WRITE_CHUNK])
        except OSError as exc:
            raise PrintError(f"Mất kết nối giữa chừng khi in: {exc}", retryable=False) from exc
        if before is not None and before.answered:
            # A printer answers DLE EOT only after it has taken in everything sent
            # before it, so an answer now proves the whole ticket arrived.
            try:
                after = self._query_status(conn, self.settings.timeout)
            except OSError as exc:
                raise PrintError(f"Không xác nhận được vé đã in: {exc}", retryable=False) from exc
            if not after.answered:
                raise PrintError("Không xác nhận được vé đã in (máy in không trả lời)", retryable=False)
            if not after.ready:
                raise PrintError(
                    f"{after.problem_vi()} trong khi in; vé có thể chưa in xong", retryable=False, status=after
                )


class TcpBackend(_StreamBackend):
    def _address(self) -> tuple[str, int]:
        parts = urlsplit("//" + self.settings.target)
        return parts.hostname, parts.port or 9100

    def _open(self, connect_timeout):
        conn = socket.create_connection(self._address(), timeout=connect_timeout)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(self.settings.timeout)
        return conn

    def _write(self, conn, data):
        conn.sendall(data)

    def _read(self, conn, count, timeout):
        try:
            return _read_until(lambda: conn.recv(64), count, timeout, conn.settimeout)
        finally:
            conn.settimeout(self.settings.timeout)

    def _close(self, conn):
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()


class FileBackend(_StreamBackend):
    """A file or a character device such as /dev/usb/lp0; appends, never truncates."""

    def _open(self, connect_timeout):
        return open(self.settings.target, "ab", buffering=0)

    def _write(self, conn, data):
        conn.write(data)

    def _send_checked(self, conn, data, status_timeout):
        try:
            conn.write(data)
            conn.flush()
        except OSError as exc:
            raise PrintError(f"Không ghi được vào {self.settings.target}: {exc}", retryable=False) from exc

    def status(self, connect_timeout=None):
        target = Path(self.settings.target)
        if target.exists() or target.parent.is_dir():
            return PrinterStatus(reachable=True)
        return PrinterStatus(reachable=False, error=f"không có {target}")


class SerialBackend(_StreamBackend):
    def _open(self, connect_timeout):
        try:
            import serial  # pyserial, only needed for serial printers
        except ImportError as exc:
            raise OSError("cần cài pyserial để in qua cổng nối tiếp") from exc
        try:
            return serial.Serial(
                self.settings.target,
                baudrate=int(self.settings.options.get("baud", 9600)),
                timeout=self.settings.timeout,
                write_timeout=self.settings.timeout,
                rtscts=self.settings.options.get("flow") == "rtscts",
                dsrdtr=self.settings.options.get("flow") == "dsrdtr",
            )
        except serial.SerialException as exc:
            raise OSError(str(exc)) from exc

    def _write(self, conn, data):
        import serial

        try:
            conn.write(data)
            conn.flush()
        except serial.SerialException as exc:  # includes write timeouts
            raise OSError(str(exc)) from exc

    def _read(self, conn, count, timeout):
        def set_timeout(value):
            conn.timeout = value

        return _read_until(lambda: conn.read(count), count, timeout, set_timeout, eof_is_error=False)


class UsbBackend(_StreamBackend):
    def _open(self, connect_timeout):
        try:
            from escpos.printer import Usb
        except ImportError as exc:
            raise OSError("cần cài pyusb để in qua USB") from exc
        vid, _, pid = self.settings.target.partition(":")
        options = self.settings.options
        try:
            printer = Usb(
                int(vid, 16),
                int(pid, 16),
                timeout=int(self.settings.timeout * 1000),
                in_ep=int(options.get("in_ep", "0x82"), 0),
                out_ep=int(options.get("out_ep", "0x01"), 0),
            )
            printer.open()
        except Exception as exc:  # DeviceNotFoundError, USBError, NoBackendError (no libusb)
            raise OSError(f"không tìm thấy máy in USB {self.settings.target}: {exc}") from exc
        return printer

    def _write(self, conn, data):
        try:
            conn._raw(data)
        except Exception as exc:  # usb.core.USBError (timeout, pipe error, unplugged)
            raise OSError(str(exc)) from exc

    def _read(self, conn, count, timeout):
        import usb.core

        deadline = time.monotonic() + timeout
        got = b""
        while len(got) < count and time.monotonic() < deadline:
            try:
                got += bytes(conn.device.read(conn.in_ep, 64, max(1, int((deadline - time.monotonic()) * 1000))))
            except usb.core.USBTimeoutError:
                break
            except usb.core.USBError as exc:
                raise OSError(str(exc)) from exc
        return got


def _read_until(read_once, count: int, timeout: float, set_timeout, eof_is_error: bool = True) -> bytes:
    """Read at least `count` bytes or until `timeout`; a closed connection is an OSError."""
    deadline = time.monotonic() + timeout
    got = b""
    while len(got) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        set_timeout(left)
        try:
            chunk = read_once()
        except (socket.timeout, TimeoutError):
            break
        if not chunk:
            if eof_is_error:
                raise ConnectionResetError("máy in đã đóng kết nối")
            break
        got += chunk
    return got


BACKENDS = {
    "preview": PreviewBackend,
    "dummy": DummyBackend,
    "file": FileBackend,
    "tcp": TcpBackend,
    "serial": SerialBackend,
    "usb": UsbBackend,
}


def open_backend(spec: str | PrinterSettings | None, preview_folder: Path | str | None = None) -> Backend:
    settings = spec if isinstance(spec, PrinterSettings) else parse_printer_spec(spec, preview_folder)
    return BACKENDS[settings.kind](settings)
