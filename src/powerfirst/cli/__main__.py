"""``python -m powerfirst.cli``: the same entry point as ``powerfirst``."""

from __future__ import annotations

from powerfirst.cli.entry import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
