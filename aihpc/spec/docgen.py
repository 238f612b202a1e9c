"""Generate docs/train-yaml-reference.md from the model (aihpc.spec.model).

    python -m aihpc.spec.docgen            # rewrite the file
    python -m aihpc.spec.docgen --check    # exit 1 if it is out of date

A unit test compares the committed file with `render()`, so the reference
and the model cannot drift apart.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from aihpc.spec.model import TrainSpec

DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "docs" / "train-yaml-reference.md"

HEADER = """\
# train.yaml reference

<!-- Generated from aihpc/spec/model.py by `python -m aihpc.spec.docgen`. Do not edit. -->

Every key below can also be set in `~/.config/aihpc/config.yaml`, and
overridden on the command line with `-o key=value` (dotted keys such as
`-o checkpoint.max_restarts=5`, YAML values such as `-o 'args=[--lr, 1e-4]'`).
Some scalar keys also read `AIHPC_<KEY>` environment variables (see the
researcher guide). Unknown keys are errors, with a "did you mean" hint.
"""


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return (
            f"mapping ([{_ref_name(schema['$ref']).lower()}](#{_ref_name(schema['$ref']).lower()}))"
        )
    if "anyOf" in schema:
        parts = [_type(s) for s in schema["anyOf"] if s.get("type") != "null"]
        nullable = any(s.get("type") == "null" for s in schema["anyOf"])
        return " or ".join(parts) + (" or null" if nullable else "")
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    kind = schema.get("type", "any")
    if kind == "array":
        inner = _type(schema.get("items", {}))
        extra = f", at least {schema['minItems']}" if "minItems" in schema else ""
        return f"list of {inner}{extra}"
    if kind == "object":
        values = schema.get("additionalProperties")
        return f"mapping of {_type(values)}" if isinstance(values, dict) else "mapping"
    names = {"string": "string", "integer": "integer", "boolean": "boolean", "number": "number"}
    text = str(names.get(kind, kind))
    if "exclusiveMinimum" in schema:
        text += f" > {schema['exclusiveMinimum']}"
    elif "minimum" in schema:
        text += f" ≥ {schema['minimum']}"
    if "maximum" in schema:
        text += f", ≤ {schema['maximum']}"
    return text


def _default(name: str, schema: dict[str, Any], required: set[str]) -> str:
    if name in required:
        return "**required**"
    if "default" not in schema:
        empty = {"array": "`[]`", "object": "`{}`"}
        return empty.get(str(schema.get("type")), "")
    value = schema["default"]
    if value is None:
        return "unset"
    return f"`{json.dumps(value)}`" if not isinstance(value, str) else f"`{value}`"


def _table(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, prop in schema["properties"].items():
        description = str(prop.get("description", "")).replace("|", "\\|").replace("\n", " ")
        rows.append(
            f"| `{name}` | {_type(prop)} | {_default(name, prop, required)} | {description} |"
        )
    return rows


def render() -> str:
    schema = TrainSpec.model_json_schema()
    lines = [HEADER, "## Top level", "", *_table(schema), ""]
    for name, sub in sorted(schema.get("$defs", {}).items()):
        lines += [f"## {name.lower()}", "", str(sub.get("description", "")), "", *_table(sub), ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python -m aihpc.spec.docgen", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
