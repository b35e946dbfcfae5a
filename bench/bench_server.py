"""Benchmarks of a live motcua server: ticket issue throughput and latency, call -> boards latency,
memory with connected boards, start time. Run: `.venv/bin/python bench/bench_server.py --mode eventlet`.

Load comes from this machine too (the target machine shares its 2 cores with
the load generator): wrk for HTTP load, python-socketio's asyncio client for boards.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
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


def wrk(url: str, connections: int, seconds: int, path: str = "/api/tickets") -> dict:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT)
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


async def call_latency(server: LiveServer, clients: int, calls: int) -> dict:
    import socketio

    loop = asyncio.get_running_loop()
    boards, received = [], {}

    async def make_board(i):
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
    clerk = server.clerk_headers(f"bench{clients}")
    for _ in range(calls):
        requests.post(server.url + "/api/tickets", json={"field": "ho-tich"}, timeout=10)
    latencies, firsts, responses = [], [], []
    session = requests.Session()
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
    await asyncio.gather(*(b.disconnect() for b in boards))
    return {"clients": clients, "calls": calls, "p50_ms": round(percentile(latencies, 0.5), 1),
            "p99_ms": round(percentile(latencies, 0.99), 1), "max_ms": round(max(latencies), 1),
            "first_board_p50_ms": round(percentile(firsts, 0.5), 1),
            "http_response_p50_ms": round(percentile(responses, 0.5), 1),
            "rss_mb": round(memory, 1)}


def start_time(mode: str, runs: int = 5) -> dict:
    """Spawn to the first 200 from /api/health: on a new folder (database created, seeded, first admin)
    and again on the same folder (the everyday restart)."""
    first, again = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            server = LiveServer(Path(home), async_mode=mode, env={"PRINTER": "preview"})
            for bucket in (first, again):
                t0 = time.perf_counter()
                server.start()
                bucket.append(time.perf_counter() - t0)
                server.stop()
    return {"first_median_s": round(statistics.median(first), 2), "first_max_s": round(max(first), 2),
            "restart_median_s": round(statistics.median(again), 2), "restart_max_s": round(max(again), 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="eventlet", choices=["eventlet", "threading"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--boards", default="200,1000")
    parser.add_argument("--sync", default="FULL", help="SQLITE_SYNCHRONOUS for the run")
    parser.add_argument("--printer", default="none",
                        help="PRINTER for the run; 'none' measures the queue alone (see bench_printer.py)")
    parser.add_argument("--server-python", default=None,
                        help="the interpreter of a plain `pip install motcua` venv, to measure memory without "
                             "the bench's own packages (aiohttp) loaded into the server")
    parser.add_argument("--skip", default="", help="comma list: issue,calls,start")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    report = {"machine": machine(), "mode": args.mode, "database": f"SQLite WAL, synchronous={args.sync}",
              "printer": args.printer}
    env = {"SQLITE_SYNCHRONOUS": args.sync, "PRINTER": args.printer}
    if "issue" not in skip:
        for connections in (50, 10):  # a fresh server each time: every run starts from an empty hall
            with tempfile.TemporaryDirectory() as home:
                server = LiveServer(Path(home), async_mode=args.mode, env=env).start()
                try:
                    wrk(server.url, connections, 2)  # warm up
                    r = wrk(server.url, connections, args.seconds)
                    r.pop("raw")
                    fields = requests.get(server.url + "/api/fields", timeout=10).json()["fields"]
                    r["waiting_at_end"] = sum(f["waiting"] for f in fields)
                    report[f"issue_{connections}_clients"] = r
                    if connections == 50:  # the ceiling: the same stack answering a request that does nothing
                        r = wrk(server.url, 50, max(3, args.seconds // 2), path="/api/health")
                        r.pop("raw")
                        report["health_50_clients"] = r
                finally:
                    server.stop()
    with tempfile.TemporaryDirectory() as home:
        server = LiveServer(Path(home), async_mode=args.mode, env=env, python=args.server_python).start()
        try:
            report["idle_rss_mb"] = round(rss_mb(server.proc.pid), 1)
            if "calls" not in skip:
                for clients in map(int, args.boards.split(",")):
                    report[f"call_to_{clients}_boards"] = asyncio.run(call_latency(server, clients, args.calls))
        finally:
            server.stop()
    if "start" not in skip:
        report["start"] = start_time(args.mode)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
