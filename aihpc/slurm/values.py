"""Slurm's JSON value envelopes (24.11, data_parser v0.0.42), and version strings.

Slurm's JSON wraps numbers as {"set": bool, "infinite": bool, "number": n}
and reports states as lists (["PENDING", "REQUEUED"]); older releases used
bare ints and strings, which are accepted too. Every parser in aihpc.slurm
reads values through these helpers.
"""

from __future__ import annotations

import re
from typing import Any

_VERSION_RE = re.compile(r"([0-9]+)\.([0-9]+)")


def number(value: Any) -> int | None:
    """An int from a bare number or a {"set","infinite","number"} envelope.

    Unset and infinite give None (callers document which one they mean).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        return int(value) if value.strip().lstrip("-").isdigit() else None
    if isinstance(value, dict):
        if not value.get("set", True) or value.get("infinite", False):
            return None
        return number(value.get("number"))
    return None


def states(value: Any, known: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    """(base state, other flags) from a list, or a string such as "CANCELLED by 1000"
    (a job) or "IDLE+DRAIN" (a node, as sinfo and older releases spell it)."""
    if isinstance(value, str):
        items = value.split()[0].split("+") if value.strip() else []
    elif isinstance(value, list):
        items = [str(v) for v in value]
    else:
        items = []
    base = next((s for s in items if s in known), items[0] if items else "UNKNOWN")
    return base, tuple(s for s in items if s != base)


def exit_status(value: Any) -> tuple[int | None, int | None]:
    """(return code, signal) from the 24.11 object or a legacy "code:signal" form."""
    if isinstance(value, dict):
        code = number(value.get("return_code"))
        signal_obj = value.get("signal") or {}
        signal = number(signal_obj.get("id")) if isinstance(signal_obj, dict) else None
        return code, signal or None
    if isinstance(value, str) and ":" in value:
        code_text, _, signal_text = value.partition(":")
        return number(code_text), number(signal_text) or None
    return number(value), None


def timestamp(value: Any) -> int | None:
    result = number(value)
    return result if result else None  # 0 means "not yet"


def errors(payload: Any) -> list[str]:
    """The `errors` array of a Slurm JSON reply, as readable strings."""
    found = payload.get("errors", []) if isinstance(payload, dict) else []
    out = []
    for item in found or []:
        if isinstance(item, dict):
            out.append(str(item.get("description") or item.get("error") or item))
        else:
            out.append(str(item))
    return out


def parse_version(text: str) -> tuple[int, int] | None:
    """(major, minor) from `sinfo --version` ("slurm 24.11.5") or a package version."""
    match = _VERSION_RE.search(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def real(value: Any) -> float | None:
    """A float from a bare number or a float64 envelope; infinite gives +inf, unset None.

    sshare reports fair-share values as float envelopes, and an "infinite"
    LevelFS (no usage at all) is meaningful, so it is kept as math.inf.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        if value.get("infinite", False):
            return float("inf")
        if not value.get("set", True):
            return None
        return real(value.get("number"))
    return None
