"""Bitcoin mining economics as pure functions (numpy-friendly).

Units: hashprice in USD per TH/s per day (``_usd_per_th_day``) or per PH/s per day
(``_usd_per_ph_day`` = 1000 × per TH); efficiency in J/TH (= W per TH/s); power price in USD/MWh.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "BLOCKS_PER_DAY",
    "breakeven_usd_per_mwh",
    "hashprice_usd_per_th_day",
    "mining_revenue_usd_per_mwh",
    "network_hashrate_ths",
]

BLOCKS_PER_DAY = 144.0
"""Target block rate: one block per 600 s."""

FloatLike = float | npt.NDArray[np.float64]


def network_hashrate_ths(difficulty: FloatLike) -> FloatLike:
    """Network hashrate implied by a difficulty [TH/s]: difficulty × 2^32 / 600 s, in TH/s."""
    return difficulty * 2.0**32 / 600.0 / 1e12


def hashprice_usd_per_th_day(
    btc_price_usd: FloatLike,
    network_hashrate_ths: FloatLike,
    subsidy_btc_per_block: FloatLike,
    fees_btc_per_block: FloatLike = 0.0,
) -> FloatLike:
    """Expected revenue of one TH/s for one day [USD/(TH/s)/day].

    (subsidy + fees per block, BTC) × 144 blocks/day × BTC price (USD) / network hashrate (TH/s).
    """
    return (
        (subsidy_btc_per_block + fees_btc_per_block) * BLOCKS_PER_DAY * btc_price_usd / network_hashrate_ths
    )


def mining_revenue_usd_per_mwh(
    hashprice_usd_per_th_day: FloatLike,
    efficiency_j_per_th: float,
    *,
    pue: float = 1.0,
    pool_fee_fraction: float = 0.0,
) -> FloatLike:
    """Mining revenue per MWh drawn at the meter [USD/MWh], net of the pool fee.

    One MW at the meter runs 1/PUE MW of machines = 1e6 / (PUE × e) TH/s, which earn
    hashprice / 24 USD per TH/s per hour.
    """
    return hashprice_usd_per_th_day / 24.0 * 1e6 / (efficiency_j_per_th * pue) * (1.0 - pool_fee_fraction)


def breakeven_usd_per_mwh(
    hashprice_usd_per_ph_day: FloatLike,
    efficiency_j_per_th: float,
    *,
    pue: float = 1.0,
    pool_fee_fraction: float = 0.0,
) -> FloatLike:
    """Power price at which mining just pays for its energy [USD/MWh at the meter].

    hashprice (USD/PH/day) / (0.024 × e) for PUE 1 and no pool fee, e.g. 74.73 USD/PH/day at
    29.5 J/TH gives 105.55 USD/MWh. Above this price, mining loses money on every MWh.
    """
    return mining_revenue_usd_per_mwh(
        hashprice_usd_per_ph_day / 1000.0, efficiency_j_per_th, pue=pue, pool_fee_fraction=pool_fee_fraction
    )
