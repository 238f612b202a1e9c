"""`.aihpcignore`: gitignore-style patterns for the code snapshot.

Supported, as in gitignore: `#` comments, `!` negation (last match wins),
a trailing `/` for directories only, a `/` inside the pattern anchors it
to the workdir, `*`, `?`, `[abc]`, and `**` for any number of directories.
A file inside an ignored directory stays ignored (the walk never enters it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Always skipped when walking a workdir that is not a git repository.
DEFAULT_PATTERNS = (".git/", "__pycache__/")


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def _translate(pattern: str) -> str:
    out = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**/", i):
                out.append("(?:.*/)?")
                i += 3
                continue
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern.startswith("[!", i) else i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
                continue
        elif char == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def parse(text: str) -> list[Rule]:
    rules = []
    for raw_line in text.splitlines():
        line = raw_line.rstrip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate or line.startswith("\\"):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        body = _translate(line)
        regex = f"^{body}$" if anchored else f"^(?:.*/)?{body}$"
        rules.append(Rule(re.compile(regex, re.DOTALL), negate, dir_only))
    return rules


def is_ignored(rules: list[Rule], path: str, is_dir: bool) -> bool:
    """`path` is relative to the workdir, with `/` separators."""
    ignored = False
    for rule in rules:
        if rule.dir_only and not is_dir:
            continue
        if rule.regex.match(path):
            ignored = not rule.negate
    return ignored


def is_ignored_file(rules: list[Rule], path: str) -> bool:
    """Like is_ignored for a file, but also true when a parent directory is ignored.

    Needed for git's flat file list, where no walk prunes ignored directories.
    """
    parts = path.split("/")
    for depth in range(1, len(parts)):
        if is_ignored(rules, "/".join(parts[:depth]), is_dir=True):
            return True
    return is_ignored(rules, path, is_dir=False)
