"""Test helpers for printing: an ESC/POS reader and a network printer on 127.0.0.1.

Imported explicitly by the test_printer*/test_printing* files (not a conftest).
"""
from __future__ import annotations

import datetime as dt
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from PIL import Image

ESC, GS, DLE = 0x1B, 0x1D, 0x10


@dataclass
class Command:
    name: str
    args: bytes = b""
    data: bytes = b""


def parse_escpos(stream: bytes) -> list[Command]:
    """Split a byte stream into the commands this project sends; unknown bytes become `byte` commands."""
    out, i, n = [], 0, len(stream)
    while i < n:
        b = stream[i]
        two = stream[i:i + 2]
        if two == b"\x1b@":
            out.append(Command("init")); i += 2
        elif two == b"\x1ba":
            out.append(Command("align", stream[i + 2:i + 3])); i += 3
        elif two == b"\x1bd":
            out.append(Command("feed", stream[i + 2:i + 3])); i += 3
        elif stream[i:i + 3] == b"\x1dv0":
            xl, xh, yl, yh = stream[i + 4:i + 8]
            width_bytes, height = xl + 256 * xh, yl + 256 * yh
            start = i + 8
            out.append(Command("raster", stream[i + 3:i + 8], stream[start:start + width_bytes * height]))
            i = start + width_bytes * height
        elif stream[i:i + 3] == b"\x1d(k":
            length = stream[i + 3] + 256 * stream[i + 4]
            out.append(Command("qr", stream[i + 5:i + 7], stream[i + 5:i + 5 + length])); i += 5 + length
        elif two == b"\x1dV":
            m = stream[i + 2]
            size = 4 if m in (65, 66) else 3
            out.append(Command("cut", stream[i + 2:i + size])); i += size
        elif two == b"\x10\x04":
            out.append(Command("status", stream[i + 2:i + 3])); i += 3
        else:
            out.append(Command("byte", bytes([b]))); i += 1
    return out


def raster_images(stream: bytes) -> list[Image.Image]:
    """Every `GS v 0` picture in the stream, decoded back to mode "1" (0 = black dot)."""
    images = []
    for cmd in parse_escpos(stream):
        if cmd.name != "raster":
            continue
        xl, xh, yl, yh = cmd.args[1:5]
        width, height = (xl + 256 * xh) * 8, yl + 256 * yh
        # In GS v 0 a set bit is a black dot; in a mode "1" picture 0 is black: invert.
        img = Image.frombytes("1", (width, height), bytes(255 - x for x in cmd.data))
        images.append(img)
    return images


def stack(images: list[Image.Image]) -> Image.Image:
    sheet = Image.new("1", (max(i.width for i in images), sum(i.height for i in images)), 255)
    y = 0
    for img in images:
        sheet.paste(img, (0, y))
        y += img.height
    return sheet


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and a.convert("1").tobytes() == b.convert("1").tobytes()


def complete_jobs(stream: bytes) -> list[bytes]:
    """Jobs that reached the printer whole: from an `ESC @` through a cut."""
    jobs, start = [], None
    pos = 0
    for cmd in parse_escpos(stream):
        size = _size(cmd)
        if cmd.name == "init" and start is None:
            start = pos
        if cmd.name == "cut" and start is not None:
            jobs.append(stream[start:pos + size])
            start = None
        pos += size
    return jobs


def _size(cmd: Command) -> int:
    return {"init": 2, "align": 3, "feed": 3, "status": 3, "byte": 1}.get(cmd.name) or (
        8 + len(cmd.data) if cmd.name == "raster" else
        5 + len(cmd.data) if cmd.name == "qr" else
        2 + len(cmd.args))


ONLINE = bytes([0x12, 0x12, 0x12])  # DLE EOT 1, 2, 4: online, no offline cause, paper present
PAPER_OUT = bytes([0x1A, 0x32, 0x72])  # offline, stopped by paper end, paper end sensor


@dataclass
class FakeNetworkPrinter:
    """A raw-port printer on 127.0.0.1: keeps what it receives and answers DLE EOT like an Epson.

    `up=False` closes the listening socket (connections are refused); `drop_after`
    hangs up after that many bytes of a connection; `status` is its DLE EOT answer
    (None: a printer that never answers status queries). `stall` seconds: the next
    `stalls` connections take the job and then hold back their confirmation (the
    status answer after the job) that long, like a printer busy printing.
    """

    status: bytes | None = ONLINE
    drop_after: int | None = None
    stall: float = 0.0
    stalls: int = 0
    port: int = 0
    received: bytearray = field(default_factory=bytearray)
    connections: int = 0

    def __post_init__(self):
        self._lock = threading.Lock()
        self.per_connection: list[bytearray] = []
        self._server = None
        self._stopping = False
        self.up = True

    @property
    def up(self) -> bool:
        return self._server is not None

    @up.setter
    def up(self, value: bool) -> None:
        if value and self._server is None:
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", self.port))
            server.listen(8)
            self.port = server.getsockname()[1]
            self._server = server
            threading.Thread(target=self._accept, args=(server,), daemon=True).start()
        elif not value and self._server is not None:
            server, self._server = self._server, None
            try:
                server.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            server.close()

    @property
    def spec(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def jobs(self) -> list[bytes]:
        """Whole jobs received, connection by connection (a half-received picture ends with its connection)."""
        with self._lock:
            return [job for conn in self.per_connection for job in complete_jobs(bytes(conn))]

    def _accept(self, server):
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        mine = bytearray()  # this connection's bytes, parsed as a whole so picture data stays data
        with self._lock:
            self.per_connection.append(mine)
            stalled = self.stalls > 0
            self.stalls -= stalled
        answered = 0
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                if self.drop_after is not None and len(mine) + len(chunk) >= self.drop_after:
                    with self._lock:
                        self.received += chunk[:self.drop_after - len(mine)]
                        mine += chunk[:self.drop_after - len(mine)]
                    # Linger 0: closing sends a reset, like a printer switched off mid-job.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                with self._lock:
                    mine += chunk
                    self.received += chunk
                if self.status is None:
                    continue  # a printer that never answers status queries
                queries = [c for c in parse_escpos(bytes(mine)) if c.name == "status" and c.args]
                for number, cmd in enumerate(queries[answered:], start=answered):
                    index = {1: 0, 2: 1, 4: 2}.get(cmd.args[0])
                    if stalled and number == 3:  # the first query after the job: still printing
                        time.sleep(self.stall)
                    if index is not None:
                        try:
                            conn.sendall(self.status[index:index + 1])
                        except OSError:
                            return
                answered = len(queries)

    def close(self):
        self.up = False


def wait_until(predicate, timeout: float = 5.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# ----- a database with one office, one field, tickets ------------------------
def make_storage(tmp_path):
    from server.models import Base
    from server.storage import Storage

    storage = Storage(f"sqlite:///{tmp_path / 'motcua.db'}", synchronous="NORMAL")
    Base.metadata.create_all(storage.engine)
    return storage


def make_config(tmp_path, printer: str, public_url: str | None = "http://10.0.0.2:8000"):
    from server.config import Config

    return Config(database_url=f"sqlite:///{tmp_path / 'motcua.db'}", secret_key="test",
                  printer=printer, instance_path=tmp_path, public_url=public_url, testing=True)


def seed_office(storage) -> int:
    from server.models import Field, Office

    with storage.write() as s:
        office = Office(slug="dong-da", name="Trung tâm Phục vụ hành chính công phường Đống Đa",
                        unit="UBND phường Đống Đa", settings={})
        s.add(office)
        s.flush()
        field_row = Field(office_id=office.id, code="ho-tich", name="Hộ tịch", prefix="A", active=True,
                          position=0, hours=[])
        s.add(field_row)
        s.flush()
        return field_row.id


def _office_id(session) -> int:
    from sqlalchemy import select

    from server.models import Office

    return session.scalars(select(Office.id).order_by(Office.id)).first()


def add_ticket(storage, field_id: int, number: int, *, priority: str | None = None,
               device_id: int | None = None, status: str = "waiting",
               issued_at: dt.datetime | None = None) -> int:
    from server.models import Ticket

    issued_at = issued_at or dt.datetime(2025, 11, 25, 1, 0, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=number)
    with storage.write() as s:
        ticket = Ticket(office_id=_office_id(s), code=f"A{number:03d}", number=number, service_day=dt.date(2025, 11, 25),
                        issued_field_id=field_id, field_id=field_id, priority=priority,
                        priority_rank=0 if priority else 1, status=status, token=f"tok-{number}-{time.time_ns()}",
                        device_id=device_id, issued_at=issued_at, call_count=0)
        s.add(ticket)
        s.flush()
        return ticket.id


def add_kiosk(storage, settings: dict | None = None) -> int:
    from server.models import Device

    with storage.write() as s:
        device = Device(office_id=_office_id(s), kind="kiosk", name="Kiosk sảnh", created_at=dt.datetime.now(dt.timezone.utc),
                        settings=settings or {})
        s.add(device)
        s.flush()
        return device.id
