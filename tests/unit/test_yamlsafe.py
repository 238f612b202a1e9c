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


# -- libyaml and the Python composer agree (aihpc/spec/yamlsafe._compose_c) --------
TRICKY = [
    "name: a\nargs: [--lr, 1e-4, '1e-4', \"x y\"]\ntime: 1:00:00\nnodes: 0x10\n",
    "name: héllo wörld ✓\nscript: ü.py\nenv: {Ä: 'ö', B: \"\\u00e9\\t\"}\nx: 1\n",
    "a:\n  - b: 1\n    c: [1, {d: e}]\n  -\n    - nested\n? explicit\n: value\n",
    "text: |\n  line one\n   line two\nfolded: >-\n  a\n  b\n\n"
    "null1: ~\nnull2:\nyes: yes\non: off\n",
    "%YAML 1.1\n---\nname: doc # comment\n# only a comment\nq: 'it''s'\nr: \"a\\\"b\"\n...\n",
    "anchored: &a [1, 2]\ntagged: !!str 12\nfloat: 1.5e3\nsexa: 190:20:30\ndate: 2025-01-02\n",
    "crlf: 1\r\nnext: two\r\nlist:\r\n  - x\r\n",
    "key with spaces: v\n'quoted key': 1\n\"dq\": 2\n123: int key\n",
    "deep: {a: {b: {c: {d: [[[x]]]}}}}\n",
    "empty_list: []\nempty_map: {}\nempty_str: ''\nspaces: '  '\n",
]
BROKEN = [
    "a: [1, 2\n",
    "a: 1\n b: 2\n",
    "a:\tb\n\tc: d\n",
    "- a\nb: c\n",
    "a: 'unterminated\n",
    "a: 1\n---\nb: 2\n",
    "a: \x07bell\n",
    "a: *alias\n",
]


def _corpus() -> list[str]:
    from tests.unit.conftest import FIXTURES, REPO
    from tests.unit.test_golden import CASES as GOLDEN
    from tests.unit.test_validation import CASES as MESSAGES

    texts = [*TRICKY, *BROKEN, *GOLDEN.values()]
    texts += [c[1] if isinstance(c[1], str) else c[1].decode("utf-8", "replace") for c in MESSAGES]
    for path in (*REPO.glob("examples/*/*.yaml"), *FIXTURES.rglob("*.yaml")):
        texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return texts


def _shape(node: object) -> object:
    """Everything of a node graph the builder reads: kind, tag, value, start position."""
    from yaml.nodes import MappingNode, ScalarNode

    mark = node.start_mark  # type: ignore[attr-defined]
    head = (type(node).__name__, node.tag, mark.line, mark.column)  # type: ignore[attr-defined]
    if isinstance(node, ScalarNode):
        return (*head, node.value)
    if isinstance(node, MappingNode):
        return (*head, [(_shape(k), _shape(v)) for k, v in node.value])
    return (*head, [_shape(item) for item in node.value])  # type: ignore[attr-defined]


def _python_compose(text: str) -> object:
    from aihpc.spec import yamlsafe

    loader = yamlsafe._Loader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def test_libyaml_composes_what_the_python_composer_composes() -> None:
    import yaml

    from aihpc.spec import yamlsafe

    if yamlsafe._CLoader is None:
        pytest.skip("PyYAML without libyaml")
    used = 0
    for text in _corpus():
        fast = yamlsafe._compose_c(text)
        try:
            slow = _python_compose(text)
        except (yaml.YAMLError, SpecError):
            assert fast is None, text  # the Python composer words every error
            continue
        if fast is None:
            assert slow is None or "*" in text, text
            continue
        used += 1
        assert _shape(fast) == _shape(slow), text
    assert used > 30


def test_load_mapping_is_the_same_with_and_without_libyaml(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aihpc.spec import yamlsafe

    def load(text: str) -> object:
        try:
            doc = yamlsafe.load_mapping(text, "t.yaml")
        except SpecError as exc:
            return str(exc)
        return (doc.data, doc.values, doc.keys, doc.texts)

    corpus = _corpus()
    fast = [load(t) for t in corpus]
    monkeypatch.setattr(yamlsafe, "_CLoader", None)
    assert [load(t) for t in corpus] == fast
