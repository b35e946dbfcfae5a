"""Benchmarks of a live motcua server: ticket issue throughput and latency, call -> boards latency,
memory with connected boards, start time, for every PRINTER setting in one run.

    .venv/bin/python bench/bench_server.py --mode eventlet --printer none,dummy,preview --repeat 3

Load comes from this machine too (the target machine shares its 2 cores with
the load generator): wrk for HTTP load, python-socketio's asyncio client for boards.
The printer settings take turns run after run (none, dummy, preview, none, ...), each
on a fresh server from an empty hall, so a noisy neighbour hits them alike; every
figure is reported as the range over the runs. With a printer, the print jobs of the
tickets issued under load are counted at the end (printed while the load ran, then
how long the rest took). `--profile 8` samples the server (and its print worker) with
py-spy under the 50-client load with the first printer setting, and prints where
the time goes.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live import LiveServer  # noqa: E402

# Tickets go round the demo office's fields that have no issuing hours, as kiosks' do.
WRK_SCRIPT = """
local fields = {"ho-tich", "chung-thuc", "bao-tro-xa-hoi", "nguoi-co-cong", "kinh-doanh", "xay-dung", "tra-ket-qua"}
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/api/tickets", {["Content-Type"] = "application/json"},
                    '{"field": "' .. fields[(i % #fields) + 1] .. '"}')
end
"""


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def percentile(values, q):
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def to_ms(text: str) -> float:
    """wrk's "1.23ms", "850.00us", "1.02s" -> milliseconds."""
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return round(float(text[:-len(unit)]) * factor, 2)
    return float("nan")


def span(values: list[float]) -> str:
    values = sorted(values)
    return f"{values[0]:g}" if values[0] == values[-1] else f"{values[0]:g}–{values[-1]:g}"


def spread(values: list[float]) -> str:
    """'median (lowest–highest)': one run of a pair can land on a slow moment of the host."""
    return f"{statistics.median(values):.2f} ({span(values)})"


def median_interval(values: list[float], level: float = 0.9, draws: int = 4000) -> str:
    """The `level` bootstrap interval of the median: where the median of another run of as many
    pairs would likely fall. Seeded, so the same runs always give the same interval."""
    import random

    rng = random.Random(20261206)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(draws))
    tail = (1 - level) / 2
    return f"{medians[int(tail * draws)]:.2f}–{medians[int((1 - tail) * draws) - 1]:.2f}"


def against_none(rows: list[dict], name: str) -> dict:
    """Runs of `name` each next to a run of `none` (side by side, or loaded in turn): the ratios
    (median, range, the 90 % interval of the median) and the figures they come from."""
    rps = [round(r[name]["rps"] / r["none"]["rps"], 2) for r in rows]
    p99 = [round(r["none"]["p99_ms"] / r[name]["p99_ms"], 2) for r in rows]
    return {"rps_ratio": spread(rps), "rps_ratio_median_90pct": median_interval(rps),
            "p99_none_over_printer": spread(p99), "p99_median_90pct": median_interval(p99),
            "rps": span([round(r[name]["rps"]) for r in rows]),
            "rps_none": span([round(r["none"]["rps"]) for r in rows]),
            "p99_ms": span([r[name]["p99_ms"] for r in rows]),
            "p99_ms_none": span([r["none"]["p99_ms"] for r in rows]), "runs": rows}


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (its own threads, not its children)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def print_jobs(server: LiveServer) -> dict[str, int]:
    """Print jobs by status, read straight from the server's SQLite file (WAL: readers never block it)."""
    db = server.home / "motcua-data" / "motcua.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM print_job GROUP BY status").fetchall())


def printed_all(server: LiveServer, limit: float = 60) -> None:
    """Wait (`limit` seconds at most) until the server has no print job waiting or in flight."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        jobs = print_jobs(server)
        if not jobs.get("pending") and not jobs.get("printing"):
            return
        time.sleep(0.2)


# What a paired kiosk sends with every tap (kiosk/static/kiosk.js): its device token and a new
# Idempotency-Key (unique across wrk's threads and runs).
KIOSK_WRK_SCRIPT = """
local fields = {"ho-tich", "chung-thuc", "bao-tro-xa-hoi", "nguoi-co-cong", "kinh-doanh", "xay-dung", "tra-ket-qua"}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/api/tickets", {["Content-Type"] = "application/json", ["X-Device-Token"] = "%(token)s",
                    ["Idempotency-Key"] = "%(run)s-" .. tostring(tid) .. "-" .. i},
                    '{"field": "' .. fields[(i %% #fields) + 1] .. '"}')
end
"""


def pair_kiosk(server: LiveServer) -> str:
    """A kiosk paired with the server, as an office sets one up; its device token."""
    r = requests.post(server.url + "/api/devices/pair", json={"code": server.pairing_code("kiosk")}, timeout=10)
    r.raise_for_status()
    return r.json()["token"]


def wrk(url: str, connections: int, seconds: int, path: str = "/api/tickets", kiosk: str | None = None) -> dict:
    """`kiosk`: a paired kiosk's device token; each request then carries it and a new Idempotency-Key."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(KIOSK_WRK_SCRIPT % {"token": kiosk, "run": os.urandom(6).hex()} if kiosk else WRK_SCRIPT)
    out = subprocess.run(["wrk", "-t", "2" if connections > 1 else "1", "-c", str(connections), "-d", f"{seconds}s",
                          "--latency"] + (["-s", f.name] if path == "/api/tickets" else []) + [url + path],
                         capture_output=True, text=True).stdout
    result = {"raw": out}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(parts[1])
        elif len(parts) == 2 and parts[0] in ("50%", "90%", "99%"):
            result[parts[0]] = parts[1]
        elif "Non-2xx" in line:
            result["non_2xx"] = int(parts[-1])
    return result


class RawBoard:
    """A board as the Socket.IO protocol has it on the wire (Engine.IO 4 over one websocket), with
    nothing on top: 200 python-socketio clients in one load generator spend tens of microseconds
    each decoding and dispatching every message, so the last of them hears a call milliseconds
    after the first even if the server sent all 200 at once. This one notes the time and reads
    the ticket's code only."""

    def __init__(self, session, url: str, on_call):
        self.session = session
        self.url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.on_call = on_call
        self.ws = self.task = None
        self.joined = asyncio.Event()

    async def connect(self):
        # compress=15: offer permessage-deflate, as every browser does (the server declines it;
        # python-socketio's boards never offer it, so they cannot show what accepting it costs).
        self.ws = await self.session.ws_connect(self.url, autoping=False, compress=15)
        opened = await self.ws.receive_str()  # 0{"sid": ..., "pingInterval": ...}
        assert opened.startswith("0"), opened
        self.task = asyncio.get_running_loop().create_task(self._listen())
        await self.ws.send_str("40")  # join the default namespace, as a board does
        await asyncio.wait_for(self.joined.wait(), 30)

    async def _listen(self):
        async for message in self.ws:
            text = message.data
            if text == "2":  # the server's ping
                await self.ws.send_str("3")
            elif text.startswith('42["ticket_called"'):
                at = asyncio.get_running_loop().time()
                start = text.index('"code":') + 7
                start = text.index('"', start) + 1
                self.on_call(text[start:text.index('"', start)], at)
            elif text.startswith("40"):
                self.joined.set()

    async def disconnect(self):
        await self.ws.close()
        if self.task:
            await asyncio.gather(self.task, return_exceptions=True)


async def call_latency(server: LiveServer, clients: int, calls: int, print_load: float = 0,
                       board_client: str = "socketio") -> dict:
    """`print_load`: tickets a second issued (and printed) from another thread while the calls are timed.
    `board_client`: socketio (python-socketio's AsyncClient) or raw (RawBoard)."""
    import socketio
    import threading

    loop = asyncio.get_running_loop()
    boards, received = [], {}
    http = None
    if board_client == "raw":
        import aiohttp

        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))  # one connection per board

    async def make_board(i):
        if board_client == "raw":
            board = RawBoard(http, server.url, lambda code, at: received.setdefault(code, []).append(at))
            await board.connect()
            boards.append(board)
            return
        sio = socketio.AsyncClient(reconnection=False)

        @sio.on("ticket_called")
        async def on_call(data):
            received.setdefault(data["ticket"]["code"], []).append(loop.time())

        await sio.connect(server.url, transports=["websocket"], wait_timeout=30)
        boards.append(sio)

    for start in range(0, clients, 50):
        await asyncio.gather(*(make_board(i) for i in range(start, min(clients, start + 50))))
    await asyncio.sleep(1)
    memory = rss_mb(server.proc.pid)
    worker_memory = [round(rss_mb(pid), 1) for pid in children(server.proc.pid)]
    clerk = server.clerk_headers(f"bench{clients}{'p' if print_load else ''}{board_client}")
    for _ in range(calls):
        requests.post(server.url + "/api/tickets", json={"field": "ho-tich"}, timeout=10)
    # Their print jobs are done first: a hall's tickets are printed as they come, long before
    # they are called; this measures the call, not a backlog of a hundred prints at once.
    if server.env.get("PRINTER", "none") != "none":
        deadline = loop.time() + 120
        while loop.time() < deadline and any(print_jobs(server).get(k) for k in ("pending", "printing")):
            await asyncio.sleep(0.2)
    issuing = threading.Event()
    issued_meanwhile = []

    def issue_steadily():
        kiosk = requests.Session()
        while issuing.is_set():
            kiosk.post(server.url + "/api/tickets", json={"field": "chung-thuc"}, timeout=10)
            issued_meanwhile.append(1)
            time.sleep(1 / print_load)

    if print_load:
        issuing.set()
        threading.Thread(target=issue_steadily, daemon=True).start()
    latencies, firsts, responses = [], [], []
    session = requests.Session()
    gc.freeze()  # the 200 boards live in this process: its collections would count as the server's latency
    gc.disable()
    for _ in range(calls):
        t0 = loop.time()
        r = await loop.run_in_executor(None, lambda: session.post(
            server.url + "/api/counters/1/call-next", headers=clerk, timeout=10))
        responses.append((loop.time() - t0) * 1000)
        code = r.json()["code"]
        deadline = t0 + 10
        while len(received.get(code, [])) < clients and loop.time() < deadline:
            await asyncio.sleep(0.0005)
        stamps = received.get(code, [])
        if len(stamps) < clients:
            raise RuntimeError(f"only {len(stamps)}/{clients} boards got {code}")
        latencies.append((max(stamps) - t0) * 1000)
        firsts.append((min(stamps) - t0) * 1000)
        await asyncio.sleep(0.02)
    gc.enable()
    issuing.clear()
    await asyncio.gather(*(b.disconnect() for b in boards))
    if http is not None:
        await http.close()
    return {"clients": clients, "board_client": board_client, "calls": calls, "tickets_issued_meanwhile": len(issued_meanwhile), "p50_ms": round(percentile(latencies, 0.5), 1),
            "p99_ms": round(percentile(latencies, 0.99), 1), "max_ms": round(max(latencies), 1),
            "first_board_p50_ms": round(percentile(firsts, 0.5), 1),
            "http_response_p50_ms": round(percentile(responses, 0.5), 1),
            "rss_mb": round(memory, 1), "print_worker_rss_mb": worker_memory}


def start_time(mode: str, runs: int = 5) -> dict:
    """Spawn to the first 200 from /api/health: on a new folder (database created, seeded, first admin)
    and again on the same folder (the everyday restart)."""
    first, again = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as home:
            server = LiveServer(Path(home), async_mode=mode, env={"PRINTER": "preview"})
            for bucket in (first, again):
                t0 = time.perf_counter()
                server.start()
                bucket.append(time.perf_counter() - t0)
                stop(server)
    return {"first_median_s": round(statistics.median(first), 2), "first_max_s": round(max(first), 2),
            "restart_median_s": round(statistics.median(again), 2), "restart_max_s": round(max(again), 2)}


def stop(server: LiveServer) -> None:
    """Stop the server and wait for its print worker to finish the job in hand and leave."""
    workers = children(server.proc.pid) if server.proc else []
    server.stop()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in workers):
        time.sleep(0.05)


def issue_run(args, printer: str, connections: int) -> dict:
    """One fresh server, one wrk run of ticket issue; with a printer, what the spool made of it."""
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as home:
        env = {"SQLITE_SYNCHRONOUS": args.sync, "PRINTER": printer}
        server = LiveServer(Path(home), async_mode=args.mode, env=env).start()
        try:
            kiosk = pair_kiosk(server) if args.kiosk else None
            wrk(server.url, connections, 2, kiosk=kiosk)  # warm up
            before = print_jobs(server) if printer != "none" else {}
            workers = children(server.proc.pid)
            cpu_before = cpu_s(server.proc.pid), sum(cpu_s(pid) for pid in workers)
            r = wrk(server.url, connections, args.seconds, kiosk=kiosk)
            cpu_after = cpu_s(server.proc.pid), sum(cpu_s(pid) for pid in workers)
            r.pop("raw")
            tickets = (r.get("rps") or 0) * args.seconds
            result = {"rps": r.get("rps"), "p50_ms": to_ms(r.get("50%", "nan")), "p90_ms": to_ms(r.get("90%", "nan")),
                      "p99_ms": to_ms(r.get("99%", "nan")), "non_2xx": r.get("non_2xx", 0),
                      # CPU per ticket: far steadier than tickets/s on a machine others are using
                      "server_cpu_ms_per_ticket": round(1000 * (cpu_after[0] - cpu_before[0]) / tickets, 3)
                      if tickets else None,
                      "worker_cpu_s": round(cpu_after[1] - cpu_before[1], 2)}
            if printer != "none":
                after = print_jobs(server)
                issued = sum(after.values()) - sum(before.values())
                printed = after.get("printed", 0) - before.get("printed", 0)
                result["print"] = {"issued": issued, "printed_under_load": printed,
                                   "failed": after.get("failed", 0)}
                if connections == 50 and args.drain:
                    started = time.perf_counter()
                    printed_all(server, args.drain)
                    took = time.perf_counter() - started
                    left = sum(v for k, v in print_jobs(server).items() if k in ("pending", "printing"))
                    done = issued - printed - left
                    result["print"].update(drain_s=round(took, 1), left_after_drain=left,
                                           drain_per_s=round(done / took, 1) if took else None)
                    # What a ticket costs the server once its print is done too (whether the spool
                    # printed it while the load ran or after): the work a printer adds, whenever it
                    # is done. `none`'s server_cpu_ms_per_ticket is the figure to hold it against.
                    if not left and issued:
                        result["server_cpu_ms_per_ticket_printed"] = round(
                            1000 * (cpu_s(server.proc.pid) - cpu_before[0]) / issued, 3)
            return result
        finally:
            stop(server)


def serve(args, printer: str, home: str) -> LiveServer:
    """A server of the bench's settings with this printer, started in `home`."""
    return LiveServer(Path(home), async_mode=args.mode, env={"SQLITE_SYNCHRONOUS": args.sync, "PRINTER": printer},
                      python=args.server_python).start()


def paired_run(args, printer: str, connections: int, swap: bool = False) -> dict:
    """`none` and `printer` served side by side and loaded at the same moment: whatever else the
    machine does hits both alike, so their ratio holds where absolute figures swing 2x. `swap`:
    the printer's server is started and loaded first (the control, `none` beside `none`, came out
    at 1.02-1.06 for the second one: the order is taken in turns, so neither side keeps that)."""
    from concurrent.futures import ThreadPoolExecutor

    other = printer if printer != "none" else "none beside"  # the control: `none` beside `none`
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as a, \
            tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as b:
        order = (("none", "none", a), (other, printer, b))
        servers = {name: serve(args, setting, home) for name, setting, home in (order[::-1] if swap else order)}
        try:
            kiosks = {srv.url: pair_kiosk(srv) if args.kiosk else None for srv in servers.values()}
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda srv: wrk(srv.url, connections, 2, kiosk=kiosks[srv.url]), servers.values()))
                runs = dict(zip(servers, pool.map(lambda srv: wrk(srv.url, connections, args.seconds,
                                                                  kiosk=kiosks[srv.url]), servers.values())))
            return {name: {"rps": r.get("rps"), "p50_ms": to_ms(r.get("50%", "nan")),
                           "p99_ms": to_ms(r.get("99%", "nan"))} for name, r in runs.items()}
        finally:
            for server in servers.values():
                stop(server)


def alternate_run(args, printer: str, connections: int) -> list[dict]:
    """`none` and `printer` both served, loaded in turn for a few seconds each, `--alternate` times:
    each has the whole machine while it is loaded (the print worker draws on the core the load
    leaves, as on an office's PC), and the host's drift falls on both alike, as side by side. The
    printer's backlog is printed before either is loaded again, so neither pays for the other."""
    from concurrent.futures import ThreadPoolExecutor

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as a, \
            tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as b:
        with ThreadPoolExecutor(2) as pool:
            servers = dict(zip(("none", printer), pool.map(serve, (args, args), ("none", printer), (a, b))))
        try:
            kiosks = {name: pair_kiosk(server) if args.kiosk else None for name, server in servers.items()}
            for name, server in servers.items():
                wrk(server.url, connections, 2, kiosk=kiosks[name])
            cycles = []
            for cycle in range(args.alternate):
                runs = {}
                for name in ("none", printer) if cycle % 2 == 0 else (printer, "none"):
                    printed_all(servers[printer])
                    r = wrk(servers[name].url, connections, 3, kiosk=kiosks[name])
                    runs[name] = {"rps": r.get("rps"), "p99_ms": to_ms(r.get("99%", "nan"))}
                cycles.append(runs)
            printed_all(servers[printer])
            return cycles
        finally:
            for server in servers.values():
                stop(server)


def profile(args, printer: str) -> dict:
    """py-spy on the server (and its print worker) under the 50-client issue load."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out = {}
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as home:
        server = LiveServer(Path(home), async_mode=args.mode,
                            env={"SQLITE_SYNCHRONOUS": args.sync, "PRINTER": printer}).start()
        try:
            wrk(server.url, 50, 2)
            targets = {"server": server.proc.pid}
            targets.update({f"worker {pid}": pid for pid in children(server.proc.pid)})
            files = {name: Path(home) / f"{name.split()[0]}-{pid}.txt" for name, pid in targets.items()}
            spies = [subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(args.profile),
                                       "--rate", "200", "--format", "raw", "--nonblocking", "--output", str(files[name])],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for name, pid in targets.items()]
            wrk(server.url, 50, args.profile + 1)
            for proc in spies:
                proc.wait(60)
            for name, path in files.items():
                if path.exists():
                    out[name] = summarise_profile(path.read_text())
        finally:
            stop(server)
    return out


GROUPS = [("sqlite3 (the database, fsync included)", ("sqlite3",)), ("sqlalchemy", ("sqlalchemy",)),
          ("eventlet (hub, green sockets)", ("eventlet",)), ("werkzeug / flask", ("werkzeug", "flask/", "flask_")),
          ("socketio / engineio", ("socketio", "engineio")), ("limiter", ("limits/", "flask_limiter")),
          ("PIL (drawing)", ("PIL/",)), ("qrcode", ("qrcode",)), ("motcua printer/", ("/printer/",)),
          ("motcua server/", ("/server/",)), ("json", ("json/",))]


def summarise_profile(raw: str, top: int = 12) -> dict:
    """py-spy's collapsed stacks -> where the samples end (self time) and which layer that is."""
    leaves: dict[str, int] = {}
    groups: dict[str, int] = {}
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        leaf = stack.split(";")[-1]
        leaves[leaf] = leaves.get(leaf, 0) + n
        group = next((g for g, keys in GROUPS if any(k in leaf for k in keys)), "other (stdlib, C calls)")
        groups[group] = groups.get(group, 0) + n
    share = lambda n: round(100 * n / total, 1) if total else 0.0  # noqa: E731
    return {"samples": total,
            "by_layer_pct": dict(sorted(((g, share(n)) for g, n in groups.items()), key=lambda kv: -kv[1])),
            "top_self_pct": [[leaf[-110:], share(n)] for leaf, n in sorted(leaves.items(), key=lambda kv: -kv[1])[:top]]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="eventlet", choices=["eventlet", "threading"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each printer setting, taking turns")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--boards", default="200", help="comma list of board counts, e.g. 200,1000")
    parser.add_argument("--raw-boards", action="store_true",
                        help="time the calls again with boards that only read the wire (RawBoard), to tell "
                             "the server's fan-out from the load generator's own decoding")
    parser.add_argument("--sync", default="FULL", help="SQLITE_SYNCHRONOUS for the run")
    parser.add_argument("--printer", default="preview,dummy,none",
                        help="comma list of PRINTER settings; the first is reported first (the default: preview)")
    parser.add_argument("--drain", type=int, default=60,
                        help="seconds to wait after a 50-client run for its print jobs to finish (0: do not wait)")
    parser.add_argument("--profile", type=int, default=0, help="seconds of py-spy sampling (0: none)")
    parser.add_argument("--print-load", type=float, default=0,
                        help="also time the calls while this many tickets a second are issued and printed")
    parser.add_argument("--paired", type=int, default=0,
                        help="runs of each printer setting served beside `none` and loaded at the same moment")
    parser.add_argument("--control", action="store_true",
                        help="with --paired: also serve `none` beside `none` as often, in the same rounds, to "
                             "show how far two identical servers side by side drift apart")
    parser.add_argument("--alternate", type=int, default=0,
                        help="cycles of `none` and each printer setting served together and loaded in turn, "
                             "3 s each, the backlog printed before the next (see alternate_run)")
    parser.add_argument("--server-python", default=None,
                        help="the interpreter of a plain `pip install motcua` venv, to measure memory without "
                             "the bench's own packages (aiohttp) loaded into the server")
    parser.add_argument("--skip", default="", help="comma list: issue,calls,start")
    parser.add_argument("--kiosk", action="store_true",
                        help="issue as a paired kiosk does: its device token and a new Idempotency-Key on "
                             "every request (the default sends a bare POST)")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    printers = [p.strip() for p in args.printer.split(",") if p.strip()]
    report: dict = {"machine": machine(), "load_average_at_start": round(os.getloadavg()[0], 1),
                    "mode": args.mode, "database": f"SQLite WAL, synchronous={args.sync}", "printers": printers,
                    "runs_each": args.repeat, "seconds_each": args.seconds,
                    "requests": "a paired kiosk's (device token, Idempotency-Key)" if args.kiosk else "bare POST"}
    if "issue" not in skip and args.repeat:
        runs: dict[str, dict[int, list[dict]]] = {p: {50: [], 10: []} for p in printers}
        for round_ in range(args.repeat):
            # Taking turns: the machine's noise falls on every setting alike; the order flips every
            # round, so a host that slows down (or speeds up) through the run favours none of them.
            for printer in printers if round_ % 2 == 0 else printers[::-1]:
                for connections in (50, 10):
                    runs[printer][connections].append(issue_run(args, printer, connections))
                    print(f"# {printer} {connections} clients: {runs[printer][connections][-1]}", file=sys.stderr)
        issue = {}
        for printer in printers:
            issue[printer] = {}
            for connections in (50, 10):
                rows = runs[printer][connections]
                issue[printer][f"{connections}_clients"] = {
                    "rps": span([round(r["rps"]) for r in rows]), "p50_ms": span([r["p50_ms"] for r in rows]),
                    "p99_ms": span([r["p99_ms"] for r in rows]),
                    "server_cpu_ms_per_ticket": span([r["server_cpu_ms_per_ticket"] for r in rows]), "runs": rows}
        report["issue"] = issue
        with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as home:  # the ceiling: the same stack answering a request that does nothing
            server = LiveServer(Path(home), async_mode=args.mode, env={"PRINTER": printers[0]}).start()
            try:
                r = wrk(server.url, 50, max(3, args.seconds // 2), path="/api/health")
                report["health_50_clients"] = {"rps": r.get("rps"), "p99_ms": to_ms(r.get("99%", "nan"))}
            finally:
                stop(server)
        if "none" in printers:
            # Each run against the `none` run next to it (same turn): how much a printer costs.
            ratios = {}
            for printer in printers:
                if printer == "none":
                    continue
                ratios[printer] = {
                    "server_cpu_per_ticket_50": spread([round(p["server_cpu_ms_per_ticket"] / n["server_cpu_ms_per_ticket"], 2)
                                                        for p, n in zip(runs[printer][50], runs["none"][50])]),
                    "rps_50": spread([round(p["rps"] / n["rps"], 2) for p, n in zip(runs[printer][50], runs["none"][50])]),
                    "rps_10": spread([round(p["rps"] / n["rps"], 2) for p, n in zip(runs[printer][10], runs["none"][10])]),
                    # none's p99 over the printer's: at least 0.9 is "p99 within 90 % of none's"
                    "p99_10_none_over_printer": spread([round(n["p99_ms"] / p["p99_ms"], 2)
                                                        for p, n in zip(runs[printer][10], runs["none"][10])]),
                    "p99_10_ms_vs_none": [[p["p99_ms"], n["p99_ms"]] for p, n in zip(runs[printer][10], runs["none"][10])],
                }
                # A ticket and its print (under the load and in the drain after it) against a ticket
                # without one: the capacity a printer leaves, however the spool splits its printing
                # between the two.
                printed = [round(p["server_cpu_ms_per_ticket_printed"] / n["server_cpu_ms_per_ticket"], 2)
                           for p, n in zip(runs[printer][50], runs["none"][50]) if "server_cpu_ms_per_ticket_printed" in p]
                if printed:
                    ratios[printer]["server_cpu_per_ticket_printed_50"] = spread(printed)
            report["issue_vs_none"] = ratios
    if args.paired:
        paired: dict = {}
        beside = [p for p in printers if p != "none"] + (["none"] if args.control else [])
        for round_ in range(args.paired):
            for printer in beside:
                for connections in (50, 10):
                    run = paired_run(args, printer, connections, swap=round_ % 2 == 1)
                    print(f"# paired {printer} {connections}: {run}", file=sys.stderr)
                    paired.setdefault(printer, {}).setdefault(f"{connections}_clients", []).append(run)

        report["paired_with_none"] = {
            printer: {clients: against_none(rows, printer) for clients, rows in by_clients.items()}
            for printer, by_clients in paired.items() if printer != "none"}
        if "none" in paired:
            report["control_none_beside_none"] = {clients: against_none(rows, "none beside")
                                                  for clients, rows in paired["none"].items()}
    if args.alternate:
        report["alternating_with_none"] = {}
        for printer in (p for p in printers if p != "none"):
            for connections in (50, 10):
                cycles = alternate_run(args, printer, connections)
                print(f"# alternating {printer} {connections}: {cycles}", file=sys.stderr)
                report["alternating_with_none"].setdefault(printer, {})[f"{connections}_clients"] = \
                    against_none(cycles, printer)
    if args.profile:
        report["profile_50_clients"] = {printers[0]: profile(args, printers[0])}
    if "calls" not in skip:
        report["calls"] = {}
        for printer in printers:
            with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as home:
                # Every board here comes from 127.0.0.1 (in a hall each is its own PC): lift the cap per address.
                env = {"SQLITE_SYNCHRONOUS": args.sync, "PRINTER": printer, "MAX_CONNECTIONS_PER_ADDRESS": "0"}
                server = LiveServer(Path(home), async_mode=args.mode, env=env, python=args.server_python).start()
                try:
                    time.sleep(1.5)  # the print worker is up (it starts in the background)
                    entry = {"idle_rss_mb": round(rss_mb(server.proc.pid), 1),
                             "print_worker_rss_mb": [round(rss_mb(pid), 1) for pid in children(server.proc.pid)]}
                    for clients in map(int, args.boards.split(",")):
                        entry[f"call_to_{clients}_boards"] = asyncio.run(call_latency(server, clients, args.calls))
                        if args.raw_boards:
                            entry[f"call_to_{clients}_raw_boards"] = asyncio.run(
                                call_latency(server, clients, args.calls, board_client="raw"))
                        if args.print_load and printer != "none":
                            entry[f"call_to_{clients}_boards_while_printing"] = asyncio.run(
                                call_latency(server, clients, args.calls, print_load=args.print_load))
                    report["calls"][printer] = entry
                finally:
                    stop(server)
    if "start" not in skip:
        report["start"] = {"printer": "preview", **start_time(args.mode)}
    report["load_average_at_end"] = round(os.getloadavg()[0], 1)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
