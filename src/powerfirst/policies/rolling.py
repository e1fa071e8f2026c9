"""``rolling``: re-solve the co-optimization over the next hours with forecasts, commit, roll on.

At every clock hour (or every ``resolve_every_intervals``) the policy builds the horizon's inputs
from what it knows at that moment (:mod:`powerfirst.policies.horizon`): forecast real-time price
quantiles, the day-ahead ancillary prices published so far, the probability of a 4CP peak in each
hour, inference demand from the same time of week in recent weeks, and the site's state (fleet
power and units held off, rentals held, each training job's remaining work). It solves the same
model as ``perfect`` over that horizon, commits the decisions up to the next re-solve and rolls on.

Risk: fleets are re-decided every hour, so they are priced at the median forecast. The GPU hall's
commitments cannot be undone within the hour (a rental holds for its slice, a preempted job loses
its restart and checkpoint), so GPU power is priced at the ``risk_quantile`` of the forecast, GPUs
are kept free for the highest recent demand, and a training job starts early enough to finish
even if ``training_reserve_fraction`` of the GPU-hours after the horizon are lost.

When a horizon cannot be solved (a job can no longer meet its deadline, say) the policy falls back
to the site's default GPU rule for the hour and counts it in :attr:`RollingPolicy.fallbacks`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from powerfirst._types import Array
from powerfirst.calendar import NS_PER_HOUR
from powerfirst.control.contract import Observation, Policy
from powerfirst.control.decision import Decision
from powerfirst.control.plant import fill_merit_order
from powerfirst.dispatch.optimize import DispatchPlan, optimize_dispatch
from powerfirst.errors import DataError, SolverError
from powerfirst.forecast.base import DayAheadGaps, PriceForecaster
from powerfirst.forecast.registry import make_forecaster
from powerfirst.forecast.walk import TrainingHours, training_hours
from powerfirst.fourcp.predictor import FourCpPredictor
from powerfirst.market.information import MarketData
from powerfirst.policies.horizon import ForecastSource, HorizonBuilder
from powerfirst.policies.settings import StrategySettings, settings_of
from powerfirst.site.params import SiteParams
from powerfirst.site.schema import Site
from powerfirst.solver import Solver, SolverSession, default_solver

__all__ = ["UNFITTED_NOTE", "RollingPolicy", "RollingStrategyConfig"]


class RollingStrategyConfig(StrategySettings):
    """Parameters of the ``rolling`` strategy (``strategies.rolling``; see :class:`RollingPolicy`)."""

    forecast: str = Field(default="gbm", min_length=1, max_length=40)
    """Price forecaster: persistence, day-ahead or gbm (``powerfirst forecast evaluate`` compares them)."""
    horizon_hours: int = Field(default=48, ge=2, le=168)
    """Hours each re-solve looks ahead [h]."""
    resolve_every_intervals: int | None = Field(default=None, ge=1, le=96)
    """Re-solve every this many price intervals; default: at every clock hour."""
    resolve_on_price_move_usd_per_mwh: float | None = Field(default=10.0, gt=0.0, le=10_000.0)
    """Between scheduled re-solves, re-solve when the last settled price is further than this from
    the price the plan assumed for that interval [USD/MWh]; None: never. Only on sites without a
    GPU hall or ancillary offers (their GPU and AS commitments are hourly)."""
    risk_quantile: float = Field(default=0.9, ge=0.5, le=0.9)
    """Forecast quantile of the price that GPU power is costed at: rental slices and training runs
    cannot be undone within the hour, so they are priced for the risk, not the median [-]."""
    training_reserve_fraction: float = Field(default=0.25, ge=0.0, lt=1.0)
    """Share of the GPU-hours a job could still get after the horizon that is not counted on:
    a job starts early enough to finish even if that share is lost [-]."""
    demand_weeks: int = Field(default=4, ge=1, le=12)
    """Weeks of inference demand history the demand forecast looks at: GPUs are kept free for the
    highest demand at the same time of week in these weeks [weeks]."""


UNFITTED_NOTE = (
    "not fitted: no history before the window; no error bands (the risk quantile equals the median)"
)
"""Stated when the forecaster could not be fitted (persistence and day-ahead run unfitted: their
forecast is the point forecast at every quantile)."""


class RollingPolicy(Policy):
    name: ClassVar[str] = "rolling"
    label: ClassVar[str] = (
        "rolling horizon: re-solves the co-optimization every hour over the next hours with forecasts "
        "(no hindsight)"
    )

    def __init__(
        self,
        config: RollingStrategyConfig,
        forecaster: PriceForecaster,
        timezone: str,
        *,
        fourcp: FourCpPredictor | None = None,
        solver: Solver | None = None,
        reuse_model: bool = True,
    ) -> None:
        """``reuse_model``: keep the solver's model between re-solves (a :class:`SolverSession`;
        costs and bounds change in place and the solver restarts from its last basis); False
        solves every horizon from scratch (same decisions up to ties; slower)."""
        self.config = config
        self.forecaster = forecaster
        self.timezone = timezone
        self.fourcp = fourcp
        self.solver = solver
        self.reuse_model = reuse_model
        self.session: SolverSession | None = None
        self.plan: DispatchPlan | None = None
        self.plan_start_utc: pd.Timestamp | None = None
        self.assumed_price_usd_per_mwh: Array | None = None
        self.solves = 0
        self.fallbacks = 0
        self.fallback_notes: list[str] = []
        self.solve_seconds = 0.0
        self.trained_on: str | None = None
        self.training_hours: TrainingHours | None = None
        self.fitted = False
        """``learn`` fitted the forecaster (False: no history before the window to fit on)."""
        self.fourcp_note: str | None = None
        self.prefetch: ForecastSource | None = None
        """Forecasts of the scheduled re-solves computed ahead from the same information (a
        backtest sets it, see :mod:`powerfirst.backtest.prefetch`); None: computed when needed."""

    learns: ClassVar[bool] = True

    @classmethod
    def from_settings(cls, site: Site, strategies: BaseModel, timezone: str) -> RollingPolicy:
        """The policy with ``strategies.rolling``'s settings and forecaster; the 4CP predictor
        when the site pays 4CP; ``timezone`` is the market-local zone."""
        rolling = settings_of(strategies, RollingStrategyConfig)
        return cls(
            rolling,
            make_forecaster(rolling.forecast),
            timezone,
            fourcp=FourCpPredictor() if site.fourcp is not None else None,
        )

    @property
    def needs_history(self) -> str | None:
        return f"--forecast {self.forecaster.name}" if self.forecaster.needs_fit else None

    def learn(self, past: MarketData, fourcp_peaks: pd.DataFrame | None = None) -> None:
        """Fit the forecaster (and the 4CP predictor, given the peaks of the same years) on data
        strictly before the window: walk-forward, nothing of the scored period is used."""
        self.forecaster.fit(past)
        self.fitted = True
        if self.fourcp is not None:
            missing = []
            if past.load_mw.empty:
                missing.append("no system load before the window (give --load SOURCE, path.csv:COLUMN [MW])")
            if fourcp_peaks is None or fourcp_peaks.empty:
                missing.append("no 4CP peak month (June–September) ended before the window")
            if missing or fourcp_peaks is None:
                self.fourcp = None  # nothing to learn from: no expected 4CP charge
                self.fourcp_note = "; ".join(missing)
            else:
                self.fourcp.fit(past, fourcp_peaks)
        self.training_hours = training_hours(past)
        prices = past.rt_price_usd_per_mwh.dropna()
        if len(prices):
            self.trained_on = f"{prices.index[0].isoformat()} to {prices.index[-1].isoformat()}"

    def details(self) -> dict[str, Any]:
        cfg = self.config
        gaps = self.forecaster.day_ahead_gaps
        return {
            "forecast": self.forecaster.name,
            "forecast_trained_on_utc": self.trained_on,
            "forecast_training_hours": self.training_hours.as_dict() if self.training_hours else None,
            "forecast_fitted": self.fitted,
            "forecast_note": None if self.fitted else UNFITTED_NOTE,
            "forecast_day_ahead_gaps": gaps.as_dict() if gaps is not None else None,
            "forecast_inputs": list(self.forecaster.inputs_used),
            "fourcp_predictor": self.fourcp is not None,
            "fourcp_note": self.fourcp_note,
            "fourcp_trained_on_months": (
                [f"{y}-{m:02d}" for y, m in self.fourcp.training_months] if self.fourcp is not None else []
            ),
            "horizon_hours": cfg.horizon_hours,
            "resolve_every_intervals": cfg.resolve_every_intervals,
            "resolve_on_price_move_usd_per_mwh": cfg.resolve_on_price_move_usd_per_mwh,
            "risk_quantile": cfg.risk_quantile,
            "training_reserve_fraction": cfg.training_reserve_fraction,
            "solves": self.solves,
            "solver_seconds": self.solve_seconds,
            # MILPs answered by rounding the LP relaxation within the gap, and by branch and bound
            "milps_relax_and_fix": getattr(self.session, "fixed", None),
            "milps_branch_and_bound": getattr(self.session, "branched", None),
            "fallbacks": self.fallbacks,
            "fallback_notes": self.fallback_notes,
        }

    def reset(self, site: SiteParams) -> None:
        super().reset(site)
        if self.fourcp is not None and not self.fourcp.fitted:
            self.fourcp = None  # nothing was learned (no load or peaks before the window)
            self.fourcp_note = self.fourcp_note or "no market history before the window to learn from"
        if self.forecaster.day_ahead_gaps is not None:
            self.forecaster.day_ahead_gaps = DayAheadGaps()  # counts of this run only
        self.builder = HorizonBuilder(
            site, self.config, self.forecaster, self.timezone, self.fourcp, self.prefetch
        )
        self.plan = None
        self.plan_start_utc = None
        self.solves = self.fallbacks = 0
        self.fallback_notes = []
        self.solve_seconds = 0.0
        self.session = None  # every run starts from a fresh model

    def _fall_back(self, obs: Observation, reason: Exception, *, retry: bool = False) -> None:
        """No plan: the strike-price rule decides the fleets and the site's default rule the GPU hall
        until the next scheduled re-solve (``retry``: the next interval), and it is counted."""
        self.fallbacks += 1
        if len(self.fallback_notes) < 5:
            self.fallback_notes.append(f"{obs.interval_start_utc.isoformat()}: {reason}")
        self.plan = None
        if retry:
            self.plan_start_utc = None

    def _offset(self, obs: Observation) -> int | None:
        """Index of ``obs``'s interval in the current plan, or None when it is time to re-solve."""
        if self.plan_start_utc is None:
            return None
        # integer nanoseconds (UTC): this runs for every interval of a backtest
        now_ns, plan_ns = int(obs.interval_start_utc.value), int(self.plan_start_utc.value)
        k = round((now_ns - plan_ns) / (self.site.interval_hours * NS_PER_HOUR))
        every = self.config.resolve_every_intervals
        due = k >= every if every is not None else now_ns // NS_PER_HOUR != plan_ns // NS_PER_HOUR
        if due:
            return None
        if self.plan is None:  # a fallback holds until the next scheduled re-solve
            return k
        if k >= self.plan.schedule.power_mw.shape[1] or self._price_moved(obs, k):
            return None
        return k

    def _price_moved(self, obs: Observation, k: int) -> bool:
        """The last settled price is far from what the plan assumed for it (mining-only sites)."""
        trigger = self.config.resolve_on_price_move_usd_per_mwh
        if trigger is None or k < 1 or self.site.hall is not None or self.site.num_products:
            return False
        last = obs.last_price_usd_per_mwh
        assumed = self.assumed_price_usd_per_mwh
        return last is not None and assumed is not None and abs(last - float(assumed[k - 1])) > trigger

    def decide(self, obs: Observation) -> Decision:
        k = self._offset(obs)
        if k is None:
            self._solve(obs)
            k = 0
        if self.plan is None:  # no plan for this hour: the strike price, the site's default GPU rule
            site = self.site
            last = obs.last_price_usd_per_mwh
            running = (
                np.ones(len(site.fleets), dtype=bool)
                if last is None
                else site.breakeven_usd_per_mwh(obs.hashprice_usd_per_th_day) > last
            )
            wanted = np.where(running, site.max_power_mw, site.min_power_mw)
            return Decision(power_mw=fill_merit_order(wanted, site, obs.available_mw))
        schedule = self.plan.schedule
        site = self.site
        hall = site.hall
        return Decision(
            power_mw=schedule.power_mw[:, k],
            inference_gpus=None,  # serve what is asked; the rental decision kept room for it
            training_gpus=schedule.training_gpus[:, k] if site.num_jobs else None,
            rental_gpus=float(schedule.rental_gpus[k]) if hall is not None and hall.has_rental else None,
            heat_mwth=None,
            as_offer_mw=schedule.as_offer_mw[:, k] if site.num_products else None,
        )

    def _solve(self, obs: Observation) -> None:
        self.plan_start_utc = obs.interval_start_utc
        try:
            horizon = self.builder.build(obs)
        except DataError as exc:  # nothing to forecast from yet (no price has settled)
            self._fall_back(obs, exc, retry=True)
            return
        self.solves += 1
        if self.reuse_model and self.session is None:
            self.session = (self.solver or default_solver()).session()
        try:
            plan = optimize_dispatch(
                horizon.inputs,
                initial_power_mw=np.asarray(obs.power_mw),
                start=horizon.start,
                solver=self.solver,
                time_limit_s=30.0,
                mip_rel_gap=1e-3,
                session=self.session,
            )
        except SolverError as exc:
            self._fall_back(obs, exc)
            return
        self.solve_seconds += plan.build_seconds + plan.solve_seconds
        self.plan = plan
        self.assumed_price_usd_per_mwh = horizon.inputs.price_usd_per_mwh
