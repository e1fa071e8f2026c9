"""Hypothesis strategies for site sections, shared by the property tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


@st.composite
def fleet_specs(draw: st.DrawFn, name: str, interval_minutes: int, blocks: bool = False) -> dict[str, Any]:
    """One ASIC fleet as site-file data (switch blocks when ``blocks``)."""
    spec: dict[str, Any] = {
        "name": name,
        "units": draw(st.integers(100, 2000)),
        "hashrate_ths": draw(st.floats(50.0, 250.0)),
        "power_w": draw(st.floats(2500.0, 3600.0)),
        "pue": draw(st.floats(1.0, 1.3)),
        "pool_fee_fraction": draw(st.floats(0.0, 0.03)),
        "min_off_time_min": draw(st.sampled_from([0.0, 0.0, 10.0, 15.0, 45.0, 120.0])),
        "restart_time_min": draw(st.sampled_from([0.0, 5.0, float(interval_minutes)])),
        "min_power_fraction": draw(st.sampled_from([0.0, 0.0, 0.2, 0.5])),
    }
    if blocks:
        block = draw(st.sampled_from([50, 100, 250]))
        spec["units"] = block * draw(st.integers(1, 8))
        spec["switch_block_units"] = block
    return spec


@st.composite
def contract_specs(draw: st.DrawFn) -> dict[str, Any]:
    """An index or fixed-block contract on the price column ``p.csv:P``, with an adder."""
    contract: dict[str, Any] = {"kind": "index", "price_series": "p.csv:P"}
    if draw(st.booleans()):
        contract = {
            "kind": "fixed_block",
            "price_series": "p.csv:P",
            "block_mw": draw(st.floats(0.5, 8.0)),
            "block_price_usd_per_mwh": draw(st.floats(-10.0, 80.0)),
        }
    contract["adders_usd_per_mwh"] = {"a": draw(st.floats(0.0, 10.0))}
    return contract


def block_within(contract: dict[str, Any], grid_mw: float) -> dict[str, Any]:
    """``contract`` with its block at most ``grid_mw`` (a site file refuses a larger block)."""
    if contract.get("kind") == "fixed_block" and contract["block_mw"] > grid_mw:
        return {**contract, "block_mw": grid_mw}
    return contract
