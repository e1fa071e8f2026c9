"""``powerfirst sites rank``: compare candidate sites in different markets and rank them."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from powerfirst.cli.common import console, counted_progress, err_console, fail, one_line_warnings
from powerfirst.errors import ConfigError, PowerfirstError
from powerfirst.outputs import RunFolder
from powerfirst.planning.candidates import load_candidates
from powerfirst.planning.margins_cache import check_cache_folder
from powerfirst.planning.ranking import market_years_of, rank_sites
from powerfirst.planning.ranking_result import Ranking
from powerfirst.reporting.ranking_html import write_ranking_html

__all__ = ["sites_app", "write_ranking"]

sites_app = typer.Typer(
    name="sites",
    help="Compare candidate sites in different markets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@sites_app.callback()
def _group() -> None:
    """Compare candidate sites in different markets."""


def write_ranking(folder: RunFolder, ranking: Ranking) -> dict[str, Path]:
    """Write ``ranking.json``, ``ranking.csv`` and ``ranking.html`` into the claimed run folder."""

    def writer(file: Callable[[str], Path]) -> None:
        file("ranking.json").write_text(ranking.model_dump_json(indent=2) + "\n", encoding="utf-8")
        pd.DataFrame(ranking.table_rows()).to_csv(file("ranking.csv"), index=False)
        write_ranking_html(file("ranking.html"), ranking)

    try:
        return folder.write(writer)
    except OSError as exc:
        raise ConfigError(
            f"--out = {str(folder.shown)!r}: cannot write the ranking ({exc.strerror or exc})"
        ) from None


def _usd(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value / 1e6:,.3f}"


def _table(ranking: Ranking) -> Table:
    table = Table(title=f"Site ranking — {ranking.source}")
    columns = ["rank", "candidate", "score", "best use (net)", "mining net", "AI net", "hybrid net"]
    columns += [
        "neg. price share",
        "below BE share",
        "volatility USD/MWh",
        "policy risk",
        "latency",
        "AI PUE",
    ]
    for column in columns:
        table.add_column(
            column, justify="left" if column in ("candidate", "best use (net)", "latency") else "right"
        )
    for c in ranking.candidates:
        v = c.net_value_usd_per_mw_year
        table.add_row(
            str(c.rank),
            c.name,
            f"{c.score:.1f}",
            c.best_use,
            _usd(v["mining"]),
            _usd(v["ai"]),
            _usd(v["hybrid"]),
            f"{c.negative_price_share:.1%}",
            f"{c.below_breakeven_share:.1%}",
            f"{c.volatility_usd_per_mwh:,.1f}",
            f"{c.policy_risk_score:g}",
            c.latency,
            f"{c.ai_pue:g}",
        )
    return table


def _charges(ranking: Ranking) -> str:
    """The capital charges per use of the first candidate (they differ only by the AI hall's PUE)."""
    if not ranking.candidates:
        return "none"
    charge = ranking.candidates[0].capital_charge_usd_per_mw_year
    return ", ".join(
        f"{use} {charge[use] / 1e6:,.3f}" for use in ("mining", "ai", "hybrid") if use in charge
    ) + (f" M USD/MW-year for {ranking.candidates[0].name}")


@sites_app.command()
def rank(
    candidates: Annotated[Path, typer.Argument(help="Candidates file (YAML); see the README.")],
    out: Annotated[Path, typer.Option(help="Folder for ranking.json, ranking.csv and ranking.html.")],
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Folder of the margin backtests' cache (default ~/.cache/powerfirst/margins)."),
    ] = None,
    cache: Annotated[bool, typer.Option(help="Read and store the backtests in the cache.")] = True,
    wait_for_lock: Annotated[
        bool, typer.Option(help="Wait while another run writes --out, instead of stopping at once.")
    ] = False,
) -> None:
    """Rank CANDIDATES: hours of negative and below-breakeven prices, volatility, value per MW as a
    mining, AI and hybrid site from backtests, heat reuse, latency and policy risk, by a weighted score."""
    folder: RunFolder | None = None
    try:
        folder = RunFolder.claim(out, flag="--out", wait=wait_for_lock)
        for note in folder.cleaned:
            err_console.print(f"note: {note}", highlight=False, soft_wrap=True)
        if cache and cache_dir is not None:
            check_cache_folder(cache_dir)
        plan, ready = load_candidates(candidates)
        total = sum(len(market_years_of(rc)) for rc in ready)
        with (
            one_line_warnings(),
            counted_progress() as bar,
        ):
            task = bar.add_task("candidate-years", total=total)

            def step(name: str, year: int) -> None:
                bar.update(task, advance=1, description=f"{name} {year}")

            ranking = rank_sites(
                plan, ready, source=str(candidates), cache_dir=cache_dir, use_cache=cache, on_step=step
            )
        paths = write_ranking(folder, ranking)
        notes = folder.notes
    except PowerfirstError as exc:
        fail(exc)
    finally:
        if folder is not None:
            folder.release()  # on a signal, says what --out holds
    console.print(_table(ranking))
    console.print(
        "values: M USD per MW at the meter per year, net of capital (operating value − capex × the capital "
        f"recovery factor: {_charges(ranking)}); weights {json.dumps(ranking.weights)}",
        highlight=False,
        soft_wrap=True,
    )
    for note in notes:
        console.print(f"note: {note}", highlight=False)
    console.print(f"report: {paths['ranking.html']}")
