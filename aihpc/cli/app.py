"""The click application: a Group that imports a subcommand only when run.

Its help lists commands from `aihpc.cli.commands.COMMANDS` without importing
them, so only click is loaded until a command actually runs.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from aihpc import __version__
from aihpc.cli.commands import COMMANDS, EPILOG, SUMMARY
from aihpc.errors import EXIT_FAILURE, AihpcError, SpecError


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = getattr(module, entry[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, entry[2]) for name, entry in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aihpc")
def cli() -> None:
    # The summary lives in aihpc.cli.commands so the fast --help path can share it.
    pass


cli.help = SUMMARY


def _fail(message: str, code: int) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def run(argv: list[str] | None = None) -> None:
    """Run the click app; map every failure to a one-line message and an exit code."""
    try:
        result: Any = cli.main(args=argv, prog_name="aihpc", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _fail("aihpc: aborted", 130)
    except KeyboardInterrupt:
        _fail("aihpc: interrupted", 130)
    except SpecError as exc:
        _fail(f"aihpc: invalid job spec, nothing was submitted:\n{exc}", exc.exit_code)
    except AihpcError as exc:
        _fail(f"aihpc: error: {exc}", exc.exit_code)
    except BrokenPipeError:
        # `aihpc logs ... | head`: the reader left; not an error worth a traceback.
        # Point stdout at /dev/null so the exit-time flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:
        if os.environ.get("AIHPC_DEBUG"):
            raise
        _fail(
            f"aihpc: internal error: {exc.__class__.__name__}: {exc} "
            "(set AIHPC_DEBUG=1 for a traceback and please report it)",
            EXIT_FAILURE,
        )
    sys.exit(result if isinstance(result, int) else 0)
