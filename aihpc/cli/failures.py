"""Every failure as one line and an exit code, never a traceback (click-free).

Used by the click app and by the fast submit path, so both fail alike.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from aihpc.errors import EXIT_FAILURE, AihpcError, SpecError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn


def fail(message: str, code: int) -> NoReturn:
    print(message, file=sys.stderr)
    sys.exit(code)


def guarded(action: Callable[[], Any]) -> NoReturn:
    """Run `action`; exit with its int result, or map its exception to a message."""
    try:
        result = action()
    except KeyboardInterrupt:
        fail("aihpc: interrupted", 130)
    except SpecError as exc:
        fail(f"aihpc: invalid job spec, nothing was submitted:\n{exc}", exc.exit_code)
    except AihpcError as exc:
        fail(f"aihpc: error: {exc}", exc.exit_code)
    except BrokenPipeError:
        # `aihpc logs ... | head`: the reader left; not an error worth a traceback.
        # Point stdout at /dev/null so the exit-time flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:
        if os.environ.get("AIHPC_DEBUG"):
            raise
        fail(
            f"aihpc: internal error: {exc.__class__.__name__}: {exc} "
            "(set AIHPC_DEBUG=1 for a traceback and please report it)",
            EXIT_FAILURE,
        )
    sys.exit(result if isinstance(result, int) else 0)
