"""Cash flows and energy of a dispatch, per interval and in total.

Sign convention: every ``*_usd`` column is a positive amount of its kind — revenue columns are
money in, cost columns are money out — except ``power_sellback_usd``, which is negative when a
negative real-time price makes selling back cost money. ``net_margin_usd`` = revenues − costs.

Per interval (Δt hours, load L = Σ fleet power at the meter, real-time price p):

* mining revenue (gross)  = Σ_f gross rate_f × (x_f·Δt − started_f × restart hours_f)
  — a unit that starts draws power for its restart time before it hashes;
* pool fees               = pool fee fraction × mining revenue;
* energy, index contract  = p·L·Δt;
* energy, fixed block Q@K = K·Q·Δt + p·max(L − Q, 0)·Δt;   sell-back = p·max(Q − L, 0)·Δt;
* adders                  = adders·L·Δt.

This is the same arithmetic as the objective of :mod:`powerfirst.dispatch.model`; a test checks
that they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst.bitcoin.economics import mining_revenue_usd_per_mwh
from powerfirst.dispatch.inputs import DispatchInputs

__all__ = ["Ledger", "account", "started_mw"]

Array = npt.NDArray[np.float64]


def started_mw(power_mw: Array, initial_power_mw: Array) -> Array:
    """Power switched on in each interval, (F, T) [MW]: max(x[t] − x[t−1], 0)."""
    previous = np.concatenate([initial_power_mw[:, None], power_mw[:, :-1]], axis=1)
    started: Array = np.clip(power_mw - previous, 0.0, None)
    return started


@dataclass(frozen=True)
class Ledger:
    """The accounted result of a dispatch: one row per interval, and totals."""

    intervals: pd.DataFrame
    fleet_names: tuple[str, ...]
    max_power_mw: Array

    def total(self, column: str) -> float:
        return float(self.intervals[column].sum())

    @property
    def net_margin_usd(self) -> float:
        return self.total("net_margin_usd")

    def uptime(self) -> dict[str, float]:
        """Mean share of each fleet's capacity that ran [0–1]."""
        return {
            name: float(np.clip(self.intervals[f"power_mw__{name}"].mean() / cap, 0.0, 1.0))
            if cap > 0
            else 0.0
            for name, cap in zip(self.fleet_names, self.max_power_mw, strict=True)
        }


def account(inputs: DispatchInputs, power_mw: Array, initial_power_mw: Array | None = None) -> Ledger:
    """Book the cash flows and energy of fleet power ``power_mw`` (F, T) [MW at the meter]."""
    site = inputs.site
    dt = site.interval_hours
    price = inputs.price_usd_per_mwh
    initial = site.max_power_mw if initial_power_mw is None else initial_power_mw
    starts = started_mw(power_mw, initial)
    load = power_mw.sum(axis=0)

    gross_mining = np.zeros(inputs.num_intervals)
    pool_fees = np.zeros(inputs.num_intervals)
    columns: dict[str, Array] = {}
    for f, fleet in enumerate(site.fleets):
        gross_rate = np.asarray(
            mining_revenue_usd_per_mwh(
                inputs.hashprice_usd_per_th_day, fleet.efficiency_j_per_th, pue=fleet.pue
            )
        )
        hashing_mwh = power_mw[f] * dt - starts[f] * fleet.restart_hours
        revenue = gross_rate * hashing_mwh
        gross_mining += revenue
        pool_fees += revenue * fleet.pool_fee_fraction
        columns[f"power_mw__{fleet.name}"] = power_mw[f]
        columns[f"started_mw__{fleet.name}"] = starts[f]
        columns[f"mining_revenue_usd__{fleet.name}"] = revenue

    if site.block_mw > 0:
        bought_mwh = np.clip(load - site.block_mw, 0.0, None) * dt
        sold_mwh = np.clip(site.block_mw - load, 0.0, None) * dt
        block_mwh = np.full(inputs.num_intervals, site.block_mw * dt)
        energy_cost = site.block_price_usd_per_mwh * block_mwh + price * bought_mwh
    else:
        bought_mwh = load * dt
        sold_mwh = np.zeros(inputs.num_intervals)
        block_mwh = np.zeros(inputs.num_intervals)
        energy_cost = price * bought_mwh
    sellback = price * sold_mwh
    adders = site.adder_usd_per_mwh * load * dt
    net = gross_mining - pool_fees - energy_cost - adders + sellback

    frame = pd.DataFrame(
        {
            "price_usd_per_mwh": price,
            "hashprice_usd_per_ph_day": inputs.hashprice_usd_per_th_day * 1000.0,
            "load_mw": load,
            **columns,
            "consumed_mwh": load * dt,
            "block_mwh": block_mwh,
            "bought_realtime_mwh": bought_mwh,
            "sold_back_mwh": sold_mwh,
            "mining_revenue_usd": gross_mining,
            "pool_fees_usd": pool_fees,
            "energy_cost_usd": energy_cost,
            "adders_usd": adders,
            "power_sellback_usd": sellback,
            "net_margin_usd": net,
        },
        index=pd.DatetimeIndex(inputs.times_utc, name="interval_start_utc"),
    )
    return Ledger(
        intervals=frame,
        fleet_names=tuple(f.name for f in site.fleets),
        max_power_mw=site.max_power_mw,
    )
