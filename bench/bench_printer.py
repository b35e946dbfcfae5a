"""Drawing and encoding one ticket (target <= 5 ms p50, <= 10 ms p99), both paper widths, both QR modes.

    .venv/bin/python bench/bench_printer.py [runs]

Each run is a new ticket: its own code, people ahead, minute and QR token, as in a
real morning (the office header, the field and the footer repeat, and are cached).
Three ways, in the same run, so the machine's noise hits them alike:
  now      the cached drawing, the fast QR, the ESC/POS bytes built directly
  cold     the same, with every cache emptied before each ticket (the first ticket
           after a start or an admin's edit)
  before   the code as it was (tests/printer_reference.py: Pillow for every line,
           the qrcode package, python-escpos)
"""
from __future__ import annotations

import datetime as dt
import os
import platform
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from printer import render  # noqa: E402
from printer.encode import encode_ticket  # noqa: E402
from printer.render import PaperWidth, render_ticket  # noqa: E402
from printer.ticket import TicketPrint, sample_ticket  # noqa: E402
from tests import printer_reference as reference  # noqa: E402


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def tickets(runs: int) -> list[TicketPrint]:
    base = sample_ticket()
    start = dt.datetime(2025, 11, 25, 0, 30, tzinfo=dt.timezone.utc)
    return [TicketPrint(**{**base.__dict__, "code": f"A{i % 1000:03d}", "people_ahead": i % 40,
                           "issued_at": start + dt.timedelta(seconds=20 * i),
                           "priority_label": base.priority_label if i % 10 == 0 else None,
                           "qr_url": f"http://192.168.1.10:8000/t/{secrets.token_urlsafe(18)}"})
            for i in range(runs)]


def measure(way: str, width: int, native: bool, batch: list[TicketPrint]) -> tuple[list[float], int]:
    times, size = [], 0
    for ticket in batch:
        if way == "cold":
            render.forget()
        start = time.perf_counter()
        if way == "before":
            data = reference.encode_ticket(reference.render_ticket(ticket, width), qr_native=native)
        else:
            data = encode_ticket(render_ticket(ticket, width), qr_native=native)
        times.append((time.perf_counter() - start) * 1000)
        size = len(data)
    return times, size


def main(runs: int = 200) -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    started = time.perf_counter()
    encode_ticket(render_ticket(sample_ticket(), PaperWidth.MM80), qr_native=False)
    print(f"first ticket in a fresh process (loads fonts): {(time.perf_counter() - started) * 1000:.1f} ms")
    reference.encode_ticket(reference.render_ticket(sample_ticket(), PaperWidth.MM80), qr_native=False)  # escpos
    print(f"{'case':<26}{'way':<8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'bytes':>9}")
    for width in (PaperWidth.MM58, PaperWidth.MM80):
        for native in (False, True):
            batch = tickets(runs)
            render.forget()
            for way in ("now", "cold", "before"):
                times, size = measure(way, width, native, batch)
                name = f"{int(width)} dots, QR {'native' if native else 'image'}"
                print(f"{name:<26}{way:<8}{statistics.median(times):>9.1f}{percentile(times, 99):>9.1f}"
                      f"{max(times):>9.1f}{size:>9}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
