"""The summary of one strategy's run (``<strategy>/summary.json``), built by the backtest from the
run's ledger."""

from __future__ import annotations

from typing import Any, ClassVar

from powerfirst.accounting.results.base import ResultModel
from powerfirst.accounting.results.context import DataGaps, HashpriceSummary, WindowSummary
from powerfirst.accounting.results.streams import (
    AncillaryProduct,
    FourcpSummary,
    GpuHours,
    SlaMonth,
    TrainingJob,
)

__all__ = ["CostUsd", "EnergyMwh", "FleetSummary", "Optimum", "RevenueUsd", "StrategySummary"]


class RevenueUsd(ResultModel):
    """Revenue by stream over the window [USD] (positive: earned)."""

    mining: float
    """Mining revenue, gross of pool fees [USD]."""
    power_sellback: float
    """Energy sold back to the grid [USD]."""
    inference: float
    """Inference revenue [USD]."""
    training: float
    """Value of training jobs finished [USD]."""
    rental: float
    """GPU rental revenue [USD]."""
    heat: float
    """Heat sold [USD]."""
    ancillary: float
    """Ancillary-service capacity payments [USD]."""


class CostUsd(ResultModel):
    """Costs over the window [USD] (positive: paid)."""

    energy: float
    """Energy bought (block and real time) [USD]."""
    adders: float
    """Per-MWh adders [USD]."""
    pool_fees: float
    """Mining pool fees [USD]."""
    sla_penalty: float
    """Inference SLA penalties [USD]."""
    fourcp_charge: float
    """4CP transmission charge [USD]."""


class EnergyMwh(ResultModel):
    """Energy by use over the window [MWh]."""

    consumed: float
    """Energy consumed at the meter [MWh]."""
    mining: float
    """By the ASIC fleets [MWh]."""
    inference: float
    """By the GPU hall for inference [MWh]."""
    training: float
    """By the GPU hall for training [MWh]."""
    rental: float
    """By the GPU hall for rental [MWh]."""
    gpu_idle: float
    """By idle GPUs [MWh]."""
    sold_back: float
    """Sold back to the grid [MWh]."""
    bought_realtime: float
    """Bought at the real-time price [MWh]."""
    block: float
    """Taken under the fixed block [MWh]."""


class FleetSummary(ResultModel):
    """An ASIC fleet's parameters as the run used them."""

    max_power_mw: float
    """Power at full hashrate, at the meter [MW]."""
    min_power_mw: float
    """Lowest power while on [MW]."""
    hashrate_ths: float
    """Hashrate at full power [TH/s]."""
    efficiency_j_per_th: float
    """Efficiency [J/TH]."""
    pue: float
    """Power usage effectiveness [-]."""
    pool_fee_fraction: float
    """Pool fee [0–1]."""
    min_off_intervals: int
    """Intervals a fleet stays off once switched off [count]."""
    restart_hours: float
    """Time lost on each restart [h]."""


class Optimum(ResultModel):
    """How the hindsight optimum was solved."""

    problem: str
    """``LP`` or ``MILP``."""
    integer_variables: int
    """Integer variables [count]."""
    status: str
    """Solver status."""
    objective_net_margin_usd: float
    """The plan's net margin [USD]."""
    upper_bound_usd: float
    """Proven upper bound on any schedule's net margin [USD]."""
    mip_gap: float | None
    """Relative MIP gap (None: an LP)."""
    variables: int
    """Columns of the problem [count]."""
    constraints: int
    """Rows of the problem [count]."""
    build_seconds: float
    """Time to build the problem [s]."""
    solve_seconds: float
    """Time to solve it [s]."""


class StrategySummary(ResultModel):
    """What one strategy's run adds up to (``<strategy>/summary.json``), in the JSON's key order.

    The stream sections (``gpu_hours`` … ``heat_mwh_thermal``) are left out of the JSON when the site
    lacks the stream. ``policy`` is the strategy's own details (its settings, forecaster state and
    fallbacks): they differ by strategy and are kept as a plain ``dict[str, Any]`` rather than a union
    of per-strategy models.
    """

    omitted_when_none: ClassVar[frozenset[str]] = frozenset(
        {"gpu_hours", "training_jobs", "inference_sla", "fourcp", "ancillary", "heat_mwh_thermal"}
    )

    strategy: str
    """Strategy name (``--strategy``)."""
    label: str
    """Strategy description."""
    is_upper_bound: bool
    """Whether the strategy knows the future (a bound, not a strategy one can run)."""
    site: str
    """Site name."""
    price_source: str
    """Price SOURCE string."""
    window: WindowSummary
    """The window."""
    interval_minutes: float
    """Price interval [minutes]."""
    intervals: int
    """Intervals with a price, dispatched and booked [count]."""
    data_gaps: DataGaps
    """Intervals without a price."""
    market_inputs: dict[str, str | None]
    """Where each market input came from (None: not used, or none)."""
    warnings: list[str]
    """What the results could not account for."""
    net_margin_usd: float
    """Revenue minus costs [USD]."""
    revenue_usd: RevenueUsd
    """Revenue by stream."""
    cost_usd: CostUsd
    """Costs by kind."""
    energy_mwh: EnergyMwh
    """Energy by use."""
    energy_mwh_by_fleet: dict[str, float]
    """Energy per ASIC fleet [MWh]."""
    mining_revenue_usd_by_fleet: dict[str, float]
    """Mining revenue per ASIC fleet [USD]."""
    uptime: dict[str, float]
    """Mean share of each fleet's capacity that ran [0–1]."""
    switched_on_mw_total: dict[str, float]
    """Sum over intervals of each fleet's power switched on [MW]."""
    all_in_power_cost_usd_per_mwh: float | None
    """Energy cost plus adders minus sell-back, per MWh consumed [USD/MWh] (None: nothing consumed)."""
    fleets: dict[str, FleetSummary]
    """Each ASIC fleet's parameters, by name."""
    breakeven_basis: str
    """What ``mean_breakeven_usd_per_mwh`` means."""
    mean_breakeven_usd_per_mwh: dict[str, float]
    """Mean breakeven real-time price per fleet [USD/MWh]."""
    hashprice: HashpriceSummary
    """The hashprice."""
    gpu_hours: GpuHours | None = None
    """GPU-hours per workload (None: no GPU hall)."""
    training_jobs: list[TrainingJob] | None = None
    """The hall's training jobs (None: no GPU hall)."""
    inference_sla: list[SlaMonth] | None = None
    """The inference SLA per month (None: no inference)."""
    fourcp: FourcpSummary | None = None
    """4CP peaks and charge (None: no 4CP)."""
    ancillary: dict[str, AncillaryProduct] | None = None
    """Ancillary offers per product (None: no ancillary services)."""
    heat_mwh_thermal: float | None = None
    """Heat sold [MWh thermal] (None: no heat offtake)."""
    decisions_adjusted_intervals: int
    """Intervals where the site changed the policy's decision to make it feasible [count]."""
    solve_seconds: float
    """Time the policy took to prepare and decide [s]."""
    optimum: Optimum | None
    """How the hindsight optimum was solved (None: not the hindsight strategy)."""
    policy: dict[str, Any]
    """The strategy's own details (settings, forecaster, fallbacks); keys differ by strategy."""
