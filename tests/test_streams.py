"""Hand-checkable small cases for each stream beyond mining: training jobs, inference under an SLA,
rentals, heat, 4CP, ancillary services, infeasible combinations and a mixed site.

Every case goes through the production path: made-up prices in a CSV under ``tmp_path`` read by
:class:`CsvPriceSource`, a constant daily hashprice, :func:`build_inputs`, :func:`optimize_dispatch`,
and :func:`account`. The expected decisions and dollars are worked out by hand in the comments.

Reference fleet (conftest): 3 MW, 30 J/TH, PUE 1, no pool fee; at 0.1 USD/TH/day it earns
RATE = 138.89 USD/MWh. The reference GPU hall below: 1,000 GPUs at 1,000 W working and 0 W idle,
PUE 1, so every working GPU adds 0.001 MW at the meter and the whole hall at work is 1 MW.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from powerfirst.accounting.ledger import Ledger, account
from powerfirst.backtest.realised import build_inputs
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.dispatch.optimize import DispatchPlan, optimize_dispatch
from powerfirst.errors import DataError, InfeasibleError
from powerfirst.market.sources import CsvPriceSource
from powerfirst.site.schema import Site

RATE = 10_000 / 24 / 3  # USD/MWh earned by the reference fleet at 0.1 USD/TH/day
HASHPRICE = 0.1  # USD/TH/day
AS_FILE = (
    Path(__file__).resolve().parents[1]
    / "src/powerfirst/data/ercot/ercot_dam_as_mcpc_hourly_2022_2023.csv.gz"
)

SiteFactory = Callable[..., Site]
Spec = Callable[..., dict[str, Any]]


def _hall(**overrides: Any) -> dict[str, Any]:
    hall: dict[str, Any] = {"gpus": 1000.0, "gpu_power_w": 1000.0, "idle_power_w": 0.0, "pue": 1.0}
    hall.update(overrides)
    return hall


def _site(
    site_factory: SiteFactory,
    tmp_path: Path,
    fleets: Sequence[dict[str, Any]] | None = None,
    *,
    grid_mw: float = 100.0,
    **extra: Any,
) -> Site:
    contract = {"kind": "index", "price_series": f"{tmp_path / 'prices.csv'}:P"}
    return site_factory(fleets, grid_mw=grid_mw, contract=contract, **extra)


def _inputs(
    site: Site,
    tmp_path: Path,
    prices: Sequence[float],
    start_utc: str,
    *,
    minutes: int = 60,
    timezone: str = "UTC",
) -> DispatchInputs:
    """Write ``prices`` to ``tmp_path/prices.csv`` from ``start_utc`` on and build the inputs."""
    start = pd.Timestamp(start_utc)
    step = pd.Timedelta(minutes=minutes)
    times = pd.date_range(start, periods=len(prices), freq=step)
    path = tmp_path / "prices.csv"
    pd.DataFrame({"interval_start_utc": times.strftime("%Y-%m-%dT%H:%M:%SZ"), "P": list(prices)}).to_csv(
        path, index=False
    )
    end = start + step * len(prices)
    series = CsvPriceSource(path, "P", timezone).load(start, end)
    days = pd.date_range(start.floor("D"), end.floor("D"), freq="D")
    hashprice = pd.Series(HASHPRICE, index=days)
    return build_inputs(site, series, hashprice, timezone)


def _solve(inputs: DispatchInputs) -> tuple[DispatchPlan, Ledger]:
    plan = optimize_dispatch(inputs)
    ledger = account(inputs, plan.schedule)
    # the objective is the accounted net margin, always
    assert plan.net_margin_usd == pytest.approx(ledger.net_margin_usd, rel=1e-6, abs=1e-6)
    return plan, ledger


# --- 1. training jobs: preempt for a spike only when it pays -------------------------------------

TRAINING_JOB: dict[str, Any] = {
    "name": "llm",
    "gpu_hours": 2000.0,
    "release": "2024-01-01T00:00:00Z",
    "deadline": "2024-01-01T04:00:00Z",
    "value_usd": 1000.0,
    "min_gpus": 100.0,
    "max_gpus": 1000.0,
    "restart_time_min": 6.0,  # 0.1 h × 1000 GPUs = 100 GPU-hours lost on every start
    "checkpoint_interval_min": 30.0,  # 0.5 h × 1000 GPUs = 500 GPU-hours more on every resume
}


@pytest.mark.parametrize(
    ("spike", "gpus", "preemptions", "training_energy_usd"),
    [
        # Prices [40, S, 20, 20], job window = the 4 hours. Without a preemption the only runs long
        # enough contain hour 1 (hours 2–3 alone give 2000 − 100 < 2000); the cheapest is hours 1–3:
        # 100 GPUs (min) in the spike + 1000 + 1000 = 2100 GPU-hours (2000 + one restart).
        # Preempting: hour 0, pause in the spike, resume in hours 2–3: 2000 + 100 + 100 + 500 = 2700
        # GPU-hours, 700 of them in hour 0 at 40 USD/MWh.
        # Spike 500: through the spike 100 × 0.001 × 500 + 2000 × 0.001 × 20 = 50 + 40 = 90 USD;
        # preempted 700 × 0.001 × 40 + 40 = 28 + 40 = 68 USD → preempt (0.1·S > 28 ⟺ S > 280).
        (500.0, [700.0, 0.0, 1000.0, 1000.0], 1, 68.0),
        # Spike 200: through the spike 20 + 40 = 60 USD < 68 USD → no preemption, start in hour 1.
        (200.0, [0.0, 100.0, 1000.0, 1000.0], 0, 60.0),
    ],
    ids=["big spike: preempt", "small spike: run through"],
)
def test_training_is_preempted_only_when_the_spike_costs_more_than_the_work_lost(
    spike: float,
    gpus: list[float],
    preemptions: int,
    training_energy_usd: float,
    site_factory: SiteFactory,
    tmp_path: Path,
) -> None:
    site = _site(site_factory, tmp_path, gpu_hall=_hall(training_jobs=[TRAINING_JOB]))
    prices = [40.0, spike, 20.0, 20.0]
    inputs = _inputs(site, tmp_path, prices, "2024-01-01T00:00:00Z")
    plan, ledger = _solve(inputs)
    assert plan.schedule.training_gpus[0] == pytest.approx(gpus, abs=1e-3)
    (job,) = ledger.jobs
    assert job.finished and job.in_window
    assert job.preemptions == preemptions
    assert job.starts == preemptions + 1
    # lost: 100 per start + 500 per resume
    assert job.gpu_hours_lost == pytest.approx(100.0 * job.starts + 500.0 * preemptions)
    assert job.finish_utc == pd.Timestamp("2024-01-01T04:00:00Z")
    assert ledger.total("training_value_usd") == pytest.approx(1000.0)
    # ASICs run below RATE (40, 20, 20) and are off in the spike (200 and 500 are above RATE)
    assert plan.power_mw[0] == pytest.approx([3.0, 0.0, 3.0, 3.0], abs=1e-7)
    asic_margin = 3.0 * ((RATE - 40.0) + 2 * (RATE - 20.0))
    hand = 1000.0 - training_energy_usd + asic_margin
    assert plan.net_margin_usd == pytest.approx(hand, abs=1e-3)
    assert ledger.net_margin_usd == pytest.approx(hand, abs=1e-3)


# --- 2. inference: the SLA limits how far a spike curtails it -----------------------------------


@pytest.mark.parametrize(
    ("sla", "served", "hall_energy_usd"),
    [
        # 15-minute prices [30, 30, 2200, 30, 5000, 4000, 30, 30]; demand 1000 GPUs; inference earns 2
        # and its shortfall costs 0.5 USD/GPU-hour, so a GPU is worth serving up to (2 + 0.5) / 0.001 =
        # 2500 USD/MWh: 2200 is served (it would not be without the penalty), 5000 and 4000 are not.
        # SLA 0.9 of 8000 GPU-intervals allows 800 unserved: all of it in the 5000 interval (serve
        # 200); the 4000 interval is served in full although it is above 2500. Availability 0.9.
        # Hall energy: 0.25 h × 0.001 × (1000 × (5 × 30 + 2200 + 4000) + 200 × 5000) = 1837.5 USD.
        (0.9, [1000.0] * 4 + [200.0] + [1000.0] * 3, 1837.5),
        # SLA 0.5 does not bind: both dear intervals go unserved (availability 0.75).
        # Hall energy: 0.25 × 0.001 × 1000 × (5 × 30 + 2200) = 587.5 USD.
        (0.5, [1000.0] * 4 + [0.0, 0.0] + [1000.0] * 2, 587.5),
    ],
    ids=["SLA binds", "penalty only"],
)
def test_inference_is_curtailed_in_a_spike_only_as_far_as_the_sla_allows(
    sla: float, served: list[float], hall_energy_usd: float, site_factory: SiteFactory, tmp_path: Path
) -> None:
    inference = {
        "demand": {"kind": "constant", "gpus": 1000.0},
        "price_usd_per_gpu_hour": 2.0,
        "penalty_usd_per_gpu_hour": 0.5,
        "sla_availability_fraction": sla,
    }
    site = _site(site_factory, tmp_path, gpu_hall=_hall(inference=inference))
    prices = [30.0, 30.0, 2200.0, 30.0, 5000.0, 4000.0, 30.0, 30.0]
    inputs = _inputs(site, tmp_path, prices, "2024-03-04T00:00:00Z", minutes=15)
    plan, ledger = _solve(inputs)
    assert plan.schedule.inference_gpus == pytest.approx(served, abs=1e-3)
    frame = ledger.intervals
    availability = frame["inference_gpus"].sum() / frame["inference_demand_gpus"].sum()
    assert availability == pytest.approx(sum(served) / 8000.0, abs=1e-6)
    if sla == 0.9:
        assert availability == pytest.approx(sla, abs=1e-6)
    assert availability >= sla
    served_gpu_hours = sum(served) * 0.25
    unserved_gpu_hours = 8000.0 * 0.25 - served_gpu_hours
    assert ledger.total("inference_revenue_usd") == pytest.approx(2.0 * served_gpu_hours, abs=1e-3)
    assert ledger.total("sla_penalty_usd") == pytest.approx(0.5 * unserved_gpu_hours, abs=1e-3)
    # ASICs run only in the five 30 USD/MWh intervals
    asic_margin = 5 * 0.25 * 3.0 * (RATE - 30.0)
    hand = 2.0 * served_gpu_hours - 0.5 * unserved_gpu_hours - hall_energy_usd + asic_margin
    assert plan.net_margin_usd == pytest.approx(hand, abs=1e-3)


# --- 3. rentals: whole slices, rented or not by the slice's average price ------------------------


def test_rentals_hold_for_a_whole_slice_and_follow_the_slice_average(
    site_factory: SiteFactory, tmp_path: Path
) -> None:
    rental = {"price_usd_per_gpu_hour": 0.1, "min_block_hours": 4.0}
    site = _site(site_factory, tmp_path, gpu_hall=_hall(rental=rental))
    # two 4-hour slices from (UTC) midnight; a GPU rented in a slice earns 4 × 0.1 = 0.40 USD.
    # Slice 1 [30, 30, 250, 30]: energy 0.001 × 340 = 0.34 USD < 0.40 → rent all 1000 GPUs (the
    #   250 spike is above the 100 USD/MWh a rented GPU-hour pays, but the slice as a whole pays).
    # Slice 2 [30, 30, 400, 30]: energy 0.001 × 490 = 0.49 USD > 0.40 → rent none.
    prices = [30.0, 30.0, 250.0, 30.0, 30.0, 30.0, 400.0, 30.0]
    inputs = _inputs(site, tmp_path, prices, "2024-05-06T00:00:00Z")
    assert inputs.stream.rental_slice_id.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    plan, ledger = _solve(inputs)
    assert plan.schedule.rental_gpus == pytest.approx([1000.0] * 4 + [0.0] * 4, abs=1e-6)
    # rental revenue 0.1 × 1000 × 4 h = 400 USD; hall energy 1 MW × 340 USD/MWh·h = 340 USD
    assert ledger.total("rental_revenue_usd") == pytest.approx(400.0, abs=1e-6)
    assert ledger.total("hall_power_mw") == pytest.approx(4.0, abs=1e-6)
    # ASICs off at 250 and 400 (above RATE), on in the six 30 USD/MWh hours
    assert plan.power_mw[0] == pytest.approx([3.0, 3.0, 0.0, 3.0, 3.0, 3.0, 0.0, 3.0], abs=1e-7)
    hand = 400.0 - 340.0 + 6 * 3.0 * (RATE - 30.0)
    assert plan.net_margin_usd == pytest.approx(hand, abs=1e-6)
    assert ledger.net_margin_usd == pytest.approx(hand, abs=1e-6)


# --- 4. heat: min(customer's demand, recovery × ASIC MW) ------------------------------------------


@pytest.mark.parametrize(
    ("max_mwth", "asic_mw", "heat_mwth"),
    [
        # hourly prices [30, 500, 145]; heat 20 USD/MWh thermal at 0.5 MWth per MW of ASIC power.
        # 30: ASICs full (3 MW) → heat min(1.0, 1.5) = 1.0.  500: RATE − 500 + 0.5 × 20 < 0 → off.
        # 145: RATE − 145 = −6.11 USD/MWh alone, +3.89 with heat: worth running only while the heat
        # sells, i.e. up to 1.0 / 0.5 = 2 MW → ASICs 2 MW, heat 1.0.
        (1.0, [3.0, 0.0, 2.0], [1.0, 0.0, 1.0]),
        # customer takes 2 MWth: recovery binds (1.5 MWth at 3 MW), so 145 runs the whole fleet.
        (2.0, [3.0, 0.0, 3.0], [1.5, 0.0, 1.5]),
    ],
    ids=["customer's demand binds", "recovery binds"],
)
def test_heat_sold_is_the_lesser_of_demand_and_recovery(
    max_mwth: float, asic_mw: list[float], heat_mwth: list[float], site_factory: SiteFactory, tmp_path: Path
) -> None:
    heat = {"max_mwth": max_mwth, "price_usd_per_mwh_thermal": 20.0, "recovery_mwth_per_mw": 0.5}
    site = _site(site_factory, tmp_path, heat_offtake=heat)
    inputs = _inputs(site, tmp_path, [30.0, 500.0, 145.0], "2024-02-01T00:00:00Z")
    plan, ledger = _solve(inputs)
    assert plan.power_mw[0] == pytest.approx(asic_mw, abs=1e-6)
    assert plan.schedule.heat_mwth == pytest.approx(heat_mwth, abs=1e-6)
    assert plan.schedule.heat_mwth == pytest.approx(
        np.minimum(max_mwth, 0.5 * plan.power_mw.sum(axis=0)), abs=1e-6
    )
    heat_revenue = 20.0 * sum(heat_mwth) * 1.0
    assert ledger.total("heat_revenue_usd") == pytest.approx(heat_revenue, abs=1e-6)
    hand = asic_mw[0] * (RATE - 30.0) + asic_mw[2] * (RATE - 145.0) + heat_revenue
    assert plan.net_margin_usd == pytest.approx(hand, abs=1e-6)


# --- 5. 4CP: curtail in the peak when a quarter of the rate beats the margin lost --------------


@pytest.mark.parametrize(
    ("rate", "asic_mw", "charge_usd"),
    [
        # 15-minute intervals at 30 USD/MWh; peak at the third one (20:30Z). One MW of ASICs in an
        # interval earns 0.25 × (RATE − 30) = 27.22 USD. Rate 1000 USD/MW-year: 1000 / 4 = 250 USD/MW
        # in the peak > 27.22 → curtail; the hall's idle 0.2 MW still pays 250 × 0.2 = 50 USD.
        (1000.0, [3.0, 3.0, 0.0, 3.0], 50.0),
        # Rate 80: 20 USD/MW < 27.22 → keep running; charge 20 × (3 + 0.2) MW = 64 USD.
        (80.0, [3.0, 3.0, 3.0, 3.0], 64.0),
    ],
    ids=["high rate: curtail", "low rate: run"],
)
def test_fourcp_peak_curtails_asics_only_when_the_charge_beats_the_margin(
    rate: float, asic_mw: list[float], charge_usd: float, site_factory: SiteFactory, tmp_path: Path
) -> None:
    peaks = tmp_path / "peaks.csv"
    peaks.write_text("peak_interval_start_utc\n2030-07-15T20:30:00Z\n")
    # a hall with no workload: 1000 GPUs × 200 W idle = 0.2 MW that cannot be curtailed
    site = _site(
        site_factory,
        tmp_path,
        gpu_hall=_hall(idle_power_w=200.0),
        fourcp={"rate_usd_per_mw_year": rate, "peaks_csv": str(peaks)},
    )
    inputs = _inputs(site, tmp_path, [30.0] * 4, "2030-07-15T20:00:00Z", minutes=15)
    assert inputs.stream.fourcp_usd_per_mw == pytest.approx([0.0, 0.0, rate / 4, 0.0])
    plan, ledger = _solve(inputs)
    assert plan.power_mw[0] == pytest.approx(asic_mw, abs=1e-6)
    assert ledger.total("fourcp_charge_usd") == pytest.approx(charge_usd, abs=1e-6)
    # mining 0.25 × (RATE − 30) per MW-interval; the idle hall costs 0.2 MW × 30 × 0.25 h × 4 = 6 USD
    hand = 0.25 * sum(asic_mw) * (RATE - 30.0) - 6.0 - charge_usd
    assert plan.net_margin_usd == pytest.approx(hand, abs=1e-6)


# --- 6. ancillary services: hourly offers within the running curtailable load -----------------


def _bundled_mcpc(products: Sequence[str], hours: pd.DatetimeIndex) -> pd.DataFrame:
    """ERCOT day-ahead MCPC per product for ``hours``, read from the bundled file directly."""
    table = pd.read_csv(AS_FILE)
    table.index = pd.DatetimeIndex(pd.to_datetime(table["interval_start_utc"], utc=True))
    return table.loc[hours, list(products)].astype(float)


def test_ancillary_offers_are_hourly_within_running_curtailable_load_and_paid_the_mcpc(
    site_factory: SiteFactory, fleet_spec: Spec, tmp_path: Path
) -> None:
    products = ["RRS", "NSPIN", "ECRS"]
    # must-run 0.2 × 3 MW = 0.6 MW; curtailable 2.4 MW; offers capped at 2.0 MW an hour
    site = _site(
        site_factory,
        tmp_path,
        [fleet_spec(min_power_fraction=0.2)],
        ancillary={"products": products, "max_offer_mw": 2.0},
    )
    # three hours from 2023-07-10T18:00Z, 15-minute prices:
    #   hour A: all 30 → ASICs full; offering 2.0 MW costs nothing → offered.
    #   hour B: a 1000 USD/MWh interval: holding 1 MW above must-run through it costs
    #           0.25 × (1000 − RATE) = 215.3 USD, more than any product pays for the hour → no offer,
    #           ASICs at must-run (0.6 MW) in that interval.
    #   hour C: a 200 USD/MWh interval: holding 1 MW costs 0.25 × (200 − RATE) = 15.28 USD, less than
    #           the best product pays → offer 2.0 MW and keep 0.6 + 2.0 = 2.6 MW running there.
    prices = [30.0] * 4 + [30.0, 30.0, 1000.0, 30.0] + [30.0, 30.0, 200.0, 30.0]
    inputs = _inputs(site, tmp_path, prices, "2023-07-10T18:00:00Z", minutes=15)
    hours = pd.date_range("2023-07-10T18:00:00Z", periods=3, freq="h")
    mcpc = _bundled_mcpc(products, hours)
    best = mcpc.max(axis=1).to_numpy()
    assert best[1] < 0.25 * (1000.0 - RATE) and best[2] > 0.25 * (200.0 - RATE)  # the data fits the story
    assert (mcpc.to_numpy() > 0).all()

    plan, ledger = _solve(inputs)
    offers = plan.schedule.as_offer_mw  # (P, T)
    asic = plan.power_mw[0]
    expected_asic = [3.0] * 4 + [3.0, 3.0, 0.6, 3.0] + [3.0, 3.0, 2.6, 3.0]
    assert asic == pytest.approx(expected_asic, abs=1e-6)
    total = offers.sum(axis=0)
    assert total == pytest.approx([2.0] * 4 + [0.0] * 4 + [2.0] * 4, abs=1e-6)
    # every interval: offers ≤ running ASIC power above must-run, and ≤ the cap
    assert np.all(total <= asic - 0.6 + 1e-6)
    assert np.all(total <= 2.0 + 1e-6)
    # hourly constant: each product's offer is the same in the four intervals of an hour
    by_hour = offers.reshape(len(products), 3, 4)
    assert np.allclose(by_hour, by_hour[:, :, :1], atol=1e-9)
    # the MW go to the best-paid product of each offered hour
    for h in (0, 2):
        p_best = int(np.argmax(mcpc.iloc[h].to_numpy()))
        assert by_hour[p_best, h, 0] == pytest.approx(2.0, abs=1e-6)
    # revenue = MCPC × MW × 0.25 h per interval, from the independently read prices
    mcpc_t = np.repeat(mcpc.to_numpy().T, 4, axis=1)  # (P, T)
    for p, product in enumerate(products):
        assert ledger.intervals[f"ancillary_revenue_usd__{product}"].to_numpy() == pytest.approx(
            mcpc_t[p] * offers[p] * 0.25, abs=1e-9
        )
    as_revenue = 2.0 * (best[0] + best[2])  # 2 MW × 1 h × the best MCPC of hours A and C
    assert ledger.total("ancillary_revenue_usd") == pytest.approx(as_revenue, abs=1e-6)
    mining = sum(0.25 * x * (RATE - p) for x, p in zip(expected_asic, prices, strict=True))
    assert plan.net_margin_usd == pytest.approx(mining + as_revenue, abs=1e-6)


# --- 7. infeasible combinations are explained ---------------------------------------------------


def test_a_job_needing_more_than_its_window_at_max_gpus_is_explained(
    site_factory: SiteFactory, tmp_path: Path
) -> None:
    # 3 hours × 1000 GPUs = 3000 GPU-hours at most, less a 100 GPU-hour restart; the job needs 5000
    job = {**TRAINING_JOB, "name": "too-big", "gpu_hours": 5000.0, "deadline": "2024-01-01T03:00:00Z"}
    site = _site(site_factory, tmp_path, gpu_hall=_hall(training_jobs=[job]))
    inputs = _inputs(site, tmp_path, [30.0, 30.0, 30.0], "2024-01-01T00:00:00Z")
    with pytest.raises(InfeasibleError) as caught:
        optimize_dispatch(inputs)
    text = "\n".join(caught.value.explanation)
    assert "training job 'too-big'" in text
    assert "5000 GPU-hours" in text
    # the job's row reads as a sentence: no dangling "(window from at", every parenthesis closed
    (line,) = [x for x in caught.value.explanation if "5000 GPU-hours" in x]
    assert line.endswith(
        "by its deadline 2024-01-01T03:00:00+00:00, counting work from its first interval (at 2024-01-01T00:00Z)"
    )
    assert "(window from" not in text
    assert all(x.count("(") == x.count(")") for x in caught.value.explanation)


def test_inference_demand_above_the_halls_gpus_is_a_data_error(
    site_factory: SiteFactory, tmp_path: Path
) -> None:
    # a constant demand above the hall is refused with the site file (test_site_streams.py); a
    # demand file's intervals are checked when they are read
    demand = tmp_path / "demand.csv"
    demand.write_text("interval_start_utc,gpus\n2024-01-01T00:00:00Z,900\n2024-01-01T01:00:00Z,1500\n")
    inference = {
        "demand": {"kind": "csv", "path": str(demand)},
        "price_usd_per_gpu_hour": 2.0,
        "sla_availability_fraction": 0.99,
    }
    site = _site(site_factory, tmp_path, gpu_hall=_hall(inference=inference))
    with pytest.raises(DataError) as caught:
        _inputs(site, tmp_path, [30.0, 30.0], "2024-01-01T00:00:00Z")
    message = str(caught.value)
    assert "gpu_hall.inference.demand" in message
    assert "1500 GPUs" in message and "1000 GPUs" in message


def test_an_sla_the_grid_cannot_serve_is_explained(
    site_factory: SiteFactory, fleet_spec: Spec, tmp_path: Path
) -> None:
    # must-run ASICs 3 MW under a 3.5 MW limit leave 0.5 MW = 500 GPUs for a demand of 1000:
    # availability 0.5 at most, the SLA asks 0.9
    inference = {
        "demand": {"kind": "constant", "gpus": 1000.0},
        "price_usd_per_gpu_hour": 2.0,
        "sla_availability_fraction": 0.9,
    }
    site = _site(
        site_factory,
        tmp_path,
        [fleet_spec(min_power_fraction=1.0)],
        grid_mw=3.5,
        gpu_hall=_hall(inference=inference),
    )
    inputs = _inputs(site, tmp_path, [30.0, 30.0], "2024-01-01T00:00:00Z")
    with pytest.raises(InfeasibleError) as caught:
        optimize_dispatch(inputs)
    text = "\n".join(caught.value.explanation)
    assert "inference SLA" in text and "0.9" in text
    assert "grid connection limit 3.5 MW" in text


def test_must_run_asics_plus_the_halls_idle_power_above_the_grid_is_explained(
    site_factory: SiteFactory, fleet_spec: Spec, tmp_path: Path
) -> None:
    # must-run 0.5 × 3 MW = 1.5 MW + hall idle 1000 × 600 W = 0.6 MW = 2.1 MW > 2 MW
    site = _site(
        site_factory,
        tmp_path,
        [fleet_spec(min_power_fraction=0.5)],
        grid_mw=2.0,
        gpu_hall=_hall(idle_power_w=600.0),
    )
    inputs = _inputs(site, tmp_path, [30.0, 30.0], "2024-01-01T00:00:00Z")
    with pytest.raises(InfeasibleError) as caught:
        optimize_dispatch(inputs)
    first = caught.value.explanation[0]
    assert "must-run power 2.1 MW" in first
    assert "'a' 1.5 MW" in first and "GPU hall 'gpu-hall' idle 0.6 MW" in first
    assert "grid connection limit 2 MW" in first


# --- 8. every stream at once: the objective is the accounting -------------------------------


def test_objective_equals_the_accounting_with_every_stream_at_once(
    site_factory: SiteFactory, fleet_spec: Spec, tmp_path: Path
) -> None:
    peaks = tmp_path / "peaks.csv"
    peaks.write_text("peak_interval_start_utc\n2023-07-10T20:15:00Z\n")
    hall = _hall(
        gpus=2000.0,
        gpu_power_w=900.0,
        idle_power_w=150.0,
        pue=1.2,
        inference={
            "demand": {"kind": "constant", "gpus": 800.0},
            "price_usd_per_gpu_hour": 1.2,
            "penalty_usd_per_gpu_hour": 0.3,
            "sla_availability_fraction": 0.8,
        },
        training_jobs=[
            {
                **TRAINING_JOB,
                "gpu_hours": 1500.0,
                "release": "2023-07-10T18:00:00Z",
                "deadline": "2023-07-10T22:00:00Z",
                "max_gpus": 800.0,
                "min_gpus": 200.0,
            }
        ],
        rental={"price_usd_per_gpu_hour": 0.15, "min_block_hours": 2.0, "max_gpus": 1500.0},
    )
    site = _site(
        site_factory,
        tmp_path,
        [
            fleet_spec("old", min_power_fraction=0.1, pool_fee_fraction=0.02),
            fleet_spec("new", hashrate_ths=150.0),
        ],
        grid_mw=7.0,
        gpu_hall=hall,
        heat_offtake={"max_mwth": 1.5, "price_usd_per_mwh_thermal": 12.0, "recovery_mwth_per_mw": 0.4},
        fourcp={"rate_usd_per_mw_year": 400.0, "peaks_csv": str(peaks)},
        ancillary={"products": ["RRS", "ECRS"], "max_offer_mw": 3.0},
    )
    rng = np.random.default_rng(7)
    prices = np.round(rng.normal(120.0, 90.0, 24), 2).tolist()
    prices[9] = 900.0  # a spike in the peak hour
    inputs = _inputs(site, tmp_path, prices, "2023-07-10T16:00:00Z", minutes=15, timezone="America/Chicago")
    plan = optimize_dispatch(inputs)
    ledger = account(inputs, plan.schedule)
    assert plan.net_margin_usd == pytest.approx(ledger.net_margin_usd, rel=1e-6)
    # every stream is present in the ledger and the job finishes
    (job,) = ledger.jobs
    assert job.finished
    for column in ("inference_revenue_usd", "rental_revenue_usd", "heat_revenue_usd", "fourcp_charge_usd"):
        assert ledger.total(column) > 0, column
    assert ledger.total("ancillary_revenue_usd") > 0
    served = ledger.total("inference_gpus") / ledger.total("inference_demand_gpus")
    assert served >= 0.8 - 1e-9
