"""Slurm time-limit strings ("2-00:00:00", "90", "UNLIMITED") to minutes."""

from __future__ import annotations

import re

_FORMATS = "MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"
_UNLIMITED = {"UNLIMITED", "INFINITE"}
_DAYS_RE = re.compile(r"([0-9]+)-([0-9]+)(?::([0-9]+))?(?::([0-9]+))?")
_CLOCK_RE = re.compile(r"([0-9]+)(?::([0-9]+))?(?::([0-9]+))?")


def parse_minutes(value: str) -> int | None:
    """Minutes in a Slurm time string, rounded up; None means unlimited.

    Raises ValueError naming the accepted formats for anything else.
    """
    text = value.strip()
    if text.upper() in _UNLIMITED:
        return None
    days_match = _DAYS_RE.fullmatch(text)
    if days_match:
        days, hours, minutes, seconds = (int(g) if g else 0 for g in days_match.groups())
        total_seconds = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    else:
        clock = _CLOCK_RE.fullmatch(text)
        if not clock:
            raise ValueError(f"is not a Slurm time ({_FORMATS}); got {value!r}")
        parts = [int(g) for g in clock.groups() if g is not None]
        if len(parts) == 1:
            total_seconds = parts[0] * 60
        elif len(parts) == 2:
            total_seconds = parts[0] * 60 + parts[1]
        else:
            total_seconds = (parts[0] * 60 + parts[1]) * 60 + parts[2]
    if total_seconds <= 0:
        raise ValueError(f"must be longer than zero; got {value!r}")
    return -(-total_seconds // 60)
