"""What every ``fusion`` command shares: click's context, ``--json``, and exit codes.

Exit codes, the same for every command: 0 done, 1 failed (the work ran and did not succeed),
2 bad input (a wrong option or value, settings refused, a file that cannot be read). Errors are
one line (French, then English); settings errors name the variable and never carry its value.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from fusion.errors import FusionError

DONE, FAILED, BAD_INPUT = 0, 1, 2
EXIT_CODES_HELP = "Exit codes: 0 done, 1 failed, 2 bad input."
CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"], "show_default": True}
F = TypeVar("F", bound=Callable[..., Any])


def json_option(function: F) -> F:
    option = click.option("--json", "as_json", is_flag=True, help="answer in JSON on stdout")
    return option(function)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def fail(message: str, *, code: int = BAD_INPUT) -> click.exceptions.Exit:
    """Print ``message`` on stderr; raise the result to exit with ``code``."""
    click.echo(message, err=True)
    return click.exceptions.Exit(code)


def exit_code(error: FusionError) -> int:
    """Bad input (2) for a refusal of what was asked, failed (1) for a dependency (503...)."""
    return BAD_INPUT if error.status_code < 500 else FAILED


def run_command(
    command: click.Command, argv: Sequence[str] | None, *, prog: str, obj: Any = None
) -> int:
    """Run a click command as a function: the exit code, never SystemExit nor a traceback of
    bad input."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = command.main(args=args, prog_name=prog, standalone_mode=False, obj=obj)
    except click.exceptions.Exit as stop:
        return stop.exit_code
    except click.ClickException as error:  # usage errors: exit 2
        error.show()
        return error.exit_code
    except click.Abort:
        click.echo("interrompu / aborted", err=True)
        return FAILED
    except FusionError as error:  # settings refused, bad file ...: one line each language
        click.echo(f"{error.message_fr}\n{error.message}", err=True)
        return exit_code(error)
    return result if isinstance(result, int) else DONE
