"""Where a live server's CPU goes, per ticket issued, by green thread and by a few named sections.

    .venv/bin/python bench/bench_green.py [--printer none,dummy,none+idle-loop] [--cycles 4] [--connections 10]

Under eventlet, py-spy cannot say this: it charges the hub's time to whichever green thread ran
last. Here each server runs under a tracer (`greenlet.settrace`) that charges the thread's CPU
time between two switches to the green thread that ran: the requests, the print spool, the print
worker's reply reader, the Socket.IO emit queue, the hub. A few sections that never switch are
timed on their own as well ("of which": the print job's row in the ticket's transaction, the
hand-over after the commit, the spool's `printed` record and first tries, the commits, the
garbage collections); they are parts of their green thread's figure, not added to it.

The servers (one per `--printer` setting, all started at once) are loaded in turn with wrk,
3 s each, `--cycles` times, the order reversed every other cycle, every printer's backlog printed
before each load: the figures are CPU microseconds of the server process per ticket issued under
load, summed over the cycles. The print worker's own CPU is its own process's (not counted).

`none+idle-loop` is `none` with a plain Python loop running beside it at `SCHED_IDLE` (as the print
worker runs) while it is loaded: what a busy second vCPU alone costs the server, with no printing.

The tracer costs CPU itself (a CPU-time clock read at every switch: a system call on a VM, ~1 µs),
so every figure is a little high; compare the settings of one run, not runs of different days.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Green threads named by a function on their stack (the first entry found on it names it).
GREEN_THREADS = ((("handle_one_request", "process_request"), "requests"), (("_print_locally",), "print spool"),
                 (("_read_replies",), "print worker's replies"), (("_emit_queue",), "Socket.IO emit queue"),
                 (("_send_to_agents",), "print agents' sender"), (("_loop",), "print retry loop"),
                 (("run",), "hub (and what no green thread above holds)"))
# (module, class, method, label): sections that never switch green threads, timed as they run.
SECTIONS = (("server.printing.service", "PrintService", "_write_first_job", "the print job's row (issue hook)"),
            ("server.printing.service", "PrintService", "after_issue", "handing the job to the spool"),
            ("server.printing.spool", "Spool", "_mark_all_printed", "the spool's `printed` record"),
            ("server.printing.spool", "Spool", "_first_tries", "the spool's first tries (paper)"),
            ("sqlalchemy.engine.default", "DefaultDialect", "do_commit", "commits"))

IDLE_LOOP = ("import os\nos.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))\n"
             "while True:\n    sum(range(1000))")


# ----- in the server's process ----------------------------------------------------------------
def trace_server(argv: list[str]) -> None:
    """Run `python -m MODULE ARGS` (as LiveServer asks) under the tracer; SIGUSR1 writes the
    figures so far (nanoseconds by name) to $GREEN_STATS."""
    import runpy

    import greenlet

    spent: collections.Counter = collections.Counter()
    running = ["(start)", time.thread_time_ns()]  # the green thread now running, since when

    def green_thread() -> str:
        try:
            frame = sys._getframe(2)  # the tracer runs on the stack of the green thread switched to
        except ValueError:
            return "(other)"
        names = set()
        while frame is not None:
            names.add(frame.f_code.co_name)
            frame = frame.f_back
        return next((label for functions, label in GREEN_THREADS if names.intersection(functions)), "(other)")

    def tracer(event, _args) -> None:
        if event in ("switch", "throw"):
            now = time.thread_time_ns()
            spent[running[0]] += now - running[1]
            running[0] = green_thread()
            running[1] = time.thread_time_ns()

    def timed(label: str, method):
        def section(*args, **kwargs):
            started = time.thread_time_ns()
            try:
                return method(*args, **kwargs)
            finally:
                spent[f"{running[0]}: {label}"] += time.thread_time_ns() - started
        return section

    patched: set[str] = set()

    def patch_loaded() -> None:
        for module, cls, method, label in SECTIONS:
            key = f"{module}.{cls}.{method}"
            owner = getattr(sys.modules.get(module), cls, None)
            if key not in patched and owner is not None and method in owner.__dict__:
                setattr(owner, method, timed(label, owner.__dict__[method]))
                patched.add(key)

    import builtins

    original_import = builtins.__import__

    def watching_import(*args, **kwargs):
        module = original_import(*args, **kwargs)
        if len(patched) < len(SECTIONS):
            patch_loaded()
        return module

    builtins.__import__ = watching_import

    def write(_signal, _frame) -> None:
        path = os.environ["GREEN_STATS"]
        with open(path + ".tmp", "w") as out:
            json.dump(dict(spent), out)
        os.replace(path + ".tmp", path)  # the driver reads a whole file or none

    import gc

    collecting = [0]

    def collection(phase: str, info: dict) -> None:
        if phase == "start":
            collecting[0] = time.thread_time_ns()
        else:
            spent[f"{running[0]}: garbage collection, generation {info['generation']}"] += (
                time.thread_time_ns() - collecting[0])

    gc.callbacks.append(collection)
    signal.signal(signal.SIGUSR1, write)
    greenlet.settrace(tracer)
    assert argv[0] == "-m", argv
    sys.argv = [argv[1]] + argv[2:]
    runpy.run_module(argv[1], run_name="__main__", alter_sys=True)


# ----- the driver -------------------------------------------------------------------------------
def main() -> None:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from concurrent.futures import ThreadPoolExecutor

    from bench_server import machine, printed_all, stop, wrk

    from tests.live import LiveServer

    parser = argparse.ArgumentParser()
    parser.add_argument("--printer", default="none,dummy")
    parser.add_argument("--cycles", type=int, default=4)
    parser.add_argument("--connections", type=int, default=10)
    args = parser.parse_args()
    printers = args.printer.split(",")

    work = Path(tempfile.mkdtemp(prefix="motcua-green-"))
    launcher = work / "python"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" --trace "$@"\n')
    launcher.chmod(0o755)

    def start(printer: str):
        home = work / printer
        home.mkdir()
        stats = home / "green.json"
        server = LiveServer(home, async_mode="eventlet", python=str(launcher),
                            env={"PRINTER": printer.split("+")[0], "GREEN_STATS": str(stats)})
        return server.start(), stats

    def read(server, stats: Path) -> collections.Counter:
        stats.unlink(missing_ok=True)
        os.kill(server.proc.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 5
        while not stats.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return collections.Counter(json.loads(stats.read_text()))

    with ThreadPoolExecutor(len(printers)) as pool:
        servers = dict(zip(printers, pool.map(start, printers)))
    spent = {p: collections.Counter() for p in printers}
    tickets = dict.fromkeys(printers, 0.0)
    try:
        for server, _ in servers.values():
            wrk(server.url, args.connections, 2)
        for cycle in range(args.cycles):
            for printer in printers if cycle % 2 == 0 else printers[::-1]:
                for server, _ in servers.values():
                    printed_all(server)
                server, stats = servers[printer]
                beside = subprocess.Popen([sys.executable, "-c", IDLE_LOOP]) if printer.endswith("+idle-loop") else None
                before = read(server, stats)
                result = wrk(server.url, args.connections, 3)
                after = read(server, stats)
                if beside is not None:
                    beside.kill()
                    beside.wait()
                after.subtract(before)
                spent[printer].update(after)
                tickets[printer] += result["rps"] * 3
    finally:
        for server, _ in servers.values():
            stop(server)
        shutil.rmtree(work, ignore_errors=True)

    print(f"# {machine()}; eventlet, SQLite; {args.connections} clients, {args.cycles} cycles of 3 s each")
    print("# CPU µs of the server process per ticket issued under load")
    for printer in printers:
        per = {name: ns / 1e3 / tickets[printer] for name, ns in spent[printer].items()}
        threads = {name: us for name, us in per.items() if ":" not in name}
        print(f"\n{printer}: {tickets[printer]:.0f} tickets, {sum(threads.values()):.0f} µs a ticket")
        for name, us in sorted(threads.items(), key=lambda item: -item[1]):
            if us >= 0.5:
                print(f"  {us:8.1f}  {name}")
                for part, part_us in sorted(((n, u) for n, u in per.items() if n.startswith(name + ": ")),
                                            key=lambda item: -item[1]):
                    print(f"  {'':8}  of which {part_us:6.1f}  {part.split(': ', 1)[1]}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--trace"]:
        trace_server(sys.argv[2:])
    else:
        main()
