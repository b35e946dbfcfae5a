"""A province's morning on one 2-core box: 100 offices, each with 5 counters and 2 boards, 3,000
phones following their tickets, kiosks issuing at the morning's peak while clerks call.

    .venv/bin/python bench/bench_province.py --setups one,two --seconds 60

`one`: one `motcua run` process (eventlet) on PostgreSQL. `two`: two processes (eventlet and
eventlet) on PostgreSQL, joined by Redis, behind Debian's nginx with the shipped site config
(deploy/nginx/motcua.conf). Everything runs on this machine, the load generator included
(one asyncio process: the boards, the phones, the kiosks and the clerks).

What it reports, per setup:
- sustained issue rate (tickets answered 201 a second) and the issue latency p50/p99;
- call -> that office's boards: from the clerk's request until each of the office's boards
  has the `ticket_called`, p50/p99;
- messages per call: every message any client received that a call caused, divided by the
  calls (it must not grow with the number of offices: a call reaches its office only);
- cross-office messages: calls heard by a board of another office (must be 0);
- RSS of each server process, and of Redis and nginx;
- how busy each part kept the machine's cores during the run (CPU seconds a second): each server,
  their print workers, PostgreSQL (backends that end during the run are missed) and the load
  generator itself, and the whole machine (2.0 = both cores busy).

The figures go to docs/performance.md with the machine and what limits them.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter as Tally
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_server import children, cpu_s  # noqa: E402
from tests.conftest import _drop_schema, _pg_schema_url  # noqa: E402
from tests.live import LiveServer  # noqa: E402

PASSWORD = "mat-khau-cua-ban-do-1"
FIELDS = ("ho-tich", "chung-thuc", "bao-tro-xa-hoi", "nguoi-co-cong", "kinh-doanh", "xay-dung", "tra-ket-qua")
CLIENTS_PER_ADDRESS = 150  # below the per-address connection caps (nginx's limit_conn 200, the server's 200)


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def rss_mb(pid: int) -> float | None:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def postgres_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and open(f"/proc/{entry}/comm").read().strip() == "postgres":
                pids.append(int(entry))
        except OSError:
            continue
    return pids


def cpu_of(setup: "Setup") -> dict:
    """CPU seconds so far of each server, of PostgreSQL (every backend) and of this load generator."""
    out = {f"server {chr(97 + i)}": cpu_s(s.proc.pid) for i, s in enumerate(setup.servers)}
    out["print workers"] = sum(cpu_s(child) for s in setup.servers for child in children(s.proc.pid))
    out["postgresql"] = sum(cpu_s(pid) for pid in postgres_pids())
    out["load generator"] = sum(os.times()[:2])
    ticks = [int(n) for n in open("/proc/stat").readline().split()[1:]]
    out["whole machine"] = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle, iowait
    return out


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               "unknown CPU")
    return f"{os.cpu_count()} cores, {cpu}"


# ----- the province ---------------------------------------------------------------------------------------
def seed_province(server: LiveServer, offices: int) -> list[str]:
    """The default office from `motcua init`, 99 more through the engine's own seeding, a province user."""
    from server.config import normalise_database_url
    from server.setup import apply_seed, demo_seed
    from server.storage import Storage

    result = server.cli("init")
    assert result.returncode == 0, result.stderr
    storage = Storage(normalise_database_url(server.env["DATABASE_URL"]))
    slugs = ["default"]
    for i in range(1, offices):
        slug = f"xa-{i:03d}"
        apply_seed(storage, {**demo_seed(), "office": {"name": f"UBND xã số {i}", "unit": "Bộ phận một cửa"}},
                   office=slug)
        slugs.append(slug)
    storage.dispose()
    made = server.cli("user", "add", "tinh", "--role", "province", "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    return slugs


class Setup:
    def __init__(self, name: str, folder: Path, printer: str):
        self.name, self.folder, self.printer = name, folder, printer
        self.servers: list[LiveServer] = []
        self.redis = self.nginx = None
        self.schema = None

    def start(self, offices: int) -> list[str]:
        url, self.schema = _pg_schema_url()
        env = {"DATABASE_URL": url, "SECRET_KEY": "one-key-for-the-province", "PRINTER": self.printer,
               "TICKET_RATE_LIMIT": "0", "ACCESS_LOG": "0", "LOGIN_RATE_LIMIT": "1000/minute",
               "MAX_CONNECTIONS": "12000"}
        if self.name == "two":
            from tests.redis_process import RedisProcess

            self.redis = RedisProcess(self.folder / "redis").start()
            env.update({"MESSAGE_QUEUE_URL": self.redis.url, "PROXY_HOPS": "1"})
        first = LiveServer(self.folder / "a", env=env, async_mode="eventlet")
        slugs = seed_province(first, offices)
        self.servers = [first.start()]
        if self.name == "two":
            import tests.nginx as nginx

            self.servers.append(LiveServer(self.folder / "b", env=env, async_mode="eventlet").start())
            nginx.MAIN = nginx.MAIN.replace("worker_connections 4096", "worker_connections 20000")
            self.nginx = nginx.Nginx(self.folder / "nginx", [s.port for s in self.servers]).start()
        return slugs

    @property
    def url(self) -> str:
        return self.nginx.url if self.nginx else self.servers[0].url

    def memory(self) -> dict:
        out = {f"server {chr(97 + i)}": rss_mb(s.proc.pid) for i, s in enumerate(self.servers)}
        if self.redis:
            out["redis"] = rss_mb(self.redis.proc.pid)
        if self.nginx:
            children = subprocess.run(["pgrep", "-P", str(self.nginx.proc.pid)], capture_output=True, text=True)
            out["nginx"] = round(sum(rss_mb(int(p)) or 0 for p in [self.nginx.proc.pid, *children.stdout.split()]), 1)
        return out

    def stop(self) -> None:
        if self.nginx:
            self.nginx.stop()
        for server in self.servers:
            server.stop()
        if self.redis:
            self.redis.stop()
        if self.schema:
            _drop_schema(self.schema)


# ----- the load ------------------------------------------------------------------------------------------------
def start_profilers(setup: Setup, folder: str | None, seconds: float) -> list[subprocess.Popen]:
    """py-spy on each server for the run (`--profile DIR`): where the CPU goes, as folded stacks
    (flamegraph.pl or speedscope draw them)."""
    if not folder:
        return []
    Path(folder).mkdir(parents=True, exist_ok=True)
    spy = Path(sys.executable).with_name("py-spy")
    return [subprocess.Popen([str(spy), "record", "--pid", str(s.proc.pid), "--duration", str(int(seconds)),
                              "--rate", "50", "--format", "raw",
                              "--output", f"{folder}/{setup.name}-{chr(97 + i)}.folded"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for i, s in enumerate(setup.servers)]


async def run_morning(setup: Setup, slugs: list[str], phones: int, rate: float, seconds: float,
                      profile: str | None = None, timeline: str | None = None) -> dict:
    import aiohttp
    import socketio

    loop = asyncio.get_running_loop()
    url = setup.url
    sessions: dict[str, aiohttp.ClientSession] = {}

    def session_for(n: int) -> aiohttp.ClientSession:
        """Clients spread over loopback addresses: many PCs and phones on the LAN, not one."""
        address = f"127.0.{100 + n // 250}.{1 + n % 250}"
        if address not in sessions:
            sessions[address] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0), limit=0))
        return sessions[address]

    received: Tally = Tally()  # event name -> messages received by every client
    board_heard: dict[tuple[str, str], list[float]] = {}
    clients = []

    async def board(n: int, slug: str):
        sio = socketio.AsyncClient(reconnection=True, http_session=session_for(n // CLIENTS_PER_ADDRESS))

        @sio.on("*")
        async def anything(event, data=None):
            received[event] += 1
            if event == "ticket_called":
                key = (slug, data["ticket"]["code"])
                board_heard.setdefault(key, []).append(loop.time())

        await sio.connect(url + f"?office={slug}", transports=["websocket"], wait_timeout=60)
        clients.append(sio)

    async def phone(n: int, token: str):
        sio = socketio.AsyncClient(reconnection=True, http_session=session_for(n // CLIENTS_PER_ADDRESS))

        @sio.on("*")
        async def anything(event, data=None):
            received[event] += 1

        await sio.connect(url + "?phone=1", transports=["websocket"], wait_timeout=60)
        await sio.call("follow", {"token": token}, timeout=60)
        clients.append(sio)

    # The morning so far: phones/offices tickets per office waiting, each followed by a phone.
    http = session_for(10_000)
    per_office = max(1, phones // len(slugs))
    tokens = []
    for i in range(per_office):
        for k, slug in enumerate(slugs):
            # kiosks' addresses taking turns (nginx allows an address 2 tickets/s, 30 at once: a few
            # offices with hundreds waiting each must not come from one address)
            seeder = session_for(12_500 + (i * len(slugs) + k) % 250)
            async with seeder.post(f"{url}/o/{slug}/api/tickets", json={"field": FIELDS[i % len(FIELDS)]}) as r:
                assert r.status == 201, await r.text()
                tokens.append((await r.json())["token"])
    started = time.monotonic()
    n = 0
    for slug in slugs:
        for _ in range(2):
            await board(n, slug)
            n += 1
    for batch in range(0, len(tokens), 100):
        await asyncio.gather(*(phone(n + i, token) for i, token in enumerate(tokens[batch:batch + 100], start=batch)))
    n += len(tokens)
    connect_s = time.monotonic() - started
    await asyncio.sleep(2)
    received.clear()
    memory_connected = setup.memory()
    gc.freeze()  # this process's collections would count as the servers' latency: none during the run
    gc.disable()

    async with http.post(f"{url}/api/auth/login", json={"username": "tinh", "password": PASSWORD}) as r:
        token = (await r.json())["token"]
    auth = {"Authorization": f"Bearer {token}"}

    issue_ms, issue_errors, calls = [], Tally(), []
    stop_at = loop.time() + seconds
    kiosks = [session_for(20_000 + i) for i in range(min(100, len(slugs)))]

    async def kiosk_load():
        """`rate` tickets a second over the province, each office's kiosk from its own address."""
        i, next_at = 0, loop.time()
        pending = set()
        while loop.time() < stop_at:
            slug = slugs[i % len(slugs)]
            pending.add(asyncio.create_task(issue(kiosks[i % len(kiosks)], slug, FIELDS[i % len(FIELDS)])))
            pending = {t for t in pending if not t.done()}
            i += 1
            next_at += 1 / rate
            await asyncio.sleep(max(0, next_at - loop.time()))
        await asyncio.gather(*pending)

    async def issue(session, slug, field):
        t0 = loop.time()
        try:
            async with session.post(f"{url}/o/{slug}/api/tickets", json={"field": field}) as r:
                await r.read()
                if r.status == 201:
                    issue_ms.append((loop.time() - t0) * 1000)
                else:
                    issue_errors[r.status] += 1
        except aiohttp.ClientError as err:
            issue_errors[type(err).__name__] += 1

    async def clerk_load():
        """Clerks call at the same pace: every office's counters in turn."""
        i, next_at = 0, loop.time()
        pending = set()
        while loop.time() < stop_at:
            slug = slugs[random.randrange(len(slugs))]
            pending.add(asyncio.create_task(call(slug, 1 + i % 5)))
            pending = {t for t in pending if not t.done()}
            i += 1
            next_at += 1 / rate
            await asyncio.sleep(max(0, next_at - loop.time()))
        await asyncio.gather(*pending)

    async def call(slug, counter):
        t0 = loop.time()
        async with http.post(f"{url}/o/{slug}/api/counters/{counter}/call-next", headers=auth) as r:
            if r.status == 200:
                calls.append((slug, (await r.json())["code"], t0))
            else:
                await r.read()

    run_started = loop.time()
    cpu_before = cpu_of(setup)
    profilers = start_profilers(setup, profile, seconds)
    await asyncio.gather(kiosk_load(), clerk_load())
    for spy in profilers:
        spy.wait()
    elapsed = loop.time() - run_started
    gc.enable()
    cpu_busy = {name: round((spent - cpu_before[name]) / elapsed, 2) for name, spent in cpu_of(setup).items()}
    await asyncio.sleep(3)  # the last calls reach the boards

    latencies, missing = [], 0
    lines = []
    for slug, code, t0 in calls:
        heard = board_heard.get((slug, code), [])
        missing += max(0, 2 - len(heard))
        latencies += [(at - t0) * 1000 for at in heard]
        lines.append(f"{time.time() - (loop.time() - t0):.3f} {max([(at - t0) * 1000 for at in heard] or [-1]):.1f}\n")
    if timeline:  # when each call was made (Unix time) and when its office's last board heard it (ms)
        Path(timeline).write_text("".join(lines))
    # A board of another office hearing a call: codes repeat across offices (every office has its
    # A001), so count by office: every (office, code) heard must be a call made in that office.
    made = {(slug, code) for slug, code, _ in calls}
    cross_office = sum(len(v) for k, v in board_heard.items() if k not in made)
    memory_after = setup.memory()
    for sio in clients:
        try:
            await sio.disconnect()
        except Exception:
            pass
    for session in sessions.values():
        await session.close()
    return {
        "offices": len(slugs), "boards": 2 * len(slugs), "phones": len(tokens), "connect_s": round(connect_s, 1),
        "seconds": round(elapsed, 1), "target_rate": rate,
        "issued_per_s": round(len(issue_ms) / elapsed, 1), "issue_errors": dict(issue_errors),
        "issue_ms": {"p50": round(percentile(issue_ms, 0.5) or 0, 1), "p99": round(percentile(issue_ms, 0.99) or 0, 1)},
        "calls": len(calls), "calls_per_s": round(len(calls) / elapsed, 1),
        "call_to_boards_ms": {"p50": round(percentile(latencies, 0.5) or 0, 1),
                              "p99": round(percentile(latencies, 0.99) or 0, 1),
                              "max": round(max(latencies) if latencies else 0, 1)},
        "board_deliveries_missing": missing, "cross_office_messages": cross_office,
        "messages_per_call": {event: round(count / max(1, len(calls)), 2) for event, count in received.items()
                              if event in ("ticket_called", "ticket_position", "counter_updated", "queue_updated")},
        "rss_mb_connected": memory_connected, "rss_mb_after": memory_after,
        "cpu_cores_busy": cpu_busy,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setups", default="one,two")
    parser.add_argument("--offices", type=int, default=100)
    parser.add_argument("--phones", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=50, help="tickets a second over the province (and as many calls)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--printer", default="preview", help="PRINTER of the servers (the default configuration)")
    parser.add_argument("--logs", action="store_true", help="print the end of each server's log")
    parser.add_argument("--profile", metavar="DIR", help="record each server with py-spy during the run (folded stacks)")
    parser.add_argument("--timeline", metavar="FILE", help="write each call's time and its boards' latency to FILE.<setup>"
                                                          " (where the slow calls cluster: a pause, not a steady load)")
    args = parser.parse_args()
    report = {"machine": machine(), "load_average_at_start": round(os.getloadavg()[0], 2), "printer": args.printer,
              "runs": {}}
    for name in [s.strip() for s in args.setups.split(",") if s.strip()]:
        with tempfile.TemporaryDirectory(prefix=f"motcua-province-{name}-") as folder:
            setup = Setup(name, Path(folder), args.printer)
            try:
                slugs = setup.start(args.offices)
                report["runs"][name] = asyncio.run(run_morning(
                    setup, slugs, args.phones, args.rate, args.seconds, args.profile,
                    args.timeline and f"{args.timeline}.{name}"))
            except BaseException:
                args.logs = True
                raise
            finally:
                for server in setup.servers if args.logs else ():  # what the servers said, before their folder goes
                    print(f"--- {server.log_path} (last lines)", file=sys.stderr)
                    print(server.log_path.read_text(encoding="utf-8")[-20000:], file=sys.stderr)
                setup.stop()
        print(json.dumps({name: report["runs"][name]}, ensure_ascii=False), flush=True)
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
