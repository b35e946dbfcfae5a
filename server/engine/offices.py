"""Which offices there are, found by slug or id, cached briefly (every request looks one up).

The default office answers the bare paths: DEFAULT_OFFICE when it names an office,
else the first office created.
"""
from __future__ import annotations

import re
import threading
import time
from typing import Any, NamedTuple

from sqlalchemy import select

from ..models import Office
from ..storage import Storage

CACHE_S = 2.0
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class OfficeInfo(NamedTuple):
    id: int
    slug: str
    name: str
    unit: str
    active: bool
    rating_scale: int
    settings: dict[str, Any]

    def public(self) -> dict:
        """As boards and kiosks show it (`state.office`)."""
        return {"name": self.name, "unit": self.unit}


class Offices:
    def __init__(self, storage: Storage, default_slug: str | None = None):
        self.storage = storage
        self.default_slug = default_slug
        self._cache: tuple[float, dict[str, OfficeInfo], dict[int, OfficeInfo]] = (0.0, {}, {})
        self._refreshing = threading.Lock()

    def _load(self, wait: bool = False) -> tuple[dict[str, OfficeInfo], dict[int, OfficeInfo]]:
        """The offices, refreshed by one caller at a time while the others use what was read last.

        Lookups happen inside other sessions (a ticket's view names its office): were every caller to
        refresh at once, each holding one pooled connection and waiting for a second, a burst of
        requests (a hundred phones following their tickets) would empty the pool and wait on itself."""
        expires, by_slug, by_id = self._cache
        if time.monotonic() < expires:
            return by_slug, by_id
        if not self._refreshing.acquire(blocking=wait or not by_id):
            return by_slug, by_id  # someone is reading them now; a second old is good enough meanwhile
        try:
            expires, by_slug, by_id = self._cache
            if time.monotonic() < expires:  # read while this caller waited
                return by_slug, by_id
            with self.storage.read() as s:
                rows = [OfficeInfo(o.id, o.slug, o.name, o.unit or "", bool(o.active), o.rating_scale or 3,
                                   dict(o.settings or {}))
                        for o in s.scalars(select(Office).order_by(Office.id))]
            by_slug, by_id = {o.slug: o for o in rows}, {o.id: o for o in rows}
            self._cache = (time.monotonic() + CACHE_S, by_slug, by_id)
            return by_slug, by_id
        finally:
            self._refreshing.release()

    def forget(self) -> None:
        """An office was added or changed: the next lookup reads them again (callers meanwhile keep
        the last list rather than queue up for the database)."""
        _, by_slug, by_id = self._cache
        self._cache = (0.0, by_slug, by_id)

    def reload(self) -> None:
        """Read the offices now (one made a moment ago by another process is looked for). Only where no
        session is open: this waits for a connection."""
        self.forget()
        self._load(wait=True)

    def by_slug(self, slug: str) -> OfficeInfo | None:
        return self._load()[0].get(slug) if isinstance(slug, str) else None

    def get(self, office_id: int | None) -> OfficeInfo | None:
        return self._load()[1].get(office_id)

    def all(self, active_only: bool = True) -> list[OfficeInfo]:
        return [o for o in self._load()[1].values() if o.active or not active_only]

    def default(self) -> OfficeInfo | None:
        by_slug, by_id = self._load()
        if self.default_slug and self.default_slug in by_slug:
            return by_slug[self.default_slug]
        return next(iter(by_id.values()), None)

    def many(self) -> bool:
        """More than one active office: pages then say which office they belong to."""
        return len(self.all()) > 1
