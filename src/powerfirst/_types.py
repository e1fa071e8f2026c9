"""Array types shared by every layer (one place, so a signature reads the same everywhere)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["Array", "BoolArray", "IntArray"]

Array = npt.NDArray[np.float64]
"""Floating-point values; units are in the name of whatever holds them."""
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
