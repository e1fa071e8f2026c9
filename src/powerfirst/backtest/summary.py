"""What a strategy's run adds up to: the summary written as ``<strategy>/summary.json``.

Net margin, revenue and cost by stream, energy by use, GPU-hours per workload, training jobs, SLA per
month, 4CP peaks and ancillary detail, uptime, the fleets' parameters and how the hindsight optimum
was solved — computed from the run's ledger (the booked cash flows), never from the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from powerfirst.accounting.ledger import JobOutcome, Ledger
from powerfirst.accounting.results import (
    AncillaryProduct,
    CostUsd,
    DataGaps,
    EnergyMwh,
    FleetSummary,
    FourcpPeak,
    FourcpSummary,
    GpuHours,
    HashpriceSummary,
    Optimum,
    RevenueUsd,
    SlaMonth,
    StrategySummary,
    TrainingJob,
    WindowSummary,
)
from powerfirst.backtest.engine import PolicyRun
from powerfirst.control.contract import Policy
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.market.series import PriceSeries
from powerfirst.policies.perfect import PerfectHindsightPolicy
from powerfirst.site.schema import Site

__all__ = [
    "BacktestFacts",
    "StreamSections",
    "hours_without_price",
    "optimum",
    "strategy_summary",
    "streams_summary",
]


class BacktestFacts(Protocol):
    """What a summary reads of its backtest (:class:`powerfirst.backtest.runner.Backtest` has it)."""

    @property
    def site(self) -> Site: ...
    @property
    def prices(self) -> PriceSeries: ...
    @property
    def inputs(self) -> DispatchInputs: ...
    @property
    def market_inputs(self) -> dict[str, str | None]: ...
    @property
    def warnings(self) -> tuple[str, ...]: ...
    def window_summary(self) -> WindowSummary: ...
    def data_gaps(self) -> DataGaps: ...
    def hashprice_summary(self) -> HashpriceSummary: ...


@dataclass(frozen=True)
class StreamSections:
    """The summary's sections of the streams a site has (None: the site lacks the stream)."""

    gpu_hours: GpuHours | None = None
    training_jobs: list[TrainingJob] | None = None
    inference_sla: list[SlaMonth] | None = None
    fourcp: FourcpSummary | None = None
    ancillary: dict[str, AncillaryProduct] | None = None
    heat_mwh_thermal: float | None = None


def hours_without_price(available: npt.NDArray[np.bool_], hour_id: npt.NDArray[np.int64]) -> int:
    """Clock hours in which some interval has no price (the product cannot be offered that hour)."""
    return int(np.unique(hour_id[~available]).size)


def optimum(policy: Policy) -> Optimum | None:
    """How the hindsight optimum was solved: LP or MILP, status, gap and proven bound."""
    plan = policy.plan if isinstance(policy, PerfectHindsightPolicy) else None
    if plan is None:
        return None
    return Optimum(
        problem="LP" if plan.mip_gap is None else "MILP",
        integer_variables=plan.num_integer,
        status=plan.status.value,
        objective_net_margin_usd=plan.net_margin_usd,
        upper_bound_usd=plan.upper_bound_usd,
        mip_gap=plan.mip_gap,
        variables=plan.num_cols,
        constraints=plan.num_rows,
        build_seconds=plan.build_seconds,
        solve_seconds=plan.solve_seconds,
    )


def _training_job(job: JobOutcome) -> TrainingJob:
    return TrainingJob(
        name=job.name,
        in_window=job.in_window,
        finished=job.finished,
        finish_utc=job.finish_utc.isoformat() if job.finish_utc is not None else None,
        deadline_utc=job.deadline_utc.isoformat(),
        met_deadline=job.finished,
        preemptions=job.preemptions,
        starts=job.starts,
        gpu_hours_used=job.gpu_hours_used,
        gpu_hours_lost_to_restarts_and_checkpoints=job.gpu_hours_lost,
        value_usd=job.value_usd,
        note=None if job.in_window else "release..deadline is not inside the window: not scheduled",
    )


def streams_summary(bt: BacktestFacts, ledger: Ledger) -> StreamSections:
    """GPU-hours per workload, training jobs, SLA per month, 4CP and ancillary detail."""
    site = bt.inputs.site
    frame = ledger.intervals
    dt = site.interval_hours
    gpu_hours = None
    training_jobs = None
    inference_sla = None
    fourcp = None
    ancillary = None
    heat = None
    hall = site.hall
    if hall is not None:
        gpu_hours = GpuHours(
            inference_demanded=float(frame["inference_demand_gpus"].sum() * dt),
            inference_served=float(frame["inference_gpus"].sum() * dt),
            training={j.name: float(frame[f"training_gpus__{j.name}"].sum() * dt) for j in hall.jobs},
            rental=float(frame["rental_gpus"].sum() * dt),
            idle=float(frame["idle_gpus"].sum() * dt),
        )
        training_jobs = [_training_job(j) for j in ledger.jobs]
        if hall.has_inference:
            stream = bt.inputs.stream
            months = []
            for m, label in enumerate(stream.month_labels):
                inside = stream.month_id == m
                demanded = float(frame["inference_demand_gpus"].to_numpy()[inside].sum() * dt)
                served = float(frame["inference_gpus"].to_numpy()[inside].sum() * dt)
                availability = served / demanded if demanded > 0 else 1.0
                months.append(
                    SlaMonth(
                        month=label,
                        demanded_gpu_hours=demanded,
                        served_gpu_hours=served,
                        availability=availability,
                        target=hall.sla_fraction,
                        met=availability >= hall.sla_fraction - 1e-9,
                    )
                )
            inference_sla = months
    if site.fourcp_rate_usd_per_mw_year > 0:
        load = frame["load_mw"].to_numpy()
        weights = frame["fourcp_usd_per_mw"].to_numpy()
        peaks = []
        for peak in bt.inputs.stream.fourcp_peaks:
            start = pd.Timestamp(str(peak["peak_start_utc"]))
            end = pd.Timestamp(str(peak["peak_end_utc"]))
            inside = (frame.index >= start) & (frame.index < end)
            peaks.append(
                FourcpPeak.model_validate(
                    {
                        **peak,
                        "site_load_mw": float(load[inside].mean()) if inside.any() else None,
                        "charge_usd": float((weights[inside] * load[inside]).sum()) if inside.any() else None,
                    }
                )
            )
        fourcp = FourcpSummary(
            rate_usd_per_mw_year=site.fourcp_rate_usd_per_mw_year,
            charge_usd=float((weights * load).sum()),
            peaks_charge_unknown=sum(p.charge_unknown for p in peaks),
            peaks=peaks,
            basis=(
                "monthly ERCOT system peak (the hour of highest native load, or the intervals of peaks_csv), "
                "a quarter of the yearly rate each"
            ),
        )
    if site.ancillary is not None:
        stream = bt.inputs.stream
        ancillary = {
            product: AncillaryProduct(
                mwh_offered=float(frame[f"as_offer_mw__{product}"].sum() * dt),
                revenue_usd=float(frame[f"ancillary_revenue_usd__{product}"].sum()),
                hours_without_price=hours_without_price(stream.as_available[p], stream.hour_id),
            )
            for p, product in enumerate(site.ancillary.products)
        }
    if site.heat is not None:
        heat = float(frame["heat_mwth"].sum() * dt)
    return StreamSections(gpu_hours, training_jobs, inference_sla, fourcp, ancillary, heat)


def strategy_summary(bt: BacktestFacts, policy: Policy, run: PolicyRun, ledger: Ledger) -> StrategySummary:
    """The summary of one strategy's run, from its ledger (the booked cash flows)."""
    total = ledger.total
    consumed = total("consumed_mwh")
    net_energy_cost = total("energy_cost_usd") + total("adders_usd") - total("power_sellback_usd")
    site = bt.inputs.site
    breakevens = site.mining_rate_usd_per_mwh(bt.inputs.hashprice_usd_per_th_day) - site.adder_usd_per_mwh
    frame = ledger.intervals
    streams = streams_summary(bt, ledger)
    return StrategySummary(
        strategy=policy.name,
        label=policy.label,
        is_upper_bound=policy.uses_hindsight,
        site=bt.site.name,
        price_source=bt.prices.name,
        window=bt.window_summary(),
        interval_minutes=bt.prices.interval_hours * 60.0,
        intervals=bt.inputs.num_intervals,
        data_gaps=bt.data_gaps(),
        market_inputs=bt.market_inputs,
        warnings=list(bt.warnings),
        net_margin_usd=ledger.net_margin_usd,
        revenue_usd=RevenueUsd(
            mining=total("mining_revenue_usd"),
            power_sellback=total("power_sellback_usd"),
            inference=total("inference_revenue_usd"),
            training=total("training_value_usd"),
            rental=total("rental_revenue_usd"),
            heat=total("heat_revenue_usd"),
            ancillary=total("ancillary_revenue_usd"),
        ),
        cost_usd=CostUsd(
            energy=total("energy_cost_usd"),
            adders=total("adders_usd"),
            pool_fees=total("pool_fees_usd"),
            sla_penalty=total("sla_penalty_usd"),
            fourcp_charge=total("fourcp_charge_usd"),
        ),
        energy_mwh=EnergyMwh(
            consumed=consumed,
            mining=total("mining_mwh"),
            inference=total("inference_mwh"),
            training=total("training_mwh"),
            rental=total("rental_mwh"),
            gpu_idle=total("gpu_idle_mwh"),
            sold_back=total("sold_back_mwh"),
            bought_realtime=total("bought_realtime_mwh"),
            block=total("block_mwh"),
        ),
        energy_mwh_by_fleet={
            name: float(frame[f"power_mw__{name}"].sum() * site.interval_hours) for name in ledger.fleet_names
        },
        mining_revenue_usd_by_fleet={
            name: float(frame[f"mining_revenue_usd__{name}"].sum()) for name in ledger.fleet_names
        },
        uptime=ledger.uptime(),
        switched_on_mw_total={name: float(frame[f"started_mw__{name}"].sum()) for name in ledger.fleet_names},
        all_in_power_cost_usd_per_mwh=net_energy_cost / consumed if consumed > 0 else None,
        fleets={
            f.name: FleetSummary(
                max_power_mw=f.max_power_mw,
                min_power_mw=f.min_power_mw,
                hashrate_ths=f.hashrate_ths,
                efficiency_j_per_th=f.efficiency_j_per_th,
                pue=f.pue,
                pool_fee_fraction=f.pool_fee_fraction,
                min_off_intervals=f.min_off_intervals,
                restart_hours=f.restart_hours,
            )
            for f in site.fleets
        },
        breakeven_basis=(
            "mean over the window of each fleet's breakeven real-time price at the realised daily hashprice, "
            "net of pool fee and adders (the breakeven strategy decides with the previous day's hashprice)"
        ),
        mean_breakeven_usd_per_mwh={f.name: float(np.mean(breakevens[i])) for i, f in enumerate(site.fleets)},
        hashprice=bt.hashprice_summary(),
        gpu_hours=streams.gpu_hours,
        training_jobs=streams.training_jobs,
        inference_sla=streams.inference_sla,
        fourcp=streams.fourcp,
        ancillary=streams.ancillary,
        heat_mwh_thermal=streams.heat_mwh_thermal,
        decisions_adjusted_intervals=run.adjusted_intervals,
        solve_seconds=run.prepare_seconds + run.decide_seconds,
        optimum=optimum(policy),
        policy=policy.details(),
    )
