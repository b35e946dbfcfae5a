"""A reconnect storm: every board of a big hall connects at the same moment, as after a restart
or a network fault, and each needs the office's `state` before it can show anything.

    .venv/bin/python bench/bench_reconnect.py --boards 500,1000 --rounds 3
    .venv/bin/python bench/bench_reconnect.py --history 375000   # an office with a year of events

The hall: 40 counters, 12 fields (tests/browser/helpers.big_office), 80 tickets issued and one
called at each counter (30 of them serve; the others' fields had no one left). The boards only
read the wire (Engine.IO 4 over one websocket, offering compression as browsers do, like
bench_server's RawBoard); all of them are opened at once. Reported per storm: seconds from the
first connect until the last board has its `state`, and the server's CPU time a board (from
/proc). The server runs the default configuration (eventlet, SQLite, `PRINTER=preview`).
`--history N` writes N older events for the office before the server starts, spread over the
past year, to show whether the storm's cost grows with the office's history. `--paired`: every
board carries a paired display's cookie, as an office's boards do (the server reads the device
on every connect).

To compare two versions of the code, run this script from each checkout in turns.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_server import cpu_s, machine  # noqa: E402
from tests.browser.helpers import big_office, seed_with  # noqa: E402
from tests.live import LiveServer  # noqa: E402

FIELDS = ("ho-tich", "chung-thuc", "xay-dung", "cu-tru", "giao-duc")


def big_hall(history: int, printer: str, mode: str) -> LiveServer:
    home = Path(tempfile.mkdtemp(prefix="motcua-storm-"))
    server = LiveServer(home, async_mode=mode, env={"PRINTER": printer, "MAX_CONNECTIONS_PER_ADDRESS": "0"})
    seed_with(home, server, big_office(40))
    if history:
        start = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=366)
        step = dt.timedelta(days=365) / history
        with sqlite3.connect(home / "motcua-data" / "motcua.db") as db:
            db.executemany("INSERT INTO event (office_id, at, kind, data) VALUES (1, ?, 'issued', '{}')",
                           [((start + i * step).isoformat(sep=" "),) for i in range(history)])
    server.start()
    for i in range(80):
        server.issue(FIELDS[i % len(FIELDS)])
    clerk = server.clerk_headers("storm")
    for number in range(1, 41):
        requests.post(f"{server.url}/api/counters/{number}/call-next", headers=clerk, timeout=10)
    return server


def pair_display(server: LiveServer) -> str:
    """A board paired with the server, as an office sets one up; its device token (its cookie)."""
    r = requests.post(server.url + "/api/devices/pair", json={"code": server.pairing_code("display")}, timeout=10)
    r.raise_for_status()
    return r.json()["token"]


async def storm(server: LiveServer, boards: int, device_token: str | None = None) -> dict:
    import aiohttp

    from server.auth import DEVICE_COOKIE

    url = server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    sockets = []
    headers = {"Cookie": f"{DEVICE_COOKIE}={device_token}"} if device_token else None
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        async def board():
            ws = await http.ws_connect(url, autoping=False, compress=15, headers=headers,
                                       timeout=aiohttp.ClientWSTimeout(ws_close=10))
            sockets.append(ws)
            opened = await ws.receive_str()
            assert opened.startswith("0"), opened
            await ws.send_str("40")  # join the default namespace, as a board does
            async for message in ws:
                if message.data.startswith('42["state"'):
                    return
            raise RuntimeError("a board's socket closed before its state came")

        cpu_before, started = cpu_s(server.proc.pid), time.monotonic()
        await asyncio.wait_for(asyncio.gather(*(board() for _ in range(boards))), 120)
        seconds, cpu = time.monotonic() - started, cpu_s(server.proc.pid) - cpu_before
        await asyncio.gather(*(ws.close() for ws in sockets))
    return {"boards": boards, "all_have_state_s": round(seconds, 2), "server_cpu_ms_a_board": round(cpu / boards * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boards", default="500,1000", help="comma list of storm sizes")
    parser.add_argument("--rounds", type=int, default=3, help="storms of each size on the same server")
    parser.add_argument("--history", type=int, default=0, help="older events written for the office first")
    parser.add_argument("--printer", default="preview")
    parser.add_argument("--mode", default="eventlet", choices=("eventlet", "threading"))
    parser.add_argument("--paired", action="store_true", help="every board carries a paired display's cookie")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a thousand sockets in this process
    server = big_hall(args.history, args.printer, args.mode)
    try:
        state = requests.get(server.url + "/api/state", timeout=10).json()
        hall = {"counters": len(state["counters"]), "serving": sum(1 for c in state["counters"] if c["current"]),
                "fields": len(state["fields"]), "state_bytes": len(json.dumps(state, ensure_ascii=False).encode())}
        token = pair_display(server) if args.paired else None
        results = []
        for boards in [int(n) for n in args.boards.split(",")]:
            for _ in range(args.rounds):
                results.append(asyncio.run(storm(server, boards, token)))
                print("#", json.dumps(results[-1]), flush=True)
                time.sleep(1)
    finally:
        server.stop()
    print(json.dumps({"machine": machine(), "mode": args.mode, "printer": args.printer, "history": args.history,
                      "paired": args.paired,
                      "hall": hall, "storms": results}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
