"""``python -m powerfirst`` and the ``powerfirst`` console script.

Tiny on purpose: the signal handlers go in before the CLI (and pandas, highspy …) is imported,
so Ctrl-C during start-up ends with one line, not a traceback.
"""

from __future__ import annotations

from powerfirst.interrupt import main

if __name__ == "__main__":
    main()
