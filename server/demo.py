"""A realistic morning for demos, screenshots and trying the reports: `motcua demo-day`.

Citizens arrive from 07:30 to 11:00 (busier at opening), clerks call and serve
them at the counters that handle their field, a few do not come back, most
rate the service. Everything goes through the queue engine with a simulated
clock, so the event log and reports are exactly what a real day produces.
"""
from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .auth import AuthError, create_user
from .engine import QueueEngine, QueueError
from .models import Counter, Field, User
from .storage import Storage

DEMO_CLERKS = [("canbo.an", "Nguyễn Văn An"), ("canbo.binh", "Trần Thị Bình"), ("canbo.cuong", "Lê Văn Cường"),
               ("canbo.dung", "Phạm Thị Dung"), ("canbo.em", "Hoàng Văn Em")]


def simulate_day(storage: Storage, tz: ZoneInfo, day: dt.date, visitors: int = 150, seed: int = 7,
                 office: str | None = None) -> dict:
    """A morning at one office (its slug; default: the first office)."""
    rng = random.Random(seed)
    clock = {"now": dt.datetime.combine(day, dt.time(7, 30), tz)}
    storage = Storage(storage.url, synchronous="NORMAL")  # demo data: no need to fsync every step
    engine = QueueEngine(storage, tz, clock=lambda: clock["now"])
    office_id = engine.offices.by_slug(office).id if office else engine.office_id()
    clerks = _demo_clerks(storage, rng, office_id, "" if office is None else f".{office}")
    with storage.read() as s:
        fields = {f.code: f for f in s.scalars(select(Field).where(Field.office_id == office_id,
                                                                   Field.active.is_(True)))}
        counter_ids = {c.number: c.id for c in s.scalars(select(Counter).where(Counter.office_id == office_id,
                                                                               Counter.active.is_(True)))}
    counters = sorted(counter_ids)
    tokens: dict[str, str] = {}  # the citizen keeps the paper; clerks never see the token
    # Arrivals: more in the first hour, fewer before lunch.
    start = clock["now"]
    arrivals = sorted(start + dt.timedelta(minutes=rng.triangular(0, 210, 20)) for _ in range(visitors))
    codes = list(fields)
    weights = [5 if c in ("ho-tich", "chung-thuc") else 1.5 for c in codes]
    busy_until = {n: start for n in counters}
    clerk_of = {n: clerks[i % len(clerks)] for i, n in enumerate(counters)} if clerks else {}
    issued = served = 0
    serving: dict[int, bool] = {n: False for n in counters}
    end = dt.datetime.combine(day, dt.time(11, 30), tz)
    pending = list(arrivals)
    while clock["now"] < end and (pending or any(serving.values()) or issued > served):
        while pending and pending[0] <= clock["now"]:
            pending.pop(0)
            priority = rng.choice(["elderly", "disabled", "pregnant", "merit"]) if rng.random() < 0.1 else None
            try:
                ticket = engine.issue_ticket(rng.choices(codes, weights)[0], priority, office=office_id)
                tokens[ticket["code"]] = ticket["token"]
                issued += 1
            except QueueError:
                pass
        for number in counters:
            if serving[number] and busy_until[number] <= clock["now"]:
                finished = engine.finish(number, clerk_of.get(number), office=office_id)
                serving[number] = False
                if rng.random() < 0.7:
                    score = rng.choices([3, 2, 1], [70, 25, 5])[0]
                    reasons = rng.sample(["waiting", "speed", "guidance"], 1) if score == 1 else []
                    if rng.random() < 0.7:  # most rate on the counter's tablet, some on their phone
                        engine.rate(tokens[finished["code"]], score, reasons, source="tablet",
                                    tablet_counter_id=counter_ids[number])
                    else:
                        engine.rate(tokens[finished["code"]], score, reasons)
            if serving[number] or busy_until[number] > clock["now"]:
                continue
            try:
                ticket = engine.call_next(number, clerk_of.get(number), office=office_id)
            except QueueError:
                busy_until[number] = clock["now"] + dt.timedelta(minutes=1)  # nobody for this counter yet
                continue
            if rng.random() < 0.06:
                engine.no_show(number, clerk_of.get(number), office=office_id)
                busy_until[number] = clock["now"] + dt.timedelta(minutes=1)
                served += 1
                continue
            busy_until[number] = clock["now"] + dt.timedelta(minutes=(fields[ticket["field"]].minutes or 5)
                                                             * rng.uniform(0.5, 1.5))
            serving[number] = True
            served += 1
        clock["now"] += dt.timedelta(seconds=30)
    return {"issued": issued, "served": served, "day": day.isoformat()}  # served counts no-shows too


def _demo_clerks(storage: Storage, rng: random.Random, office_id: int, suffix: str) -> list[int]:
    ids = []
    for username, name in DEMO_CLERKS:
        username += suffix
        try:
            create_user(storage, username, f"demo-{rng.getrandbits(64):x}", "clerk", name, office_id=office_id)
        except AuthError:
            pass  # already there
        with storage.read() as s:
            ids.append(s.scalar(select(User.id).where(User.username == username)))
    return ids


PROVINCE_WARDS = [("phuong-ba-dinh", "UBND phường Ba Đình"), ("phuong-hoan-kiem", "UBND phường Hoàn Kiếm"),
                  ("phuong-cau-giay", "UBND phường Cầu Giấy"), ("xa-soc-son", "UBND xã Sóc Sơn"),
                  ("phuong-long-bien", "UBND phường Long Biên"), ("xa-ba-vi", "UBND xã Ba Vì")]


def make_province(storage: Storage, count: int) -> list[str]:
    """`count` offices with the demo fields (made once; kept when they are there), for a province to look at."""
    from .setup import apply_seed, demo_seed

    slugs = []
    for i in range(count):
        slug, name = PROVINCE_WARDS[i] if i < len(PROVINCE_WARDS) else (f"xa-mau-{i + 1}", f"UBND xã Mẫu {i + 1}")
        seed = {**demo_seed(), "office": {"name": name, "unit": "Bộ phận tiếp nhận và trả kết quả"}}
        apply_seed(storage, seed, office=slug)
        slugs.append(slug)
    return slugs
