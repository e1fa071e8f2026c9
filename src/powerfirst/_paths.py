"""Where the bundled data lives (inside the installed package)."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Bundled real data; see ``data/PROVENANCE.md``."""
