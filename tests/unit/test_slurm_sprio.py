"""aihpc.slurm.sprio: sprio's lean text form (see the module for its shape)."""

from __future__ import annotations

import pytest

from aihpc.errors import ClusterError
from aihpc.slurm.sprio import JobPriority, parse_sprio, sprio_argv

# Shaped like `sprio --noheader --format=%i|%u|%Y|%F|%Q` (sprio pads with
# spaces when a width is implied; the parser strips them).
TEXT = "        101|bob     |      7510|      7500|        10\n102|carol|2510|2500|10\n\n"


def test_parse() -> None:
    assert parse_sprio(TEXT) == [
        JobPriority("101", "bob", 7510.0, 7500.0, 10.0),
        JobPriority("102", "carol", 2510.0, 2500.0, 10.0),
    ]


def test_argv() -> None:
    assert sprio_argv() == ["sprio", "--noheader", "--format=%i|%u|%Y|%F|%Q"]


@pytest.mark.parametrize("line", ["101|bob|7510", "101|bob|high|1|1"])
def test_bad_lines_name_the_line(line: str) -> None:
    with pytest.raises(ClusterError, match="sprio line 1"):
        parse_sprio(line)
