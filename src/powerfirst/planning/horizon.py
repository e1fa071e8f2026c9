"""What the horizon cuts off, in words for the summary's notes: per phase, a build that ends after
it, a lease's rent after it, GPUs held at it; and what the terminal value
(:mod:`powerfirst.planning.terminal`) counts for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from powerfirst.planning.deals import ColocationLease, GpuCloud
from powerfirst.planning.terminal import gpu_value_fraction, lease_terminal_usd

if TYPE_CHECKING:
    from powerfirst.planning.scenario import Phase, Scenario

__all__ = ["horizon_notes", "month_label"]


def month_label(start_month: str, offset: int) -> str:
    """The calendar month ``offset`` months after ``start_month`` (YYYY-MM)."""
    index = int(start_month[:4]) * 12 + int(start_month[5:7]) - 1 + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _lease_value(scenario: Scenario, phase: Phase, lease: ColocationLease, c: int) -> str:
    """The lease's terminal value in words (a gross lease's before the power it pays)."""
    spec = scenario.file
    value = float(
        lease_terminal_usd(
            lease,
            phase.convert_mw,
            c,
            spec.horizon_months,
            np.zeros((1, spec.horizon_months)),
            spec.discount_rate_pct_per_year,
        )[0]
    )
    power = (
        ", before the power it pays (each path's last 12 months' cost)" if lease.structure == "gross" else ""
    )
    return (
        f"a terminal value of {value / 1e6:,.2f} M USD (the rent less the landlord's opex{power}, discounted "
        f"at {spec.discount_rate_pct_per_year:g} %/year to the horizon)"
    )


def _gpu_value(cloud: GpuCloud, age_months: int) -> str:
    fraction = gpu_value_fraction(cloud, age_months)
    curve = (
        f"the straight line from their cost to resale_pct_of_cost = {cloud.resale_pct_of_cost:g} % at the "
        f"{12 * cloud.refresh_years}-month refresh"
        if cloud.refresh_years is not None
        else f"resale_pct_of_cost = {cloud.resale_pct_of_cost:g} %, no refresh cycle"
    )
    value = fraction * cloud.gpus * cloud.usd_per_gpu
    return f"deemed sold at the horizon for {fraction:.1%} of their cost, {value / 1e6:,.2f} M USD ({curve})"


def horizon_notes(scenario: Scenario) -> list[str]:
    """What the horizon cuts off, per phase: a build that ends at or after it (paid for, never
    earning), a lease's rent beyond it, GPUs still held at it; with the terminal value each counts
    for (none with ``terminal_value: {method: none}``)."""
    spec, out = scenario.file, []
    salvage = spec.terminal_value.on
    end = spec.horizon_months
    for i, phase in enumerate(spec.phases):
        c = spec.phase_start(phase) + phase.build_months
        who = f"phases[{i}] ({phase.name!r})"
        business = phase.business
        if c >= end:
            text = (
                f"{who}: its build ends {month_label(spec.start_month, c)}, after the horizon's last month "
                f"{month_label(spec.start_month, end - 1)}: its capex is paid and its MW stop mining, but it "
                "earns nothing within the horizon"
            )
            if salvage and isinstance(business, ColocationLease):
                text += f"; its contracted rent counts as {_lease_value(scenario, phase, business, c)}"
            out.append(text)
            continue
        if isinstance(business, ColocationLease):
            beyond = c + business.lease_months - end
            if beyond > 0:
                runs = (
                    f"{who}: the lease runs to {month_label(spec.start_month, c + business.lease_months - 1)}; "
                    f"its last {beyond} months of rent fall after the horizon and count"
                )
                worth = f" as {_lease_value(scenario, phase, business, c)}" if salvage else " for nothing"
                out.append(runs + worth)
        else:
            refreshes = business.refresh_years is not None and c + 12 * business.refresh_years < end
            last = c
            if refreshes:
                assert business.refresh_years is not None
                last = c + 12 * business.refresh_years * ((end - 1 - c) // (12 * business.refresh_years))
            if salvage:
                out.append(
                    f"{who}: the GPUs bought {month_label(spec.start_month, last)} ({end - last} months before "
                    f"the horizon's end) are held at the horizon and {_gpu_value(business, end - last)}"
                )
            elif not refreshes:
                out.append(
                    f"{who}: GPUs bought {month_label(spec.start_month, c)} are held at the horizon: no resale "
                    "value is counted for them"
                )
            else:
                out.append(
                    f"{who}: the GPUs bought {month_label(spec.start_month, last)} ({end - last} months before "
                    "the horizon's end) are held at the horizon: no resale value is counted for them "
                    f"(resale_pct_of_cost = {business.resale_pct_of_cost:g} % is counted only at a refresh)"
                )
    return out
