"""The scenario file: a site, a plan of phases converting mining MW to AI, deals, tax and financing.

A scenario is YAML, validated like the site file (strict: ``"5"`` is not 5; unknown fields refused
with the nearest name; every error names the field, the value, the unit and the limit)::

    site: west-texas-fixed-block.yaml      # relative to the scenario file
    start_month: 2027-01
    horizon_months: 120
    discount_rate_pct_per_year: 10
    tax_rate_pct: 21
    mining: {opex_usd_per_mw_month: 6000}
    phases:
      - name: hall-a
        convert_mw: 10                      # utility MW taken from mining
        start_month: 2027-01
        build_months: 12                    # the MW earn nothing meanwhile
        capex_usd_per_mw: 9.0e6
        business: {kind: colocation_lease, rate_usd_per_mw_year: 1.6e6, pue: 1.3, term_years: 10}
    terminal_value: {method: salvage}   # default; none: nothing is worth anything after the horizon
    drivers: {start_btc_usd: 90000, btc_growth_per_year: 0.1}   # DriverSettings; fees_csv_path relative
    simulation: {monte_carlo: {paths: 10000, seed: 7}}         # see powerfirst.planning.simulation

Conversions are cumulative: a phase's MW stop mining at its start and never mine again; all phases
together convert at most the site's mining MW (the fleets at full power, at the meter). Every month
is a calendar month ``YYYY-MM``; month 0 is ``start_month``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from powerfirst.errors import ConfigError
from powerfirst.planning.deals import Business, Depreciation, Financing, GpuCloud
from powerfirst.planning.drivers import MAX_CELLS
from powerfirst.planning.drivers_settings import DriverSettings, parse_driver_settings
from powerfirst.planning.messages import format_scenario_errors
from powerfirst.planning.months import check_month, month_offset
from powerfirst.planning.simulation import Simulation
from powerfirst.planning.terminal import TerminalValue
from powerfirst.site.schema import Site
from powerfirst.site.strict import Strict

__all__ = ["MiningPlan", "Phase", "Scenario", "ScenarioFile", "load_scenario", "parse_scenario"]


class MiningPlan(Strict):
    """The mining MW the plan keeps. Their capex is sunk (neither the plan nor the baseline pays it)."""

    opex_usd_per_mw_month: float = Field(ge=0.0, le=1e6)
    """Staff, maintenance, hosting and pool costs not in the backtest's margin, per MW still mining
    [USD/MW-month]."""
    sustaining_capex_usd_per_mw_month: float = Field(default=0.0, ge=0.0, le=1e6)
    """Machine replacement per MW still mining [USD/MW-month]; expensed for tax as it is paid."""


class Phase(Strict):
    """One step of the conversion: ``convert_mw`` of mining become an AI hall."""

    name: str = Field(min_length=1, max_length=64)
    convert_mw: float = Field(gt=0.0, le=10_000.0)
    """Utility MW (at the meter) taken from mining at ``start_month`` [MW]."""
    start_month: str
    """When the MW stop mining and the capex is paid, YYYY-MM."""
    build_months: int = Field(ge=0, le=120)
    """Months of building, during which the converted MW earn nothing [months] (a retrofit: ~12–18)."""
    capex_usd_per_mw: float = Field(ge=0.0, le=50e6)
    """Conversion capex per converted utility MW, GPUs not included [USD/MW] (AI halls: 3–15 M)."""
    business: Business

    @field_validator("start_month")
    @classmethod
    def _check_month(cls, value: str) -> str:
        return check_month(value)

    @model_validator(mode="after")
    def _check_gpu_power(self) -> Phase:
        if isinstance(self.business, GpuCloud) and self.business.utility_mw > self.convert_mw * (1 + 1e-9):
            raise ValueError(
                f"the GPUs draw {self.business.utility_mw:,.3f} MW at the meter (gpus × IT power × pue); "
                f"the phase converts convert_mw = {self.convert_mw:g} MW: that is the limit"
            )
        return self

    @property
    def capex_usd(self) -> float:
        """The conversion's capex [USD]."""
        return self.convert_mw * self.capex_usd_per_mw

    @property
    def initial_gpu_capex_usd(self) -> float:
        """The first GPUs' cost [USD] (0 for a lease)."""
        return self.business.gpus * self.business.usd_per_gpu if isinstance(self.business, GpuCloud) else 0.0


class ScenarioFile(Strict):
    """A scenario file as written (``site`` still a path)."""

    name: str = Field(default="plan", min_length=1, max_length=200)
    site: str = Field(min_length=1)
    """Site file, relative to the scenario file's folder."""
    start_month: str
    """First month of the plan, YYYY-MM."""
    horizon_months: int = Field(ge=1, le=600)
    """Months planned [months] (up to 50 years)."""
    discount_rate_pct_per_year: float = Field(ge=0.0, le=100.0)
    """Effective annual discount rate of the NPV [%/year]."""
    tax_rate_pct: float = Field(ge=0.0, le=100.0)
    """Income tax rate [%] (US federal: 21, plus the state's)."""
    loss_offset_limit_pct: float = Field(default=100.0, gt=0.0, le=100.0)
    """Most of a month's taxable income losses carried forward may offset [%] (US federal: 80)."""
    mining: MiningPlan
    phases: list[Phase] = Field(min_length=1, max_length=50)
    depreciation: Depreciation = Field(default_factory=Depreciation)
    financing: Financing | None = None
    terminal_value: TerminalValue = Field(default_factory=TerminalValue)
    """What is held at the horizon is worth (:mod:`powerfirst.planning.terminal`); default: salvage."""
    drivers: dict[str, Any] = Field(default_factory=dict)
    """Assumptions of the driver paths (:class:`~powerfirst.planning.drivers_settings.DriverSettings`,
    checked apart: errors name ``drivers.FIELD``)."""
    simulation: Simulation = Field(default_factory=Simulation)

    @field_validator("start_month")
    @classmethod
    def _check_month(cls, value: str) -> str:
        return check_month(value)

    @model_validator(mode="after")
    def _check_plan(self) -> ScenarioFile:
        names = [p.name for p in self.phases]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"phase names must be unique; repeated: {', '.join(repeated)}")
        for i, phase in enumerate(self.phases):
            offset = month_offset(self.start_month, phase.start_month)
            if not 0 <= offset < self.horizon_months:
                raise ValueError(
                    f"phases[{i}].start_month = {phase.start_month!r} ({phase.name!r}) is {offset} months "
                    f"from start_month = {self.start_month!r}; it must lie within the horizon, 0 to "
                    f"{self.horizon_months - 1} months (horizon_months = {self.horizon_months})"
                )
        lease = self.financing.equipment_lease if self.financing else None
        if lease is not None and lease.start_month is not None:
            offset = month_offset(self.start_month, lease.start_month)
            if not 0 <= offset < self.horizon_months:
                raise ValueError(
                    f"financing.equipment_lease.start_month = {lease.start_month!r} is {offset} months from "
                    f"start_month; it must lie within the horizon, 0 to {self.horizon_months - 1} months"
                )
        if self.financing is not None and self.financing.debt_usd is not None:
            cost = self.initial_capex_usd
            if self.financing.debt_usd > cost * (1 + 1e-9):
                raise ValueError(
                    f"financing.debt_usd = {self.financing.debt_usd:,.0f} USD is more than the initial capex "
                    f"it funds, {cost:,.0f} USD (conversions and first GPUs): that is the limit"
                )
        self._check_simulation()
        return self

    def _check_simulation(self) -> None:
        first, last = self.simulation.margins.months
        if (first, last) != (1, 12):
            calendar = {(int(self.start_month[5:7]) - 1 + t) % 12 + 1 for t in range(self.horizon_months)}
            outside = sorted(c for c in calendar if not first <= c <= last)
            if outside:
                raise ValueError(
                    f"simulation.margins.months = [{first}, {last}] (calendar months backtested): the horizon "
                    f"({self.horizon_months} months from {self.start_month}) also has months "
                    f"{', '.join(map(str, outside))}; every month of the horizon must be backtested"
                )
        cells = self.simulation.chunk_paths * self.horizon_months
        if cells > MAX_CELLS:
            raise ValueError(
                f"simulation.chunk_paths = {self.simulation.chunk_paths:,} paths × horizon_months = "
                f"{self.horizon_months} = {cells:,} path-months per task: at most {MAX_CELLS:,} (memory)"
            )

    @property
    def initial_capex_usd(self) -> float:
        """All phases' conversion capex and first GPUs [USD] (what the debt may fund)."""
        return sum(p.capex_usd + p.initial_gpu_capex_usd for p in self.phases)

    def phase_start(self, phase: Phase) -> int:
        """Month index of a phase's start (0 = ``start_month``)."""
        return month_offset(self.start_month, phase.start_month)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario with its site read."""

    file: ScenarioFile
    site: Site
    site_path: Path
    source: str = "<scenario>"
    drivers: DriverSettings = field(default_factory=DriverSettings)
    """The ``drivers:`` section, validated (``fees_csv_path`` made relative to the scenario's folder)."""

    @property
    def mining_mw(self) -> float:
        """The site's mining MW at full power, at the meter [MW] (the fleets' sum)."""
        return float(sum(f.max_power_mw for f in self.site.fleets))

    @property
    def converted_mw(self) -> float:
        """MW all phases convert [MW]."""
        return float(sum(p.convert_mw for p in self.file.phases))


def check_against_site(scenario: ScenarioFile, site: Site, *, source: str) -> None:
    """Cross-checks of a scenario with its site; ConfigError naming field, value, unit and limit."""
    mining_mw = sum(f.max_power_mw for f in site.fleets)
    total = 0.0
    for i, phase in enumerate(scenario.phases):
        total += phase.convert_mw
        if total > mining_mw * (1 + 1e-9):
            raise ConfigError(
                f"phases[{i}].convert_mw = {phase.convert_mw:g} MW ({phase.name!r}) brings the MW converted "
                f"to {total:,.3f} MW; the site {site.name!r} mines {mining_mw:,.3f} MW at the meter "
                "(its fleets at full power): that is the limit of all phases together",
                source=source,
            )


def parse_scenario(data: Any, *, source: str = "<scenario>", base_dir: str | Path | None = None) -> Scenario:
    """Validate a scenario given as a mapping (parsed YAML); read its site (relative to ``base_dir``,
    default the working directory) with :func:`powerfirst.policies.registry.load_site`."""
    from powerfirst.policies.registry import load_site

    if not isinstance(data, Mapping):
        raise ConfigError(
            f"the scenario file must be a mapping of fields, got {type(data).__name__}", source=source
        )
    try:
        spec = ScenarioFile.model_validate(dict(data))
    except ValidationError as exc:
        lines = format_scenario_errors(exc, ScenarioFile)
        raise ConfigError(
            "invalid scenario file:\n" + "\n".join(f"  - {x}" for x in lines), source=source
        ) from None
    site_path = Path(spec.site)
    if not site_path.is_absolute():
        site_path = Path(base_dir or ".") / site_path
    if not site_path.is_file():
        raise ConfigError(
            f"site = {spec.site!r}: no such file ({site_path}; a relative path is read from the scenario "
            "file's folder)",
            source=source,
        )
    drivers = _drivers(spec, source=source, base_dir=Path(base_dir or "."))
    site = load_site(site_path)
    check_against_site(spec, site, source=source)
    return Scenario(file=spec, site=site, site_path=site_path, source=source, drivers=drivers)


def _drivers(spec: ScenarioFile, *, source: str, base_dir: Path) -> DriverSettings:
    """The ``drivers:`` section, validated, its fee CSV path read from ``base_dir``; the margins'
    market years checked to hold the drivers'."""
    drivers = parse_driver_settings(spec.drivers, source=source, prefix="drivers.")
    if drivers.fees_csv_path is not None:
        fees = Path(drivers.fees_csv_path)
        if not fees.is_absolute():
            fees = base_dir / fees
        if not fees.is_file():
            raise ConfigError(
                f"drivers.fees_csv_path = {drivers.fees_csv_path!r}: no such file ({fees}; a relative path "
                "is read from the scenario file's folder)",
                source=source,
            )
        drivers = drivers.model_copy(update={"fees_csv_path": str(fees)})
    years = spec.simulation.margins.market_years
    if years is not None:
        missing = [y for y in drivers.market_years if y not in years]
        if missing:
            raise ConfigError(
                f"simulation.margins.market_years = {years}: the driver paths resample market years "
                f"{list(drivers.market_years)} (drivers.market_years), so each must be backtested; "
                f"missing: {missing}",
                source=source,
            )
    return drivers


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file and its site. Nothing is run on an invalid file."""
    from powerfirst.site.files import read_site_yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError("cannot read the scenario file: no such file", source=str(path))
    return parse_scenario(read_site_yaml(path), source=str(path), base_dir=path.parent)
