"""Slurm host lists: ``gpu[1-3,7],login1`` -> ["gpu1", "gpu2", "gpu3", "gpu7", "login1"].

sacct's NodeList and reservations' node lists use this compressed form.
Brackets may appear more than once (``r[1-2]n[01-02]``) and keep the
zero padding of their lower bound. ``None assigned`` (a job that never
started) expands to nothing.
"""

from __future__ import annotations

import re

_RANGE = re.compile(r"^([0-9]+)(?:-([0-9]+))?$")


def _split_top(text: str) -> list[str]:
    items: list[str] = []
    depth = 0
    start = 0
    for i, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item.strip() for item in items if item.strip()]


def _expand_one(item: str) -> list[str]:
    open_at = item.find("[")
    if open_at < 0:
        return [item]
    close_at = item.find("]", open_at)
    if close_at < 0:
        raise ValueError(f"unbalanced '[' in host list item {item!r}")
    prefix, body, rest = item[:open_at], item[open_at + 1 : close_at], item[close_at + 1 :]
    tails = _expand_one(rest) if rest else [""]
    out: list[str] = []
    for part in body.split(","):
        match = _RANGE.match(part.strip())
        if not match:
            raise ValueError(f"bad range {part!r} in host list item {item!r}")
        low_text, high_text = match.group(1), match.group(2) or match.group(1)
        width = len(low_text)
        for number in range(int(low_text), int(high_text) + 1):
            out.extend(f"{prefix}{number:0{width}d}{tail}" for tail in tails)
    return out


def expand_hostlist(text: str) -> list[str]:
    """Every host of a Slurm host list, in order; ValueError on a malformed one."""
    text = text.strip()
    if not text or text in ("None assigned", "(null)", "N/A"):
        return []
    hosts: list[str] = []
    for item in _split_top(text):
        hosts.extend(_expand_one(item))
    return hosts
