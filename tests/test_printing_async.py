"""Printing never holds up issuing: the kiosk's answer comes before any drawing or sending,
the print job commits with the ticket, and the kiosk hears how its print went."""
import dataclasses
import datetime as dt
import os
import signal
import threading
import time

import pytest
import requests
import socketio
from sqlalchemy import delete, event, func, select

from printer.agent import PrinterAgent
from printer.encode import encode_ticket
from printer.render import render_ticket
from printer.ticket import sample_ticket
from printer.worker import ProcessWorker
from server.models import Device, Event, Office, PrintJob, Ticket
from server.printing import PrintService, first_print_job_id
from server.storage import Storage
from tests.live import LiveServer
from tests.printer_fixtures import (
    PAPER_OUT, FakeNetworkPrinter, add_ticket, make_config, make_storage, seed_office, wait_until,
)


def jobs_of(storage, ticket_id=None):
    with storage.read() as s:
        query = select(PrintJob)
        if ticket_id is not None:
            query = query.where(PrintJob.ticket_id == ticket_id)
        return s.scalars(query.order_by(PrintJob.created_at)).all()


def job_status(storage, job_id):
    with storage.read() as s:
        job = s.get(PrintJob, job_id)
        return job.status if job else None


# ----- one commit ---------------------------------------------------------------------------
def test_a_ticket_is_committed_with_its_first_print_job_or_not_at_all(app, client):
    services = app.extensions["motcua"]
    storage, engine = services.storage, services.engine
    assert services.printing._write_first_job in engine.issue_hooks  # app.py: PrintService(…, engine=engine)
    seen = []

    def later_hook(conn, issued):
        # Inside the ticket's transaction, after the spool's hook: the job is already there.
        seen.append(conn.execute(select(PrintJob.status, PrintJob.ticket_id, PrintJob.qr_url)
                                 .where(PrintJob.id == first_print_job_id(issued.token))).one())
        if issued.code == "A002":
            raise RuntimeError("something after the job fails: the whole issue rolls back")

    engine.issue_hooks.append(later_hook)
    first = client.post("/api/tickets", json={"field": "ho-tich"})
    assert first.status_code == 201
    body = first.get_json()
    assert body["print_status"] == "queued" and body["printed"] is False
    with storage.read() as s:
        ticket_id = s.scalar(select(Ticket.id).where(Ticket.token == body["token"]))
    status, job_ticket, qr_url = seen[0]
    assert status == "pending" and job_ticket == ticket_id and qr_url == body["track_url"]

    failed = client.post("/api/tickets", json={"field": "ho-tich"})
    assert failed.status_code == 500 and len(seen) == 2
    with storage.read() as s:
        assert s.scalar(select(func.count(Ticket.id))) == 1
        assert s.scalar(select(func.count(PrintJob.id))) == 1
    # and the one ticket prints, once
    assert wait_until(lambda: job_status(storage, first_print_job_id(body["token"])) == "printed", timeout=15)
    assert [job_id for job_id, _ in services.printing.backend.jobs] == [first_print_job_id(body["token"])]


def test_the_paper_is_the_same_as_the_waiting_path_would_print(app, client):
    """The dispatcher reads tickets in batches; what it prints is what submit() would have printed."""
    services = app.extensions["motcua"]
    storage, spool = services.storage, services.printing
    tickets = [client.post("/api/tickets", json={"field": f, "priority": p}).get_json()
               for f, p in (("ho-tich", None), ("ho-tich", "elderly"), ("chung-thuc", None), ("ho-tich", None))]
    ids = [first_print_job_id(t["token"]) for t in tickets]
    assert wait_until(lambda: all(job_status(storage, j) == "printed" for j in ids), timeout=15)
    printed = dict(spool.backend.jobs)
    for job_id, ticket in zip(ids, tickets):
        with storage.read() as s:
            job = s.get(PrintJob, job_id)
            # people ahead as the issuing answer counted them (a priority ticket may have come since)
            expected = spool._ticket_print(s, s.get(Ticket, job.ticket_id), job, ahead=ticket["ahead"])
        assert printed[job_id] == spool.backend.render(expected)[1], expected


def test_a_tickets_first_job_id_is_the_one_earlier_versions_stored():
    """The job id is derived from the ticket's token: an office that upgrades keeps finding the jobs
    of tickets issued before (a replayed request, the admin's print list), so the id must not change."""
    import secrets
    import uuid

    from server.printing import JOB_NAMESPACE

    tokens = [secrets.token_urlsafe(18) for _ in range(2000)] + ["", "tok-1", "vé-số-Đống-Đa"]
    assert [first_print_job_id(t) for t in tokens] == [str(uuid.uuid5(JOB_NAMESPACE, t)) for t in tokens]


def test_a_new_tickets_paper_is_what_its_request_had_in_hand_none_of_it_read_back(app, client, admin):
    """The spool prints a walk-in ticket from what the issuing request knew: it reads neither the ticket,
    its field nor its office back from the database (two statements a batch, and what the paper said
    is what the kiosk's answer said); an office renamed a moment before is on the next paper."""
    services = app.extensions["motcua"]
    storage, spool = services.storage, services.printing
    assert client.patch("/api/admin/office", json={"name": "Trung tâm Hành chính công phường Mới"},
                        headers=admin).status_code == 200
    statements = []

    def seen(_conn, _cursor, statement, _parameters, _context, _many):
        statements.append((threading.get_ident(), statement))

    event.listen(storage.engine, "before_cursor_execute", seen)
    try:
        tickets = [client.post("/api/tickets", json={"field": f, "priority": p}).get_json()
                   for f, p in (("ho-tich", None), ("chung-thuc", "elderly"), ("ho-tich", None))]
        ids = [first_print_job_id(t["token"]) for t in tickets]
        assert wait_until(lambda: all(job_status(storage, j) == "printed" for j in ids), timeout=15)
    finally:
        event.remove(storage.engine, "before_cursor_execute", seen)
    spool_threads = {ident for ident, sql in statements if sql.startswith("UPDATE print_job SET status")}
    assert spool_threads, "the spool claimed the jobs"
    read_back = [sql for ident, sql in statements if ident in spool_threads and sql.lstrip().startswith("SELECT")
                 and any(f"FROM {table}" in sql for table in ("ticket", "field", "office"))]
    assert read_back == []
    printed = dict(spool.backend.jobs)
    for job_id, ticket in zip(ids, tickets):
        with storage.read() as s:
            job = s.get(PrintJob, job_id)
            expected = spool._ticket_print(s, s.get(Ticket, job.ticket_id), job, ahead=ticket["ahead"])
        assert expected.office_name == "Trung tâm Hành chính công phường Mới"
        assert printed[job_id] == spool.backend.render(expected)[1], expected


def test_a_kiosks_printer_route_comes_from_the_request_that_read_the_kiosk(app, client):
    """A paired kiosk's ticket goes to the kiosk's own printer agent or to the server's printer, as
    its settings say; the kiosk is read once per ticket (by the request's pairing check), not a
    second time inside the ticket's transaction, which every other kiosk's ticket waits for."""
    from server.auth import complete_pairing, create_pairing

    storage = app.extensions["motcua"].storage
    kiosks = {}
    for route in ("agent", "local"):
        _, code = create_pairing(storage, "kiosk", name=f"Kiosk {route}")
        device, token = complete_pairing(storage, code)
        with storage.write() as s:
            s.get(Device, device.id).settings = {"printer": "agent"} if route == "agent" else {}
        kiosks[route] = token
    statements = []

    def seen(_conn, _cursor, statement, _parameters, _context, _many):
        if threading.get_ident() == here:
            statements.append(statement)

    from sqlalchemy.engine import Engine

    here = threading.get_ident()
    event.listen(Engine, "before_cursor_execute", seen)  # every engine: SQLite reads have their own
    try:
        issued = {route: client.post("/api/tickets", json={"field": "ho-tich"},
                                     headers={"X-Device-Token": token}).get_json()
                  for route, token in kiosks.items()}
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    for route, ticket in issued.items():
        with storage.read() as s:
            assert s.get(PrintJob, first_print_job_id(ticket["token"])).route == route
    assert len([sql for sql in statements if "FROM device" in sql]) == len(kiosks)


def test_a_replay_answers_the_job_as_it_stands_and_makes_a_lost_one_now(app, client):
    services = app.extensions["motcua"]
    storage = services.storage
    headers = {"Idempotency-Key": "kiosk-2-tap-9"}
    first = client.post("/api/tickets", json={"field": "ho-tich"}, headers=headers).get_json()
    assert first["print_status"] == "queued"
    job_id = first_print_job_id(first["token"])
    assert wait_until(lambda: job_status(storage, job_id) == "printed", timeout=15)
    again = client.post("/api/tickets", json={"field": "ho-tich"}, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["printed"] is True and again.get_json()["print_status"] == "printed"
    assert [j for j, _ in services.printing.backend.jobs] == [job_id]  # not printed a second time

    # A ticket whose job never got stored (issued before printing was on): the replay makes it now.
    with storage.write() as s:
        s.execute(delete(PrintJob).where(PrintJob.id == job_id))
    once_more = client.post("/api/tickets", json={"field": "ho-tich"}, headers=headers).get_json()
    assert once_more["print_status"] == "queued"
    assert wait_until(lambda: job_status(storage, job_id) == "printed", timeout=15)
    with storage.read() as s:
        assert s.scalar(select(func.count(PrintJob.id))) == 1


# ----- the worker's failures are recorded as before --------------------------------------------
@pytest.fixture
def spool_world(tmp_path):
    storage = make_storage(tmp_path)
    field_id = seed_office(storage)
    printer = FakeNetworkPrinter()
    worker = ProcessWorker()
    yield storage, field_id, printer, worker
    worker.close()
    printer.close()
    storage.dispose()


def events_of(storage, kind):
    with storage.read() as s:
        return s.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)).all()


def test_failures_in_the_worker_process_are_recorded_as_before(spool_world, tmp_path):
    storage, field_id, printer, worker = spool_world
    spool = PrintService(storage, make_config(tmp_path, printer.spec), worker=worker)
    assert spool.asynchronous

    # Printer off: nothing was sent, so the job waits for another try.
    printer.up = False
    off = spool.enqueue_token(_token(storage, add_ticket(storage, field_id, 1)))
    assert off["print_status"] == "queued"
    assert wait_until(lambda: events_of(storage, "print_failed"), timeout=10)
    failure = events_of(storage, "print_failed")[-1]
    assert failure.data["retryable"] is True and failure.data["attempt"] == 1
    assert failure.data["printer"] == spool.backend.settings.spec and failure.data["error"]
    row = jobs_of(storage)[0]
    assert row.status == "pending" and row.next_attempt_at is not None

    # The connection breaks in the middle of the picture: failed, for a person to decide.
    printer.up = True
    printer.drop_after = 8000
    cut = spool.enqueue_token(_token(storage, add_ticket(storage, field_id, 2)))
    job_id = cut["job_id"]
    assert wait_until(lambda: job_status(storage, job_id) == "failed", timeout=10)
    assert events_of(storage, "print_failed")[-1].data["retryable"] is False
    assert printer.jobs() == []


def test_a_batch_is_claimed_by_its_ids_however_many_jobs_wait(spool_world, tmp_path):
    """A backlog of 500 tickets waiting for paper: the spool claims a batch of 32 by looking up those
    32. SQLite, with no statistics, chose to walk every waiting job instead: the largest part of the
    spool's own time while a backlog drained."""
    storage, field_id, _printer, worker = spool_world
    spool = PrintService(storage, make_config(tmp_path, "dummy"), worker=worker)
    now = dt.datetime.now(dt.timezone.utc)
    with storage.write() as s:
        office_id = s.scalar(select(Office.id))
        tickets = [Ticket(office_id=office_id, code=f"A{n:03d}", number=n, service_day=now.date(),
                          issued_field_id=field_id, field_id=field_id, priority_rank=1, status="waiting",
                          token=f"backlog-{n}", issued_at=now, call_count=0) for n in range(1, 501)]
        s.add_all(tickets)
        s.flush()
        s.add_all([PrintJob(id=first_print_job_id(t.token), ticket_id=t.id, status="pending", route="local",
                            reprint=False, attempts=0, last_error="", created_at=now,
                            next_attempt_at=now + dt.timedelta(hours=1)) for t in tickets])
    batch = [(first_print_job_id(f"backlog-{n}"), n - 1) for n in range(1, 33)]
    statements = []

    def seen(_conn, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    event.listen(storage.engine, "before_cursor_execute", seen)
    try:
        claimed = spool._settle([], batch)  # what the dispatcher does with a batch it took
    finally:
        event.remove(storage.engine, "before_cursor_execute", seen)
    assert sorted(job_id for job_id, _, _ in claimed) == sorted(job_id for job_id, _ in batch)
    with storage.read() as s:
        by_status = dict(s.execute(select(PrintJob.status, func.count()).group_by(PrintJob.status)).all())
    assert by_status == {"printing": 32, "pending": 468}
    claim, parameters = next((sql, p) for sql, p in statements if sql.startswith("UPDATE print_job SET status"))
    with storage.read() as s:
        plan = " ".join(row[3] for row in s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + claim, parameters))
    assert "ix_print_job_status" not in plan and "(id=?)" in plan, plan


def test_a_batch_handed_to_the_worker_at_once_comes_back_ticket_by_ticket(spool_world, tmp_path):
    """The spool hands a claimed batch over in one message: each ticket is drawn once, and each
    reply belongs to its own request."""
    *_, worker = spool_world
    tickets = [dataclasses.replace(sample_ticket(), code=code, people_ahead=n)
               for n, code in enumerate(("B007", "B008", "B009"))]
    replies = [pending.wait(20) for pending in worker.submit_all([
        {"op": "print", "printer": "dummy?width=58", "preview": str(tmp_path), "job_id": f"batch-{n}",
         "ticket": ticket, "connect_timeout": None} for n, ticket in enumerate(tickets)])]
    assert [reply["ok"] for reply in replies] == [True, True, True]
    assert [reply["data"] for reply in replies] == [encode_ticket(render_ticket(ticket, 384), qr_native=False)
                                                    for ticket in tickets]


def test_a_burst_comes_back_in_a_few_frames_and_a_lone_ticket_on_its_own(tmp_path):
    """The worker's side of the pipe: during a burst, answers that finish close together travel in
    one frame (the server's reader and spool wake once for several tickets); every job is answered
    exactly once, in order; a ticket printed alone is answered in a frame of its own."""
    import pickle
    import subprocess
    import sys

    from printer.worker import FRAME, _read_frame
    from tests.live import ROOT

    child = subprocess.Popen([sys.executable, "-m", "printer.worker"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, cwd=str(ROOT))
    watchdog = threading.Timer(60, child.kill)  # a worker that stops answering fails the test, not the run
    watchdog.start()

    def send(requests_):
        body = pickle.dumps(requests_)
        child.stdin.write(FRAME.pack(len(body)) + body)
        child.stdin.flush()

    def job(n):
        return {"op": "print", "printer": "dummy", "preview": str(tmp_path), "job_id": f"burst-{n}", "id": n,
                "ticket": dataclasses.replace(sample_ticket(), code=f"C{n:03d}"), "connect_timeout": None}

    try:
        send([job(n) for n in range(1, 41)])
        frames = []
        while sum(len(frame) for frame in frames) < 40:
            frames.append(_read_frame(child.stdout))
        answered = [reply["id"] for frame in frames for reply in frame]
        assert answered == list(range(1, 41))
        assert all(reply["ok"] and reply["data"] for frame in frames for reply in frame)
        assert len(frames) < 40  # not one wake of the server per ticket
        send([job(41)])
        assert [reply["id"] for reply in _read_frame(child.stdout)] == [41]
    finally:
        child.stdin.close()
        assert child.wait(20) == 0
        assert child.stdout.read() == b""  # nothing answered twice
        watchdog.cancel()


def test_a_dummy_printers_bytes_stay_in_the_worker_and_each_spool_reads_its_own(spool_world, tmp_path):
    """The worker keeps what a spool's dummy printer printed instead of sending 35 KB back with every
    answer; the spool reads it there when asked. Two spools (two apps of one process) share the one
    worker process and each sees only its own tickets, byte for byte."""
    storage, field_id, _printer, worker = spool_world
    first = PrintService(storage, make_config(tmp_path, "dummy"), worker=worker)
    second = PrintService(storage, make_config(tmp_path, "dummy"), worker=worker)
    tickets = {first: add_ticket(storage, field_id, 1), second: add_ticket(storage, field_id, 2)}
    jobs = {spool: spool.enqueue_token(_token(storage, ticket_id))["job_id"] for spool, ticket_id in tickets.items()}
    assert wait_until(lambda: all(job_status(storage, j) == "printed" for j in jobs.values()), timeout=15)
    for spool, ticket_id in tickets.items():
        with storage.read() as s:
            job = s.get(PrintJob, jobs[spool])
            expected = spool._ticket_print(s, s.get(Ticket, ticket_id), job)
        assert spool.backend.jobs == [(jobs[spool], spool.backend.render(expected)[1])]

    # What the spool sends is answered without the bytes; they are there when read.
    reply = worker.submit(first._print_request("direct-1", sample_ticket(), attempt=2)).wait(20)
    assert reply == {"ok": True}
    assert [job_id for job_id, _ in first.backend.jobs] == [jobs[first], "direct-1"]
    assert [job_id for job_id, _ in second.backend.jobs] == [jobs[second]]


def test_the_print_worker_runs_only_on_cpu_nothing_else_wants(spool_world, tmp_path):
    """Drawing never preempts the server's answers: the worker process is SCHED_IDLE (Linux), and it
    still prints."""
    storage, field_id, printer, worker = spool_world
    spool = PrintService(storage, make_config(tmp_path, printer.spec), worker=worker)
    result = spool.enqueue_token(_token(storage, add_ticket(storage, field_id, 1)))
    assert wait_until(lambda: job_status(storage, result["job_id"]) == "printed", timeout=10)
    assert os.sched_getscheduler(worker.pid) == os.SCHED_IDLE
    assert len(printer.jobs()) == 1


def test_a_worker_killed_mid_print_leaves_the_job_failed_never_resent(spool_world, tmp_path):
    storage, field_id, printer, worker = spool_world
    printer.stall, printer.stalls = 10.0, 1  # takes the job, then keeps the worker waiting
    spool = PrintService(storage, make_config(tmp_path, printer.spec + "?timeout=20"), worker=worker)
    result = spool.enqueue_token(_token(storage, add_ticket(storage, field_id, 1)))
    assert wait_until(lambda: len(printer.jobs()) == 1, timeout=10)
    assert job_status(storage, result["job_id"]) == "printing"
    os.kill(worker.pid, signal.SIGKILL)
    assert wait_until(lambda: job_status(storage, result["job_id"]) == "failed", timeout=10)
    failure = events_of(storage, "print_failed")[-1]
    assert failure.data["retryable"] is False and "dừng đột ngột" in failure.data["error"]
    # the next job gets a new worker
    printer.stall = 0
    second = spool.enqueue_token(_token(storage, add_ticket(storage, field_id, 2)))
    assert wait_until(lambda: job_status(storage, second["job_id"]) == "printed", timeout=15)
    assert spool.retry_due() == 0 and len(printer.jobs()) == 2


def test_a_spool_turn_joins_the_kiosks_commit_and_its_claims_are_on_disk_when_it_returns(spool_world, tmp_path):
    """SQLite under eventlet: the spool's turn (record what printed, claim the next jobs) joins the
    commit that the kiosks' tickets share instead of stopping the hub for an fsync of its own, and
    it returns only once that commit is on disk: a job is never sent before its claim is."""
    storage, field_id, _printer, worker = spool_world
    spool = PrintService(storage, make_config(tmp_path, "dummy"), worker=worker)
    now = dt.datetime.now(dt.timezone.utc)
    tickets = [add_ticket(storage, field_id, n) for n in range(1, 9)]
    job_ids = [first_print_job_id(_token(storage, t)) for t in tickets]
    with storage.write() as s:
        s.add_all([PrintJob(id=job_id, ticket_id=ticket_id, status="pending", route="local", reprint=False,
                            attempts=0, last_error="", created_at=now, next_attempt_at=now + dt.timedelta(hours=1))
                   for job_id, ticket_id in zip(job_ids, tickets)])
    storage.group_commits(lambda: time.sleep(0.002))  # a thread's turn stands in for eventlet's
    commits = []
    event.listen(storage.engine, "commit", lambda _conn: commits.append(1))
    inside, leave = threading.Event(), threading.Event()

    def kiosk():  # a ticket's block, holding its group open until told
        with storage.write(grouped=True) as s:
            s.add(Event(at=now, kind="test", data={}))
            s.flush()
            inside.set()
            leave.wait(10)

    turn: dict = {}

    def spool_turn():
        turn["claimed"] = spool._settle([], [(job_id, n) for n, job_id in enumerate(job_ids)])
        with storage.read() as s:  # another connection: what a crash right now would leave
            turn["on_disk"] = [s.get(PrintJob, job_id).status for job_id in job_ids]

    threads = [threading.Thread(target=kiosk), threading.Thread(target=spool_turn)]
    threads[0].start()
    assert inside.wait(10)
    threads[1].start()
    time.sleep(0.2)  # the spool's turn waits at the open group
    assert "claimed" not in turn  # nothing claimed before the commit
    leave.set()
    for thread in threads:
        thread.join(20)
    assert sorted(job_id for job_id, _, _ in turn["claimed"]) == sorted(job_ids)
    assert turn["on_disk"] == ["printing"] * 8
    assert len(commits) == 1, "the spool's turn paid a commit of its own"


def _token(storage, ticket_id):
    with storage.read() as s:
        return s.get(Ticket, ticket_id).token


# ----- live servers, both async modes --------------------------------------------------------------
class Kiosk:
    """A paired kiosk: issues with its device token and follows its tickets on a socket."""

    def __init__(self, server: LiveServer):
        self.server = server
        r = requests.post(server.url + "/api/devices/pair", json={"code": server.pairing_code("kiosk")}, timeout=10)
        assert r.status_code == 200, r.text
        self.token, self.device_id = r.json()["token"], r.json()["device"]["id"]
        self.events: list[dict] = []
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("print_status", self.events.append)
        self.sio.connect(server.url, transports=["websocket"], auth={"device_token": self.token}, wait_timeout=10)

    def issue(self, field: str = "ho-tich") -> tuple[dict, float]:
        started = time.monotonic()
        r = requests.post(self.server.url + "/api/tickets", json={"field": field},
                          headers={"X-Device-Token": self.token}, timeout=10)
        took = time.monotonic() - started
        assert r.status_code == 201, r.text
        return r.json(), took

    def follow(self, token: str) -> dict:
        return self.sio.call("follow", {"token": token}, timeout=10)

    def heard(self, token: str, status: str, timeout: float = 15) -> bool:
        return wait_until(lambda: any(e["token"] == token and e["status"] == status for e in self.events), timeout)

    def close(self):
        self.sio.disconnect()


def _admin_jobs(server: LiveServer) -> dict[str, dict]:
    headers = server.login(*server.admin)
    jobs = requests.get(server.url + "/api/print-jobs", headers=headers, timeout=10).json()["jobs"]
    return {job["ticket_code"]: job for job in jobs}


@pytest.fixture(params=["eventlet", "threading"])
def mode(request):
    return request.param


@pytest.mark.slow
def test_the_kiosk_hears_how_its_print_went(tmp_path, mode):
    printer = FakeNetworkPrinter(stall=1.5, stalls=2)
    server = LiveServer(tmp_path / "live", async_mode=mode, env={"PRINTER": printer.spec + "?timeout=10"}).start()
    kiosk = board = None
    try:
        kiosk = Kiosk(server)
        board = Kiosk(server)  # another socket that follows nothing
        ticket, took = kiosk.issue()
        assert ticket["print_status"] == "queued" and ticket["printed"] is False
        ack = kiosk.follow(ticket["token"])
        assert ack["code"] == ticket["code"] and ack["print"]["status"] in ("pending", "printing")
        assert kiosk.heard(ticket["token"], "printed")
        event = next(e for e in kiosk.events if e["token"] == ticket["token"])
        assert event == {"token": ticket["token"], "status": "printed", "printed": True}

        # The printer runs out of paper while printing the next one: the kiosk shows the QR.
        second, _ = kiosk.issue()
        assert kiosk.follow(second["token"])["print"]["status"] in ("pending", "printing")
        assert wait_until(lambda: len(printer.jobs()) == 2, timeout=10)
        printer.status = PAPER_OUT  # its confirmation, still held back, will say so
        assert kiosk.heard(second["token"], "failed")
        assert [e["printed"] for e in kiosk.events if e["token"] == second["token"]] == [False]
        time.sleep(0.3)
        assert board.events == []  # print news goes to the ticket's room only
    finally:
        for client in (kiosk, board):
            if client:
                client.close()
        server.stop()
        printer.close()


@pytest.mark.slow
def test_a_slow_printer_never_holds_up_the_other_kiosks(tmp_path, mode):
    """The server's printer takes the first ticket and stays busy with it for 5 s. Meanwhile other
    kiosks (and the same one) get their tickets at once, and a kiosk with its own printer (an
    agent on the kiosk PC) prints; then the server's printer prints the rest, each once, in order."""
    slow = FakeNetworkPrinter(stall=5.0, stalls=1)
    own = FakeNetworkPrinter()
    server = LiveServer(tmp_path / "live", async_mode=mode, env={"PRINTER": slow.spec + "?timeout=10"}).start()
    kiosks, agent = [], None
    try:
        a, b, c = kiosks = [Kiosk(server) for _ in range(3)]
        storage = Storage(f"sqlite:///{server.home / 'motcua-data' / 'motcua.db'}", synchronous="NORMAL")
        with storage.write() as s:
            s.get(Device, c.device_id).settings = {"printer": "agent"}
        storage.dispose()
        agent = PrinterAgent(server.url, c.token, own.spec, state_dir=tmp_path / "agent")
        threading.Thread(target=agent.run, daemon=True).start()
        assert agent.connected.wait(15)

        first, took = a.issue()
        assert took < 1.0 and first["print_status"] == "queued"
        assert wait_until(lambda: len(slow.jobs()) == 1, timeout=10)  # on the printer, which now stalls
        stall_began = time.monotonic()
        answers = [k.issue() for k in (b, b, a, c, b)]
        answered_within = time.monotonic() - stall_began
        assert max(took for _, took in answers) < 1.0, [took for _, took in answers]
        assert answered_within < 2.5  # all of them while the first ticket was still printing
        assert all(t["print_status"] == "queued" for t, _ in answers)

        at_c = answers[3][0]
        followed = c.follow(at_c["token"])["print"]
        assert followed["status"] in ("pending", "printed")
        assert wait_until(lambda: len(own.jobs()) == 1, timeout=4)  # kiosk C's own printer did not wait
        # its kiosk hears it from the agent's acknowledgement (unless the follow already said so)
        assert followed["printed"] or c.heard(at_c["token"], "printed", timeout=4)
        assert _admin_jobs(server)[first["code"]]["status"] == "printing"  # the slow one still is

        server_side = [first["code"]] + [t["code"] for t, _ in answers if t["code"] != at_c["code"]]
        assert wait_until(lambda: all(_admin_jobs(server)[code]["printed"] for code in server_side), timeout=30)
        assert wait_until(lambda: len(slow.jobs()) == 5, timeout=5)
        time.sleep(0.3)
        assert len(slow.jobs()) == 5 and len(own.jobs()) == 1  # each ticket once
        assert _admin_jobs(server)[at_c["code"]]["printed"]
    finally:
        if agent:
            agent.stop()
        for kiosk in kiosks:
            kiosk.close()
        server.stop()
        slow.close()
        own.close()


@pytest.mark.slow
def test_the_thread_worker_prints_under_eventlet_too(tmp_path):
    """worker=thread: drawing and sending in eventlet's thread pool, the database on the hub."""
    printer = FakeNetworkPrinter()
    server = LiveServer(tmp_path / "live", async_mode="eventlet",
                        env={"PRINTER": printer.spec + "?worker=thread"}).start()
    try:
        codes = [server.issue()["code"] for _ in range(6)]
        assert wait_until(lambda: all(_admin_jobs(server)[code]["printed"] for code in codes), timeout=20)
        assert len(printer.jobs()) == 6
    finally:
        server.stop()
        printer.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_editing_a_field_or_the_office_drops_the_drawing_caches(tmp_path, database_url, clock):
    """Issue 8: the drawing caches are dropped when the admin edits the office or a field."""
    from printer import render
    from server.auth import create_user
    from tests.conftest import build

    app = build(tmp_path, database_url, clock, printer="dummy?worker=thread")
    try:
        client = app.test_client()
        create_user(app.extensions["motcua"].storage, "quantri", "mat-khau-quan-tri-1", "admin", "Trần Thị Bình")
        admin = _login_as(client, "quantri", "mat-khau-quan-tri-1")
        spool = app.extensions["motcua"].printing
        for edit in (("PATCH", "/api/admin/fields/ho-tich", {"name": "Hộ tịch – khai sinh"}),
                     ("PATCH", "/api/admin/office", {"name": "UBND phường Mới"})):
            ticket = client.post("/api/tickets", json={"field": "ho-tich"})
            assert ticket.status_code == 201, ticket.get_json()
            assert wait_until(lambda: spool.status_for(ticket.get_json()["token"])["status"] == "printed", 10)
            assert render._header_ink.cache_info().currsize > 0  # the ticket was drawn here, and cached
            method, path, body = edit
            assert client.open(path, method=method, json=body, headers=admin).status_code == 200
            assert render._header_ink.cache_info().currsize == 0, path
    finally:
        app.extensions["motcua"].storage.dispose()


def _login_as(client, username: str, password: str) -> dict:
    r = client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}
