"""What every ``powerfirst`` subcommand shares: the consoles and how an error ends a command."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn, TextIO

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from powerfirst.errors import ConfigError, InfeasibleError, PowerfirstError

__all__ = ["console", "counted_progress", "err_console", "fail", "one_line_warnings"]

# wide enough for the comparison table when output goes to a file or a pipe
console = Console() if sys.stdout.isatty() else Console(width=170)
err_console = Console(stderr=True)


def fail(exc: PowerfirstError) -> NoReturn:
    """Print ``exc`` on stderr and exit: code 2 for bad input or an infeasible site, 1 otherwise."""
    kind = "infeasible" if isinstance(exc, InfeasibleError) else "error"
    err_console.print(Text.assemble((f"{kind}:", "bold red"), " ", str(exc)), highlight=False, soft_wrap=True)
    raise typer.Exit(code=2 if isinstance(exc, ConfigError | InfeasibleError) else 1)


@contextmanager
def one_line_warnings() -> Iterator[None]:
    """Show the warnings raised meanwhile as one line ``warning: MESSAGE`` on stderr, without
    Python's file, line number and source line (which read like a traceback)."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        err_console.print(f"warning: {message}", highlight=False, soft_wrap=True)

    previous = warnings.showwarning
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def counted_progress(
    *,
    description: str = "{task.description}",
    unit: str | None = None,
    transient: bool = True,
    only_on_terminal: bool = True,
) -> Progress:
    """A progress bar on stderr counting done of total (``unit``: a word after the count), with the
    time elapsed; ``only_on_terminal``: hidden when stderr is not a terminal."""
    columns: list[ProgressColumn] = [TextColumn(description), BarColumn(), MofNCompleteColumn()]
    if unit is not None:
        columns.append(TextColumn(unit))
    columns.append(TimeElapsedColumn())
    return Progress(
        *columns,
        console=err_console,
        transient=transient,
        disable=only_on_terminal and not sys.stderr.isatty(),
    )
