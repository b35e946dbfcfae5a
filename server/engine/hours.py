"""Issuing hours as offices write them: "07:30-11:30", "7h30-11h30", "13h - 16h30"."""
from __future__ import annotations

import datetime as dt
import re
from typing import Iterable

_SPAN = re.compile(r"^\s*(\d{1,2})(?:[:hH.](\d{2})?)?\s*[-–—]\s*(\d{1,2})(?:[:hH.](\d{2})?)?\s*$")


def normalise_span(text: str) -> str:
    """"7h30-11h30", "7:30 – 11:30", "07:30-11:30" -> "07:30-11:30"; raises ValueError otherwise."""
    match = _SPAN.match(str(text))
    if not match:
        raise ValueError(f"bad hours {text!r}")
    h1, m1, h2, m2 = match.groups()
    try:
        a, b = dt.time(int(h1), int(m1 or 0)), dt.time(int(h2), int(m2 or 0))
    except ValueError:
        raise ValueError(f"bad hours {text!r}") from None
    if a >= b:
        raise ValueError(f"bad hours {text!r}")
    return f"{a:%H:%M}-{b:%H:%M}"


def parse_hours(hours: Iterable[str]) -> list[tuple[dt.time, dt.time]]:
    """["07:00-11:30", "13h-16h30"] -> time pairs; raises ValueError on a bad range."""
    spans = []
    for text in hours or []:
        start, _, end = normalise_span(text).partition("-")
        spans.append((dt.time.fromisoformat(start), dt.time.fromisoformat(end)))
    return spans


def open_at(spans: list[tuple[dt.time, dt.time]], moment: dt.time) -> bool:
    """No spans: open all day."""
    return not spans or any(a <= moment < b for a, b in spans)


def describe(spans: list[tuple[dt.time, dt.time]]) -> str:
    return ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in spans)
