"""Plausibility limits of every magnitude in a site file, in one place, each with its reason.

A value outside these limits is a typing slip or a unit mix-up (kW for MW, W for kW, USD/kWh for
USD/MWh), not a site: it is refused with the field, the value, the unit and the limit rather than
run into a result such as an all-in power cost of 1e302 USD/MWh. The limits are wide: every real
site, contract and fleet of today lies well inside them.

Each constant is an :class:`annotated_types.Interval` used as ``Annotated[float, LIMIT]`` on the
fields of :mod:`powerfirst.site.schema` and :mod:`powerfirst.site.streams`. Limits that compare two fields
are checked by the models' validators; they are listed here as constants too:

* ``contract.block_mw`` ≤ ``grid.connection_limit_mw`` (a block the site can never draw is a
  sell-back position, not a supply contract);
* every fleet, and the GPU hall, at most :data:`MAX_LOAD_MW` at the meter;
* a fleet's machine efficiency (``power_w`` / ``hashrate_ths``) within :data:`EFFICIENCY_J_PER_TH`;
* the sum of the adders within :data:`ADDER_USD_PER_MWH`, like each adder;
* GPU counts (inference demand, training ``min_gpus``/``max_gpus``, ``rental.max_gpus``) at most
  the hall's ``gpus``;
* ``gpu_hall.rental.min_block_hours`` at least the price interval (checked when the interval is
  known, in :func:`powerfirst.dispatch.streams.hall_params`).

Fractions (``_fraction``: 0 to 1), hours of day and the strategies' tuning parameters
(``hysteresis_usd_per_mwh`` 0–1,000 USD/MWh, ``horizon_hours`` 2–168, ``risk_quantile`` 0.5–0.9, …)
keep their limits at their fields: they are ranges of meaning, not of plausibility.
"""

from __future__ import annotations

from annotated_types import Interval

__all__ = [
    "ADDER_LIMIT_USD_PER_MWH",
    "ADDER_USD_PER_MWH",
    "BLOCK_MW",
    "BLOCK_PRICE_USD_PER_MWH",
    "CHECKPOINT_MIN",
    "EFFICIENCY_J_PER_TH",
    "FOURCP_RATE_USD_PER_MW_YEAR",
    "GPU_COUNT",
    "GPU_POWER_W",
    "GPU_PRICE_USD_PER_GPU_HOUR",
    "GRID_MW",
    "HASHPRICE_USD_PER_PH_DAY",
    "HASHRATE_THS",
    "HEAT_MWTH",
    "HEAT_PRICE_USD_PER_MWH_THERMAL",
    "JOB_GPU_HOURS",
    "JOB_RESTART_MIN",
    "JOB_VALUE_USD",
    "MAX_LOAD_MW",
    "MINER_POWER_W",
    "MIN_OFF_TIME_MIN",
    "OVERHEAD_FRACTION",
    "PUE",
    "RENTAL_BLOCK_HOURS",
    "RESTART_TIME_MIN",
    "SLA_PENALTY_USD_PER_GPU_HOUR",
    "TX_FEES_BTC_PER_BLOCK",
    "UNITS",
]

# --- power [MW at the meter] ----------------------------------------------------------------------

GRID_MW = Interval(ge=0.001, le=10_000.0)
"""Grid connection [MW]: from 1 kW (less than one miner draws) to 10 GW, above the largest
single-site interconnection of any mine or data-centre campus built or announced. Also the limits
of ``ancillary.max_offer_mw``."""

BLOCK_MW = Interval(gt=0.0, le=10_000.0)
"""Fixed-price block [MW]; also at most the grid connection (see the module docstring)."""

MAX_LOAD_MW = 10_000.0
"""Most meter power of one fleet or of the GPU hall at full load [MW]: the grid limit's upper end."""

HEAT_MWTH = Interval(gt=0.0, le=10_000.0)
"""Heat customer's demand [MW thermal]: the same 10 GW scale as the grid limit."""

# --- prices [USD/MWh] -----------------------------------------------------------------------------

BLOCK_PRICE_USD_PER_MWH = Interval(ge=-1_000.0, le=10_000.0)
"""Fixed block price [USD/MWh]: a contract price, inside the offer floors and caps of the US ISOs
(ERCOT −250/5,000, CAISO −150/2,000 soft, others ≤ 3,750) with margin."""

ADDER_LIMIT_USD_PER_MWH = 1_000.0
ADDER_USD_PER_MWH = Interval(ge=-ADDER_LIMIT_USD_PER_MWH, le=ADDER_LIMIT_USD_PER_MWH)
"""Each adder and their sum [USD/MWh]: transmission, distribution and fees are 1–50 USD/MWh; a
negative adder is a credit. ±1,000 is twenty times the dearest real adder, and far from a
USD/kWh-for-USD/MWh slip of ×1,000 on a real one."""

HEAT_PRICE_USD_PER_MWH_THERMAL = Interval(ge=0.0, le=1_000.0)
"""Heat sold [USD/MWh thermal]: district heat sells at 20–150; 1,000 leaves a wide margin."""

# --- ASIC fleets ----------------------------------------------------------------------------------

UNITS = Interval(ge=1, le=10_000_000)
"""Machines in a fleet, and in a switch block [count]: at least one; ten million is several
times the whole Bitcoin network's machines at one site."""

HASHRATE_THS = Interval(gt=0.0, le=100_000.0)
"""Hashrate per unit [TH/s]: today's largest units make under 1,000 TH/s."""

MINER_POWER_W = Interval(gt=0.0, le=100_000.0)
"""Power per unit at the machine [W]: today's largest hydro units draw under 20 kW."""

EFFICIENCY_J_PER_TH = (1.0, 500.0)
"""Machine efficiency ``power_w / hashrate_ths`` [J/TH]: the best machines of 2025 are near 10,
an Antminer S9 is 98; 500 covers any ASIC still plugged in, 1 is beyond any announced chip (the
same limits as ``powerfirst breakeven --efficiency-j-per-th``)."""

PUE = Interval(ge=1.0, le=3.0)
"""Meter power / machine power [-]: 1 is no overhead at all; air-cooled mines run 1.02–1.1 and
the worst data centres about 2."""

OVERHEAD_FRACTION = Interval(ge=0.0, le=2.0)
"""Cooling and auxiliary power / machine power [-]: PUE − 1, so the same limits as :data:`PUE`."""

MIN_OFF_TIME_MIN = Interval(ge=0.0, le=1_440.0)
"""Anti-cycling hold-off [min]: at most a day."""

RESTART_TIME_MIN = Interval(ge=0.0, le=120.0)
"""ASIC restart before it hashes [min]: minutes in practice; two hours is generous."""

# --- Bitcoin --------------------------------------------------------------------------------------

TX_FEES_BTC_PER_BLOCK = Interval(ge=0.0, le=100.0)
"""Transaction fees per block [BTC/block]: daily means have stayed under 7 BTC; 100 is the
same limit the network CSV reader uses."""

HASHPRICE_USD_PER_PH_DAY = Interval(gt=0.0, le=100_000.0)
"""A constant hashprice [USD/PH/day]: 30–800 since 2020 (4,000 at the end of 2017)."""

# --- GPU hall and its workloads -------------------------------------------------------------------

GPU_COUNT = Interval(ge=1.0, le=10_000_000.0)
"""GPUs in the hall [GPUs]: at least one; ten million is ten times the largest cluster
announced. Demand, training and rental GPU counts are at most the hall's (see above)."""

GPU_POWER_W = Interval(gt=0.0, le=20_000.0)
"""Power per GPU including its share of the host [W]: an H100 server is about 1,100 W per GPU,
a GB200 rack about 1,900; 20 kW is ten times that."""

GPU_PRICE_USD_PER_GPU_HOUR = Interval(ge=0.0, le=1_000.0)
"""Inference and rental prices [USD/GPU-hour]: list prices are 1–15."""

SLA_PENALTY_USD_PER_GPU_HOUR = Interval(ge=0.0, le=10_000.0)
"""Penalty per GPU-hour not served [USD/GPU-hour]."""

RENTAL_BLOCK_HOURS = Interval(ge=1.0 / 12.0, le=720.0)
"""Rental slice [hours]: at least 5 minutes (the shortest market interval; a slice cannot be
shorter than the interval, and 0 is no slice at all), at most 30 days."""

JOB_GPU_HOURS = Interval(gt=0.0, le=1e9)
"""Work of a training job [GPU-hours]: the largest runs announced are about 1e8."""

JOB_VALUE_USD = Interval(ge=0.0, le=1e11)
"""Value paid when a job finishes [USD]."""

CHECKPOINT_MIN = Interval(ge=0.0, le=10_080.0)
"""Checkpoint interval of a training job [min]: at most a week."""

JOB_RESTART_MIN = Interval(ge=0.0, le=1_440.0)
"""Restart cost of a training job [min of the job's GPUs]: at most a day."""

# --- programs -------------------------------------------------------------------------------------

FOURCP_RATE_USD_PER_MW_YEAR = Interval(ge=0.0, le=1_000_000.0)
"""ERCOT 4CP transmission rate [USD/MW-year]: about 50,000–70,000 in 2023; ×15 margin."""
