"""The console entry point: signal handlers first, then the CLI (and pandas, highspy …).

Tiny on purpose, so Ctrl-C during start-up ends with one line, not a traceback.
"""

from __future__ import annotations

import signal
import sys
from typing import NoReturn

from powerfirst.interrupt import Interrupted, checkpoint, install

__all__ = ["main"]


def main() -> NoReturn:
    """Run the ``powerfirst`` CLI with the signal handlers in place from the first moment."""
    install()
    try:
        checkpoint("startup")
        from powerfirst.cli.app import app

        app()
        sys.exit(0)
    except Interrupted as exc:
        print(
            f"interrupted ({signal.Signals(exc.signum).name}): {exc.kept or 'nothing was written'}",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted (SIGINT): nothing was written", file=sys.stderr, flush=True)
        sys.exit(130)
