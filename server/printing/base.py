"""What every part of the print spool shares: its settings, the rules of a job, one attempt
waited for, recording outcomes, and what goes on the paper.

An attempt waited for (a reprint, a test, a printer agent, a spool without a worker) claims
the job in its own transaction, then sends it: to the print worker here, or to the kiosk's
agent (`_send_to_agent`, agents.py).
"""
from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import uuid
from typing import Callable

from sqlalchemy import select, update

from printer.backends import DummyBackend, open_backend
from printer.ticket import DEFAULT_FOOTER, PRIORITY_LABELS_VI, TicketPrint
from printer.worker import open_worker
from server.engine import people_ahead
from server.models import Device, Event, Field, PrintJob, Ticket

from .jobs import _OFFICE_OF, Paper, _utcnow

log = logging.getLogger(__package__)  # "server.printing", as before the package


class PrintBase:
    """The spool's state and the parts every way of printing uses."""

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
        # A dummy printer's bytes stay where the worker printed them, kept under this spool's name,
        # and are read from there when asked for (tests); the answers carry none of them.
        self._keeper = uuid.uuid4().hex if isinstance(self.backend, DummyBackend) else None
        if self._keeper is not None:
            self.backend.kept_elsewhere = self._kept_by_worker
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

    def job(self, job_id: str) -> dict | None:
        with self.storage.read() as s:
            row = s.execute(select(PrintJob, Ticket.code).join(Ticket, Ticket.id == PrintJob.ticket_id)
                            .where(PrintJob.id == job_id)).first()
            return self._result(row[0], code=row[1]) if row else None

    def forget(self) -> None:
        """Drop the drawing caches (the admin edited the office or a field). They are keyed by what
        is drawn, so this frees memory; nothing stale could be printed anyway."""
        from printer.render import forget

        forget()
        if self.worker.kind == "process":
            self.worker.submit({"op": "forget"})

    def _print_request(self, job_id: str, ticket: TicketPrint, attempt: int) -> dict:
        return {"op": "print", **self._printer(), "job_id": job_id, "ticket": ticket,
                "connect_timeout": self.first_try_connect_timeout if attempt == 1 else None}

    def _printer(self) -> dict:
        printer = {"printer": self.config.printer, "preview": str(self.preview_folder)}
        if self._keeper is not None:
            printer["keep"] = self._keeper
        return printer

    def _kept_by_worker(self) -> list[tuple[str, bytes]]:
        """The dummy printer's (job id, bytes), oldest first, as the worker that printed them keeps them."""
        reply = self.worker.submit({"op": "kept", **self._printer()}).wait(10)
        return reply["jobs"] if reply and reply.get("ok") else []

    def _record_outcomes(self, outcomes: list[tuple[str, dict]]) -> None:
        with self.storage.write() as s:
            told = [t for job_id, reply in outcomes for t in self._record_outcome(s, job_id, reply)]
        for result, token in told:
            self._tell_kiosk(result, token)

    def _record_outcome(self, s, job_id: str, reply: dict) -> list[tuple[dict, str]]:
        job = s.get(PrintJob, job_id)
        if job is None:
            return []
        if reply.get("ok"):
            result = self._mark_printed(s, job)
        else:
            result = self._mark_failed(s, job, reply.get("error") or "Lỗi khi in", bool(reply.get("retryable")))
        if result is None:
            return []
        return [(result, s.scalar(select(Ticket.token).where(Ticket.id == job.ticket_id)))]

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
        self._tell_kiosk(*gave_up)
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
        self._tell_kiosk(result, token)

    def _failed(self, job_id: str, error: str, retryable: bool) -> None:
        with self.storage.write() as s:
            job = s.get(PrintJob, job_id)
            result = self._mark_failed(s, job, error, retryable)
            token = s.scalar(select(Ticket.token).where(Ticket.id == job.ticket_id)) if result else None
        if result is not None:
            self._tell_kiosk(result, token)

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

    def _tell_kiosk(self, result: dict, token: str | None) -> None:
        """`print_status` to whoever follows the ticket (the kiosk that issued it), for its first print.
        `result`: the job's status, printed and reprint at least."""
        if not token or self.socketio is None or result.get("reprint"):
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
