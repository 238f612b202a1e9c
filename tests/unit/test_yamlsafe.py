"""The strict YAML loader: positions, duplicates, aliases, binary and empty input."""

from __future__ import annotations

import pytest

from aihpc.errors import SpecError
from aihpc.spec.yamlsafe import Origin, format_path, load_mapping, load_value


def test_positions_and_texts_are_recorded() -> None:
    doc = load_mapping("name: a\nargs:\n  - --lr\n  - 1e-4\ntime: 1:00:00\n", "t.yaml")
    assert doc.data["args"] == ["--lr", "1e-4"]  # PyYAML reads 1e-4 (no dot) as a string
    assert doc.data["time"] == 3600  # YAML 1.1 sexagesimal: why we keep the source text
    assert doc.texts[("time",)] == "1:00:00"
    assert doc.values[("args", 1)] == Origin("t.yaml", 4, 5)
    assert doc.keys[("time",)] == Origin("t.yaml", 5, 1)


def test_duplicate_key_points_at_second_and_names_first() -> None:
    with pytest.raises(SpecError) as err:
        load_mapping("name: a\nnodes: 1\nnodes: 2\n", "t.yaml")
    assert (err.value.line, err.value.column, err.value.field) == (3, 1, "nodes")
    assert "duplicate key" in err.value.reason
    assert "line 2" in err.value.hint


def test_nested_duplicate_key() -> None:
    with pytest.raises(SpecError) as err:
        load_mapping("env:\n  A: 1\n  A: 2\n", "t.yaml")
    assert err.value.field == "env.A"
    assert err.value.line == 3


def test_alias_bomb_is_refused_before_expansion() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    with pytest.raises(SpecError) as err:
        load_mapping(bomb, "bomb.yaml")
    assert "aliases" in err.value.reason
    assert err.value.line == 2


def test_single_alias_is_refused_too() -> None:
    with pytest.raises(SpecError, match="aliases"):
        load_mapping("base: &b {x: 1}\nother: *b\n", "t.yaml")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty file"),
        ("# only a comment\n", "empty file"),
        ("- a\n- b\n", "not a list"),
        ("just a string\n", "not a single value"),
        ("name: [unclosed\n", "YAML syntax error"),
        ("a: 1\n---\nb: 2\n", "YAML syntax error"),
        ("a: !!python/object:os.system {}\n", "unsupported tag"),
        ("a: !custom x\n", "YAML syntax error"),
        ("? [a, b]\n: 1\n", "plain strings"),
    ],
)
def test_broken_documents(text: str, reason: str) -> None:
    with pytest.raises(SpecError) as err:
        load_mapping(text, "t.yaml")
    assert reason in err.value.reason
    assert err.value.file == "t.yaml"
    assert err.value.line >= 1 and err.value.column >= 1


def test_syntax_error_position() -> None:
    with pytest.raises(SpecError) as err:
        load_mapping("name: ok\nnodes: [1, 2\nx: y\n", "t.yaml")
    assert err.value.line == 3


def test_binary_and_non_utf8() -> None:
    with pytest.raises(SpecError) as err:
        load_mapping(b"name: a\nx\x00y\n", "b.yaml")
    assert (err.value.line, err.value.column) == (2, 2)
    assert "binary" in err.value.reason
    with pytest.raises(SpecError) as err:
        load_mapping(b"name: \xff\xfe\n", "b.yaml")
    assert "UTF-8" in err.value.reason and err.value.column == 7


def test_control_character_is_located() -> None:
    with pytest.raises(SpecError) as err:
        load_mapping("name: a\x07b\n", "t.yaml")
    assert err.value.line == 1 and "control character" in err.value.reason


def test_size_and_depth_limits() -> None:
    with pytest.raises(SpecError, match="larger than"):
        load_mapping("a: " + "x" * (1024 * 1024 + 1), "t.yaml")
    deep = "a: " + "[" * 40 + "]" * 40 + "\n"
    with pytest.raises(SpecError, match="nesting"):
        load_mapping(deep, "t.yaml")


def test_bom_is_accepted() -> None:
    assert load_mapping("\ufeffname: x\n", "t.yaml").data == {"name": "x"}


def test_load_value_roots_origins_at_path() -> None:
    doc = load_value("{lr: [1e-4, 3e-4]}", "<-o sweep>", ("sweep",))
    assert doc.data == {"lr": ["1e-4", "3e-4"]}
    assert doc.values[("sweep", "lr", 1)].file == "<-o sweep>"
    assert load_value("", "<-o x>", ("x",)).data == ""
    with pytest.raises(SpecError, match="aliases"):
        load_value("[&a x, *a]", "<-o x>", ("x",))


def test_format_path() -> None:
    assert format_path(("sweep", "lr", 0)) == "sweep.lr[0]"
    assert format_path(()) == ""
