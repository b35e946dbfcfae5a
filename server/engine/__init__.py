"""The queue engine: every business rule of motcua lives in this package.

Numbering, ordering, priority, state changes, issuing hours, daily caps, estimates,
ratings and the append-only event log, for every office. No Flask in here: callers pass
plain values (the office among them) and get plain dicts back; after each committed
change the engine tells its listeners (see `server/events.py`), which emit to the boards.

One concern a module, one facade (`QueueEngine`) that the API, events and admin call:
    hours.py      issuing hours as offices write them
    offices.py    which offices there are; the default office
    base.py       errors, changes, time, the event log, caches by office
    views.py      tickets, queues, counters, the board's snapshot, the province's overview
    numbering.py  issuing tickets (day sequences, idempotency, issue hooks)
    calling.py    call next, call by code, recall, no-show, finish, transfer, pause, cancel
    day.py        the service day: expiry at local midnight
    ratings.py    the rating scale and the citizen's one rating
    booking.py    online number-taking: slots, seats, bookings, check-in, missed bookings
"""
from .base import STATUS_NAMES, BookingSettings, Change, FieldRules, IssuedTicket, QueueError, for_staff
from .booking import CODE_ALPHABET, Bookings, booking_rules, mask_phone, normalise_phone
from .hours import normalise_span, parse_hours
from .offices import SLUG, OfficeInfo, Offices
from .ratings import COMMENT_MAX, DEFAULT_RATING_REASONS, RATING_LEVELS, satisfied_from
from .views import people_ahead


class QueueEngine(Bookings):
    """The facade: every operation of the queue, in the office it is given (default: the default office)."""


__all__ = [
    "CODE_ALPHABET", "BookingSettings", "booking_rules", "mask_phone", "normalise_phone", "COMMENT_MAX", "DEFAULT_RATING_REASONS", "RATING_LEVELS", "SLUG", "STATUS_NAMES", "Change", "FieldRules",
    "IssuedTicket", "OfficeInfo", "Offices", "QueueEngine", "QueueError", "for_staff", "normalise_span",
    "parse_hours", "people_ahead", "satisfied_from",
]
