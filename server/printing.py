"""The print spool: a committed ticket -> a stored print job -> paper, at most once.

The ticket is issued and committed before anything here runs, so a printer
that is off, unplugged or out of paper never loses a ticket: the kiosk shows
it on screen and the job waits here.

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

Kiosks whose device settings say `"printer": "agent"` print through a printer
agent on the kiosk PC (printer/agent.py) over the `/printer` Socket.IO namespace;
the agent keeps its own journal of printed job ids, so re-sending a job after a
reconnect is safe, and the job is `printed` when the agent acknowledges it.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from typing import Any, Callable

from sqlalchemy import or_, select, update

from printer.backends import PrintError, open_backend
from printer.ticket import DEFAULT_FOOTER, PRIORITY_LABELS_VI, TicketPrint
from server.engine import people_ahead
from server.models import Device, Event, Field, Office, PrintJob, Ticket

log = logging.getLogger(__name__)

JOB_NAMESPACE = uuid.UUID("5d1f2a8e-6c0b-4f7e-9a35-6f2b8c1d0e47")
NAMESPACE = "/printer"
OPEN_JOB_STATUSES = ("pending", "printing")
STATUS_ORDER = {"failed": 0, "printing": 1, "pending": 2, "printed": 3, "cancelled": 4}


def first_print_job_id(ticket_token: str) -> str:
    """The same ticket always gets the same first job id, on every retry of the issuing request."""
    return str(uuid.uuid5(JOB_NAMESPACE, ticket_token))


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _warm_up_encoder() -> None:
    import escpos.printer  # noqa: F401 - loads python-escpos's printer database once, off the start path


class PrintService:
    # How long the kiosk waits for its printer on the first try: a printer that is
    # off should cost the citizen a fraction of a second, not a TCP timeout.
    first_try_connect_timeout = 0.3
    agent_wait = 0.5  # how long the kiosk waits for an agent's acknowledgement
    agent_resend_after = dt.timedelta(seconds=30)
    retry_base = dt.timedelta(seconds=2)
    retry_max = dt.timedelta(seconds=60)
    retry_for = dt.timedelta(minutes=10)
    loop_interval = 1.0

    def __init__(self, storage, config, socketio=None, clock: Callable[[], dt.datetime] | None = None):
        self.storage = storage
        self.config = config
        self.socketio = socketio
        self.clock = clock or _utcnow
        self.backend = open_backend(config.printer, preview_folder=config.instance_path / "prints")
        self.on_change: Callable[[dict], None] | None = None  # e.g. the core's admin notifier
        self._agents: dict[str, int] = {}  # socket id -> kiosk device id
        self._stopping = threading.Event()
        self._started = False

    # ----- the kiosk's call -------------------------------------------------
    def submit(self, ticket_id: int, device_id: int | None = None, reprint: bool = False,
               base_url: str | None = None, requested_by: int | None = None) -> dict:
        """Store a job for a committed ticket and try it once, quickly. Never raises for printer trouble."""
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
        """The ticket-issue endpoint's call: by token, with the ticket's track URL for the QR code."""
        with self.storage.read() as s:
            ticket_id = s.scalar(select(Ticket.id).where(Ticket.token == token))
        if ticket_id is None:
            raise LookupError("no such ticket")
        base = track_url.rsplit("/t/", 1)[0] if track_url else None
        return self.submit(ticket_id, device_id=device_id, base_url=base)

    def status_for(self, token: str) -> dict:
        """The first print's state, for a replayed issuing request."""
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
            if job.status in ("pending", "failed"):
                job.status = "cancelled"
                job.next_attempt_at = None
                s.add(Event(at=self.clock(), kind="print_cancelled", ticket_id=job.ticket_id,
                            device_id=job.device_id, user_id=user_id, data={"job_id": job.id}))
            result = self._result(job)
        self._notify(result)
        return result

    def jobs(self, status: str | None = None, limit: int = 200) -> list[dict]:
        """Most urgent first: failures, then jobs in flight, then waiting, then the rest, newest first."""
        with self.storage.read() as s:
            query = (select(PrintJob, Ticket.code).join(Ticket, Ticket.id == PrintJob.ticket_id)
                     .order_by(PrintJob.created_at.desc()).limit(limit))
            if status:
                query = query.where(PrintJob.status == status)
            rows = [self._result(job, code=code) for job, code in s.execute(query)]
        return sorted(rows, key=lambda r: STATUS_ORDER.get(r["status"], 9))

    def job(self, job_id: str) -> dict | None:
        with self.storage.read() as s:
            row = s.execute(select(PrintJob, Ticket.code).join(Ticket, Ticket.id == PrintJob.ticket_id)
                            .where(PrintJob.id == job_id)).first()
            return self._result(row[0], code=row[1]) if row else None

    def printer_status(self) -> dict:
        status = self.backend.status(connect_timeout=1.0).to_dict()
        status["printer"] = self.backend.settings.spec
        status["paper_width_dots"] = self.backend.settings.width
        status["agents_connected"] = sorted(set(self._agents.values()))
        return status

    # ----- the retry loop ---------------------------------------------------
    def start(self) -> None:
        """Recover after a restart, then retry due jobs in the background."""
        if self._started:
            return
        self._started = True
        self.recover_interrupted()
        self._run_in_background(_warm_up_encoder)
        self._run_in_background(self._loop)

    def _run_in_background(self, work) -> None:
        if self.socketio is not None:
            self.socketio.start_background_task(work)
        else:
            threading.Thread(target=work, name=f"motcua-print-{work.__name__}", daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()

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
        """Try every job whose time has come; returns how many were attempted."""
        now = self.clock()
        with self.storage.read() as s:
            rows = s.execute(select(PrintJob.id, PrintJob.route, PrintJob.device_id).where(
                PrintJob.status == "pending",
                or_(PrintJob.next_attempt_at.is_(None), PrintJob.next_attempt_at <= now),
            ).order_by(PrintJob.created_at)).all()
        connected = set(self._agents.values())
        due = [job_id for job_id, route, device_id in rows if route == "local" or device_id in connected]
        for job_id in due:
            self._attempt(job_id, connect_timeout=None)
        return len(due)

    # ----- one attempt --------------------------------------------------------
    def _attempt(self, job_id: str, connect_timeout: float | None, wait_for_agent: bool = False) -> None:
        claim = self._claim(job_id)
        if claim is None:
            return
        job_route, ticket = claim
        if job_route == "agent":
            self._send_to_agent(job_id, ticket, wait_for_agent)
            return
        try:
            self.backend.print_ticket(ticket, job_id, connect_timeout=connect_timeout)
        except PrintError as exc:
            self._failed(job_id, exc.message, exc.retryable)
        except Exception as exc:  # a bug or an unexpected device error: we cannot know what printed
            log.exception("printing job %s", job_id)
            self._failed(job_id, f"Lỗi không xác định khi in: {exc}", retryable=False)
        else:
            self._printed(job_id)

    def _claim(self, job_id: str) -> tuple[str, TicketPrint] | None:
        """pending -> printing (local) in one committed transaction; returns what to print, or None."""
        now = self.clock()
        with self.storage.write() as s:
            job = s.get(PrintJob, job_id)
            if job is None or job.status != "pending":
                return None
            ticket = s.get(Ticket, job.ticket_id)
            reason = self._too_late(job, ticket, now)
            if reason:
                job.status = "failed"
                job.last_error = reason
                job.next_attempt_at = None
                s.add(Event(at=now, kind="print_failed", ticket_id=job.ticket_id, device_id=job.device_id,
                            data={"job_id": job.id, "error": reason, "retryable": False, "gave_up": True}))
                return None
            if job.route == "local":
                claimed = s.execute(update(PrintJob).where(PrintJob.id == job_id, PrintJob.status == "pending")
                                    .values(status="printing", attempts=PrintJob.attempts + 1))
                if claimed.rowcount != 1:
                    return None
            # Agent jobs stay `pending` until acknowledged: the agent deduplicates by job id.
            return job.route, self._ticket_print(s, ticket, job)

    def _too_late(self, job: PrintJob, ticket: Ticket, now: dt.datetime) -> str | None:
        if job.reprint or job.attempts == 0:
            return None
        if ticket.status != "waiting":
            return "Vé không còn chờ gọi; không in nữa"
        if now - job.created_at > self.retry_for:
            return "Quá thời gian chờ máy in; không in nữa (có thể in lại)"
        return None

    def _printed(self, job_id: str) -> None:
        with self.storage.write() as s:
            job = s.get(PrintJob, job_id)
            job.status = "printed"
            job.printed_at = self.clock()
            job.next_attempt_at = None
            s.add(Event(at=job.printed_at, kind="printed", ticket_id=job.ticket_id, device_id=job.device_id,
                        data={"job_id": job.id, "reprint": job.reprint, "attempts": job.attempts}))
            result = self._result(job)
        self._notify(result)

    def _failed(self, job_id: str, error: str, retryable: bool) -> None:
        now = self.clock()
        with self.storage.write() as s:
            job = s.get(PrintJob, job_id)
            if job.status in ("printed", "cancelled"):
                return
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
            result = self._result(job)
        self._notify(result)

    # ----- reading the ticket -------------------------------------------------
    def _ticket_print(self, s, ticket: Ticket, job: PrintJob) -> TicketPrint:
        field = s.get(Field, ticket.field_id)
        office = s.scalar(select(Office).order_by(Office.id).limit(1))
        ahead = people_ahead(s, ticket)  # the queue's own rule, from the engine
        settings = (office.settings or {}) if office else {}
        return TicketPrint(
            office_name=office.name if office else "Bộ phận một cửa",
            unit=office.unit if office else "",
            field_name=field.name,
            code=ticket.code,
            people_ahead=int(ahead or 0),
            issued_at=ticket.issued_at,
            priority_label=PRIORITY_LABELS_VI.get(ticket.priority) if ticket.priority else None,
            qr_url=job.qr_url,
            footer=settings.get("ticket_footer") or DEFAULT_FOOTER,
            reprint=job.reprint,
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
