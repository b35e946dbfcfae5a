"""Backends against real sockets, files and a pseudo-terminal on this machine."""
import os
import socket
import threading
import time

import pytest

from printer.backends import PrintError, STATUS_QUERY, open_backend, parse_printer_spec
from printer.render import PaperWidth
from printer.ticket import sample_ticket
from tests.printer_fixtures import PAPER_OUT, FakeNetworkPrinter, parse_escpos, same_pixels, wait_until


@pytest.fixture
def printer():
    fake = FakeNetworkPrinter()
    yield fake
    fake.close()


def test_printer_specs():
    assert parse_printer_spec(None, "/tmp/p").kind == "preview"
    tcp = parse_printer_spec("tcp://10.0.0.9:9100?width=58&qr=native&timeout=3")
    assert (tcp.kind, tcp.target, tcp.width, tcp.qr_native, tcp.timeout) == ("tcp", "10.0.0.9:9100", 384, True, 3.0)
    assert parse_printer_spec("usb:04b8:0202").target == "04b8:0202"
    assert parse_printer_spec("serial:/dev/ttyUSB0?baud=19200").options["baud"] == "19200"
    assert parse_printer_spec("file:/dev/usb/lp0").width == PaperWidth.MM80
    for bad in ("lpt1", "tcp://", "tcp://h?width=70", "file:", "tcp://h?qr=maybe"):
        with pytest.raises(ValueError):
            parse_printer_spec(bad)


def test_network_printer_receives_exactly_the_encoded_ticket(printer):
    backend = open_backend(printer.spec + "?width=58")
    picture, data = backend.render(sample_ticket())
    backend.print_ticket(sample_ticket(), "job-1")
    wait_until(lambda: len(printer.received) >= len(STATUS_QUERY) * 2 + len(data))
    # status first (is it ready?), the job, status again (did it all arrive?)
    assert bytes(printer.received) == STATUS_QUERY + data + STATUS_QUERY
    assert printer.jobs() == [data]


def test_a_printer_that_never_answers_status_still_gets_the_job(printer):
    printer.status = None
    backend = open_backend(printer.spec + "?qr=native")
    _, data = backend.render(sample_ticket())
    backend.print_ticket(sample_ticket(), "job-1", connect_timeout=0.3)
    assert wait_until(lambda: printer.jobs() == [data])


def test_status_off_sends_only_the_job(printer):
    backend = open_backend(printer.spec + "?status=off")
    _, data = backend.render(sample_ticket())
    backend.print_ticket(sample_ticket(), "job-1")
    assert wait_until(lambda: bytes(printer.received) == data)


def test_refused_connection_is_retryable_and_quick(printer):
    printer.up = False
    backend = open_backend(printer.spec)
    started = time.monotonic()
    with pytest.raises(PrintError) as err:
        backend.print_ticket(sample_ticket(), "job-1", connect_timeout=0.3)
    assert err.value.retryable
    assert time.monotonic() - started < 1.0
    assert backend.status(connect_timeout=0.3).reachable is False


def test_unroutable_printer_times_out_within_the_connect_timeout():
    # A listening socket whose backlog is full never completes the handshake.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    backend = open_backend(f"tcp://127.0.0.1:{port}?timeout=0.3")
    started = time.monotonic()
    with pytest.raises(PrintError) as err:
        backend.print_ticket(sample_ticket(), "job-1", connect_timeout=0.3)
    assert time.monotonic() - started < 2.0
    assert err.value.retryable  # nothing printable was sent
    for s in fillers + [server]:
        s.close()


def test_paper_out_is_reported_before_anything_is_sent(printer):
    printer.status = PAPER_OUT
    backend = open_backend(printer.spec)
    with pytest.raises(PrintError) as err:
        backend.print_ticket(sample_ticket(), "job-1")
    assert err.value.retryable and err.value.status.paper_out
    assert "hết giấy" in err.value.message
    time.sleep(0.1)
    assert bytes(printer.received) == STATUS_QUERY  # only the question, no ticket
    status = backend.status()
    assert status.paper_out and not status.ready and status.problem_vi() == "Máy in hết giấy"


def test_status_of_a_ready_printer(printer):
    status = open_backend(printer.spec).status()
    assert status.answered and status.online and status.ready and status.problem_vi() is None


def test_a_printer_that_drops_the_connection_mid_job_is_not_retried_blindly(printer):
    printer.drop_after = len(STATUS_QUERY) + 5000
    backend = open_backend(printer.spec)
    with pytest.raises(PrintError) as err:
        backend.print_ticket(sample_ticket(), "job-1")
    assert not err.value.retryable  # part of the ticket may be on paper
    assert printer.jobs() == []


def test_a_printer_that_hangs_up_before_the_job_is_retryable(printer):
    printer.drop_after = 1  # takes the first byte of the status question, then hangs up
    backend = open_backend(printer.spec)
    with pytest.raises(PrintError) as err:
        backend.print_ticket(sample_ticket(), "job-1")
    assert err.value.retryable


def test_file_backend_appends_each_job(tmp_path):
    path = tmp_path / "lp0"
    backend = open_backend(f"file:{path}")
    _, data = backend.render(sample_ticket())
    backend.print_ticket(sample_ticket(), "a")
    backend.print_ticket(sample_ticket(), "b")
    assert path.read_bytes() == data + data


def test_file_backend_on_a_missing_folder_is_retryable(tmp_path):
    with pytest.raises(PrintError) as err:
        open_backend(f"file:{tmp_path}/no/such/lp0").print_ticket(sample_ticket(), "a")
    assert err.value.retryable


def test_preview_backend_writes_the_picture(tmp_path):
    from PIL import Image

    backend = open_backend("preview?width=58", preview_folder=tmp_path)
    picture, _ = backend.render(sample_ticket())
    backend.print_ticket(sample_ticket(), "job-7")
    assert same_pixels(Image.open(tmp_path / "job-7.png"), picture.full())


@pytest.mark.parametrize("width", ["58", "80"])
def test_the_preview_png_is_the_printed_ticket_dot_for_dot_with_and_without_qr_and_as_a_reprint(tmp_path, width):
    """The preview writes its PNG from the renderer's packed dots (not through Pillow's writer):
    a 1-bit picture with exactly the dots `full()` has, whatever the ticket carries."""
    import dataclasses
    import io

    from PIL import Image

    backend = open_backend(f"preview?width={width}", preview_folder=tmp_path)
    tickets = {"qr": sample_ticket(), "no-qr": dataclasses.replace(sample_ticket(), qr_url=None),
               "reprint": sample_ticket(reprint=True),
               "long-field": dataclasses.replace(sample_ticket(), field_name="Đất đai, xây dựng, môi trường " * 3)}
    for name, ticket in tickets.items():
        picture, _ = backend.render(ticket)
        backend.print_ticket(ticket, name)
        written = Image.open(tmp_path / f"{name}.png")
        assert written.format == "PNG" and written.mode == "1", name
        assert written.size == picture.full().size and written.tobytes() == picture.full().tobytes(), name
        assert written.size[0] == (384 if width == "58" else 576)
        # a picture without packed rows (drawn elsewhere) is written from its own bytes: the same dots
        from_parts = Image.open(io.BytesIO(dataclasses.replace(picture, dots=None).png()))
        assert from_parts.tobytes() == written.tobytes(), name


def _pngs(folder):
    return sorted(p.name for p in folder.iterdir() if p.suffix == ".png")


def test_the_preview_folder_keeps_the_newest_pictures_and_lets_the_oldest_go(tmp_path):
    """An office left on the default printer does not fill its disk: with `keep=3`, the fifth
    ticket's picture is there and the first two are gone; each kept picture is its own ticket."""
    import dataclasses

    from PIL import Image

    backend = open_backend("preview?width=58&keep=3", preview_folder=tmp_path / "prints")
    tickets = {f"job-{n}": dataclasses.replace(sample_ticket(), code=f"A00{n}") for n in range(1, 6)}
    for job_id, ticket in tickets.items():
        backend.print_ticket(ticket, job_id)
    assert _pngs(tmp_path / "prints") == ["job-3.png", "job-4.png", "job-5.png"]
    for job_id in ("job-3", "job-5"):
        picture, _ = backend.render(tickets[job_id])
        assert same_pixels(Image.open(tmp_path / "prints" / f"{job_id}.png"), picture.full()), job_id
    backend.print_ticket(tickets["job-3"], "job-3")  # printed again: now the newest, so job-4 goes next
    backend.print_ticket(tickets["job-1"], "job-6")
    assert _pngs(tmp_path / "prints") == ["job-3.png", "job-5.png", "job-6.png"]


def test_a_preview_folder_that_grew_before_shrinks_oldest_first_a_few_pictures_a_ticket(tmp_path):
    """An upgraded office's folder holds every picture since it started: the next tickets remove
    the oldest few at a time (none of them waits for thousands of removals), and what is not a
    ticket's picture stays."""
    folder = tmp_path / "prints"
    folder.mkdir()
    for n in range(60):  # old-00 is the oldest picture, old-59 the newest
        (folder / f"old-{n:02d}.png").write_bytes(b"old picture")
        os.utime(folder / f"old-{n:02d}.png", ns=(1_700_000_000_000_000_000 + n * 10**9,) * 2)
    (folder / "ghi-chu.txt").write_text("sổ tay của quản trị")
    backend = open_backend("preview?keep=5", preview_folder=folder)
    backend.print_ticket(sample_ticket(), "new-1")  # 61 pictures: the 32 oldest go
    assert _pngs(folder) == ["new-1.png"] + [f"old-{n:02d}.png" for n in range(32, 60)]
    for n in range(2, 4):
        backend.print_ticket(sample_ticket(), f"new-{n}")
    assert _pngs(folder) == ["new-1.png", "new-2.png", "new-3.png", "old-58.png", "old-59.png"]
    assert (folder / "ghi-chu.txt").read_text() == "sổ tay của quản trị"


def test_keep_0_keeps_every_preview_picture_and_a_removed_folder_is_made_again(tmp_path):
    import shutil

    folder = tmp_path / "prints"
    backend = open_backend("preview?keep=0", preview_folder=folder)
    for n in range(4):
        backend.print_ticket(sample_ticket(), f"job-{n}")
    assert _pngs(folder) == [f"job-{n}.png" for n in range(4)]
    kept = open_backend("preview", preview_folder=folder)
    assert (backend.keep, kept.keep) == (0, 1000)  # the default keeps a busy office's day or two
    kept.print_ticket(sample_ticket(), "job-4")
    shutil.rmtree(folder)  # someone tidied up while the server ran
    kept.print_ticket(sample_ticket(), "job-5")
    assert _pngs(folder) == ["job-5.png"]
    for bad in ("preview?keep=-1", "preview?keep=nhieu", "preview?keep=2.5"):
        with pytest.raises(ValueError, match="keep"):
            parse_printer_spec(bad, folder)


def test_dummy_backend_keeps_the_bytes():
    backend = open_backend("dummy")
    backend.print_ticket(sample_ticket(), "job-1")
    assert backend.jobs[0][0] == "job-1" and backend.jobs[0][1].startswith(b"\x1b@")


def test_serial_printer_on_a_pseudo_terminal():
    master, slave = os.openpty()
    got = bytearray()

    def drain():  # the "printer" end of the line, read while the job is written
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            got.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        backend = open_backend(f"serial:{os.ttyname(slave)}?status=off&baud=115200")
        _, data = backend.render(sample_ticket())
        backend.print_ticket(sample_ticket(), "job-1")
        assert wait_until(lambda: len(got) >= len(data))
        assert bytes(got) == data
        assert parse_escpos(bytes(got))[-1].name == "cut"
    finally:
        os.close(slave)
        os.close(master)


def test_a_missing_usb_printer_is_a_clear_retryable_error():
    backend = open_backend("usb:04b8:0e15")
    with pytest.raises(PrintError) as err:
        backend.print_ticket(sample_ticket(), "job-1")
    assert err.value.retryable and "USB" in err.value.message
    assert backend.status().reachable is False
