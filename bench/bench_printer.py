"""Drawing and encoding one ticket (target <= 50 ms), both paper widths, both QR modes.

    .venv/bin/python bench/bench_printer.py [runs]

Prints the machine, then p50/p99/max per case. The first call (font loading) is
reported apart: it happens once per process.
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from printer.encode import encode_ticket  # noqa: E402
from printer.render import PaperWidth, render_ticket  # noqa: E402
from printer.ticket import sample_ticket  # noqa: E402


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main(runs: int = 200) -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
    ticket = sample_ticket()
    started = time.perf_counter()
    encode_ticket(render_ticket(ticket, PaperWidth.MM80), qr_native=False)
    print(f"first ticket in a fresh process (loads fonts): {(time.perf_counter() - started) * 1000:.1f} ms")
    print(f"{'case':<26}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'bytes':>9}")
    for width in (PaperWidth.MM58, PaperWidth.MM80):
        for native in (False, True):
            times, size = [], 0
            for i in range(runs):
                # a new code each run: nothing about the ticket itself is cached
                t = sample_ticket().__class__(**{**sample_ticket().__dict__, "code": f"A{i % 1000:03d}"})
                start = time.perf_counter()
                data = encode_ticket(render_ticket(t, width), qr_native=native)
                times.append((time.perf_counter() - start) * 1000)
                size = len(data)
            name = f"{int(width)} dots, QR {'native' if native else 'image'}"
            print(f"{name:<26}{statistics.median(times):>9.1f}{percentile(times, 99):>9.1f}"
                  f"{max(times):>9.1f}{size:>9}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
