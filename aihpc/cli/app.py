"""The click application: a Group that imports a subcommand only when run.

Its help lists commands from `aihpc.cli.commands.COMMANDS` without importing
them, so only click is loaded until a command actually runs.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from aihpc import __version__
from aihpc.cli.commands import COMMANDS, EPILOG, SUMMARY
from aihpc.cli.failures import fail, guarded


class LazyGroup(click.Group):
    # The overrides keep click's signatures; `del ctx` marks it unused on purpose.
    def list_commands(self, ctx: click.Context) -> list[str]:
        del ctx
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        del ctx
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = getattr(module, entry[1])
        return command

    def format_commands(
        self,
        ctx: click.Context,
        formatter: click.HelpFormatter,
    ) -> None:
        del ctx
        rows = [(name, entry[2]) for name, entry in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aihpc")
def cli() -> None:
    # The summary lives in aihpc.cli.commands so the fast --help path can share it.
    pass


cli.help = SUMMARY


def run(argv: list[str] | None = None) -> None:
    """Run the click app; map every failure to a one-line message and an exit code."""

    def invoke() -> Any:
        try:
            return cli.main(args=argv, prog_name="aihpc", standalone_mode=False)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            fail("aihpc: aborted", 130)

    guarded(invoke)
