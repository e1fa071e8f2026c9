"""The parts of a scenario file that describe deals: the AI business of a phase (a colocation lease
or an own GPU cloud), tax depreciation and financing.

Units are in the field names; percentages are ``_pct`` (0–100 unless a field says otherwise). The
limits are plausibility bounds (a value outside is a typing slip or a unit mix-up, e.g. USD per
MW-month given as per MW-year), each wide of every deal publicly reported (see the reference
figures in the design notes: leases 1.45–1.9 M USD/MW-year, AI capex 3–15 M USD/MW, GPU clouds
~29 M USD/MW of GPUs).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from powerfirst.planning.depreciation import MACRS_CLASSES_YEARS
from powerfirst.planning.months import check_month
from powerfirst.site.strict import Strict

__all__ = [
    "Business",
    "ColocationLease",
    "Depreciation",
    "DepreciationSchedule",
    "EquipmentLease",
    "Financing",
    "GpuCloud",
    "Renewals",
]


class Renewals(Strict):
    """The tenant's renewal options after the initial term."""

    count: int = Field(default=0, ge=0, le=10)
    """Number of renewal options [count]."""
    years_each: int = Field(default=5, ge=1, le=30)
    """Length of each renewal [years]."""
    assume_exercised: bool = False
    """Whether the plan counts on the renewals (the tenant's option: off by default)."""


class ColocationLease(Strict):
    """The converted MW are leased to a tenant who brings its own GPUs.

    Rent is per MW-year of critical IT (the tenant's IT load), paid monthly from the end of the
    build, stepped up by the escalator on each anniversary. ``triple_net``: the tenant pays the
    power; ``gross``: the landlord pays it (all the phase's utility MW drawn flat, at the market
    year's cost of a flat MW). After the lease the MW stand idle (re-leasing is not modelled).
    """

    kind: Literal["colocation_lease"]
    rate_usd_per_mw_year: float = Field(gt=0.0, le=20e6)
    """Rent per MW of critical IT per year [USD/MW-year]; miners' leases: ~1.45–1.9 M."""
    it_mw_per_utility_mw: float | None = Field(default=None, gt=0.0, le=1.0)
    """Critical IT MW per MW at the meter [-] (e.g. Hut 8: 245 / 330 ≈ 0.74). This or ``pue``."""
    pue: float | None = Field(default=None, ge=1.0, le=3.0)
    """Power usage effectiveness of the hall [-]: IT MW = utility MW / PUE. This or the ratio."""
    term_years: int = Field(ge=1, le=50)
    """Initial term [years]."""
    escalator_pct_per_year: float = Field(default=0.0, ge=-10.0, le=20.0)
    """Rent step on each anniversary [%/year]."""
    renewals: Renewals = Field(default_factory=Renewals)
    structure: Literal["triple_net", "gross"] = "triple_net"
    prepayment_usd: float = Field(default=0.0, ge=0.0, le=1e11)
    """Prepaid rent received when the phase starts, credited against the first rents [USD]."""
    opex_usd_per_mw_month: float = Field(default=0.0, ge=0.0, le=1e6)
    """The landlord's own costs during the lease per utility MW [USD/MW-month]."""
    credit_backstop: bool = False
    """Whether a third party guarantees the rent (reported only; default risk is not modelled)."""
    guarantor: str | None = Field(default=None, min_length=1, max_length=200)
    """Who backs the rent (reported only)."""

    @model_validator(mode="after")
    def _check_it_ratio(self) -> ColocationLease:
        if (self.it_mw_per_utility_mw is None) == (self.pue is None):
            raise ValueError(
                "give it_mw_per_utility_mw [IT MW per utility MW, 0 to 1] or pue [1 to 3], exactly one "
                "(the rent is per MW of critical IT, the conversion per utility MW)"
            )
        return self

    @property
    def it_fraction(self) -> float:
        """Critical IT MW per utility MW [-]."""
        return self.it_mw_per_utility_mw if self.it_mw_per_utility_mw is not None else 1.0 / (self.pue or 1.0)

    @property
    def lease_months(self) -> int:
        """Months of rent: the term, plus the renewals when counted on [months]."""
        renewed = self.renewals.count * self.renewals.years_each if self.renewals.assume_exercised else 0
        return 12 * (self.term_years + renewed)


class GpuCloud(Strict):
    """The converted MW host the operator's own GPUs, rented out by the GPU-hour.

    GPUs are bought when the build ends and every ``refresh_years`` after (the old ones sold at
    ``resale_pct_of_cost``); revenue is GPUs × hours × utilisation × the driver path's USD/GPU-hour ×
    ``price_premium_factor``; the GPUs' meter power (IT × PUE) is drawn flat, rented or not.
    """

    kind: Literal["gpu_cloud"]
    gpus: int = Field(ge=1, le=10_000_000)
    """GPUs bought [count]."""
    usd_per_gpu: float = Field(gt=0.0, le=1e6)
    """All-in cost per GPU: its share of servers, network and storage [USD/GPU] (H100 systems:
    ~30,000–40,000)."""
    watts_per_gpu: float | None = Field(default=None, ge=100.0, le=5_000.0)
    """IT power per GPU, its share of the server included [W] (DGX H100: 10.2 kW / 8 ≈ 1,275 W).
    This or ``gpus_per_it_mw``."""
    gpus_per_it_mw: float | None = Field(default=None, ge=200.0, le=10_000.0)
    """GPUs per MW of IT power [GPUs/MW]. This or ``watts_per_gpu``."""
    pue: float = Field(default=1.3, ge=1.0, le=3.0)
    """Power usage effectiveness of the hall [-]: meter MW = IT MW × PUE."""
    refresh_years: int | None = Field(default=None, ge=1, le=15)
    """Years between GPU purchases [years]; None: the first GPUs run to the horizon (GPUs age out
    in 1.5–3 years)."""
    resale_pct_of_cost: float = Field(default=0.0, ge=0.0, le=100.0)
    """Price the GPUs sell for at a refresh [% of their cost]."""
    utilisation_pct: float = Field(ge=0.0, le=100.0)
    """Share of GPU-hours rented [%]."""
    price_premium_factor: float = Field(default=1.0, gt=0.0, le=10.0)
    """Multiplier on the driver path's USD/GPU-hour (a contract or service premium) [-]."""
    opex_usd_per_gpu_month: float = Field(default=0.0, ge=0.0, le=10_000.0)
    """Staff, maintenance, software, network per GPU [USD/GPU-month]."""

    @model_validator(mode="after")
    def _check_power(self) -> GpuCloud:
        if (self.watts_per_gpu is None) == (self.gpus_per_it_mw is None):
            raise ValueError(
                "give watts_per_gpu [W of IT per GPU, 100 to 5,000] or gpus_per_it_mw [GPUs per IT MW], "
                "exactly one"
            )
        return self

    @property
    def it_mw(self) -> float:
        """The GPUs' IT power [MW]."""
        if self.watts_per_gpu is not None:
            return self.gpus * self.watts_per_gpu / 1e6
        return self.gpus / (self.gpus_per_it_mw or 1.0)

    @property
    def utility_mw(self) -> float:
        """The GPUs' power at the meter [MW]: IT MW × PUE."""
        return self.it_mw * self.pue


Business = Annotated[ColocationLease | GpuCloud, Field(discriminator="kind")]


class DepreciationSchedule(Strict):
    """How one class of assets is depreciated for tax (see :mod:`powerfirst.planning.depreciation`)."""

    method: Literal["straight_line", "macrs"]
    years: int = Field(ge=1, le=50)
    """Straight line: useful life [years]; MACRS: property class, 5, 7, 15 or 39 [years]."""

    @model_validator(mode="after")
    def _check_class(self) -> DepreciationSchedule:
        if self.method == "macrs" and self.years not in MACRS_CLASSES_YEARS:
            raise ValueError(
                f"years = {self.years}: MACRS property classes are "
                f"{', '.join(map(str, MACRS_CLASSES_YEARS))} years (IRS Pub. 946)"
            )
        return self


class Depreciation(Strict):
    """Tax depreciation by asset class."""

    facility: DepreciationSchedule = Field(
        default_factory=lambda: DepreciationSchedule(method="macrs", years=39)
    )
    """The conversion capex (hall, power and cooling); default MACRS 39-year (nonresidential real property)."""
    gpus: DepreciationSchedule = Field(default_factory=lambda: DepreciationSchedule(method="macrs", years=5))
    """GPU servers; default MACRS 5-year (computers)."""


class EquipmentLease(Strict):
    """An equipment lease: fixed monthly payments, deducted for tax as they are paid (an operating
    lease). Its payments come on top of the capex: lower ``usd_per_gpu`` or ``capex_usd_per_mw``
    for what the lessor pays for."""

    usd_per_month: float = Field(gt=0.0, le=1e10)
    """Payment [USD/month]."""
    months: int = Field(ge=1, le=600)
    """Number of payments [months]."""
    start_month: str | None = None
    """First payment, YYYY-MM; default: the earliest phase's start month."""

    @field_validator("start_month")
    @classmethod
    def _check_month(cls, value: str | None) -> str | None:
        return None if value is None else check_month(value)


class Financing(Strict):
    """Debt for the conversion. Give at most one of ``equity_share_pct``, ``debt_usd`` and
    ``loan_to_cost_pct``; none: all equity (an equipment lease may still be given).

    The debt funds each initial capex (a phase's conversion at its start, its first GPUs when the
    build ends) pro rata, drawn when the capex is paid; interest only until the phase's build ends,
    then repaid over ``tenor_years``; what is still owed at the horizon is repaid in its last month.
    Capex that falls beyond the horizon (GPUs of a build that ends after it) draws no debt.
    """

    equity_share_pct: float | None = Field(default=None, ge=0.0, le=100.0)
    """Share of the initial capex paid by equity [%]; debt pays the rest."""
    debt_usd: float | None = Field(default=None, ge=0.0, le=1e12)
    """Debt amount [USD], at most the initial capex."""
    loan_to_cost_pct: float | None = Field(default=None, ge=0.0, le=100.0)
    """Debt as a share of the initial capex [%] (Hut 8's AI campus: up to 85)."""
    rate_pct_per_year: float | None = Field(default=None, ge=0.0, le=50.0)
    """Nominal annual interest rate, compounded monthly [%/year]."""
    tenor_years: int | None = Field(default=None, ge=1, le=40)
    """Repayment period after the build [years]."""
    amortisation: Literal["annuity", "straight", "bullet"] = "annuity"
    equipment_lease: EquipmentLease | None = None

    @model_validator(mode="after")
    def _check_debt(self) -> Financing:
        given = [
            name
            for name in ("equity_share_pct", "debt_usd", "loan_to_cost_pct")
            if getattr(self, name) is not None
        ]
        if len(given) > 1:
            raise ValueError(
                f"{' and '.join(given)} both size the debt; give one of equity_share_pct [%], debt_usd "
                "[USD] or loan_to_cost_pct [%]"
            )
        if self.has_debt and (self.rate_pct_per_year is None or self.tenor_years is None):
            missing = [n for n in ("rate_pct_per_year", "tenor_years") if getattr(self, n) is None]
            raise ValueError(
                f"the debt needs {' and '.join(missing)} (rate_pct_per_year: 0 to 50 %/year, "
                "tenor_years: 1 to 40 years)"
            )
        return self

    @property
    def has_debt(self) -> bool:
        """Whether any debt is sized (an amount or a share above zero)."""
        if self.equity_share_pct is not None:
            return self.equity_share_pct < 100.0
        return bool(self.debt_usd or self.loan_to_cost_pct)

    def debt_share(self, initial_capex_usd: float) -> float:
        """Share of each initial capex the debt pays [fraction, 0 to 1]."""
        if self.equity_share_pct is not None:
            return 1.0 - self.equity_share_pct / 100.0
        if self.loan_to_cost_pct is not None:
            return self.loan_to_cost_pct / 100.0
        if self.debt_usd and initial_capex_usd > 0.0:
            return min(self.debt_usd / initial_capex_usd, 1.0)
        return 0.0
