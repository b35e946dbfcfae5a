"""The print spool's calls: the kiosk's (a new ticket's first job, a replay, a reprint) and
the admin's (reprint, cancel, the list of jobs, the printer's state).
"""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from server.models import Device, Event, PrintJob, Ticket

from .jobs import _DEVICE_SETTINGS, _INSERT_FIRST_JOB, STATUS_ORDER, Paper, first_print_job_id
from .spool import Spool


class PrintService(Spool):
    """The spool as the app, the API and the engine's issue hook use it."""

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

    def cancel(self, job_id: str, user_id: int | None = None, office: int | None = None) -> dict | None:
        """Cancel a job that has not printed. A job being sent right now cannot be stopped.
        `office`: a job of that office's tickets only; another office's job is not found (None: any)."""
        with self.storage.write() as s:
            job = s.get(PrintJob, job_id)
            if job is None or (office is not None
                               and s.scalar(select(Ticket.office_id).where(Ticket.id == job.ticket_id)) != office):
                return None
            cancelled = job.status in ("pending", "failed")
            if cancelled:
                job.status = "cancelled"
                job.next_attempt_at = None
                s.add(Event(at=self.clock(), kind="print_cancelled", ticket_id=job.ticket_id,
                            device_id=job.device_id, user_id=user_id, data={"job_id": job.id}))
            result = self._result(job)
            token = s.scalar(select(Ticket.token).where(Ticket.id == job.ticket_id)) if cancelled else None
        self._tell_kiosk(result, token)
        return result

    def jobs(self, status: str | None = None, limit: int = 200, office: int | None = None,
             day: dt.date | None = None) -> list[dict]:
        """Most urgent first: failures, then jobs in flight, then waiting, then the rest, newest first.
        `office`: that office's tickets only (an office's admin sees its own hall); `day`: the
        tickets of that service day only (yesterday's failure needs nobody today)."""
        with self.storage.read() as s:
            query = (select(PrintJob, Ticket.code).join(Ticket, Ticket.id == PrintJob.ticket_id)
                     .order_by(PrintJob.created_at.desc()).limit(limit))
            if status:
                query = query.where(PrintJob.status == status)
            if office is not None:
                query = query.where(Ticket.office_id == office)
            if day is not None:
                query = query.where(Ticket.service_day == day)
            rows = [self._result(job, code=code) for job, code in s.execute(query)]
        return sorted(rows, key=lambda r: STATUS_ORDER.get(r["status"], 9))

    def printer_status(self, office: int | None = None) -> dict:
        """The server printer's state, and the kiosk agents connected now. `office`: that office's
        agents only (an office's admin sees its own kiosks, not the device ids of every hall)."""
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
        agents = set(self._agents.values())
        if office is not None and agents:
            with self.storage.read() as s:
                agents = set(s.scalars(select(Device.id).where(Device.id.in_(agents), Device.office_id == office)))
        status["agents_connected"] = sorted(agents)
        return status
