"""What handing tickets to the print worker costs the server's own process, per ticket.

    .venv/bin/python bench/bench_worker.py [--tickets 3000] [--batch 32] [--printer dummy,dummy-back,preview]

Under eventlet, as the server runs: the spool's requests go to `python -m printer.worker` in
batches of `--batch` (as the spool claims them), the replies are read back on a green thread.
The figure is this process's CPU (user + system) over the tickets: the pickling, the pipe and
the replies, not the drawing (that is the worker's, measured by bench_printer.py). `dummy`
keeps each ticket's ESC/POS bytes (35 KB at 80 mm) in the worker for the spool that asked, as
the server's spool asks; `dummy-back` sends them back with every answer (what the spool did
before 2026-12-06, and what a request without a keeper still gets); `preview` writes them to a
file in the worker and answers `ok` alone.
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from printer.ticket import sample_ticket  # noqa: E402
from printer.worker import ProcessWorker  # noqa: E402


def run(setting: str, tickets: int, batch: int, preview: str) -> dict:
    worker = ProcessWorker()
    worker.start()
    base = sample_ticket()
    printer = "dummy" if setting == "dummy-back" else setting
    keep = {"keep": "bench"} if setting == "dummy" else {}  # as the spool names itself
    warm = worker.submit({"op": "print", "printer": printer, "preview": preview, "job_id": "warm",
                          "ticket": base, "connect_timeout": None, **keep})
    assert warm.wait(30)["ok"]
    requests = [{"op": "print", "printer": printer, "preview": preview, "job_id": f"job-{n}", "connect_timeout": None,
                 **keep,
                 "ticket": dataclasses.replace(base, code=f"A{n % 1000:03d}",
                                               qr_url=f"{base.qr_url[:-10]}{secrets.token_hex(5)}")}
                for n in range(tickets)]
    cpu, wall = time.process_time(), time.perf_counter()
    pendings = []
    for start in range(0, tickets, batch):
        pendings += worker.submit_all(requests[start:start + batch])
        eventlet.sleep(0)
    replies = [p.wait(60) for p in pendings]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    worker.close()
    assert all(r and r.get("ok") for r in replies), [r for r in replies if not (r and r.get("ok"))][:1]
    return {"server_cpu_us_per_ticket": round(cpu / tickets * 1e6, 1), "tickets_per_s": round(tickets / wall)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--printer", default="dummy,dummy-back,preview")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    out = {"machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
           "tickets": args.tickets, "batch": args.batch}
    with tempfile.TemporaryDirectory() as folder:
        runs: dict[str, list[dict]] = {p: [] for p in args.printer.split(",")}
        for _ in range(args.repeat):  # taking turns, so the machine's drift hits each alike
            for printer in runs:
                runs[printer].append(run(printer, args.tickets, args.batch, folder))
    for printer, results in runs.items():
        cpu = [r["server_cpu_us_per_ticket"] for r in results]
        out[printer] = {"server_cpu_us_per_ticket": f"{statistics.median(cpu)} ({min(cpu)}–{max(cpu)})",
                        "tickets_per_s": [r["tickets_per_s"] for r in results]}
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
