"""The print spool: a committed ticket -> a stored print job -> paper, at most once.

A ticket's first print job is written in the ticket's own transaction (an
engine issue hook: one commit), so a printer that is off, unplugged or out of
paper never loses a ticket, and a ticket never exists without its job. The
kiosk's answer never waits for drawing or sending: it says the print is
`queued`, and the job is drawn, encoded and sent by a print worker
(printer/worker.py: a child process by default) while this spool, on the
server's own thread or event loop, only claims jobs and records outcomes (every
database write stays where the other writes are, never in a worker thread).
When a first print ends, or goes back to waiting after a failure, the kiosk
hears `print_status` {token, status, printed} in the room `ticket:<token>`.

Guarantees (see docs/printing.md):
- One first-print job per ticket: its id is derived from the ticket's token, so
  a retried request finds the same job instead of printing again.
- A job is claimed (`pending` -> `printing`) in a committed transaction before
  a byte is sent; only the one who claimed it sends it.
- "Never printed twice" beats "always printed". A failed send goes back to
  `pending` (and is retried with backoff) only when the backend proves nothing
  printable reached the printer: connection refused, the printer said it had no
  paper or an open cover before we sent anything, or it hung up before the job.
  A send that broke midway, or a printer that stopped answering after the job,
  leaves the job `failed` for the admin, who can reprint (the paper then says
  "In lại"). A job still `printing` when the server starts again (killed
  mid-send) is marked `failed` for the same reason.
- A first print is retried only while the citizen may still be at the kiosk
  (`retry_for`, 10 minutes) and the ticket is still waiting; after that it
  fails so a ticket nobody waits for does not come out of the kiosk later.
- Every failure is an `Event` (kind `print_failed`, the error in `data`).
- Jobs to the server's printer are claimed shortly before they are sent: only as many
  as the printer finishes in half a second (two for a real printer), several in one
  transaction when several tickets wait; outcomes that arrive together are recorded
  together with the next claims. A walk-in ticket's paper is drawn from what its issuing
  request had in hand (`Paper`: its code, field, office and people ahead, as the kiosk was
  answered); a job handed over without it (a retry, after a restart) reads the ticket back.

Kiosks whose device settings say `"printer": "agent"` print through a printer
agent on the kiosk PC (printer/agent.py) over the `/printer` Socket.IO namespace;
the agent keeps its own journal of printed job ids, so re-sending a job after a
reconnect is safe, and the job is `printed` when the agent acknowledges it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import threading
import time
import uuid
from typing import Any, Callable, NamedTuple

from sqlalchemy import bindparam, func, or_, select, update

from printer.backends import DummyBackend, open_backend
from printer.ticket import DEFAULT_FOOTER, PRIORITY_LABELS_VI, TicketPrint
from printer.worker import open_worker
from server.engine import people_ahead
from server.models import Device, Event, Field, Office, PrintJob, Ticket
from server.storage import DirectInsert

log = logging.getLogger(__name__)

JOB_NAMESPACE = uuid.UUID("5d1f2a8e-6c0b-4f7e-9a35-6f2b8c1d0e47")
_JOB_NAMESPACE_BYTES = JOB_NAMESPACE.bytes
NAMESPACE = "/printer"
OPEN_JOB_STATUSES = ("pending", "printing")
STATUS_ORDER = {"failed": 0, "printing": 1, "pending": 2, "printed": 3, "cancelled": 4}
# Statements built once: the issue hook runs in every ticket's transaction, and the dispatcher
# claims and records jobs in batches (ORM objects cost several times more per job).
# The first job of every ticket, written on the driver's cursor (storage.DirectInsert): half the cost.
_INSERT_FIRST_JOB = DirectInsert(PrintJob.__table__, ("id", "ticket_id", "device_id", "status", "route", "reprint",
                                                     "qr_url", "attempts", "last_error", "created_at",
                                                     "next_attempt_at"))
_INSERT_EVENT = DirectInsert(Event.__table__)
_DEVICE_SETTINGS = select(Device.settings).where(Device.id == bindparam("device_id"))


def _claim_first_tries(dialect: str):
    """First tries only: a job never tried cannot be too late (the retry rules start at the second try).

    The batch's ids pick the rows. With no statistics, SQLite's planner would rather walk
    ix_print_job_status through every waiting job than look up 32 ids; `likely()` tells it the
    status test filters little, so it takes the primary key. (Under a backlog of thousands of
    jobs, that walk was the largest part of the spool's own time.)"""
    pending = PrintJob.status == "pending"
    return (update(PrintJob)
            .where(PrintJob.id.in_(bindparam("ids", expanding=True)),
                   func.likely(pending) if dialect == "sqlite" else pending,
                   PrintJob.route == "local", PrintJob.attempts == 0)
            .values(status="printing", attempts=1)
            .returning(PrintJob.id, PrintJob.ticket_id, PrintJob.qr_url, PrintJob.reprint))


_CLAIM_FIRST_TRIES = {dialect: _claim_first_tries(dialect) for dialect in ("sqlite", "postgresql")}
_TICKETS_TO_DRAW = (
    select(Ticket.id, Ticket.code, Ticket.issued_at, Ticket.priority, Ticket.status, Ticket.field_id,
           Ticket.service_day, Ticket.priority_rank, Ticket.booked_start, Ticket.office_id,
           Field.name.label("field_name"))
    .join(Field, Field.id == Ticket.field_id)
    .where(Ticket.id.in_(bindparam("ids", expanding=True))))
_OFFICE_OF = select(Office.name, Office.unit, Office.settings).where(Office.id == bindparam("office_id"))
_MARK_PRINTED = (
    update(PrintJob)
    .where(PrintJob.id.in_(bindparam("ids", expanding=True)))
    .values(status="printed", printed_at=bindparam("now"), next_attempt_at=None)
    .returning(PrintJob.id, PrintJob.ticket_id, PrintJob.device_id, PrintJob.route, PrintJob.reprint,
               PrintJob.attempts, PrintJob.last_error, PrintJob.created_at))
_TOKENS = select(Ticket.id, Ticket.token).where(Ticket.id.in_(bindparam("ids", expanding=True)))


class Paper(NamedTuple):
    """What a new ticket's paper says, as the issuing request had it in hand: the spool prints from
    it instead of reading the ticket, its field and its office back (two statements a batch)."""

    token: str
    code: str
    field_name: str
    priority: str | None
    issued_at: dt.datetime
    office: Any  # the engine's OfficeInfo: name, unit, settings
    booked_start: dt.datetime | None = None  # always None: a booked ticket's paper is read back


def first_print_job_id(ticket_token: str) -> str:
    """The same ticket always gets the same first job id, on every retry of the issuing request:
    `str(uuid.uuid5(JOB_NAMESPACE, token))`, spelt out (the uuid module's objects cost three times
    as much, on every ticket; the ids stored by earlier versions are these same strings)."""
    digest = bytearray(hashlib.sha1(_JOB_NAMESPACE_BYTES + ticket_token.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class PrintService:
    # How long the printer may take to accept a connection on a job's first try: a printer
    # that is off fails fast, and the job is tried again with the full timeout.
    first_try_connect_timeout = 0.3
    agent_wait = 0.5  # how long a synchronous submit() waits for an agent's acknowledgement
    agent_resend_after = dt.timedelta(seconds=30)
    retry_base = dt.timedelta(seconds=2)
    retry_max = dt.timedelta(seconds=60)
    retry_for = dt.timedelta(minutes=10)
    loop_interval = 1.0
    # A new first job belongs to the dispatcher that was handed it; the retry loop takes it only
    # if it is still untouched this long after (the process died before sending it).
    first_dispatch_grace = dt.timedelta(seconds=15)
    # Jobs claimed ahead of the printer: as many as it finishes in `claim_ahead` seconds (from how
    # long its recent jobs took), at least 2 and at most `claim_batch`. A real printer (a second a
    # ticket) has 2 in hand; a preview or dummy printer has dozens, claimed in one commit.
    claim_batch = 32
    claim_ahead = 0.5
    settle_window = 0.2  # seconds: outcomes this close together are recorded in one commit
    worker_warm_up_after = 1.0  # seconds after start()

    def __init__(self, storage, config, socketio=None, clock: Callable[[], dt.datetime] | None = None,
                 engine=None, worker=None):
        """`engine`: the queue engine whose tickets this spool prints (their first job is written in
        the ticket's transaction). `worker`: process, thread or inline (default: the PRINTER's
        `worker=` option, else process when there is a socketio, inline without one)."""
        self.storage = storage
        self.config = config
        self.socketio = socketio
        self.clock = clock or _utcnow
        self.preview_folder = config.instance_path / "prints"
        self.backend = open_backend(config.printer, preview_folder=self.preview_folder)
        kind = worker or self.backend.settings.options.get("worker") or ("process" if socketio is not None else "inline")
        self.worker = open_worker(kind) if isinstance(kind, str) else kind
        self.on_change: Callable[[dict], None] | None = None  # e.g. the core's admin notifier
        self._agents: dict[str, int] = {}  # socket id -> kiosk device id
        self._stopping = threading.Event()
        self._started = False
        # Jobs handed to the dispatchers and not finished yet (queued or being printed).
        self._in_hand: set[str] = set()
        self._hand_lock = threading.Lock()
        self._papers: dict[str, Paper] = {}  # jobs in hand whose request told what the paper says
        self._offices = None  # the engine's cached offices, once attached
        self._local_jobs: queue.Queue = queue.Queue()
        self._agent_jobs: queue.Queue = queue.Queue()
        self._dispatching = False
        if engine is not None:
            self.attach(engine)

    def attach(self, engine) -> None:
        """Write each new ticket's first print job in the ticket's own transaction, and drop the
        drawing caches when the admin edits an office or its fields."""
        self._offices = engine.offices
        if self._write_first_job not in engine.issue_hooks:
            engine.issue_hooks.append(self._write_first_job)
            engine.listeners.append(self._on_change)

    def _on_change(self, changes) -> None:
        if any(c.kind == "config_changed" and c.data.get("what") in ("office", "fields") for c in changes):
            self.forget()

    @property
    def asynchronous(self) -> bool:
        return self.worker.kind != "inline"

    # ----- the kiosk's call -------------------------------------------------
    def _write_first_job(self, conn, issued) -> None:
        """Engine issue hook: runs inside the ticket's transaction, on its connection."""
        route = "local"
        if issued.device_id is not None:
            device = issued.context.get("device")  # the kiosk as this request read it a moment ago
            if getattr(device, "id", None) == issued.device_id:
                settings = device.settings
            else:
                settings = conn.execute(_DEVICE_SETTINGS, {"device_id": issued.device_id}).scalar()
            route = "agent" if (settings or {}).get("printer") == "agent" else "local"
        job_id = first_print_job_id(issued.token)
        now = self.clock()
        _INSERT_FIRST_JOB(conn, {
            "id": job_id, "ticket_id": issued.id, "device_id": issued.device_id, "status": "pending", "route": route,
            "reprint": False, "qr_url": self._qr_url(issued.token, issued.context.get("base_url")), "attempts": 0,
            "last_error": "", "created_at": now, "next_attempt_at": now + self.first_dispatch_grace})
        issued.context["print_job"] = {"job_id": job_id, "route": route, "issued_at": issued.issued_at,
                                       "office_id": issued.office_id}

    def after_issue(self, ticket: dict, context: dict, device_id: int | None = None) -> dict:
        """The ticket-issue endpoint's call, after the commit: hand the job over and answer at once.

        `context` is the dict the endpoint gave the engine: the issue hook left the job there. A
        replayed request (or an engine this spool is not attached to) finds the job by the
        ticket's token: an existing job answers as it stands, a missing one is made now."""
        job = context.get("print_job")
        if job is None:
            return self.enqueue_token(ticket["token"], device_id, context.get("base_url"), ahead=ticket.get("ahead"))
        self.dispatch(job["job_id"], job["route"], ahead=ticket.get("ahead"), paper=self._paper(ticket, job))
        return {"printed": False, "print_status": "queued", "job_id": job["job_id"]}

    def _paper(self, ticket: dict, job: dict) -> Paper | None:
        """The paper of a walk-in ticket from the issuing answer (None: the spool reads the ticket)."""
        office = self._offices.get(job["office_id"]) if self._offices is not None else None
        if office is None or ticket.get("booked_start") or ticket.get("ahead") is None:
            return None
        return Paper(ticket["token"], ticket["code"], ticket["field_name"], ticket.get("priority"), job["issued_at"],
                     office)

    def enqueue_token(self, token: str, device_id: int | None = None, base_url: str | None = None,
                      ahead: int | None = None) -> dict:
        """A job for the ticket with this token, unless it has one; queued at once. `ahead`: the
        people ahead as the issuing answer counted them, printed as they were told."""
        with self.storage.write() as s:
            ticket = s.scalar(select(Ticket).where(Ticket.token == token))
            if ticket is None:
                raise LookupError("no such ticket")
            job_id = first_print_job_id(token)
            existing = s.get(PrintJob, job_id)
            if existing is not None:  # a retried request: the same job, as it stands
                return {"printed": existing.status == "printed", "print_status": existing.status, "job_id": job_id}
            device_id = device_id if device_id is not None else ticket.device_id
            route = "agent" if self._device_uses_agent(s, device_id) else "local"
            now = self.clock()
            s.add(PrintJob(id=job_id, ticket_id=ticket.id, device_id=device_id, status="pending", route=route,
                           reprint=False, qr_url=self._qr_url(token, base_url), attempts=0, last_error="",
                           created_at=now, next_attempt_at=now + self.first_dispatch_grace))
        if self.asynchronous:
            self.dispatch(job_id, route, ahead=ahead)
            return {"printed": False, "print_status": "queued", "job_id": job_id}
        self._attempt(job_id, connect_timeout=self.first_try_connect_timeout, wait_for_agent=True)
        result = self.job(job_id)
        return {"printed": result["printed"], "print_status": result["status"], "job_id": job_id}

    def submit(self, ticket_id: int, device_id: int | None = None, reprint: bool = False,
               base_url: str | None = None, requested_by: int | None = None) -> dict:
        """Store a job for a committed ticket and try it once, waiting for the outcome (a reprint, a
        test). The print itself runs in the worker; never raises for printer trouble."""
        with self.storage.write() as s:
            ticket = s.get(Ticket, ticket_id)
            if ticket is None:
                raise LookupError(f"no ticket {ticket_id}")
            job_id = str(uuid.uuid4()) if reprint else first_print_job_id(ticket.token)
            existing = s.get(PrintJob, job_id)
            if existing is not None:  # the issuing request was retried: same job, no second print
                return self._result(existing)
            device_id = device_id if device_id is not None else ticket.device_id
            s.add(PrintJob(
                id=job_id,
                ticket_id=ticket.id,
                device_id=device_id,
                status="pending",
                route="agent" if self._device_uses_agent(s, device_id) else "local",
                reprint=reprint,
                qr_url=self._qr_url(ticket.token, base_url),
                attempts=0,
                last_error="",
                created_at=self.clock(),
                next_attempt_at=self.clock(),
                requested_by=requested_by,
            ))
        self._attempt(job_id, connect_timeout=self.first_try_connect_timeout, wait_for_agent=True)
        return self.job(job_id)

    def submit_token(self, token: str, device_id: int | None = None, track_url: str | None = None) -> dict:
        """By token, with the ticket's track URL for the QR code; waits for the outcome like submit()."""
        with self.storage.read() as s:
            ticket_id = s.scalar(select(Ticket.id).where(Ticket.token == token))
        if ticket_id is None:
            raise LookupError("no such ticket")
        base = track_url.rsplit("/t/", 1)[0] if track_url else None
        return self.submit(ticket_id, device_id=device_id, base_url=base)

    def status_for(self, token: str) -> dict:
        """The first print's state, for a replayed issuing request and a kiosk that follows its ticket."""
        return self.job(first_print_job_id(token)) or {"job_id": None, "status": "none", "printed": False}

    # ----- the admin's calls ------------------------------------------------
    def reprint(self, ticket_id: int, requested_by: int | None = None, base_url: str | None = None) -> dict:
        with self.storage.read() as s:
            ticket = s.get(Ticket, ticket_id)
            if ticket is None:
                raise LookupError(f"no ticket {ticket_id}")
            first = s.get(PrintJob, first_print_job_id(ticket.token))
        base = None if first is None or not first.qr_url else first.qr_url.rsplit("/t/", 1)[0]
        result = self.submit(ticket_id, reprint=True, base_url=base_url or base, requested_by=requested_by,
                             device_id=first.device_id if first is not None else None)
        self._record(None, ticket_id, "print_reprint", {"job_id": result["job_id"]}, user_id=requested_by)
        return result

    def cancel(self, job_id: str, user_id: int | None = None) -> dict | None:
        """Cancel a job that has not printed. A job being sent right now cannot be stopped."""
        with self.storage.write() as s:
            job = s.get(PrintJob, job_id)
            if job is None:
                return None
            cancelled = job.status in ("pending", "failed")
            if cancelled:
                job.status = "cancelled"
                job.next_attempt_at = None
                s.add(Event(at=self.clock(), kind="print_cancelled", ticket_id=job.ticket_id,
                            device_id=job.device_id, user_id=user_id, data={"job_id": job.id}))
            result = self._result(job)
            token = s.scalar(select(Ticket.token).where(Ticket.id == job.ticket_id)) if cancelled else None
        if token:
            self._tell_kiosk(result, token)
        self._notify(result)
        return result

    def jobs(self, status: str | None = None, limit: int = 200, office: int | None = None) -> list[dict]:
        """Most urgent first: failures, then jobs in flight, then waiting, then the rest, newest first.
        `office`: that office's tickets only (an office's admin sees its own hall)."""
        with self.storage.read() as s:
            query = (select(PrintJob, Ticket.code).join(Ticket, Ticket.id == PrintJob.ticket_id)
                     .order_by(PrintJob.created_at.desc()).limit(limit))
            if status:
                query = query.where(PrintJob.status == status)
            if office is not None:
                query = query.where(Ticket.office_id == office)
            rows = [self._result(job, code=code) for job, code in s.execute(query)]
        return sorted(rows, key=lambda r: STATUS_ORDER.get(r["status"], 9))

    def job(self, job_id: str) -> dict | None:
        with self.storage.read() as s:
            row = s.execute(select(PrintJob, Ticket.code).join(Ticket, Ticket.id == PrintJob.ticket_id)
                            .where(PrintJob.id == job_id)).first()
            return self._result(row[0], code=row[1]) if row else None

    def printer_status(self) -> dict:
        settings = self.backend.settings
        wait = 1.0 + settings.timeout + 2.0
        reply = self.worker.submit({"op": "status", **self._printer(), "connect_timeout": 1.0}).wait(wait)
        if reply is not None and reply.get("ok"):
            status = reply["status"]
        else:  # still printing a long job, or the worker is gone
            status = {"reachable": False, "answered": False, "online": None, "cover_open": None, "paper_out": None,
                      "paper_near_end": None, "ready": False,
                      "problem": (reply or {}).get("error") or "Máy in đang bận in vé khác; hãy thử lại sau"}
        status["printer"] = settings.spec
        status["paper_width_dots"] = settings.width
        status["agents_connected"] = sorted(set(self._agents.values()))
        return status

    def forget(self) -> None:
        """Drop the drawing caches (the admin edited the office or a field). They are keyed by what
        is drawn, so this frees memory; nothing stale could be printed anyway."""
        from printer.render import forget

        forget()
        if self.worker.kind == "process":
            self.worker.submit({"op": "forget"})

    # ----- handing jobs to the dispatchers --------------------------------------
    def dispatch(self, job_id: str, route: str, ahead: int | None = None, paper: Paper | None = None) -> None:
        """Queue a pending job for its printer (or agent); a job already in hand is not queued twice.
        `paper`: what the issuing request knew of the ticket (a local first try prints from it)."""
        with self._hand_lock:
            if job_id in self._in_hand:
                return
            self._in_hand.add(job_id)
            if paper is not None and route == "local":
                self._papers[job_id] = paper
            start = not self._dispatching
            self._dispatching = True
        if start:
            self._run_in_background(self._print_locally)
            self._run_in_background(self._send_to_agents)
        (self._agent_jobs if route == "agent" else self._local_jobs).put((job_id, ahead))

    def _let_go(self, job_ids) -> None:
        with self._hand_lock:
            self._in_hand.difference_update(job_ids)
            for job_id in job_ids:
                self._papers.pop(job_id, None)

    def _print_locally(self) -> None:
        """The server's printer. One transaction per turn records the jobs that are over and claims
        the next ones, so a burst of tickets costs a few commits, not three per ticket; a job is
        claimed, committed, and only then sent."""
        in_flight: list[tuple[str, Any]] = []  # (job id, the worker's Pending), oldest first
        over: list[tuple[str, dict]] = []  # finished, not recorded yet
        per_job = 1.0  # seconds a job takes the printer, smoothed; a new printer counts as slow
        while not self._stopping.is_set():
            room = max(2, min(self.claim_batch, int(self.claim_ahead / per_job))) - len(in_flight)
            batch = self._take(room, wait=not in_flight and not over)
            if batch is None:
                return
            try:
                claimed = self._settle(over, batch)
            except Exception:  # keep printing: one bad row must not stop the spool
                log.exception("print spool: recording %s, claiming %s", [j for j, _ in over], [j for j, _ in batch])
                claimed = []
            self._let_go([job_id for job_id, _ in over] + [job_id for job_id, _ in batch
                                                            if job_id not in {c[0] for c in claimed}])
            over = []
            sent = self.worker.submit_all([self._print_request(job_id, ticket, attempt)
                                           for job_id, ticket, attempt in claimed]) if claimed else []
            in_flight += [(job_id, pending) for (job_id, _, _), pending in zip(claimed, sent)]
            if in_flight:
                started = time.monotonic()
                over = self._collect(in_flight)
                in_flight = in_flight[len(over):]
                took = (time.monotonic() - started) / len(over)
                per_job = 0.7 * per_job + 0.3 * took

    def _take(self, count: int, wait: bool) -> list[tuple[str, int | None]] | None:
        """Up to `count` queued jobs; waits for one only when `wait`. None: the spool is stopping."""
        batch = []
        while len(batch) < count:
            try:
                item = self._local_jobs.get() if wait and not batch else self._local_jobs.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return None
            batch.append(item)
        return batch

    def _collect(self, in_flight: list[tuple[str, Any]]) -> list[tuple[str, dict]]:
        """Wait for the oldest job in the worker's hands, then give the next ones `settle_window` to
        finish too (a fast printer: one commit for several); returns the finished ones, in order."""
        over = [(in_flight[0][0], in_flight[0][1].wait())]
        deadline = time.monotonic() + self.settle_window
        for job_id, pending in in_flight[1:]:
            reply = pending.wait(max(0.0, deadline - time.monotonic()))
            if reply is None:
                break
            over.append((job_id, reply))
        return over

    def _settle(self, over: list[tuple[str, dict]], batch: list[tuple[str, int | None]]
                ) -> list[tuple[str, TicketPrint, int]]:
        """One transaction: record the outcomes in `over`, claim the jobs of `batch` still waiting."""
        if not over and not batch:
            return []
        told, claimed = [], []
        now = self.clock()
        with self.storage.write() as s:
            conn = s.connection()
            printed = [(job_id, reply) for job_id, reply in over if reply.get("ok")]
            if printed:
                told.extend(self._mark_all_printed(conn, printed, now))
            for job_id, reply in over:
                if not reply.get("ok"):
                    told.extend(self._record_outcome(s, job_id, reply))
            ahead_of = dict(batch)
            first = conn.execute(_CLAIM_FIRST_TRIES[conn.dialect.name], {"ids": list(ahead_of)}).all() if batch else []
            if first:
                claimed.extend(self._first_tries(conn, first, ahead_of))
            taken = {row.id for row in first}
            for job_id, _ahead in batch:  # retries: the rules about waiting tickets and late prints apply
                if job_id in taken:
                    continue
                job = s.get(PrintJob, job_id)
                if job is None or job.status != "pending" or job.route != "local":
                    continue
                ticket = s.get(Ticket, job.ticket_id)
                reason = self._too_late(job, ticket, now)
                if reason:
                    told.append((self._give_up(s, job, reason, now), ticket.token))
                    continue
                update_ = s.execute(update(PrintJob).where(PrintJob.id == job_id, PrintJob.status == "pending")
                                    .values(status="printing", attempts=PrintJob.attempts + 1))
                if update_.rowcount != 1:
                    continue  # another process took it first
                claimed.append((job_id, self._ticket_print(s, ticket, job), job.attempts + 1))
        for result, token in told:
            self._after(result, token)
        return claimed

    def _first_tries(self, conn, jobs, ahead_of: dict) -> list[tuple[str, TicketPrint, int]]:
        papers = {job.id: self._papers.get(job.id) for job in jobs}
        unknown = [job.ticket_id for job in jobs if papers[job.id] is None]
        tickets = {row.id: row for row in conn.execute(_TICKETS_TO_DRAW, {"ids": unknown})} if unknown else {}
        offices = {}
        out = []
        for job in jobs:
            paper = papers[job.id]
            if paper is not None:  # as the issuing request had it: its office, its count of people ahead
                drawn = self._drawn(paper, paper.field_name, paper.office, job.qr_url, job.reprint, ahead_of[job.id])
                out.append((job.id, drawn, 1))
                continue
            ticket = tickets[job.ticket_id]
            if ticket.office_id not in offices:  # each ticket's paper carries its own office's name
                offices[ticket.office_id] = conn.execute(_OFFICE_OF, {"office_id": ticket.office_id}).first()
            office = offices[ticket.office_id]
            ahead = ahead_of.get(job.id)
            if ahead is None:  # handed over without the count (after a restart): count now
                ahead = people_ahead(conn, ticket)
            out.append((job.id, self._drawn(ticket, ticket.field_name, office, job.qr_url, job.reprint, ahead), 1))
        return out

    def _mark_all_printed(self, conn, printed: list[tuple[str, dict]], now: dt.datetime) -> list[tuple[dict, str]]:
        for job_id, reply in printed:
            self._keep_dummy_bytes(job_id, reply)
        rows = conn.execute(_MARK_PRINTED, {"ids": [job_id for job_id, _ in printed], "now": now}).all()
        if not rows:
            return []
        _INSERT_EVENT.many(conn, [
            {"office_id": None, "at": now, "kind": "printed", "ticket_id": r.ticket_id, "field_id": None,
             "counter_id": None, "user_id": None, "device_id": r.device_id,
             "data": {"job_id": r.id, "reprint": r.reprint, "attempts": r.attempts}} for r in rows])
        tokens = {r.ticket_id: self._papers[r.id].token for r in rows if r.id in self._papers}
        unknown = [r.ticket_id for r in rows if r.ticket_id not in tokens]
        if unknown:
            tokens.update(conn.execute(_TOKENS, {"ids": unknown}).all())
        return [({"job_id": r.id, "status": "printed", "printed": True, "ticket_id": r.ticket_id,
                  "ticket_code": None, "device_id": r.device_id, "route": r.route, "reprint": r.reprint,
                  "attempts": r.attempts, "last_error": r.last_error,
                  "created_at": r.created_at.isoformat() if r.created_at else None,
                  "next_attempt_at": None, "printed_at": now.isoformat()}, tokens.get(r.ticket_id)) for r in rows]

    def _send_to_agents(self) -> None:
        while not self._stopping.is_set():
            item = self._agent_jobs.get()
            if item is None:
                return
            try:
                self._attempt(item[0], connect_timeout=None)
            except Exception:
                log.exception("sending job %s to its agent", item[0])
            finally:
                self._let_go([item[0]])

    def _print_request(self, job_id: str, ticket: TicketPrint, attempt: int) -> dict:
        return {"op": "print", **self._printer(), "job_id": job_id, "ticket": ticket,
                "connect_timeout": self.first_try_connect_timeout if attempt == 1 else None}

    def _printer(self) -> dict:
        return {"printer": self.config.printer, "preview": str(self.preview_folder)}

    def _record_outcomes(self, outcomes: list[tuple[str, dict]]) -> None:
        with self.storage.write() as s:
            told = [t for job_id, reply in outcomes for t in self._record_outcome(s, job_id, reply)]
        for result, token in told:
            self._after(result, token)

    def _record_outcome(self, s, job_id: str, reply: dict) -> list[tuple[dict, str]]:
        job = s.get(PrintJob, job_id)
        if job is None:
            return []
        if reply.get("ok"):
            self._keep_dummy_bytes(job_id, reply)
            result = self._mark_printed(s, job)
        else:
            result = self._mark_failed(s, job, reply.get("error") or "Lỗi khi in", bool(reply.get("retryable")))
        if result is None:
            return []
        return [(result, s.scalar(select(Ticket.token).where(Ticket.id == job.ticket_id)))]

    def _keep_dummy_bytes(self, job_id: str, reply: dict) -> None:
        if isinstance(self.backend, DummyBackend) and "data" in reply:
            self.backend.keep(job_id, reply["data"])

    # ----- the retry loop ---------------------------------------------------
    def start(self) -> None:
        """Recover after a restart, then retry due jobs in the background."""
        if self._started:
            return
        self._started = True
        self.recover_interrupted()
        if hasattr(self.worker, "start"):
            self._run_in_background(self._warm_worker)
        self._run_in_background(self._loop)

    def _warm_worker(self) -> None:
        """Start the print worker soon after the server, not during its start (a job starts it anyway)."""
        self._sleep(self.worker_warm_up_after)
        try:
            self.worker.start()
        except OSError:
            log.warning("print worker did not start; the first job will try again", exc_info=True)

    def _run_in_background(self, work) -> None:
        if self.socketio is not None:
            self.socketio.start_background_task(work)
        else:
            threading.Thread(target=work, name=f"motcua-print-{work.__name__}", daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        self._local_jobs.put(None)
        self._agent_jobs.put(None)

    def recover_interrupted(self) -> None:
        """Jobs left `printing` by a killed server may be on paper: a person decides, we do not resend."""
        with self.storage.write() as s:
            stuck = s.scalars(select(PrintJob).where(PrintJob.status == "printing",
                                                     PrintJob.route == "local")).all()
            for job in stuck:
                job.status = "failed"
                job.last_error = "Máy chủ dừng khi đang in; vé có thể đã in hoặc chưa"
                s.add(Event(at=self.clock(), kind="print_failed", ticket_id=job.ticket_id,
                            device_id=job.device_id, data={"job_id": job.id, "error": job.last_error,
                                                           "retryable": False, "interrupted": True}))

    def _sleep(self, seconds: float) -> None:
        if self.socketio is not None:
            self.socketio.sleep(seconds)
        else:
            self._stopping.wait(seconds)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.retry_due()
            except Exception:  # keep retrying: one bad row must not stop the spool
                log.exception("print retry loop")
            self._sleep(self.loop_interval)

    def retry_due(self) -> int:
        """Try every job whose time has come (hand it to its dispatcher, or here and now without a
        worker); returns how many were due."""
        now = self.clock()
        with self.storage.read() as s:
            rows = s.execute(select(PrintJob.id, PrintJob.route, PrintJob.device_id).where(
                PrintJob.status == "pending",
                or_(PrintJob.next_attempt_at.is_(None), PrintJob.next_attempt_at <= now),
            ).order_by(PrintJob.created_at)).all()
        connected = set(self._agents.values())
        due = [(job_id, route) for job_id, route, device_id in rows if route == "local" or device_id in connected]
        for job_id, route in due:
            if self.asynchronous:
                self.dispatch(job_id, route)
            else:
                self._attempt(job_id, connect_timeout=None)
        return len(due)

    # ----- one attempt, waiting for it (submit, agents, no worker) ---------------
    def _attempt(self, job_id: str, connect_timeout: float | None, wait_for_agent: bool = False) -> None:
        claim = self._claim(job_id)
        if claim is None:
            return
        job_route, ticket = claim
        if job_route == "agent":
            self._send_to_agent(job_id, ticket, wait_for_agent)
            return
        reply = self.worker.submit({"op": "print", **self._printer(), "job_id": job_id, "ticket": ticket,
                                    "connect_timeout": connect_timeout}).wait()
        self._record_outcomes([(job_id, reply)])

    def _claim(self, job_id: str) -> tuple[str, TicketPrint] | None:
        """pending -> printing (local) in one committed transaction; returns what to print, or None."""
        now = self.clock()
        gave_up = None
        with self.storage.write() as s:
            job = s.get(PrintJob, job_id)
            if job is None or job.status != "pending":
                return None
            ticket = s.get(Ticket, job.ticket_id)
            reason = self._too_late(job, ticket, now)
            if reason:
                gave_up = (self._give_up(s, job, reason, now), ticket.token)
            else:
                if job.route == "local":
                    claimed = s.execute(update(PrintJob).where(PrintJob.id == job_id, PrintJob.status == "pending")
                                        .values(status="printing", attempts=PrintJob.attempts + 1))
                    if claimed.rowcount != 1:
                        return None
                # Agent jobs stay `pending` until acknowledged: the agent deduplicates by job id.
                return job.route, self._ticket_print(s, ticket, job)
        self._after(*gave_up)
        return None

    def _too_late(self, job: PrintJob, ticket: Ticket, now: dt.datetime) -> str | None:
        if job.reprint or job.attempts == 0:
            return None
        if ticket.status != "waiting":
            return "Vé không còn chờ gọi; không in nữa"
        if now - job.created_at > self.retry_for:
            return "Quá thời gian chờ máy in; không in nữa (có thể in lại)"
        return None

    def _give_up(self, s, job: PrintJob, reason: str, now: dt.datetime) -> dict:
        job.status = "failed"
        job.last_error = reason
        job.next_attempt_at = None
        s.add(Event(at=now, kind="print_failed", ticket_id=job.ticket_id, device_id=job.device_id,
                    data={"job_id": job.id, "error": reason, "retryable": False, "gave_up": True}))
        return self._result(job)

    # ----- outcomes ----------------------------------------------------------
    def _printed(self, job_id: str) -> None:
        with self.storage.write() as s:
            job = s.get(PrintJob, job_id)
            result = self._mark_printed(s, job)
            token = s.scalar(select(Ticket.token).where(Ticket.id == job.ticket_id))
        self._after(result, token)

    def _failed(self, job_id: str, error: str, retryable: bool) -> None:
        with self.storage.write() as s:
            job = s.get(PrintJob, job_id)
            result = self._mark_failed(s, job, error, retryable)
            token = s.scalar(select(Ticket.token).where(Ticket.id == job.ticket_id)) if result else None
        if result is not None:
            self._after(result, token)

    def _mark_printed(self, s, job: PrintJob) -> dict:
        job.status = "printed"
        job.printed_at = self.clock()
        job.next_attempt_at = None
        s.add(Event(at=job.printed_at, kind="printed", ticket_id=job.ticket_id, device_id=job.device_id,
                    data={"job_id": job.id, "reprint": job.reprint, "attempts": job.attempts}))
        return self._result(job)

    def _mark_failed(self, s, job: PrintJob, error: str, retryable: bool) -> dict | None:
        if job.status in ("printed", "cancelled"):
            return None
        now = self.clock()
        job.last_error = error[:500]
        if retryable:
            job.status = "pending"
            backoff = min(self.retry_max, self.retry_base * (2 ** max(0, job.attempts - 1)))
            job.next_attempt_at = now + backoff
        else:
            job.status = "failed"
            job.next_attempt_at = None
        s.add(Event(at=now, kind="print_failed", ticket_id=job.ticket_id, device_id=job.device_id,
                    data={"job_id": job.id, "error": error[:500], "retryable": retryable,
                          "attempt": job.attempts, "printer": self.backend.settings.spec
                          if job.route == "local" else "agent"}))
        return self._result(job)

    def _after(self, result: dict, token: str | None) -> None:
        if token:
            self._tell_kiosk(result, token)
        self._notify(result)

    def _tell_kiosk(self, result: dict, token: str) -> None:
        """`print_status` to whoever follows the ticket (the kiosk that issued it), for its first print."""
        if self.socketio is None or result.get("reprint"):
            return
        try:
            self.socketio.emit("print_status", {"token": token, "status": result["status"],
                                                "printed": result["printed"]}, to=f"ticket:{token}")
        except Exception:  # the kiosk falls back to the QR on its own
            log.warning("print_status for %s not sent", result.get("job_id"), exc_info=True)

    # ----- reading the ticket -------------------------------------------------
    def _ticket_print(self, s, ticket: Ticket, job: PrintJob, ahead: int | None = None) -> TicketPrint:
        """What goes on the paper. `ahead`: the count the issuing request just made (first try)."""
        field = s.get(Field, ticket.field_id)
        office = s.execute(_OFFICE_OF, {"office_id": ticket.office_id}).first()
        if ahead is None:
            ahead = people_ahead(s, ticket)  # the queue's own rule, from the engine
        return self._drawn(ticket, field.name, office, job.qr_url, job.reprint, ahead)

    def _drawn(self, ticket, field_name: str, office, qr_url: str | None, reprint: bool, ahead: int) -> TicketPrint:
        settings = (office.settings or {}) if office else {}
        booked = getattr(ticket, "booked_start", None)
        if booked is not None:  # a booked ticket says so on the paper, as a priority ticket does
            label = f"Đặt lịch {booked.astimezone(self.config.tz):%H:%M}"
        else:
            label = PRIORITY_LABELS_VI.get(ticket.priority) if ticket.priority else None
        return TicketPrint(
            office_name=office.name if office else "Bộ phận một cửa",
            unit=office.unit if office else "",
            field_name=field_name,
            code=ticket.code,
            people_ahead=int(ahead or 0),
            issued_at=ticket.issued_at,
            priority_label=label,
            qr_url=qr_url,
            footer=settings.get("ticket_footer") or DEFAULT_FOOTER,
            reprint=reprint,
            timezone=self.config.timezone,
        )

    def _qr_url(self, token: str, base_url: str | None) -> str | None:
        base = self.config.public_url or base_url
        return f"{base.rstrip('/')}/t/{token}" if base else None

    @staticmethod
    def _device_uses_agent(s, device_id: int | None) -> bool:
        if device_id is None:
            return False
        device = s.get(Device, device_id)
        return device is not None and (device.settings or {}).get("printer") == "agent"

    def _result(self, job: PrintJob, code: str | None = None) -> dict:
        return {
            "job_id": job.id,
            "status": job.status,
            "printed": job.status == "printed",
            "ticket_id": job.ticket_id,
            "ticket_code": code,
            "device_id": job.device_id,
            "route": job.route,
            "reprint": job.reprint,
            "attempts": job.attempts,
            "last_error": job.last_error,
            "created_at": job.created_at.isoformat() if job.created_at else None,
            "next_attempt_at": job.next_attempt_at.isoformat() if job.next_attempt_at else None,
            "printed_at": job.printed_at.isoformat() if job.printed_at else None,
        }

    def _record(self, job_id, ticket_id, kind, data, user_id=None) -> None:
        with self.storage.write() as s:
            s.add(Event(at=self.clock(), kind=kind, ticket_id=ticket_id, user_id=user_id, data=data))

    def _notify(self, result: dict) -> None:
        if self.on_change is not None:
            try:
                self.on_change(result)
            except Exception:
                log.exception("print job listener")

    # ----- printer agents -----------------------------------------------------
    def _send_to_agent(self, job_id: str, ticket: TicketPrint, wait: bool) -> None:
        with self.storage.write() as s:
            job = s.get(PrintJob, job_id)
            device_id = job.device_id
            if self.socketio is None or device_id not in self._agents.values():
                job.next_attempt_at = None  # stays pending; sent when the agent connects
                return
            job.attempts += 1
            job.next_attempt_at = self.clock() + self.agent_resend_after  # resent if no acknowledgement
        self.socketio.emit("print_job", {"job_id": job_id, "ticket": ticket.to_dict()},
                           to=agent_room(device_id), namespace=NAMESPACE)
        deadline = time.monotonic() + (self.agent_wait if wait else 0)
        while time.monotonic() < deadline:
            self.socketio.sleep(0.02)
            with self.storage.read() as s:
                if s.get(PrintJob, job_id).status != "pending":
                    return

    def agent_connected(self, sid: str, device_id: int) -> list[dict]:
        """Remember the agent and return every job it has not acknowledged, oldest first."""
        self._agents[sid] = device_id
        payloads = []
        with self.storage.write() as s:
            jobs = s.scalars(select(PrintJob).where(PrintJob.device_id == device_id, PrintJob.route == "agent",
                                                    PrintJob.status == "pending")
                             .order_by(PrintJob.created_at)).all()
            for job in jobs:
                ticket = s.get(Ticket, job.ticket_id)
                if self._too_late(job, ticket, self.clock()):
                    continue  # the retry loop fails it and records why
                job.attempts += 1
                job.next_attempt_at = self.clock() + self.agent_resend_after
                payloads.append({"job_id": job.id, "ticket": self._ticket_print(s, ticket, job).to_dict()})
        return payloads

    def agent_disconnected(self, sid: str) -> None:
        self._agents.pop(sid, None)

    def agent_ack(self, sid: str, data: Any) -> dict | None:
        """`print_ack` from an agent: {job_id, status: printed|failed, retryable, error}."""
        device_id = self._agents.get(sid)
        if device_id is None or not isinstance(data, dict):
            return None
        job_id = str(data.get("job_id", ""))
        with self.storage.read() as s:
            job = s.get(PrintJob, job_id)
            if job is None or job.device_id != device_id or job.route != "agent":
                return None  # an agent may only acknowledge its own kiosk's jobs
            if job.status != "pending":
                return self._result(job)
        if data.get("status") == "printed":
            self._printed(job_id)
        else:
            self._failed(job_id, str(data.get("error") or "Máy in ở kiosk báo lỗi"),
                         retryable=bool(data.get("retryable")))
        return self.job(job_id)


def agent_room(device_id: int) -> str:
    return f"printer-agent:{device_id}"


def register_printer_namespace(socketio, service: PrintService, device_lookup=None) -> None:
    """The `/printer` namespace: kiosk printer agents connect with their device token in `auth`."""
    from flask import request
    from flask_socketio import join_room

    def lookup(token):
        if device_lookup is not None:
            return device_lookup(token)
        from server.auth import device_from_token

        return device_from_token(service.storage, token)

    def on_connect(auth=None):
        token = auth.get("token") if isinstance(auth, dict) else None
        device = lookup(token) if token else None
        if device is None or device.kind != "kiosk":
            return False  # refuse: not a paired kiosk
        join_room(agent_room(device.id))
        sid = request.sid
        payloads = service.agent_connected(sid, device.id)

        def send_backlog():
            socketio.sleep(0.05)  # after the handshake, so the agent can acknowledge at once
            for payload in payloads:
                socketio.emit("print_job", payload, to=sid, namespace=NAMESPACE)

        if payloads:
            socketio.start_background_task(send_backlog)
        return True

    def on_disconnect(*_reason):
        service.agent_disconnected(request.sid)

    def on_ack(data):
        result = service.agent_ack(request.sid, data)
        return {"ok": result is not None}

    socketio.on_event("connect", on_connect, namespace=NAMESPACE)
    socketio.on_event("disconnect", on_disconnect, namespace=NAMESPACE)
    socketio.on_event("print_ack", on_ack, namespace=NAMESPACE)
