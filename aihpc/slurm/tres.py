"""TRES and GRES strings: how many GPUs of which type a job or node holds.

Two kinds of string carry GPU counts, and both are parsed here only:

- TRES, as in a job's `tres_alloc_str` / squeue `-O tres-alloc` or a node's
  `tres` / `tres_used`: ``cpu=8,mem=64G,node=1,billing=8,gres/gpu=4,gres/gpu:h100=4``.
  Allocated TRES are what Slurm actually granted, so every way of asking
  (``--gres=gpu:2``, ``--gres=gpu:h100:2``, ``--gpus``, ``--gpus-per-node``,
  ``--gpus-per-task``) ends up as the same ``gres/gpu=N`` entry. Typed entries
  (``gres/gpu:h100=N``) appear only for types listed in AccountingStorageTRES.
- GRES, as in a node's `gres` / `gres_used`:
  ``gpu:h100:4(S:0-1),gpu:a100:2(S:0,2),shard:8`` and
  ``gpu:h100:2(IDX:0-1),gpu:a100:0(IDX:N/A)``. Parentheses hold socket or
  index lists that may contain commas, so entries are split outside them.
  Older exporters split on every comma and on ``(``, and broke on exactly this.

GPU type names are free-form (``h100``, ``nvidia_a100_3g.39gb``, ``1g.10gb``)
but never contain ``:`` or ``=``. A GPU without a type is reported as
``untyped`` (`UNTYPED`).
"""

from __future__ import annotations

import re

UNTYPED = "untyped"

# name[:type]:count[(...)] where count may carry a K/M/G multiplier.
_GRES_ENTRY = re.compile(
    r"^(?P<name>[^:()]+)(?::(?P<type>[^:()]+))?:(?P<count>[0-9]+)(?P<unit>[KMGTP]?)(?:\(.*\))?$"
)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}


def split_outside_parens(text: str) -> list[str]:
    """Comma-separated items, ignoring commas inside (...)."""
    items: list[str] = []
    depth = 0
    start = 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item.strip() for item in items if item.strip()]


def parse_tres(text: str) -> dict[str, str]:
    """``cpu=4,gres/gpu=2`` -> {"cpu": "4", "gres/gpu": "2"}; malformed items are skipped."""
    out: dict[str, str] = {}
    if not text or text in ("(null)", "N/A"):
        return out
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip()
    return out


def _count(value: str) -> int:
    match = re.fullmatch(r"([0-9]+)([KMGTP]?)", value)
    return int(match.group(1)) * _UNITS[match.group(2)] if match else 0


def gpu_entries(text: str) -> str:
    """The part of a TRES string that holds its GPU entries, for caching by it:
    ``tres_gpus(gpu_entries(t)) == tres_gpus(t)`` for every string.

    A job's TRES also carries ``mem`` and ``billing``, which differ from job
    to job while its GPUs mostly do not. The cut is made at the commas
    around the first and last ``gres/gpu`` entries, so the same items are
    read; when either does not start an item (a ``gres/gpu`` inside another
    key or value, or after a space) the whole string is returned instead.
    """
    first = text.find("gres/gpu")
    if first < 0:
        return ""
    last = text.rfind("gres/gpu")
    if (first and text[first - 1] != ",") or (last and text[last - 1] != ","):
        return text
    end = text.find(",", last)
    return text[first:] if end < 0 else text[first:end]


def tres_gpus(text: str) -> tuple[int, dict[str, int]]:
    """(GPU count, count per type) from a TRES string.

    The untyped ``gres/gpu`` entry is the total; when only typed entries are
    present (unusual), their sum is. Types without a typed entry are not
    guessed here: callers that know a node's single GPU type may assign it.
    """
    total = 0
    have_total = False
    typed: dict[str, int] = {}
    for key, value in parse_tres(text).items():
        if key == "gres/gpu":
            total = _count(value)
            have_total = True
        elif key.startswith("gres/gpu:"):
            typed[key[len("gres/gpu:") :]] = _count(value)
    if not have_total:
        total = sum(typed.values())
    return total, typed


def gres_gpus(text: str) -> dict[str, int]:
    """GPUs per type from a node GRES string (configured or used).

    ``gpu:h100:4(S:0-1),gpu:2,shard:8`` -> {"h100": 4, "untyped": 2}.
    Entries that are not GPUs (shard, mps, nic...) are ignored; a malformed
    entry counts as zero rather than failing the whole node.
    """
    out: dict[str, int] = {}
    if not text or text in ("(null)", "N/A"):
        return out
    for item in split_outside_parens(text):
        match = _GRES_ENTRY.match(item)
        if not match or match.group("name") != "gpu":
            continue
        gpu_type = match.group("type") or UNTYPED
        count = int(match.group("count")) * _UNITS[match.group("unit")]
        out[gpu_type] = out.get(gpu_type, 0) + count
    return out


def gpus_by_type(total: int, typed: dict[str, int], known_types: list[str]) -> dict[str, int]:
    """Spread a TRES GPU count over types, for jobs and nodes alike.

    Typed TRES entries are used as they are. GPUs left over (the site's
    AccountingStorageTRES lacks typed entries) go to the one known type when
    there is exactly one, else to ``untyped``.
    """
    out = {t: n for t, n in typed.items() if n}
    rest = total - sum(typed.values())
    if rest > 0:
        target = known_types[0] if len(known_types) == 1 else UNTYPED
        out[target] = out.get(target, 0) + rest
    return out
