"""``powerfirst validate`` and ``powerfirst models``: a site file and the bundled ASIC table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from powerfirst.backtest.market_files import check_market_files, market_files, price_interval
from powerfirst.backtest.runner import (
    market_timezone,
)
from powerfirst.cli.common import console, fail
from powerfirst.errors import InfeasibleError, PowerfirstError
from powerfirst.policies.registry import load_site
from powerfirst.site.asic_catalog import asic_models
from powerfirst.site.compile import site_params
from powerfirst.site.params import SiteParams
from powerfirst.site.schema import Site


def _streams_lines(site: Site, params: SiteParams) -> list[str]:
    """One line per stream beyond mining, for ``validate``."""
    lines = []
    hall, cfg = params.hall, site.gpu_hall
    if hall is not None and cfg is not None:
        lines.append(
            f"GPU hall {hall.name!r}: {hall.gpus:,.0f} GPUs, {hall.idle_power_mw:.2f} MW idle, "
            f"{hall.max_power_mw:.2f} MW with every GPU working (PUE {cfg.pue:g})"
        )
        if cfg.inference is not None:
            inf = cfg.inference
            lines.append(
                f"  inference: demand {inf.demand.kind}, {inf.price_usd_per_gpu_hour:g} USD/GPU-hour, "
                f"SLA {inf.sla_availability_fraction:g} per month, penalty {inf.penalty_usd_per_gpu_hour:g} USD/GPU-hour"
            )
        for job in hall.jobs:
            lines.append(
                f"  training {job.name!r}: {job.gpu_hours:,.0f} GPU-hours on {job.min_gpus:g}-{job.max_gpus:g} GPUs "
                f"from {job.release_utc.isoformat()} to {job.deadline_utc.isoformat()}, value {job.value_usd:,.0f} USD"
            )
        if cfg.rental is not None:
            price = (
                f"{cfg.rental.price_usd_per_gpu_hour:g} USD/GPU-hour"
                if cfg.rental.price_usd_per_gpu_hour is not None
                else f"price series {cfg.rental.price_series}"
            )
            lines.append(
                f"  rentals: {price}, slices of {hall.rental_slice_hours:g} h, up to {hall.rental_max_gpus:,.0f} GPUs"
            )
    if site.heat_offtake is not None:
        h = site.heat_offtake
        lines.append(
            f"heat offtake: up to {h.max_mwth:g} MW thermal at {h.price_usd_per_mwh_thermal:g} USD/MWh thermal, "
            f"{h.recovery_mwth_per_mw:g} MW thermal per MW of ASIC power"
        )
    if site.fourcp is not None:
        lines.append(
            f"4CP: {site.fourcp.rate_usd_per_mw_year:,.0f} USD per MW-year of load at the June-September peaks"
        )
    if site.ancillary is not None:
        cap = site.ancillary.max_offer_mw
        lines.append(
            f"ancillary offers: {', '.join(site.ancillary.products)}"
            + (f", up to {cap:g} MW" if cap is not None else ", up to the running curtailable ASIC power")
        )
    return lines


def validate(site_file: Annotated[Path, typer.Argument(metavar="SITE.yaml")]) -> None:
    """Check a site file and show its fleets."""
    try:
        site = load_site(site_file)
        zone, origin, iso, _ = market_timezone(site, site.contract.price_series)
        files = check_market_files(
            market_files(site),
            products=tuple(site.ancillary.products) if site.ancillary else (),
            timezone=zone,
            origin=origin,
            interval=price_interval(site.contract.price_series, zone),
            used={"ancillary_prices": site.ancillary is not None, "fourcp_peaks": site.fourcp is not None},
        )
    except PowerfirstError as exc:
        fail(exc)
        return
    table = Table(
        title=f"{site.name}: grid limit {site.grid.connection_limit_mw:g} MW, contract {site.contract.kind}"
    )
    for column in ("fleet", "units", "TH/s", "J/TH", "PUE", "max MW", "must-run MW", "min off min"):
        table.add_column(column, justify="left" if column == "fleet" else "right")
    for f in site.fleets:
        table.add_row(
            f.name,
            f"{f.units:,}",
            f"{f.hashrate_ths_total:,.0f}",
            f"{f.efficiency_j_per_th:.1f}",
            f"{f.effective_pue:.2f}",
            f"{f.max_power_mw:.2f}",
            f"{f.min_power_mw:.2f}",
            f"{f.min_off_time_min:g}",
        )
    console.print(table)
    console.print(f"all fleets at full power: {site.max_load_mw:.2f} MW; must-run: {site.must_run_mw:.2f} MW")
    console.print(
        f"market: {iso.label if iso else 'not named'}; dates read in {zone} ({origin})",
        highlight=False,
        soft_wrap=True,
    )
    for line in files:
        console.print(line, highlight=False, soft_wrap=True)
    try:
        params = site_params(site, 0.25, zone)
    except PowerfirstError as exc:
        fail(exc)
        return
    for line in _streams_lines(site, params):
        console.print(line, highlight=False)
    conflict = params.must_run_conflict()
    if conflict:
        fail(InfeasibleError("the site cannot be dispatched", explanation=[conflict]))


def models() -> None:
    """List the bundled ASIC models (usable as ``model:`` in a fleet)."""
    table = Table(title="Bundled ASIC models")
    for column in ("model", "TH/s", "W", "J/TH", "source"):
        table.add_column(column, justify="left" if column in {"model", "source"} else "right")
    for m in asic_models().values():
        table.add_row(
            m.model, f"{m.hashrate_ths:g}", f"{m.power_w:g}", f"{m.efficiency_j_per_th:.1f}", m.source
        )
    console.print(table)
