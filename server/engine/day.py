"""The service day: it starts at local midnight; tickets still waiting or called when it
ends are closed as `expired` (kept, never deleted) and numbering restarts at 1."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from ..models import Counter, Ticket
from .base import Change
from .calling import Calling


class ServiceDay(Calling):
    def roll_day(self) -> bool:
        """Close yesterday's leftovers once per new service day (cheap check in memory)."""
        today = self.today()
        if self._expired_through == today:
            return False
        self.expire_day()
        first = self._expired_through is None
        self._expired_through = today
        return not first

    def expire_day(self, before: dt.date | None = None) -> int:
        """Close as `expired` every ticket of an earlier service day still waiting or called, in every office."""
        before = before or self.today()
        with self.storage.write() as s:
            stale = s.scalars(
                select(Ticket).where(Ticket.service_day < before, Ticket.status.in_(("waiting", "called")))
            ).all()
            if not stale:
                return 0
            ids = {t.id for t in stale}
            offices = sorted({t.office_id for t in stale})
            for ticket in stale:
                ticket.status = "expired"
                ticket.finished_at = self.now()
                self._event(s, ticket.office_id, "expired", ticket, service_day=ticket.service_day.isoformat())
            s.execute(update(Counter).where(Counter.current_ticket_id.in_(ids)).values(current_ticket_id=None))
        self._tell([change for office in offices for change in (
            Change("counter_changed", {"counter": None}, office=office),
            Change("queue_changed", {"fields": []}, office=office))])
        return len(stale)
