"""Where a value came from: file, line and column for every field path.

Shared by the checks of every spec (train.yaml, `shell`, `jupyter`), so an
issue always names the file and field that set the value at fault.
"""

from __future__ import annotations

from pathlib import Path

from aihpc.errors import SpecIssue
from aihpc.spec.records import field, record
from aihpc.spec.yamlsafe import Origin, format_path
from aihpc.spec.yamlsafe import Path as YPath

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class HasOrigins(Protocol):
        """Per path, where its value and its key were written (layers.Merged is one)."""

        values: dict[YPath, Origin]
        keys: dict[YPath, Origin]


@record()
class Origins:
    """Origins of values that came from somewhere other than merged YAML layers."""

    values: dict[YPath, Origin] = field(default_factory=dict)
    keys: dict[YPath, Origin] = field(default_factory=dict)


class Locator:
    """Finds the best origin for a path: exact, else the nearest set ancestor."""

    def __init__(self, origins: HasOrigins, default_file: str | Path) -> None:
        self.origins = origins
        self.default = Origin(str(default_file))

    def value(self, path: YPath) -> Origin:
        for n in range(len(path), 0, -1):
            origin = self.origins.values.get(path[:n]) or self.origins.keys.get(path[:n])
            if origin is not None:
                return origin
        return self.default

    def key(self, path: YPath) -> Origin:
        return self.origins.keys.get(path) or self.value(path)

    def issue(self, path: YPath, reason: str, hint: str = "", at_key: bool = False) -> SpecIssue:
        origin = self.key(path) if at_key else self.value(path)
        return SpecIssue(origin.file, origin.line, origin.column, format_path(path), reason, hint)


def sort_issues(issues: list[SpecIssue]) -> list[SpecIssue]:
    return sorted(issues, key=lambda i: (i.file, i.line, i.column))
