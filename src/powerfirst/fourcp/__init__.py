"""4CP peak prediction: the probability that an hour is its month's ERCOT system peak, and when to curtail.

* :class:`~powerfirst.fourcp.predictor.FourCpPredictor` learns from whole years of ERCOT load and
  day-ahead prices and answers from a :class:`~powerfirst.market.information.MarketHistory` only;
* :func:`~powerfirst.fourcp.evaluate.evaluate_fourcp` scores it leave-one-year-out against the
  fixed afternoon window operators use today.
"""

from __future__ import annotations

from powerfirst.fourcp.predictor import FourCpPredictor, curtail_hours, expected_charge_usd_per_mw

__all__ = ["FourCpPredictor", "curtail_hours", "expected_charge_usd_per_mw"]
