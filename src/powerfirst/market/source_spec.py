"""The ``SOURCE`` syntax of the CLI and the site file, parsed once into a :class:`SourceSpec`.

A source is ``MARKET:POINT`` (a bundled series, e.g. ``ercot-rt:HB_WEST``) or ``path.csv:COLUMN``
(a user CSV). The text is split at the ':' whose head names an existing file, so a column may
contain ':' (``prices.csv:HB:WEST``); when no head is a file, at the last ':'.

:func:`price_spec` reads a price source (the errors of ``--prices`` and ``--day-ahead``),
:func:`file_spec` a user file column (the errors of ``--load``); both return the same value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from powerfirst.errors import DataError
from powerfirst.market.markets import bundled_price_series

__all__ = ["SourceSpec", "file_spec", "price_spec", "split_spec"]

SourceKind = Literal["bundled", "csv"]


@dataclass(frozen=True)
class SourceSpec:
    """One parsed ``SOURCE``."""

    text: str
    """As the user wrote it (error messages quote it)."""
    kind: SourceKind
    """``bundled`` (a series shipped with powerfirst) or ``csv`` (the user's file)."""
    head: str
    """Before the ':': the bundled series' prefix (``ercot-rt``) or the file's path."""
    point: str
    """After the ':': the price point (``HB_WEST``) or the file's column."""

    @property
    def path(self) -> Path:
        """The file of a ``csv`` source."""
        return Path(self.head)

    def __str__(self) -> str:
        return self.text


def split_spec(text: str) -> tuple[str, str] | None:
    """``head:tail`` → (head, tail), or None without a ':' (see the module docstring)."""
    positions = [i for i, c in enumerate(text) if c == ":"]
    if not positions:
        return None
    for i in positions:
        head = text[:i]
        if head.strip() and Path(head).is_file():
            return head, text[i + 1 :]
    last = positions[-1]
    return text[:last], text[last + 1 :]


def price_spec(text: str | SourceSpec) -> SourceSpec:
    """A price ``SOURCE``: ``ercot-rt:HB_WEST``, ``caiso-rt:SP15`` or ``path/to/file.csv:COLUMN``.
    Raises DataError for text that is neither."""
    if isinstance(text, SourceSpec):
        return text
    if ":" not in text:
        raise DataError(
            f"price source {text!r} needs the form MARKET:POINT (e.g. ercot-rt:HB_WEST) or path.csv:COLUMN"
        )
    split = split_spec(text)
    assert split is not None
    head, point = split
    if not head.strip():
        raise DataError(f"price source {text!r} names no file or market before ':'")
    if not point:
        raise DataError(f"price source {text!r} names no column or price point after ':'")
    bundled = bundled_price_series()
    if head in bundled:
        return SourceSpec(text, "bundled", head, point)
    if head.lower().endswith((".csv", ".csv.gz")) or "/" in head or Path(head).exists():
        return SourceSpec(text, "csv", head, point)
    raise DataError(
        f"price source {text!r}: unknown market {head!r}; bundled markets: {', '.join(bundled)}, "
        "or give a CSV as path.csv:COLUMN"
    )


def file_spec(text: str, what: str) -> SourceSpec:
    """A user file's column, ``path.csv:COLUMN``; a DataError naming ``what`` otherwise."""
    split = split_spec(text)
    if split is None or not split[0].strip() or not split[1]:
        raise DataError(f"{what} = {text!r}: give path.csv:COLUMN (a CSV with an interval_start_utc column)")
    return SourceSpec(text, "csv", split[0], split[1])
