"""The information model and the ``rolling`` policy.

* Look-ahead: every non-hindsight strategy decides the same up to τ when everything it could not
  have known at τ is changed — real-time prices after the last settled interval, day-ahead energy
  and ancillary prices not yet published, system load not yet metered, inference demand and
  hashprice of later intervals. The same perturbation changes ``perfect``'s decisions (the check
  can fail).
* Re-solves from a mid-run state: rentals held, a job's required progress, units held off.
* ``rolling`` on the hybrid example: honours every contract and beats the rules of today.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from powerfirst.backtest.engine import PolicyRun, run_policy
from powerfirst.backtest.runner import Backtest, prepare_backtest, run_strategy
from powerfirst.control.decision import Schedule
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.dispatch.optimize import optimize_dispatch
from powerfirst.dispatch.state import StartState
from powerfirst.forecast.base import QUANTILES
from powerfirst.forecast.registry import make_forecaster
from powerfirst.fourcp.predictor import FourCpPredictor
from powerfirst.market.grid_programs import fourcp_peaks_bundled
from powerfirst.market.information import MarketData, day_ahead_published_until
from powerfirst.market.markets import MARKETS
from powerfirst.market.sources import parse_source
from powerfirst.policies import Observation, PerfectHindsightPolicy, Policy, RollingPolicy, make_policy
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.site.schema import Site

ROOT = Path(__file__).resolve().parents[1]
HYBRID = ROOT / "examples" / "west-texas-hybrid.yaml"
MINING = ROOT / "examples" / "west-texas-fixed-block.yaml"


def _rolling_site(path: Path, **rolling: Any) -> Site:
    site = load_site(path)
    settings = site.strategies.rolling.model_copy(update=rolling)
    return site.model_copy(update={"strategies": site.strategies.model_copy(update={"rolling": settings})})


@pytest.fixture(scope="module")
def august() -> Backtest:
    """Four days of August 2023 on the hybrid site: AS prices, a 4CP peak month, the fine-tune job's
    window is not inside (so no job), inference and rentals."""
    return prepare_backtest(_rolling_site(HYBRID, forecast="day-ahead"), "2023-08-08", "2023-08-11")


def _perturbed(bt: Backtest, cut: pd.Timestamp, rng: np.random.Generator) -> tuple[DispatchInputs, Any, Any]:
    """The backtest's data with everything not known at ``cut`` replaced by noise."""
    assert bt.market is not None
    times = bt.inputs.times_utc
    later = np.asarray(times >= cut)
    inputs = bt.inputs
    stream = inputs.stream
    published = day_ahead_published_until(cut, MARKETS["ercot"])
    as_later = np.asarray(times.floor("h") >= published)

    def noisy(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = values.copy()
        out[..., mask] = rng.uniform(-200.0, 3000.0, size=out[..., mask].shape)
        return out

    streams = replace(
        stream,
        # the demand of the interval being decided is known when it starts
        inference_demand_gpus=np.where(
            np.asarray(times > cut), rng.uniform(0, 6000, len(times)), stream.inference_demand_gpus
        ),
        as_price_usd_per_mw_hour=noisy(stream.as_price_usd_per_mw_hour, as_later),
    )
    perturbed_inputs = replace(
        inputs,
        price_usd_per_mwh=noisy(inputs.price_usd_per_mwh, later),
        hashprice_usd_per_th_day=np.where(later, 0.2, inputs.hashprice_usd_per_th_day),
        streams=streams,
    )
    known = np.where(
        later & np.asarray(times.floor("D") > cut.floor("D")), 0.2, bt.known_hashprice_usd_per_th_day
    )

    def scramble(series: pd.Series, after: pd.Timestamp) -> pd.Series:
        out = series.copy()
        mask = out.index >= after
        out[mask] = rng.uniform(-200.0, 3000.0, int(mask.sum()))
        return out

    m = bt.market
    market = MarketData(
        timezone=m.timezone,
        rt_price_usd_per_mwh=scramble(m.rt_price_usd_per_mwh, cut),
        rt_interval=m.rt_interval,
        da_price_usd_per_mwh=scramble(m.da_price_usd_per_mwh, published),
        load_mw=scramble(m.load_mw, cut - pd.Timedelta(hours=1) + pd.Timedelta(minutes=1)),
        as_price_usd_per_mw_hour={p: scramble(s, published) for p, s in m.as_price_usd_per_mw_hour.items()},
        market=m.market,
    )
    return perturbed_inputs, known, market


def _run(policy: Policy, bt: Backtest, inputs: DispatchInputs, known: Any, market: MarketData) -> PolicyRun:
    return run_policy(policy, inputs, known, market=market, demand_before_gpus=bt.demand_before_gpus)


def _prefix(schedule: Schedule, k: int) -> list[np.ndarray]:
    return [
        schedule.power_mw[:, : k + 1],
        schedule.inference_gpus[: k + 1],
        schedule.training_gpus[:, : k + 1],
        schedule.rental_gpus[: k + 1],
        schedule.heat_mwth[: k + 1],
        schedule.as_offer_mw[:, : k + 1],
    ]


def _fitted_rolling(bt: Backtest) -> RollingPolicy:
    policy = make_policy("rolling", bt.site, bt.window.timezone)
    assert isinstance(policy, RollingPolicy)
    past = bt.past() if bt.past is not None else None
    assert past is not None and not past.load_mw.empty
    peaks = fourcp_peaks_bundled()
    policy.learn(past, peaks[peaks["year"] < 2023])
    assert policy.fourcp is not None and policy.fourcp.fitted
    return policy


def test_no_strategy_sees_the_future(august: Backtest) -> None:
    """Decisions up to τ do not change when the data after what is known at τ is replaced."""
    bt = august
    assert bt.market is not None
    rng = np.random.default_rng(7)
    # τ in the afternoon (after the day-ahead publication) and at night (before it)
    for cut_index in (70, 150):
        cut = bt.inputs.times_utc[cut_index]
        inputs, known, market = _perturbed(bt, cut, rng)
        for name in ("rolling", "breakeven", "rule-based", "always-on"):
            real_policy = (
                _fitted_rolling(bt) if name == "rolling" else make_policy(name, bt.site, "America/Chicago")
            )
            real = _run(real_policy, bt, bt.inputs, bt.known_hashprice_usd_per_th_day, bt.market)
            again_policy = (
                _fitted_rolling(bt) if name == "rolling" else make_policy(name, bt.site, "America/Chicago")
            )
            changed = _run(again_policy, bt, inputs, known, market)
            for a, b in zip(
                _prefix(real.schedule, cut_index), _prefix(changed.schedule, cut_index), strict=True
            ):
                np.testing.assert_array_equal(a, b, err_msg=f"{name} decided differently before {cut}")
            if name == "rolling":
                # the perturbation is real: after τ the rolling policy does decide differently
                assert not np.array_equal(real.schedule.power_mw, changed.schedule.power_mw)
        # control: hindsight reads the future, so its decisions before τ do change
        real_perfect = _run(
            PerfectHindsightPolicy(), bt, bt.inputs, bt.known_hashprice_usd_per_th_day, bt.market
        )
        changed_perfect = _run(PerfectHindsightPolicy(), bt, inputs, known, market)
        before = [
            np.array_equal(a, b)
            for a, b in zip(
                _prefix(real_perfect.schedule, cut_index),
                _prefix(changed_perfect.schedule, cut_index),
                strict=True,
            )
        ]
        assert not all(before)


def test_rolling_honours_contracts_and_beats_todays_rules(august: Backtest) -> None:
    bt = august
    results = {name: run_strategy(bt, name) for name in ("perfect", "rule-based", "rolling")}
    rolling = results["rolling"]
    details = rolling.summary.policy
    assert details["fallbacks"] == 0, details["fallback_notes"]
    assert details["solves"] == 96  # one per clock hour of four days
    assert rolling.run.adjusted_intervals == 0
    margin = {name: r.ledger.net_margin_usd for name, r in results.items()}
    assert margin["rule-based"] < margin["rolling"] <= margin["perfect"]
    # day-ahead ancillary prices are known a day ahead: rolling earns most of what hindsight does
    ancillary = {name: r.summary.revenue_usd.ancillary for name, r in results.items()}
    assert ancillary["rolling"] > 0.8 * ancillary["perfect"]


def test_start_state_holds_rentals_and_requires_job_progress(august: Backtest) -> None:
    inputs = august.inputs
    site = inputs.site
    assert site.hall is not None
    head = replace(
        inputs,
        times_utc=inputs.times_utc[:32],
        price_usd_per_mwh=inputs.price_usd_per_mwh[:32],
        hashprice_usd_per_th_day=inputs.hashprice_usd_per_th_day[:32],
        streams=replace(
            inputs.stream,
            **{
                name: getattr(inputs.stream, name)[..., :32]
                for name in (
                    "inference_demand_gpus",
                    "rental_price_usd_per_gpu_hour",
                    "as_price_usd_per_mw_hour",
                    "as_available",
                    "fourcp_usd_per_mw",
                    "month_id",
                    "hour_id",
                    "rental_slice_id",
                    "job_active",
                )
            },
        ),
    )
    free = optimize_dispatch(head)
    held = 1234.0
    lags = [f.min_off_intervals for f in site.fleets]
    start = StartState(
        held_off_mw=np.zeros((len(lags), max(lags))),
        rental_held_gpus=held,
        job_min_progress_gpu_hours=np.zeros(site.num_jobs),
        job_has_run=np.zeros(site.num_jobs, dtype=bool),
        job_running=np.zeros(site.num_jobs, dtype=bool),
    )
    plan = optimize_dispatch(head, start=start)
    first_slice = head.stream.rental_slice_id == head.stream.rental_slice_id[0]
    assert np.allclose(plan.schedule.rental_gpus[first_slice], held)
    assert not np.allclose(free.schedule.rental_gpus[first_slice], held)
    assert plan.net_margin_usd < free.net_margin_usd
    # units switched off before the horizon: half of each fleet's curtailable power stays off in the
    # first interval, a quarter in the second (and, with these fleets' two-interval minimum off time,
    # none after)
    curtailable = site.max_power_mw - site.min_power_mw
    held_off = np.column_stack([0.5 * curtailable, 0.25 * curtailable])[:, : max(lags)]
    assert free.schedule.power_mw[:, :2].sum() > (site.max_power_mw[:, None] - held_off).sum() + 1.0
    capped = optimize_dispatch(
        head, initial_power_mw=site.max_power_mw - held_off[:, 0], start=replace(start, held_off_mw=held_off)
    )
    for f, lag in enumerate(lags):
        assert lag == 2
        assert np.all(capped.schedule.power_mw[f, :lag] <= site.max_power_mw[f] - held_off[f] + 1e-6)


def test_rolling_needs_market_data_and_learns_walk_forward(august: Backtest) -> None:
    policy = _fitted_rolling(august)
    assert policy.trained_on is not None
    # fitted on the two years before the window, nothing of the window
    last = pd.Timestamp(policy.trained_on.split(" to ")[1])
    assert last < august.window.start_utc
    policy.reset(august.inputs.site)
    with pytest.raises(Exception, match="no market data"):
        run_policy(policy, august.inputs, august.known_hashprice_usd_per_th_day)


def test_forecaster_registry_names_the_option() -> None:
    with pytest.raises(Exception, match="--forecast"):
        make_forecaster("crystal-ball")


def test_fourcp_predictor_is_optional_without_peaks() -> None:
    predictor = FourCpPredictor()
    assert not predictor.fitted


def _cli(args: list[str]) -> Any:
    from typer.testing import CliRunner

    from powerfirst.cli.app import app

    return CliRunner().invoke(app, args)


def test_cli_rolling_with_a_day_ahead_file(tmp_path: Path) -> None:
    """``--strategy rolling`` with a user's day-ahead CSV (same SOURCE syntax as --prices): the
    summary says how it decided, and a day-ahead price it may not see yet cannot change a decision."""
    da = (
        parse_source("ercot-da:HB_WEST")
        .load(pd.Timestamp("2023-03-01", tz="UTC"), pd.Timestamp("2023-03-06", tz="UTC"))
        .prices
    )
    frame = pd.DataFrame({"interval_start_utc": da.index.strftime("%Y-%m-%dT%H:%M:%SZ"), "da": da.to_numpy()})
    path = tmp_path / "da.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    common = [
        "backtest",
        str(MINING),
        "--start",
        "2023-03-02",
        "--end",
        "2023-03-03",
        "--strategy",
        "rolling",
        "--strategy",
        "breakeven",
        "--forecast",
        "day-ahead",
        "--horizon-hours",
        "24",
    ]
    result = _cli([*common, "--day-ahead", f"{path}:da", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "rolling" / "summary.json").read_text())
    details = summary["policy"]
    assert details["forecast"] == "day-ahead" and details["horizon_hours"] == 24
    assert details["fallbacks"] == 0 and details["solves"] >= 48
    assert summary["is_upper_bound"] is False
    # day-ahead prices published only after the window's last interval (market day 2023-03-05,
    # published 2023-03-04 13:30 CST) change nothing
    frame.loc[frame["interval_start_utc"] >= "2023-03-05T06:00:00Z", "da"] = 4000.0
    frame.to_csv(path, index=False)
    again = tmp_path / "again"
    result = _cli([*common, "--day-ahead", f"{path}:da", "--out", str(again)])
    assert result.exit_code == 0, result.output
    first = pd.read_parquet(out / "rolling" / "intervals.parquet")
    second = pd.read_parquet(again / "rolling" / "intervals.parquet")
    pd.testing.assert_frame_equal(first, second)


def test_cli_rolling_bad_options(tmp_path: Path) -> None:
    base = ["backtest", str(MINING), "--start", "2023-03-02", "--end", "2023-03-02", "--strategy", "rolling"]
    result = _cli([*base, "--forecast", "tea-leaves", "--out", str(tmp_path / "a")])
    assert result.exit_code != 0 and "--forecast" in result.output and "tea-leaves" in result.output
    result = _cli([*base, "--horizon-hours", "1", "--out", str(tmp_path / "b")])
    assert result.exit_code == 2 and "horizon_hours" in result.output
    result = _cli([*base, "--day-ahead", "nowhere:HB_WEST", "--out", str(tmp_path / "c")])
    assert result.exit_code != 0 and "nowhere" in result.output


def test_cli_rolling_gbm_without_history_says_what_to_do(tmp_path: Path) -> None:
    rt = (
        parse_source("ercot-rt:HB_WEST")
        .load(pd.Timestamp("2023-03-01T06:00Z"), pd.Timestamp("2023-03-03T06:00Z"))
        .prices
    )
    path = tmp_path / "rt.csv"
    pd.DataFrame({"interval_start_utc": rt.index.strftime("%Y-%m-%dT%H:%M:%SZ"), "p": rt.to_numpy()}).to_csv(
        path, index=False
    )
    args = ["backtest", str(MINING), "--start", "2023-03-01", "--end", "2023-03-01", "--strategy", "rolling"]
    args += ["--market", "ercot"]  # the CSV has no interval_start_local and the site no timezone
    result = _cli([*args, "--prices", f"{path}:p", "--out", str(tmp_path / "gbm")])
    assert result.exit_code == 1
    assert "has none before" in result.output and "--forecast persistence" in result.output
    # persistence needs no history: it runs on the same file
    result = _cli([*args, "--prices", f"{path}:p", "--forecast", "persistence", "--out", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    # ...except in the first interval, where no price has settled: the default rule decides, counted
    details = json.loads((tmp_path / "p" / "rolling" / "summary.json").read_text())["policy"]
    assert details["fallbacks"] == 1 and "no settled real-time price" in details["fallback_notes"][0]
    assert details["solves"] >= 24  # every clock hour of the day, and more on price moves


def test_what_a_policy_holds_has_nothing_after_tau(august: Backtest) -> None:
    """The market view a policy gets references only buffers of what was revealed: past the cut-off
    they hold NaN and NaT, and nothing in it leads back to the clock or the realised series."""
    import gc

    from powerfirst.market.information import MarketClock, MarketView

    assert august.market is not None
    clock = august.market.clock()
    tau = august.inputs.times_utc[40]
    clock.advance(tau)
    view = clock.view
    history = view.history()
    assert history.rt_price_usd_per_mwh.index.max() <= tau - pd.Timedelta(minutes=15)
    assert history.load_mw.index.max() <= tau - pd.Timedelta(hours=1)
    assert history.da_price_usd_per_mwh.index.max() < day_ahead_published_until(tau, MARKETS["ercot"])
    for shown in (view._rt, view._da, view._load, *view._as.values()):
        assert np.isnan(shown.values[shown.count :]).all()
        assert (shown.ns[shown.count :] == np.iinfo(np.int64).min).all()
        assert shown.count > 0
    reachable = gc.get_referents(view, *gc.get_referents(view), *gc.get_referents(*gc.get_referents(view)))
    assert not any(isinstance(r, MarketClock) for r in reachable)
    assert isinstance(view, MarketView)


@pytest.mark.parametrize(
    ("has_run", "running", "feasible"),
    [
        # 4 h × 1000 GPUs = 4000 GPU-hours; 3850 must get done. A first start loses the restart only
        # (100): 3900 ≥ 3850. A resume also repeats the work since the checkpoint (500): 3400 < 3850.
        # A job running before the horizon does not start again: 4000.
        (False, False, True),
        (True, False, False),
        (True, True, True),
    ],
    ids=["first start", "resume", "keeps running"],
)
def test_a_resolve_charges_a_jobs_start_by_whether_it_has_run(
    has_run: bool, running: bool, feasible: bool, site_factory: Any, tmp_path: Path
) -> None:
    from powerfirst.backtest.realised import build_inputs
    from powerfirst.errors import InfeasibleError
    from powerfirst.market.sources import CsvPriceSource

    job = {
        "name": "llm",
        "gpu_hours": 5000.0,
        "release": "2024-01-01T00:00:00Z",
        "deadline": "2024-01-01T04:00:00Z",
        "value_usd": 1000.0,
        "min_gpus": 100.0,
        "max_gpus": 1000.0,
        "restart_time_min": 6.0,
        "checkpoint_interval_min": 30.0,
    }
    hall = {"gpus": 1000.0, "gpu_power_w": 1000.0, "idle_power_w": 0.0, "pue": 1.0, "training_jobs": [job]}
    path = tmp_path / "prices.csv"
    times = pd.date_range("2024-01-01T00:00Z", periods=4, freq="h")
    pd.DataFrame({"interval_start_utc": times.strftime("%Y-%m-%dT%H:%M:%SZ"), "P": 30.0}).to_csv(
        path, index=False
    )
    site = site_factory(
        None, grid_mw=100.0, contract={"kind": "index", "price_series": f"{path}:P"}, gpu_hall=hall
    )
    series = CsvPriceSource(path, "P", "UTC").load(times[0], times[-1] + pd.Timedelta(hours=1))
    inputs = build_inputs(
        site, series, pd.Series(0.1, index=pd.date_range("2024-01-01", periods=1, tz="UTC"))
    )
    start = StartState(
        held_off_mw=np.zeros((1, 0)),
        rental_held_gpus=None,
        job_min_progress_gpu_hours=np.array([3850.0]),
        job_has_run=np.array([has_run]),
        job_running=np.array([running]),
    )
    initial = inputs.site.max_power_mw
    if feasible:
        plan = optimize_dispatch(inputs, initial_power_mw=initial, start=start)
        done = plan.schedule.training_gpus[0].sum() - (0 if running else 100.0)
        assert done >= 3850.0 - 1e-3
    else:
        with pytest.raises(InfeasibleError, match="3850 GPU-hours of progress"):
            optimize_dispatch(inputs, initial_power_mw=initial, start=start)


def test_demand_forecast_is_the_same_local_time_of_week_across_a_clock_change() -> None:
    """The example's inference demand repeats weekly on the market-local clock, so the forecast
    (highest demand at the same local time of week in the last weeks) equals it exactly, also over
    the end of daylight saving time (2023-11-05) inside the horizon."""
    bt = prepare_backtest(load_site(HYBRID), "2023-11-04", "2023-11-06")
    policy = make_policy("rolling", bt.site, bt.window.timezone)
    assert isinstance(policy, RollingPolicy)
    policy.reset(bt.inputs.site)
    builder = policy.builder
    checked = []

    class Probe(Policy):
        name = "probe"
        label = "records the demand forecast"

        def decide(self, obs: Observation) -> np.ndarray:
            if obs.step in (0, 40, 100):
                times = pd.date_range(obs.interval_start_utc, periods=builder.length, freq=builder.step)
                forecast = builder.demand(obs, times)
                actual = bt.inputs.stream.inference_demand_gpus[obs.step : obs.step + builder.length]
                np.testing.assert_allclose(forecast[: actual.size], actual, rtol=0, atol=1e-9)
                checked.append(obs.step)
            return np.asarray(obs.power_mw)

    run_policy(
        Probe(), bt.inputs, bt.known_hashprice_usd_per_th_day, demand_before_gpus=bt.demand_before_gpus
    )
    assert checked == [0, 40, 100]


def test_jobs_due_together_share_the_gpu_hours_after_the_horizon() -> None:
    """Two jobs with the same deadline, each needing 60 % of the free GPU-hours after the horizon:
    each alone could wait (75 % of them are counted on), together they cannot, so the horizon must
    make the progress that their shared capacity does not cover."""
    data = load_site(HYBRID).model_dump(exclude_none=True)
    bt0 = prepare_backtest(load_site(HYBRID), "2023-08-01", "2023-08-12")
    probe_times: dict[str, Any] = {}

    class Probe(Policy):
        name = "probe"
        label = "builds one horizon"

        def decide(self, obs: Observation) -> np.ndarray:
            if obs.step == 0:
                probe_times["obs"] = obs
            return np.asarray(obs.power_mw)

    hall = data["gpu_hall"]
    free_hours = 1.0e6  # placeholder, replaced below once the horizon is known
    for attempt in range(2):
        hall["training_jobs"] = [
            {
                "name": name,
                "gpu_hours": 0.6 * free_hours,
                "release": "2023-08-01",
                "deadline": "2023-08-12",
                "value_usd": 1.0,
                "min_gpus": 100,
                "max_gpus": 14000,
                "checkpoint_interval_min": 0,
                "restart_time_min": 0,
            }
            for name in ("a", "b")
        ]
        site = parse_site(data, source="two jobs")
        bt = replace(bt0, site=site, inputs=prepare_backtest(site, "2023-08-01", "2023-08-12").inputs)
        run_policy(
            Probe(),
            bt.inputs,
            bt.known_hashprice_usd_per_th_day,
            market=bt.market,
            demand_before_gpus=bt.demand_before_gpus,
        )
        policy = make_policy("rolling", bt.site, bt.window.timezone)
        assert isinstance(policy, RollingPolicy)
        policy.forecaster = make_forecaster("persistence")
        policy.fourcp = None
        policy.reset(bt.inputs.site)
        builder = policy.builder
        obs = probe_times["obs"]
        times = pd.date_range(obs.interval_start_utc, periods=builder.length, freq=builder.step)
        free = 14000 - float(builder.demand(obs, times).max())
        deadline = bt.inputs.site.hall.jobs[0].deadline_utc  # type: ignore[union-attr]
        free_hours = free * ((deadline - (times[-1] + builder.step)) / pd.Timedelta(hours=1))
        if attempt == 0:
            continue
        clock = bt.market.clock()  # type: ignore[union-attr]
        clock.advance(obs.interval_start_utc)
        need = builder.build(replace(obs, market_view=clock.view.history)).start.job_min_progress_gpu_hours
        # alone, each job would need nothing (0.6 < 0.75); together 1.2 − 0.75 of the free GPU-hours
        assert need[0] == pytest.approx(0.0, abs=1e-6)
        assert need.sum() == pytest.approx(0.45 * free_hours, rel=1e-6)


def test_gpu_commitments_are_priced_at_the_risk_quantile_and_fleets_at_the_median(august: Backtest) -> None:
    """The GPU hall's power is priced at ``risk_quantile`` of the forecast (interpolated between
    its 0.5 and 0.9 quantiles), the fleets' at the median; the current hour at the last price."""
    from powerfirst.forecast.base import PriceForecaster
    from powerfirst.market.information import MarketHistory

    class Spread(PriceForecaster):
        name = "spread"

        def predict(self, history: MarketHistory, target_hours_utc: pd.DatetimeIndex) -> np.ndarray:
            return _spread_quantiles(len(target_hours_utc))

    bt = august
    obs = _observation_at_step_9(bt)
    site = _rolling_site(HYBRID, risk_quantile=0.7)
    policy = RollingPolicy(site.strategies.rolling, Spread(), bt.window.timezone)
    policy.reset(bt.inputs.site)
    inputs = policy.builder.build(obs).inputs
    last = obs.last_price_usd_per_mwh
    assert last is not None
    k = np.arange(policy.builder.length)
    later = k >= 3  # the first 3 intervals are the rest of this clock hour
    hour = (k + 1) // 4  # each interval's hour in the forecast (0: this one)
    np.testing.assert_allclose(inputs.price_usd_per_mwh[later], 50.0 + hour[later])
    np.testing.assert_allclose(inputs.gpu_price_usd_per_mwh[later], 100.0 + hour[later])  # 0.7: halfway
    np.testing.assert_allclose(inputs.price_usd_per_mwh[~later], last)
    np.testing.assert_allclose(inputs.gpu_price_usd_per_mwh[~later], max(last, 100.0))


def test_horizon_calendar_from_the_cached_chunk_matches_the_calendar_of_its_times() -> None:
    """Months, clock hours and rental slices of each horizon are sliced from arrays computed for
    weeks at a time: they equal those computed for the horizon's own times, also over the end of
    daylight saving time (2023-11-05) and a month's end inside the horizon."""
    from powerfirst.calendar import calendar_ids

    bt = prepare_backtest(load_site(HYBRID), "2023-10-30", "2023-11-06")
    assert bt.market is not None
    policy = make_policy("rolling", bt.site, bt.window.timezone)
    assert isinstance(policy, RollingPolicy)
    policy.forecaster = make_forecaster("persistence")
    policy.fourcp = None
    policy.reset(bt.inputs.site)
    builder = policy.builder
    clock = bt.market.clock()
    checked = []

    class Probe(Policy):
        name = "probe"
        label = "builds horizons"

        def decide(self, obs: Observation) -> np.ndarray:
            if obs.step in (9, 130, 400, 530):
                clock.advance(obs.interval_start_utc)
                stream = builder.build(replace(obs, market_view=clock.view.history)).inputs.stream
                times = pd.date_range(obs.interval_start_utc, periods=builder.length, freq=builder.step)
                month, labels, hour, rental_slice = calendar_ids(
                    times, bt.window.timezone, builder.slice_hours
                )
                np.testing.assert_array_equal(stream.month_id, month)
                np.testing.assert_array_equal(stream.hour_id, hour)
                np.testing.assert_array_equal(stream.rental_slice_id, rental_slice)
                assert stream.month_labels == labels
                checked.append(len(labels))
            return np.asarray(obs.power_mw)

    run_policy(Probe(), bt.inputs, bt.known_hashprice_usd_per_th_day, market=bt.market)
    assert checked == [
        2,
        2,
        1,
        1,
    ]  # the first two horizons run into November; the last two over the clock change


def test_a_prefetched_forecast_is_used_and_counted_as_the_policy_would_count_it(august: Backtest) -> None:
    """A re-solve served by forecasts computed ahead takes their prices and 4CP probabilities (the
    policy's forecaster and 4CP predictor are not asked), and counts the forecast's day-ahead data
    as the forecaster would have (here stale: the latest day-ahead hour ended 2 h before the hour, 2.25 h before issue)."""
    from powerfirst.calendar import NS_PER_HOUR
    from powerfirst.forecast.base import DayAheadGaps, PriceForecaster
    from powerfirst.market.information import MarketHistory
    from powerfirst.policies.horizon import PrefetchedForecast

    class Unasked(PriceForecaster):
        name = "unasked"

        def __init__(self) -> None:
            self.day_ahead_gaps = DayAheadGaps()

        def predict(self, history: MarketHistory, target_hours_utc: pd.DatetimeIndex) -> np.ndarray:
            raise AssertionError("forecast computed although it was prefetched")

    class UnaskedFourCp:
        fitted = True

        def probability(self, history: MarketHistory, hours: pd.DatetimeIndex) -> np.ndarray:
            raise AssertionError("4CP probability computed although it was prefetched")

    asked: list[tuple[int, list[int]]] = []

    class Ahead:
        def take(self, issued_ns: int, hours_ns: np.ndarray) -> PrefetchedForecast:
            asked.append((issued_ns, [int(h) for h in hours_ns]))
            quantiles = _spread_quantiles(len(hours_ns))
            hour_start = issued_ns // NS_PER_HOUR * NS_PER_HOUR
            return PrefetchedForecast(quantiles, hour_start - 3 * NS_PER_HOUR, np.full(len(hours_ns), 0.5))

    bt = august
    obs = _observation_at_step_9(bt)
    site = bt.inputs.site
    assert site.fourcp_rate_usd_per_mw_year > 0
    forecaster = Unasked()
    policy = RollingPolicy(_rolling_site(HYBRID).strategies.rolling, forecaster, bt.window.timezone)
    policy.reset(site)
    policy.builder.prefetch = Ahead()
    policy.builder.fourcp = UnaskedFourCp()  # type: ignore[assignment]
    inputs = policy.builder.build(obs).inputs
    start_ns = int(obs.interval_start_utc.value)
    hours_ns = asked[0][1]
    assert (
        len(asked) == 1 and asked[0][0] == start_ns and hours_ns[0] == start_ns // NS_PER_HOUR * NS_PER_HOUR
    )
    k = np.arange(policy.builder.length)
    later = k >= 3  # the first 3 intervals are the rest of this clock hour (the last settled price)
    np.testing.assert_allclose(inputs.price_usd_per_mwh[later], 50.0 + ((k + 1) // 4)[later])
    np.testing.assert_allclose(
        inputs.stream.fourcp_usd_per_mw, 0.5 * site.fourcp_rate_usd_per_mw_year / 4.0 / 4
    )
    gaps = forecaster.day_ahead_gaps
    assert gaps is not None
    assert (gaps.issues, gaps.stale, gaps.missing, gaps.oldest_hours) == (1, 1, 0, 2.25)


def _spread_quantiles(hours: int) -> np.ndarray:
    """Quantiles 10, 50 and 150 USD/MWh (0.1, 0.5, 0.9), plus 1 USD/MWh per hour ahead."""
    hour = np.arange(hours, dtype=float)[:, None]
    return hour + np.array([{0.1: 10.0, 0.5: 50.0, 0.9: 150.0}[q] for q in QUANTILES])[None, :]


def _observation_at_step_9(bt: Any) -> Observation:
    """The observation of the window's 10th interval (15 min into a clock hour, prices settled),
    with the market view of that moment."""
    assert bt.market is not None
    seen: dict[str, Observation] = {}

    class Probe(Policy):
        name = "probe"
        label = "keeps one observation"

        def decide(self, obs: Observation) -> np.ndarray:
            if obs.step == 9:
                seen["obs"] = obs
            return np.asarray(obs.power_mw)

    run_policy(Probe(), bt.inputs, bt.known_hashprice_usd_per_th_day, market=bt.market)
    clock = bt.market.clock()
    clock.advance(seen["obs"].interval_start_utc)
    return replace(seen["obs"], market_view=clock.view.history)
