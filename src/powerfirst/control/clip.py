"""``np.clip`` for one number, without numpy's call overhead (the plant clips a few per interval).

:func:`clip_float` gives what ``float(np.clip(x, low, high))`` gives for floats, to the bit: ``x``
unless it is below ``low`` (then ``low``) or above ``high`` (then ``high``, also when ``low`` >
``high``); NaN in, NaN out; a signed zero kept as it is when it equals a bound.
"""

from __future__ import annotations

import math

__all__ = ["clip_float"]


def clip_float(x: float, low: float, high: float) -> float:
    """``x`` within [``low``, ``high``], as ``float(np.clip(x, low, high))`` (same units as ``x``)."""
    x, low, high = float(x), float(low), float(high)
    if math.isnan(low) or math.isnan(high):
        return math.nan
    above = low if low > x else x
    return high if high < above else above
