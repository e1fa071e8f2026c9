"""Nothing lost, nothing silent: any site file and any small price CSV (hypothesis).

A hostile user's inputs — site values within and beyond plausible ranges, price CSVs with holes,
odd steps, shifted or naive stamps, bad cells, ragged rows — through a short backtest
(``breakeven`` and ``perfect`` over a day, in-process). Every outcome is either a clear
:class:`~powerfirst.errors.PowerfirstError` (no other exception type) or a run whose figures are
internally consistent: the energy balance closes (consumed = Σ fleet power × hours = block +
bought − sold), sell-back stays within the block, power never exceeds the grid limit, and the
priced intervals plus the gaps are the window's grid, every priced interval on it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from powerfirst.backtest.runner import prepare_backtest, run_strategy
from powerfirst.errors import PowerfirstError
from powerfirst.policies.registry import parse_site

START = pd.Timestamp("2023-03-01T06:00Z")  # 2023-03-01 00:00 Central: the window's first day
WINDOW = ("2023-03-01", "2023-03-01")  # one market-local day (ERCOT)
TOLERANCE_MW = 1e-6


@st.composite
def price_files(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A small price CSV's text and what was done to it."""
    minutes = draw(st.sampled_from([5, 15, 15, 60]))
    shift = draw(st.sampled_from([0, 0, 0, 7]))  # minutes off the clock grid
    before = draw(st.sampled_from([0, 60, 24 * 60]))  # history before the window [min]
    span_min = before + 24 * 60 + draw(st.sampled_from([0, 60]))
    count = span_min // minutes
    stamps = pd.date_range(
        START - pd.Timedelta(minutes=before) + pd.Timedelta(minutes=shift),
        periods=count,
        freq=f"{minutes}min",
    )
    text_stamps = list(stamps.strftime("%Y-%m-%dT%H:%M:%SZ"))
    prices = [f"{p:.2f}" for p in draw(st.lists(st.floats(-50.0, 300.0), min_size=count, max_size=count))]
    keep = np.ones(count, dtype=bool)
    for _ in range(draw(st.integers(0, 3))):  # holes
        first = draw(st.integers(0, count - 1))
        keep[first : first + draw(st.integers(1, 20))] = False
    done: dict[str, Any] = {"minutes": minutes, "shift": shift}
    change = draw(
        st.sampled_from(["none"] * 6 + ["odd-step", "resolution", "naive", "bad-cell", "empty", "ragged"])
    )
    at = draw(st.integers(1, count - 2))
    if change == "odd-step":
        text_stamps[at] = (stamps[at] + pd.Timedelta(minutes=draw(st.sampled_from([1, 2, 4])))).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    elif change == "resolution":
        keep[at:] &= np.arange(count - at) % 3 == 0
    elif change == "naive":
        text_stamps[at] = text_stamps[at].removesuffix("Z")
    elif change == "bad-cell":
        prices[at] = draw(st.sampled_from(["abc", "1e9", "-", "1,5", "nan", "inf"]))
    elif change == "empty":
        prices[at] = ""
    done["change"] = change
    lines = ["interval_start_utc,P"]
    for i in np.flatnonzero(keep):
        line = f"{text_stamps[i]},{prices[i]}"
        if change == "ragged" and i == at:
            line += ",9"
        lines.append(line)
    return "\n".join(lines) + "\n", done


_BEYOND = {
    "units": [0, -5, 10**9],
    "hashrate_ths": [0.0, 1e9, -1.0],
    "power_w": [0.0, 1e8, -3000.0],
    "pue": [0.5, 10.0],
    "connection_limit_mw": [0.0, -1.0, 1e9],
    "block_mw": [0.0, 1e7, -1.0],
    "block_price_usd_per_mwh": [1e9, -1e9],
    "adder": [-100.0, 1e8],
}
"""Values far outside plausible ranges, one field per example at most."""


@st.composite
def site_files(draw: st.DrawFn) -> dict[str, Any]:
    """A mining site as site-file data: plausible values, and in some examples one field far beyond."""
    beyond = draw(st.sampled_from([None] * 2 * len(_BEYOND) + list(_BEYOND)))

    def value(field: str, plausible: st.SearchStrategy[Any]) -> Any:
        return draw(st.sampled_from(_BEYOND[field])) if beyond == field else draw(plausible)

    fleet = {
        "name": "f",
        "units": value("units", st.integers(50, 3000)),
        "hashrate_ths": value("hashrate_ths", st.floats(50.0, 250.0)),
        "power_w": value("power_w", st.floats(2500.0, 3600.0)),
        "pue": value("pue", st.floats(1.0, 1.3)),
        "min_off_time_min": draw(st.sampled_from([0.0, 15.0, 45.0])),
        "restart_time_min": draw(st.sampled_from([0.0, 5.0])),
        "min_power_fraction": draw(st.sampled_from([0.0, 0.0, 0.3, 1.0])),
    }
    contract: dict[str, Any] = {"kind": "index", "price_series": "p.csv:P"}
    if draw(st.booleans()):
        contract = {
            "kind": "fixed_block",
            "price_series": "p.csv:P",
            "block_mw": value("block_mw", st.floats(0.5, 8.0)),
            "block_price_usd_per_mwh": value("block_price_usd_per_mwh", st.floats(-10.0, 80.0)),
        }
    contract["adders_usd_per_mwh"] = {"a": value("adder", st.floats(0.0, 10.0))}
    site: dict[str, Any] = {
        "name": "hostile",
        "market": "ercot",
        "grid": {"connection_limit_mw": value("connection_limit_mw", st.floats(0.5, 12.0))},
        "contract": contract,
        "fleets": [fleet],
        "bitcoin": {"source": "constant", "constant_usd_per_ph_day": draw(st.floats(20.0, 80.0))},
    }
    if draw(st.sampled_from([False, False, True])):  # a small GPU hall: inference and rentals
        gpus = draw(st.integers(50, 2000))
        site["gpu_hall"] = {
            "name": "hall",
            "gpus": gpus,
            "gpu_power_w": draw(st.floats(700.0, 1200.0)),
            "idle_power_w": draw(st.floats(100.0, 300.0)),
            "pue": draw(st.floats(1.1, 1.4)),
            "inference": {
                "demand": {"kind": "constant", "gpus": draw(st.integers(0, gpus))},
                "price_usd_per_gpu_hour": draw(st.floats(0.5, 4.0)),
                "sla_availability_fraction": draw(st.sampled_from([0.0, 0.99])),
                "penalty_usd_per_gpu_hour": draw(st.floats(0.0, 10.0)),
            },
            "rental": {"price_usd_per_gpu_hour": draw(st.floats(0.5, 3.0)), "min_block_hours": 1},
        }
        site["grid"]["connection_limit_mw"] += draw(st.floats(0.0, 3.0))
    return site


def _check(bt: Any, result: Any) -> None:
    frame = result.ledger.intervals
    dt = bt.inputs.interval_hours
    fleets = sum(frame[c] for c in frame.columns if c.startswith("power_mw__"))
    hall = frame.get("hall_power_mw", 0.0)
    assert np.allclose(frame["consumed_mwh"], (fleets + hall) * dt, rtol=1e-9, atol=1e-9)
    balance = frame["block_mwh"] + frame["bought_realtime_mwh"] - frame["sold_back_mwh"]
    assert np.allclose(balance, frame["consumed_mwh"], rtol=1e-9, atol=1e-9)
    assert (frame["sold_back_mwh"] >= -1e-9).all()
    assert (frame["sold_back_mwh"] <= frame["block_mwh"] + 1e-9).all()
    assert (frame["load_mw"] <= bt.inputs.grid_limit_mw + TOLERANCE_MW).all()
    # gaps + priced intervals = the window's grid, every priced interval on it
    window = bt.window
    interval = bt.prices.interval
    expected = (window.end_utc - window.start_utc) / interval
    assert expected == int(expected)
    assert bt.gaps.expected_intervals == int(expected)
    assert len(frame) + bt.gaps.total_missing == bt.gaps.expected_intervals
    assert (((frame.index - window.start_utc) % interval) == pd.Timedelta(0)).all()
    assert ((frame.index >= window.start_utc) & (frame.index < window.end_utc)).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prices=price_files(), site=site_files(), strategy=st.sampled_from(["breakeven", "perfect"]))
def test_any_input_is_a_clear_error_or_a_consistent_run(
    prices: tuple[str, dict[str, Any]], site: dict[str, Any], strategy: str
) -> None:
    text, _ = prices
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.csv"
        path.write_text(text, encoding="utf-8")
        site["contract"]["price_series"] = f"{path}:P"
        try:
            bt = prepare_backtest(parse_site(site), *WINDOW)
            result = run_strategy(bt, strategy)
        except PowerfirstError as exc:
            event(f"error{' (hall)' if 'gpu_hall' in site else ''}: {type(exc).__name__}: {str(exc)[:60]}")
            return
    event("ran, with a GPU hall" if "gpu_hall" in site else "ran")
    _check(bt, result)
