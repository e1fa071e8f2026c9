"""A user's own market files, as a hostile reviewer tried them (review of issue 9): nothing silent.

The files are **bundled ERCOT data relabelled** (July 2022 moved 104 weeks to July 2024, same
weekdays), under other names, with holes, empty cells and local columns in other zones. No
network; windows of one or two days.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from powerfirst.backtest.outputs import report_input
from powerfirst.backtest.runner import comparison, prepare_backtest, run_strategy
from powerfirst.cli.app import app
from powerfirst.errors import DataError
from powerfirst.market.grid_programs import fourcp_gap_warnings, fourcp_peaks_csv, fourcp_weights
from powerfirst.market.information import bundled_system_load
from powerfirst.market.sources import parse_source, read_bundled_table
from powerfirst.policies.registry import load_site
from powerfirst.reporting.html import render_report

ROOT = Path(__file__).resolve().parents[1]
MINING = ROOT / "examples" / "west-texas-fixed-block.yaml"
SHIFT = pd.Timedelta(weeks=104)
FROM, TO = pd.Timestamp("2022-07-10T05:00Z"), pd.Timestamp("2022-07-24T05:00Z")
WINDOW = ("2024-07-19", "2024-07-20")
"""2024-07-19T05:00Z to 2024-07-21T05:00Z (Central)."""
PEAK = pd.Timestamp("2024-07-20T21:00Z")
CENTRAL = "America/Chicago"


def _stamps(index: pd.DatetimeIndex) -> pd.Index:
    return pd.DatetimeIndex(index).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(path: Path, index: pd.DatetimeIndex, columns: dict[str, Any], zone: str | None = CENTRAL) -> Path:
    frame = {"interval_start_utc": _stamps(index)}
    if zone is not None:
        frame["interval_start_local"] = (
            pd.DatetimeIndex(index).tz_convert(zone).strftime("%Y-%m-%dT%H:%M:%S%z")
        )
    pd.DataFrame({**frame, **columns}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("review9")
    rt = parse_source("ercot-rt:HB_WEST").load(FROM, TO).prices
    rt.index = rt.index + SHIFT
    hole = (rt.index >= PEAK - pd.Timedelta(hours=1)) & (rt.index < PEAK + pd.Timedelta(hours=2))
    da = parse_source("ercot-da:HB_WEST").load(FROM, TO).prices
    da.index = da.index + SHIFT
    load = bundled_system_load(FROM, TO)
    load.index = load.index + SHIFT
    ancillary = read_bundled_table("ercot", "ercot_dam_as_mcpc_hourly_2022_2023.csv.gz")
    ancillary = ancillary[(ancillary.index >= FROM) & (ancillary.index < TO)]
    ancillary.index = ancillary.index + SHIFT
    products = {p: ancillary[p].to_numpy() for p in ("RRS", "NSPIN", "ECRS")}
    empty = {p: v.copy() for p, v in products.items()}
    cells = (ancillary.index >= pd.Timestamp("2024-07-20T05:00Z")) & (
        ancillary.index < pd.Timestamp("2024-07-20T11:00Z")
    )
    empty["RRS"][cells] = np.nan  # six hours of the window without an RRS price
    (folder / "peaks.csv").write_text(
        f"year,month,peak_hour_start_utc\n2024,7,{PEAK.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
    )
    return {
        "folder": folder,
        "prices": _write(folder / "rt.csv", rt.index, {"west": rt.to_numpy()}),
        "holed": _write(folder / "rt_peakhole.csv", rt.index[~hole], {"west": rt.to_numpy()[~hole]}),
        "prices_utc": _write(folder / "rt_nolocal.csv", rt.index, {"west": rt.to_numpy()}, zone=None),
        "day_ahead": _write(folder / "da.csv", da.index, {"da_west": da.to_numpy()}),
        "da_la": _write(
            folder / "da_la.csv", da.index, {"da_west": da.to_numpy()}, zone="America/Los_Angeles"
        ),
        "load": _write(folder / "sysload.csv", load.index, {"mw": load.to_numpy()}),
        "load_ny": _write(
            folder / "sysload_ny.csv", load.index, {"mw": load.to_numpy()}, zone="America/New_York"
        ),
        "ancillary": _write(folder / "as.csv", ancillary.index, products),
        "as_ny": _write(folder / "as_ny.csv", ancillary.index, products, zone="America/New_York"),
        "as_empty": _write(folder / "as_empty.csv", ancillary.index, empty),
        "as_noecrs": _write(folder / "as_noecrs.csv", ancillary.index, {"RRS": products["RRS"]}),
        "peaks": folder / "peaks.csv",
    }


def _site(
    folder: Path, edit: dict[str, Any] | None = None, name: str = "site.yaml", market: bool = True
) -> Path:
    """The mining example on the user's CSV, with 4CP and ancillary offers (ERCOT's programs)."""
    cfg = yaml.safe_load(MINING.read_text(encoding="utf-8"))
    cfg["contract"]["price_series"] = "rt.csv:west"
    if market:
        cfg["market"] = "ercot"
    cfg["fourcp"] = {"rate_usd_per_mw_year": 55_000}
    cfg["ancillary"] = {"products": ["RRS", "NSPIN"]}  # ECRS has no price before June 2023
    cfg["market_data"] = {"ancillary_prices": "as.csv", "fourcp_peaks": "peaks.csv"}
    for key, value in (edit or {}).items():
        if value is None:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    path = folder / name
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


# --- finding 6: a 4CP peak in a price hole ------------------------------------------------------------


def test_a_4cp_peak_in_a_price_hole_is_said_not_silently_free(files: dict[str, Path]) -> None:
    """The peak hour has no price (12 intervals missing around it): its charge cannot be computed
    (the site's load then is not simulated). It used to be listed ``charged: false`` with a charge of
    0 USD and no word anywhere; now summary.json marks it unknown, and a warning in the console,
    summary.json and comparison.json bounds what the margins miss."""
    site = load_site(_site(files["folder"]))
    bt = prepare_backtest(site, *WINDOW, prices=f"{files['holed']}:west")
    result = run_strategy(bt, "always-on")
    fourcp = result.summary.fourcp
    assert fourcp is not None
    peaks = fourcp.peaks
    assert [(p.month, p.charge_unknown, p.charge_usd) for p in peaks] == [(7, True, None)]
    assert fourcp.peaks_charge_unknown == 1
    warning = next(w for w in result.summary.warnings if w.startswith("4CP peak of 2024-07"))
    assert "falls in a price gap" in warning and "up to 1,375,000 USD" in warning  # 55,000/4 × 100 MW
    assert warning in comparison(bt, [result]).notes
    with_prices = run_strategy(prepare_backtest(site, *WINDOW), "always-on")
    history, *others = with_prices.summary.warnings  # the file starts 12 days before the window
    assert history.startswith("history before the window: 12 of 28 days") and others == []
    assert with_prices.summary.fourcp is not None
    charge = with_prices.summary.fourcp.peaks[0].charge_usd
    assert charge is not None and charge > 0


def test_a_4cp_peak_in_a_gap_at_the_end_of_the_window_is_listed(files: dict[str, Path]) -> None:
    """A window ending inside the hole: the peak after the last priced interval was not even
    listed (``start > last priced interval``)."""
    site = load_site(_site(files["folder"]))
    bt = prepare_backtest(site, "2024-07-19T05:00Z", "2024-07-20T22:00Z", prices=f"{files['holed']}:west")
    assert [p["charge_unknown"] for p in bt.inputs.stream.fourcp_peaks] == [True]
    assert any("falls in a price gap" in w for w in bt.warnings)


def test_the_console_says_the_peak_charge_is_missing(files: dict[str, Path]) -> None:
    out = files["folder"] / "out-peakhole"
    args = [
        "backtest", str(_site(files["folder"])), "--start", WINDOW[0], "--end", WINDOW[1], "--out", str(out),
        "--strategy", "always-on", "--prices", f"{files['holed']}:west",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (
        "warning: 4CP peak of 2024-07 (2024-07-20T16:00:00-05:00 to 2024-07-20T17:00:00-05:00) falls in a price gap"
        in text
    )
    assert "note: 4CP peak of 2024-07" not in text  # said once, as a warning
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "4CP peak of 2024-07" in page and "unknown: price gap" in page


# --- findings 7 and 23: the peaks file ------------------------------------------------------------------


def test_a_peak_outside_june_to_september_is_an_error_naming_the_row(tmp_path: Path) -> None:
    """A row for May used to be charged a quarter of the yearly rate (12 monthly peaks: 3× the rate)."""
    path = tmp_path / "peaks_may.csv"
    path.write_text(
        "year,month,peak_hour_start_utc\n2024,7,2024-07-20T21:00:00Z\n2024,5,2024-05-15T21:00:00Z\n"
    )
    with pytest.raises(
        DataError,
        match=r"peaks_may\.csv: row 3: peak_hour_start_utc = 2024-05-15T21:00:00Z is in month 5.*June–September",
    ):
        fourcp_peaks_csv(path, pd.Timedelta(minutes=15), CENTRAL)


def test_peak_intervals_finer_than_the_prices_name_the_price_interval(tmp_path: Path) -> None:
    """Four consecutive quarter-hours with hourly prices: the error said the rows 'are not consecutive
    0 days 01:00:00 intervals'; the cause is the hourly prices."""
    path = tmp_path / "peaks_iv.csv"
    quarters = pd.date_range(PEAK, periods=4, freq="15min")
    path.write_text("peak_interval_start_utc\n" + "\n".join(_stamps(quarters)) + "\n")
    with pytest.raises(DataError) as caught:
        fourcp_peaks_csv(path, pd.Timedelta(hours=1), CENTRAL)
    text = str(caught.value)
    assert "rows of 2024-07 (2, 3, 4, 5) are 15 min apart, finer than the price interval (60 min)" in text
    assert "days" not in text
    assert len(fourcp_peaks_csv(path, pd.Timedelta(minutes=15), CENTRAL)) == 1  # the same file at 15 min
    path.write_text("peak_interval_start_utc\n2024-07-20T21:00:00Z\n2024-07-20T23:00:00Z\n")
    with pytest.raises(DataError, match=r"not consecutive 60 min intervals \(the price interval\)"):
        fourcp_peaks_csv(path, pd.Timedelta(hours=1), CENTRAL)


# --- finding 10: the local column of every CSV ----------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "key", "zone"),
    [
        ("day_ahead", "da_la", "America/Los_Angeles"),
        ("load", "load_ny", "America/New_York"),
        ("ancillary_prices", "as_ny", "America/New_York"),
    ],
)
def test_another_csv_dated_in_another_zone_is_an_error_naming_both(
    files: dict[str, Path], option: str, key: str, zone: str
) -> None:
    """Only ``--prices`` had its ``interval_start_local`` checked against the backtest's zone."""
    value = (
        f"{files[key]}:da_west"
        if option == "day_ahead"
        else f"{files[key]}:mw"
        if option == "load"
        else str(files[key])
    )
    site = load_site(_site(files["folder"]))
    with pytest.raises(DataError) as caught:
        prepare_backtest(site, *WINDOW, **{option: value})
    text = str(caught.value)
    assert f"--{option.replace('_', '-')} {files[key]}" in text
    assert zone in text and "America/Chicago" in text


# --- findings 11 and 12: the site file's market_data ------------------------------------------------------


def test_errors_about_site_file_inputs_name_the_site_file_field(files: dict[str, Path]) -> None:
    """An AS file given in the site file without ECRS: the error named ``--ancillary-prices`` (not
    given) and offered only adding the column."""
    path = _site(
        files["folder"],
        {"market_data": {"ancillary_prices": "as_noecrs.csv", "fourcp_peaks": "peaks.csv"}},
        name="noecrs.yaml",
    )
    with pytest.raises(DataError) as caught:
        prepare_backtest(load_site(path), *WINDOW)
    text = str(caught.value)
    assert text.startswith("market_data.ancillary_prices (ancillary-service prices)")
    assert "--ancillary-prices" not in text
    assert "drop the product from ancillary.products" in text
    with pytest.raises(DataError, match=r"^--ancillary-prices \(ancillary-service prices\)"):
        prepare_backtest(load_site(_site(files["folder"])), *WINDOW, ancillary_prices=str(files["as_noecrs"]))


def test_day_ahead_prices_from_the_site_file(files: dict[str, Path]) -> None:
    """``market_data.day_ahead`` was an unknown field; relative to the site file, overridden by
    ``--day-ahead``."""
    edit = {
        "market_data": {
            "ancillary_prices": "as.csv",
            "fourcp_peaks": "peaks.csv",
            "day_ahead": "da.csv:da_west",
        }
    }
    site = load_site(_site(files["folder"], edit, name="with-da.yaml"))
    assert site.market_data.day_ahead == f"{files['day_ahead']}:da_west"
    bt = prepare_backtest(site, *WINDOW)
    assert bt.market_inputs["day_ahead_prices"] == f"{files['day_ahead']}:da_west"
    assert bt.market is not None and not bt.market.da_price_usd_per_mwh.empty
    other = f"{files['prices']}:west"
    assert prepare_backtest(site, *WINDOW, day_ahead=other).market_inputs["day_ahead_prices"] == other
    edit["market_data"]["day_ahead"] = "da_la.csv:da_west"
    bad = load_site(_site(files["folder"], edit, name="with-da-la.yaml"))
    with pytest.raises(DataError, match=r"^market_data\.day_ahead .*da_la\.csv"):
        prepare_backtest(bad, *WINDOW)


# --- findings 13 and 14: comparison notes ---------------------------------------------------------------


def test_notes_about_perfect_only_when_perfect_ran(files: dict[str, Path]) -> None:
    site = load_site(_site(files["folder"]))
    bt = prepare_backtest(site, *WINDOW)
    notes = comparison(bt, [run_strategy(bt, "always-on")]).notes
    assert not any(n.startswith("'perfect'") for n in notes), notes
    assert any("needs the 'perfect' strategy" in n for n in notes)


def test_the_ercot_rules_note_names_the_users_files_and_an_unnamed_market(files: dict[str, Path]) -> None:
    """With ``--market nyiso`` the note said 'bundled ERCOT data' for the user's files; with no
    market named (a CSV dated by the site's timezone) there was no note at all."""
    ny = load_site(_site(files["folder"], {"ancillary": None}, name="ny.yaml", market=False))
    bt = prepare_backtest(ny, *WINDOW, prices=f"{files['prices_utc']}:west", market="nyiso")
    notes = comparison(bt, [run_strategy(bt, "always-on")]).notes
    note = next(n for n in notes if n.startswith("4CP: modelled on ERCOT's rules"))
    assert f"4CP peaks {files['peaks']}" in note and "bundled" not in note and "NYISO's (--market)" in note
    unnamed = load_site(
        _site(files["folder"], {"ancillary": None, "timezone": CENTRAL}, name="tz.yaml", market=False)
    )
    bt = prepare_backtest(unnamed, *WINDOW, prices=f"{files['prices_utc']}:west")
    notes = comparison(bt, [run_strategy(bt, "always-on")]).notes
    assert any(n.startswith("4CP: modelled on ERCOT's rules") and "market not named" in n for n in notes), (
        notes
    )


# --- finding 15: the prices command's zone error ----------------------------------------------------------


def test_the_prices_zone_error_speaks_of_the_prices_options(files: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        app, ["prices", f"{files['prices_utc']}:west", "--start", "2024-07-19", "--end", "2024-07-19"]
    )
    assert result.exit_code != 0
    text = " ".join(result.output.split())
    assert "neither --timezone nor --market is given" in text and "give --timezone" in text
    assert "site" not in text


# --- finding 16: validate shows and checks market_data ----------------------------------------------------


def test_validate_shows_and_checks_the_market_data_files(files: dict[str, Path]) -> None:
    edit = {
        "market_data": {
            "ancillary_prices": "as.csv",
            "fourcp_peaks": "peaks.csv",
            "load": "sysload.csv:mw",
            "day_ahead": "da.csv:da_west",
        }
    }
    result = CliRunner().invoke(app, ["validate", str(_site(files["folder"], edit, name="v.yaml"))])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for field, name in (
        ("market_data.ancillary_prices", "as.csv"),
        ("market_data.fourcp_peaks", "peaks.csv"),
        ("market_data.load", "sysload.csv:mw"),
        ("market_data.day_ahead", "da.csv:da_west"),
    ):
        assert f"{field}: {files['folder'] / name}" in text, field
    assert "4CP peaks of 2024-07" in text
    edit["market_data"]["load"] = "sysload.csv:gw"
    bad = CliRunner().invoke(app, ["validate", str(_site(files["folder"], edit, name="v-bad.yaml"))])
    assert bad.exit_code != 0
    assert "market_data.load (system load)" in bad.output and "missing column 'gw'" in bad.output


# --- finding 19: empty cells of the AS-price file -------------------------------------------------------


def test_empty_cells_in_the_ancillary_file_are_counted_and_said(files: dict[str, Path]) -> None:
    """RRS empty for six hours of the window: the product was silently not offered then."""
    site = load_site(_site(files["folder"]))
    bt = prepare_backtest(site, *WINDOW, ancillary_prices=str(files["as_empty"]))
    assert [w for w in bt.warnings if "ancillary" in w] == [
        f"ancillary prices ({files['as_empty']}): no RRS price in 6 of the window's 48 hours (empty cells): "
        "RRS is not offered in those hours"
    ]
    ancillary = run_strategy(bt, "always-on").summary.ancillary
    assert ancillary is not None
    assert ancillary["RRS"].hours_without_price == 6
    assert ancillary["NSPIN"].hours_without_price == 0


# --- finding 21: a bundled source's zone against the site's timezone ----------------------------------------


def test_a_site_timezone_other_than_a_bundled_sources_zone_is_an_error() -> None:
    """``timezone: America/New_York`` with ``ercot-rt`` silently read the ERCOT data, 4CP hours and
    rule-based hours in New York time (a CSV with the same local column was an error)."""
    cfg = yaml.safe_load(MINING.read_text(encoding="utf-8"))
    site = load_site(MINING).model_copy(update={"timezone": "America/New_York"})
    with pytest.raises(DataError) as caught:
        prepare_backtest(site, "2023-07-19", "2023-07-19")
    text = str(caught.value)
    assert "the site's timezone is America/New_York" in text and "America/Chicago" in text
    assert cfg["contract"]["price_series"] in text
    same = load_site(MINING).model_copy(update={"timezone": "US/Central"})  # same offsets: fine
    assert prepare_backtest(same, "2023-07-19", "2023-07-19").window.timezone == "US/Central"


# --- finding 25: the report names the inputs ----------------------------------------------------------------


def test_the_report_names_the_users_files_and_the_forecaster(files: dict[str, Path]) -> None:
    site = load_site(_site(files["folder"]))
    settings = site.strategies.rolling.model_copy(update={"forecast": "persistence", "horizon_hours": 6})
    rolling_site = site.model_copy(
        update={"strategies": site.strategies.model_copy(update={"rolling": settings})}
    )
    bt = prepare_backtest(
        rolling_site,
        "2024-07-20",
        "2024-07-20",
        day_ahead=f"{files['day_ahead']}:da_west",
        load=f"{files['load']}:mw",
    )
    results = [run_strategy(bt, "rolling")]
    page = render_report(report_input(bt, results, comparison(bt, results)))
    for name in ("as.csv", "peaks.csv", "da.csv:da_west", "sysload.csv:mw"):
        assert str(files["folder"] / name) in page, name
    assert "rolling: forecaster persistence fitted with" in page
    head = page.split("<body>", 1)[1].split("<h2>", 1)[0]
    assert "dates read in America/Chicago" in head and "))" not in head


def test_a_peak_partly_in_a_gap_is_charged_on_the_priced_intervals_and_said() -> None:
    """Two of the peak hour's four quarter-hours without a price: the charge uses the mean load of
    the two that have one, and a warning says so (the count of missing intervals was not kept)."""
    peaks = pd.DataFrame(
        {
            "year": [2024],
            "month": [7],
            "peak_start_utc": [PEAK],
            "peak_end_utc": [PEAK + pd.Timedelta(hours=1)],
        }
    )
    window = (PEAK - pd.Timedelta(hours=2), PEAK + pd.Timedelta(hours=2))
    grid = pd.date_range(*window, freq="15min", inclusive="left")
    times = grid[(grid < PEAK + pd.Timedelta(minutes=15)) | (grid >= PEAK + pd.Timedelta(minutes=45))]
    weights, listed = fourcp_weights(peaks, times, 400.0, window=window, interval=pd.Timedelta(minutes=15))
    assert weights.sum() == pytest.approx(100.0)
    assert listed[0]["intervals_in_window"] == 2 and listed[0]["intervals_missing"] == 2
    (warning,) = fourcp_gap_warnings(listed, 400.0, 100.0, CENTRAL)
    assert "2 of its 4 intervals fall in a price gap" in warning
