"""What every ``powerfirst`` subcommand shares: the consoles and how an error ends a command."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

from powerfirst.errors import ConfigError, InfeasibleError, PowerfirstError

__all__ = ["console", "err_console", "fail"]

# wide enough for the comparison table when output goes to a file or a pipe
console = Console() if sys.stdout.isatty() else Console(width=170)
err_console = Console(stderr=True)


def fail(exc: PowerfirstError) -> NoReturn:
    """Print ``exc`` on stderr and exit: code 2 for bad input or an infeasible site, 1 otherwise."""
    kind = "infeasible" if isinstance(exc, InfeasibleError) else "error"
    err_console.print(Text.assemble((f"{kind}:", "bold red"), " ", str(exc)), highlight=False, soft_wrap=True)
    raise typer.Exit(code=2 if isinstance(exc, ConfigError | InfeasibleError) else 1)
