"""``python -m powerfirst`` and the ``powerfirst`` console script (see :mod:`powerfirst.cli.entry`)."""

from __future__ import annotations

from powerfirst.cli.entry import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
