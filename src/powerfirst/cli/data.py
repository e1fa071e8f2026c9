"""``powerfirst data fetch``: download recent ERCOT and Bitcoin data into the bundled CSV layouts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.progress import Progress

from powerfirst.cli.common import console, counted_progress, err_console, fail
from powerfirst.errors import ConfigError, PowerfirstError
from powerfirst.fetch.bitcoin import CHARTS, bitcoin_table, fetch_bitcoin_daily
from powerfirst.fetch.ercot import ErcotApi, ErcotCredentials, local_days
from powerfirst.fetch.ercot_time import ERCOT_TZ
from powerfirst.fetch.http import HttpClient
from powerfirst.fetch.write import interval_table, write_csv
from powerfirst.outputs.onefile import OutputFile

__all__ = ["data_app", "http_client"]

data_app = typer.Typer(
    name="data",
    help="Fetch recent market and Bitcoin data into the bundled CSV formats.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Dataset(StrEnum):
    ERCOT_RT = "ercot-rt"
    ERCOT_DA = "ercot-da"
    ERCOT_LOAD = "ercot-load"
    BITCOIN = "bitcoin"


INTERVAL = {
    Dataset.ERCOT_RT: pd.Timedelta(minutes=15),
    Dataset.ERCOT_DA: pd.Timedelta(hours=1),
    Dataset.ERCOT_LOAD: pd.Timedelta(hours=1),
}


def http_client(timeout_s: float, attempts: int) -> HttpClient:
    """The client every fetch uses (tests replace this to replay recorded answers)."""
    return HttpClient(timeout_s=timeout_s, attempts=attempts)


@data_app.callback()
def _group() -> None:
    """Fetch recent market and Bitcoin data into the bundled CSV formats."""


def _day(flag: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{flag} = {value!r}: need a date YYYY-MM-DD") from None


@data_app.command()
def fetch(
    dataset: Annotated[
        Dataset,
        typer.Argument(
            help="ercot-rt (15-min real-time hub prices), ercot-da (hourly day-ahead hub and load-zone "
            "prices), ercot-load (hourly system load by weather zone), bitcoin (daily price, difficulty, "
            "fees per block)."
        ),
    ],
    start: Annotated[
        str, typer.Option(help="First day YYYY-MM-DD (ERCOT: operating day, Central time; bitcoin: UTC).")
    ],
    end: Annotated[str, typer.Option(help="Last day YYYY-MM-DD, included.")],
    out: Annotated[Path, typer.Option(help="CSV file to write (.csv or .csv.gz).")],
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
    subscription_key: Annotated[
        str | None,
        typer.Option(
            envvar="ERCOT_API_SUBSCRIPTION_KEY", help="ERCOT Public API subscription key.", show_default=False
        ),
    ] = None,
    username: Annotated[
        str | None, typer.Option(envvar="ERCOT_API_USERNAME", help="ERCOT Public API username (e-mail).")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(envvar="ERCOT_API_PASSWORD", help="ERCOT Public API password.", show_default=False),
    ] = None,
    timeout_s: Annotated[float, typer.Option(help="Timeout of each request [s].")] = 60.0,
    retries: Annotated[int, typer.Option(help="Tries per request (timeouts, 429 and 5xx are retried).")] = 3,
) -> None:
    """Fetch DATASET for the days START…END and write OUT in the layout of the bundled files."""
    try:
        first, last = _day("--start", start), _day("--end", end)
        if last < first:
            raise ConfigError(f"--end {last} is before --start {first}")
        if not 0 < timeout_s <= 600:
            raise ConfigError(f"--timeout-s = {timeout_s:g} s: need (0, 600] s")
        if not 1 <= retries <= 10:
            raise ConfigError(f"--retries = {retries}: need 1 to 10 tries")
        target = OutputFile.claim(out, flag="--out", overwrite=overwrite)  # before any download
    except PowerfirstError as exc:
        fail(exc)
    try:
        for note in target.notes:
            err_console.print(f"note: {note}", highlight=False, soft_wrap=True)
        with http_client(timeout_s, retries) as http:
            if dataset is Dataset.BITCOIN:
                _fetch_bitcoin(http, first, last, out, overwrite)
            else:
                credentials = _credentials(subscription_key, username, password)
                _fetch_ercot(ErcotApi(http, credentials), dataset, first, last, out, overwrite)
    except PowerfirstError as exc:
        fail(exc)
    finally:
        target.release()  # on a signal, says what --out holds


def _credentials(key: str | None, username: str | None, password: str | None) -> ErcotCredentials:
    missing = [
        f"{flag} (or {env})"
        for flag, env, value in (
            ("--subscription-key", "ERCOT_API_SUBSCRIPTION_KEY", key),
            ("--username", "ERCOT_API_USERNAME", username),
            ("--password", "ERCOT_API_PASSWORD", password),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            "the ERCOT Public API needs an account (https://apiexplorer.ercot.com); missing: "
            + ", ".join(missing)
        )
    assert key and username and password
    return ErcotCredentials(key, username, password)


def _progress() -> Progress:
    return counted_progress(only_on_terminal=False)


def _fetch_ercot(
    api: ErcotApi, dataset: Dataset, first: date, last: date, out: Path, overwrite: bool
) -> None:
    with _progress() as progress:
        task = progress.add_task(f"ERCOT {dataset.value}", total=api.calls(first, last, dataset.value))
        step: Callable[[], None] = lambda: progress.advance(task)  # noqa: E731
        if dataset is Dataset.ERCOT_RT:
            frame = api.real_time_hub_prices(first, last, on_chunk=step)
        elif dataset is Dataset.ERCOT_DA:
            frame = api.day_ahead_prices(first, last, on_chunk=step)
        else:
            frame = api.system_load(first, last, on_chunk=step)
    start_utc, end_utc = local_days(first, last)
    frame = frame[(frame.index >= start_utc) & (frame.index < end_utc)]
    write_csv(interval_table(frame, ERCOT_TZ), out, overwrite=overwrite)
    expected = pd.date_range(start_utc, end_utc, freq=INTERVAL[dataset], inclusive="left")
    absent = expected.difference(pd.DatetimeIndex(frame.index))
    empty_cells = int(frame.isna().sum().sum())
    console.print(
        f"wrote {out}: {len(frame):,} intervals of {INTERVAL[dataset]} from {first} to {last} "
        f"(ERCOT operating days, {ERCOT_TZ}); missing intervals: {len(absent):,}"
        + (f", first {absent[0].isoformat()}" if len(absent) else "")
        + (f"; empty cells: {empty_cells:,}" if empty_cells else ""),
        highlight=False,
        soft_wrap=True,
    )


def _fetch_bitcoin(http: HttpClient, first: date, last: date, out: Path, overwrite: bool) -> None:
    with _progress() as progress:
        task = progress.add_task("Blockchain.com charts", total=len(CHARTS))
        frame, missing = fetch_bitcoin_daily(http, first, last, on_chart=lambda: progress.advance(task))
    write_csv(bitcoin_table(frame), out, overwrite=overwrite)
    console.print(
        f"wrote {out}: {len(frame):,} UTC days from {first} to {last} (btc_usd, difficulty, "
        f"tx_fees_btc_per_block, blocks_mined); missing days: {len(missing)}"
        + (f", first {missing[0]}" if missing else ""),
        highlight=False,
        soft_wrap=True,
    )
