"""The server's own printer: jobs handed over by the issuing requests and the retry loop,
claimed a few at a time, sent through the print worker, their outcomes recorded in batches.
"""
from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from typing import Any

from sqlalchemy import or_, select, update

from printer.ticket import TicketPrint
from server.engine import people_ahead
from server.models import Event, PrintJob, Ticket

from .agents import Agents
from .base import log
from .jobs import _CLAIM_FIRST_TRIES, _INSERT_EVENT, _MARK_PRINTED, _OFFICE_OF, _TICKETS_TO_DRAW, _TOKENS, Paper


class Spool(Agents):
    """Handing jobs to the dispatchers (the local spool, the agents' sender) and the retry loop."""

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
        # Grouped (SQLite under eventlet): the turn shares the issuing requests' commit instead of
        # stopping the hub for an fsync of its own; it still returns only once committed, so a job
        # is claimed on disk before it is sent.
        with self.storage.write(grouped=True) as s:
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
            self._tell_kiosk(result, token)
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
        """Record a turn's printed jobs (one statement and one insert for all); returns what the
        kiosks are told, which is all anyone hears of it."""
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
        return [({"job_id": r.id, "status": "printed", "printed": True, "reprint": r.reprint},
                 tokens.get(r.ticket_id)) for r in rows]

    # ----- starting, stopping, the retry loop -----------------------------------
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
