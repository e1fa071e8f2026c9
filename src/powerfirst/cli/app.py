"""The ``powerfirst`` command line (Typer + Rich): one module per command group."""

from __future__ import annotations

import typer

from powerfirst.cli.agent import agent, instruct, settlement_report
from powerfirst.cli.backtest import backtest
from powerfirst.cli.data import data_app
from powerfirst.cli.emulate import emulate_miners
from powerfirst.cli.forecast import forecast_app
from powerfirst.cli.fourcp import fourcp_app
from powerfirst.cli.market import breakeven, prices
from powerfirst.cli.plan import plan
from powerfirst.cli.site import models, validate
from powerfirst.cli.sites import sites_app

__all__ = ["app"]

app = typer.Typer(
    name="powerfirst",
    help="Decide where every megawatt of a power-first compute site goes, with real market data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(forecast_app, name="forecast")
app.add_typer(fourcp_app, name="fourcp")
app.add_typer(data_app, name="data")
app.add_typer(sites_app, name="sites")
app.command("settlement")(settlement_report)

for command in (backtest, breakeven, validate, prices, models, agent, instruct, plan):
    app.command()(command)
app.command(name="emulate-miners")(emulate_miners)
