"""The admin's rules: offices, fields, counters, users, devices, announcements and booking days.

Like the queue engine this package knows no Flask request: the API passes plain values
and the office it acts in, gets plain dicts back, and every refusal is an `AdminError`
with a Vietnamese message (the API's error handler turns it into the JSON error shape).
After each committed change that boards or kiosks show, the engine is told
(`config_changed`), which resyncs that office's boards and kiosks live.
"""
from .announcements import AnnouncementsAdmin
from .bookings import BookingsAdmin
from .common import PREFIX, AdminError, slugify
from .counters import CountersAdmin
from .devices import DevicesAdmin
from .fields import FieldsAdmin
from .offices import OfficesAdmin
from .users import UsersAdmin


class AdminService(OfficesAdmin, FieldsAdmin, CountersAdmin, UsersAdmin, DevicesAdmin, AnnouncementsAdmin,
                   BookingsAdmin):
    """The facade the admin API calls."""


__all__ = ["PREFIX", "AdminError", "AdminService", "slugify"]
