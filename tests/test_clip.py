"""clip_float gives what float(np.clip(...)) gives, to the bit (control/clip.py)."""

from __future__ import annotations

import itertools
import math
import struct

import numpy as np

from powerfirst.control.clip import clip_float

_EDGES = [-0.0, 0.0, 1.0, -1.0, 2.5, 1e-300, math.inf, -math.inf, math.nan, 7, np.float64(3.0)]


def _bits(value: float) -> bytes:
    return b"nan" if math.isnan(value) else struct.pack("<d", value)


def test_clip_float_matches_numpy_on_signed_zeros_infinities_nan_and_crossed_bounds() -> None:
    for x, low, high in itertools.product(_EDGES, repeat=3):
        expected = float(np.clip(x, low, high))
        assert _bits(clip_float(x, low, high)) == _bits(expected), (x, low, high)


def test_clip_float_keeps_a_value_inside_and_moves_one_outside_to_the_bound() -> None:
    assert clip_float(5.0, 0.0, 10.0) == 5.0
    assert clip_float(-3.0, 0.0, 10.0) == 0.0
    assert clip_float(12.0, 0.0, 10.0) == 10.0
    assert clip_float(1.0, 2.0, 0.5) == 0.5  # crossed bounds: the upper one wins, as in numpy
