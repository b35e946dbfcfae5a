"""Printer agents: kiosks whose device settings say `"printer": "agent"` print on the kiosk PC
(printer/agent.py), over the `/printer` Socket.IO namespace. The agent keeps its own journal of
printed job ids, so re-sending a job after a reconnect is safe; the job is `printed` when the
agent acknowledges it.
"""
from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from printer.ticket import TicketPrint
from server.models import PrintJob, Ticket

from .base import PrintBase, log
from .jobs import NAMESPACE


class Agents(PrintBase):
    """Jobs routed to a kiosk's agent: sent when it is connected, again when it reconnects."""

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


def register_printer_namespace(socketio, service: Agents, device_lookup=None) -> None:
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
