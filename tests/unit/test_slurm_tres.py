"""TRES and GRES strings (aihpc.slurm.tres).

The strings are as Slurm prints them: recorded ones from the 24.11 cluster
(gres "gpu:h100:4", gres_used "gpu:h100:3(IDX:0-2)", tres "...,gres/gpu=4")
and the documented forms it cannot produce here (socket lists, several
types, MIG-like type names, index lists with commas).
"""

from __future__ import annotations

import pytest

from aihpc.slurm.tres import (
    UNTYPED,
    gpus_by_type,
    gres_gpus,
    parse_tres,
    split_outside_parens,
    tres_gpus,
)


def test_parse_tres_recorded_job_string() -> None:
    assert parse_tres("cpu=1,mem=500M,node=1,billing=1,gres/gpu=2") == {
        "cpu": "1",
        "mem": "500M",
        "node": "1",
        "billing": "1",
        "gres/gpu": "2",
    }


@pytest.mark.parametrize("text", ["", "(null)", "N/A"])
def test_parse_tres_empty_forms(text: str) -> None:
    assert parse_tres(text) == {}
    assert tres_gpus(text) == (0, {})


@pytest.mark.parametrize(
    ("tres", "expected"),
    [
        # --gres=gpu:2, --gpus-per-node=1, --gpus=4, --gpus-per-task=1 -n4: all one entry
        ("cpu=1,mem=500M,node=1,billing=1,gres/gpu=2", (2, {})),
        ("cpu=1,mem=500M,node=1,billing=1,gres/gpu=1", (1, {})),
        ("cpu=8,node=2,gres/gpu=4", (4, {})),
        # typed GRES with typed TRES accounted
        ("cpu=2,gres/gpu=2,gres/gpu:a100=2", (2, {"a100": 2})),
        ("gres/gpu=3,gres/gpu:1g.10gb=3", (3, {"1g.10gb": 3})),
        (
            "gres/gpu=6,gres/gpu:h100=4,gres/gpu:nvidia_a100_3g.40gb=2",
            (6, {"h100": 4, "nvidia_a100_3g.40gb": 2}),
        ),
        # only typed entries: their sum is the total
        ("cpu=1,gres/gpu:l40s=2", (2, {"l40s": 2})),
        # other GRES are not GPUs
        ("cpu=1,gres/shard=8,gres/gpumem=80G", (0, {})),
        ("cpu=4,mem=2000M,node=2,billing=4", (0, {})),
    ],
)
def test_tres_gpus(tres: str, expected: tuple[int, dict[str, int]]) -> None:
    assert tres_gpus(tres) == expected


def test_split_outside_parens_keeps_index_lists_whole() -> None:
    assert split_outside_parens("gpu:a100:2(IDX:0,2),gpu:l40s:1(IDX:3),shard:0") == [
        "gpu:a100:2(IDX:0,2)",
        "gpu:l40s:1(IDX:3)",
        "shard:0",
    ]


@pytest.mark.parametrize(
    ("gres", "expected"),
    [
        ("gpu:h100:4", {"h100": 4}),  # recorded
        ("gpu:h100:3(IDX:0-2)", {"h100": 3}),  # recorded gres_used
        ("gpu:h100:0(IDX:N/A)", {"h100": 0}),  # recorded gres_used, idle
        ("gpu:a100:4(S:0-1)", {"a100": 4}),  # the form an older exporter misparsed
        ("gpu:l40s:4(S:0,1)", {"l40s": 4}),
        ("gpu:a100:4(S:0-1),gpu:nvidia_a100_3g.40gb:2(S:1)", {"a100": 4, "nvidia_a100_3g.40gb": 2}),
        (
            "gpu:a100:2(IDX:0,2),gpu:nvidia_a100_3g.40gb:1(IDX:4)",
            {"a100": 2, "nvidia_a100_3g.40gb": 1},
        ),
        ("gpu:1g.10gb:7", {"1g.10gb": 7}),
        ("gpu:2", {UNTYPED: 2}),
        ("gpu:1(IDX:0)", {UNTYPED: 1}),
        ("gpu:h100:8,shard:h100:64,mps:400", {"h100": 8}),
        ("gpu:h100:1K", {"h100": 1024}),
        ("", {}),
        ("(null)", {}),
        ("gpu:h100:lots", {}),  # malformed: ignored, not fatal
    ],
)
def test_gres_gpus(gres: str, expected: dict[str, int]) -> None:
    assert gres_gpus(gres) == expected


def test_gpus_by_type_uses_typed_entries_then_the_single_known_type() -> None:
    assert gpus_by_type(4, {"h100": 4}, ["h100"]) == {"h100": 4}
    # the site accounts only gres/gpu: the node's one type gets them
    assert gpus_by_type(3, {}, ["h100"]) == {"h100": 3}
    # two types and no typed entries: not guessed
    assert gpus_by_type(3, {}, ["a100", "l40s"]) == {UNTYPED: 3}
    assert gpus_by_type(5, {"a100": 2}, ["a100", "l40s"]) == {"a100": 2, UNTYPED: 3}
    assert gpus_by_type(0, {}, ["h100"]) == {}
