"""Write JupyterLab connection info for `aihpc jupyter`, print the token.

Runs inside the job: `python3 -I jupyter_info.py OUT HOST PORT`. The file is
created 0600 and renamed into place, so the CLI never reads half of it.
"""

from __future__ import annotations

import json
import os
import secrets
import sys


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: jupyter_info.py OUT HOST PORT", file=sys.stderr)
        return 2
    out, host, port = argv[1], argv[2], int(argv[3])
    token = secrets.token_hex(24)
    tmp = f"{out}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"host": host, "port": port, "token": token}, handle)
    os.replace(tmp, out)
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
