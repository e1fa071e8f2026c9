"""End-to-end runs of the ``powerfirst`` command line, in process (Typer's CliRunner) and as a real
subprocess of the installed script."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from powerfirst.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
WEST_TEXAS = ROOT / "examples" / "west-texas-fixed-block.yaml"
CAISO = ROOT / "examples" / "caiso-index.yaml"
FULL_YEAR_STRATEGIES = ("perfect", "breakeven", "always-on")
WEST_TEXAS_FLEETS = {"s19-legacy", "s19jpro", "s19xp-hydro"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _invoke(args: list[str]) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def _plain(text: str) -> str:
    return ANSI.sub("", text)


def _powerfirst_command() -> list[str]:
    """The installed console script next to this interpreter, else the module."""
    script = Path(sys.executable).parent / "powerfirst"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "powerfirst.cli"]


def _run_subprocess(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [*_powerfirst_command(), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _assert_one_line_error(output: str, *fragments: str) -> None:
    text = _plain(output).strip()
    assert "Traceback" not in text
    assert len(text.splitlines()) == 1, text
    assert text.startswith("error:"), text
    for fragment in fragments:
        assert fragment in text, text


# --------------------------------------------------------------------------------------------------
# (1) a full real year, three strategies


@pytest.fixture(scope="module")
def full_year(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    out = tmp_path_factory.mktemp("full_year") / "out"
    args: list[str] = ["backtest", str(WEST_TEXAS), "--start", "2023-01-01", "--end", "2023-12-31"]
    for name in FULL_YEAR_STRATEGIES:
        args += ["--strategy", name]
    result = _invoke([*args, "--out", str(out)])
    return out, result


@pytest.mark.slow
def test_full_year_exits_cleanly_and_prints_the_table(full_year: tuple[Path, Result]) -> None:
    out, result = full_year
    assert result.exit_code == 0, result.output
    assert result.exception is None
    stdout = _plain(result.stdout)
    for name in FULL_YEAR_STRATEGIES:
        assert name in stdout
    assert "upper bound" in stdout
    assert "intervals: 35040; data gaps inside the data: 0 missing" in stdout
    assert "Transaction fees" in stdout
    assert str(out / "report.html") in stdout.replace("\n", "")


@pytest.mark.slow
def test_full_year_writes_every_file(full_year: tuple[Path, Result]) -> None:
    out, _ = full_year
    for name in FULL_YEAR_STRATEGIES:
        assert (out / name / "summary.json").is_file()
        assert (out / name / "intervals.parquet").is_file()
    assert (out / "comparison.json").is_file()
    assert (out / "report.html").is_file()
    # nothing else (but the manifest of what the run wrote): no staging folder or lock beside or inside
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*FULL_YEAR_STRATEGIES, "comparison.json", "report.html", "powerfirst-run.json"]
    )
    assert [p.name for p in out.parent.iterdir()] == ["out"]


@pytest.mark.slow
@pytest.mark.parametrize("name", FULL_YEAR_STRATEGIES)
def test_full_year_summary(full_year: tuple[Path, Result], name: str) -> None:
    out, _ = full_year
    s = _read_json(out / name / "summary.json")
    assert s["strategy"] == name
    assert s["is_upper_bound"] is (name == "perfect")
    assert s["intervals"] == 35_040
    assert s["price_source"] == "ercot-rt:HB_WEST"
    assert s["window"]["start_utc"] == "2023-01-01T06:00:00+00:00"
    assert s["window"]["end_utc"] == "2024-01-01T06:00:00+00:00"
    assert s["data_gaps"]["count"] == 0
    assert s["data_gaps"]["expected_intervals"] == 35_040

    for key in ("mining", "power_sellback"):
        assert isinstance(s["revenue_usd"][key], float)
    for key in ("energy", "adders", "pool_fees"):
        assert isinstance(s["cost_usd"][key], float)
        assert s["cost_usd"][key] >= 0
    assert s["revenue_usd"]["mining"] > 0
    revenue = sum(s["revenue_usd"].values())
    cost = sum(s["cost_usd"].values())
    assert revenue - cost == pytest.approx(s["net_margin_usd"], rel=1e-9, abs=1e-3)

    energy = s["energy_mwh"]
    assert energy["mining"] > 0
    assert energy["block"] == pytest.approx(80 * 8760)  # 80 MW block for every hour of 2023
    # fixed block: consumed = block + bought above it - sold back below it
    assert energy["mining"] == pytest.approx(
        energy["block"] + energy["bought_realtime"] - energy["sold_back"]
    )
    assert sum(s["energy_mwh_by_fleet"].values()) == pytest.approx(energy["mining"])

    assert set(s["uptime"]) == WEST_TEXAS_FLEETS
    for share in s["uptime"].values():
        assert -1e-12 <= share <= 1.0 + 1e-12  # a mean of floats may exceed 1 by an ulp
    if name == "always-on":
        assert all(share == pytest.approx(1.0) for share in s["uptime"].values())
        assert s["revenue_usd"]["power_sellback"] == pytest.approx(0.0, abs=1e-6)  # 99.5 MW > 80 MW block

    all_in = s["all_in_power_cost_usd_per_mwh"]
    expected_all_in = (
        s["cost_usd"]["energy"] + s["cost_usd"]["adders"] - s["revenue_usd"]["power_sellback"]
    ) / energy["mining"]
    assert all_in == pytest.approx(expected_all_in)
    assert isinstance(s["solve_seconds"], float)
    assert s["solve_seconds"] >= 0
    assert math.isfinite(s["net_margin_usd"])
    assert s["hashprice"]["fees_included"] is False


@pytest.mark.slow
def test_full_year_perfect_is_lp_optimum(full_year: tuple[Path, Result]) -> None:
    out, _ = full_year
    s = _read_json(out / "perfect" / "summary.json")
    assert s["optimum"]["status"] == "optimal"
    assert s["optimum"]["problem"] == "LP"
    assert s["optimum"]["objective_net_margin_usd"] == pytest.approx(s["net_margin_usd"], rel=1e-6)
    assert _read_json(out / "breakeven" / "summary.json")["optimum"] is None


@pytest.mark.slow
def test_full_year_comparison_orders_strategies(full_year: tuple[Path, Result]) -> None:
    out, _ = full_year
    c = _read_json(out / "comparison.json")
    assert c["reference"] == "perfect"
    strategies = c["strategies"]
    assert set(strategies) == set(FULL_YEAR_STRATEGIES)
    assert strategies["perfect"]["value_captured_pct"] == pytest.approx(100.0)
    assert strategies["perfect"]["is_upper_bound"] is True
    pct = {name: strategies[name]["value_captured_pct"] for name in FULL_YEAR_STRATEGIES}
    assert pct["perfect"] >= pct["breakeven"] >= pct["always-on"] > 0
    margin = {name: strategies[name]["net_margin_usd"] for name in FULL_YEAR_STRATEGIES}
    assert margin["perfect"] >= margin["breakeven"] >= margin["always-on"]
    for name in FULL_YEAR_STRATEGIES:
        summary = _read_json(out / name / "summary.json")
        assert strategies[name]["net_margin_usd"] == pytest.approx(summary["net_margin_usd"])
        assert pct[name] == pytest.approx(100.0 * margin[name] / margin["perfect"])
    assert any("upper bound" in note for note in c["notes"])


@pytest.mark.slow
@pytest.mark.parametrize("name", FULL_YEAR_STRATEGIES)
def test_full_year_intervals_parquet(full_year: tuple[Path, Result], name: str) -> None:
    out, _ = full_year
    frame = pd.read_parquet(out / name / "intervals.parquet")
    summary = _read_json(out / name / "summary.json")
    assert len(frame) == 35_040
    assert frame.index.is_unique
    assert frame.index.is_monotonic_increasing
    assert frame["net_margin_usd"].sum() == pytest.approx(summary["net_margin_usd"], rel=1e-9)
    assert frame["mining_revenue_usd"].sum() == pytest.approx(summary["revenue_usd"]["mining"], rel=1e-9)
    assert frame["price_usd_per_mwh"].mean() == pytest.approx(49.45, abs=0.06)
    for fleet in WEST_TEXAS_FLEETS:
        assert f"power_mw__{fleet}" in frame.columns
    assert (frame["load_mw"] <= 100 + 1e-6).all()  # grid connection limit


# --------------------------------------------------------------------------------------------------
# (2) a week on the CAISO example with a CSV price file that has a gap (real subprocess)

CAISO_WEEK_START = pd.Timestamp("2023-06-05T07:00Z")  # 2023-06-05 00:00 in Los Angeles (PDT)
WEEK = 7 * 96


def _write_caiso_week_csv(path: Path) -> dict[str, Any]:
    stamps = pd.date_range(CAISO_WEEK_START, periods=WEEK, freq="15min")
    hours = ((stamps.hour + stamps.minute / 60 - 7) % 24).to_numpy()  # local hour (PDT)
    prices = 45 + 35 * np.cos((hours - 19) / 24 * 2 * np.pi)  # cheap midday, expensive evening
    prices[np.floor(hours) == 12] = -5.0  # solar hour below zero
    cells = [f"{p:.2f}" for p in prices]
    dropped = set(range(200, 208))  # two hours missing from the file
    blank = 500  # an empty cell
    cells[blank] = ""
    lines = ["interval_start_utc,interval_start_local,SP15_PRICE"]
    for i, stamp in enumerate(stamps):
        if i not in dropped:
            local = stamp.tz_convert("America/Los_Angeles").isoformat()
            lines.append(f"{stamp.strftime('%Y-%m-%dT%H:%M:%SZ')},{local},{cells[i]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    missing = sorted([*dropped, blank])
    return {"stamps": stamps, "missing": [stamps[i] for i in missing], "longest_start": stamps[200]}


def test_caiso_week_with_csv_prices_override_reports_gaps(tmp_path: Path) -> None:
    csv = tmp_path / "sp15.csv"
    info = _write_caiso_week_csv(csv)
    out = tmp_path / "caiso-out"
    proc = _run_subprocess(
        [
            "backtest",
            CAISO,
            "--start",
            "2023-06-05",
            "--end",
            "2023-06-11",
            "--strategy",
            "perfect",
            "--strategy",
            "breakeven",
            "--prices",
            f"{csv}:SP15_PRICE",
            "--out",
            out,
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Warning" not in proc.stderr
    assert "data gaps inside the data: 9 missing" in _plain(proc.stdout)

    for name in ("perfect", "breakeven"):
        s = _read_json(out / name / "summary.json")
        gaps = s["data_gaps"]
        assert gaps["count"] == 9
        assert gaps["longest_intervals"] == 8
        assert gaps["longest_start_utc"] == info["longest_start"].strftime("%Y-%m-%dT%H:%M:%SZ")
        assert gaps["expected_intervals"] == WEEK
        assert s["intervals"] == WEEK - 9
        assert s["price_source"] == f"{csv}:SP15_PRICE"
        assert s["window"]["timezone"] == "America/Los_Angeles"
        assert s["window"]["start_utc"] == "2023-06-05T07:00:00+00:00"
        assert set(s["uptime"]) == {"s21", "s19kpro"}
        assert s["revenue_usd"]["power_sellback"] == 0.0  # index contract: nothing to sell back
        frame = pd.read_parquet(out / name / "intervals.parquet")
        assert len(frame) == WEEK - 9
        # gaps are excluded, never filled
        assert not frame.index.isin(pd.DatetimeIndex(info["missing"])).any()
        assert frame["price_usd_per_mwh"].notna().all()
        assert frame["net_margin_usd"].sum() == pytest.approx(s["net_margin_usd"], rel=1e-9)
    comparison = _read_json(out / "comparison.json")
    assert comparison["data_gaps"]["count"] == 9
    assert comparison["strategies"]["perfect"]["value_captured_pct"] == pytest.approx(100.0)
    assert (out / "report.html").is_file()


# --------------------------------------------------------------------------------------------------
# (3) breakeven


def test_breakeven_prints_the_strike_price() -> None:
    result = _invoke(["breakeven", "--hashprice-usd-per-ph-day", "74.73", "--efficiency-j-per-th", "29.5"])
    assert result.exit_code == 0, result.output
    assert _plain(result.stdout).strip() == "105.55 USD/MWh"


def test_breakeven_with_pue_and_pool_fee() -> None:
    result = _invoke(
        [
            "breakeven",
            "--hashprice-usd-per-ph-day",
            "74.73",
            "--efficiency-j-per-th",
            "29.5",
            "--pue",
            "1.1",
            "--pool-fee-fraction",
            "0.02",
        ]
    )
    assert result.exit_code == 0, result.output
    expected = 74.73 / (0.024 * 29.5 * 1.1) * (1 - 0.02)
    assert _plain(result.stdout).strip() == f"{expected:.2f} USD/MWh"


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (
            ["--hashprice-usd-per-ph-day", "-74.73", "--efficiency-j-per-th", "29.5"],
            "--hashprice-usd-per-ph-day",
        ),
        (["--hashprice-usd-per-ph-day", "74.73", "--efficiency-j-per-th", "-29.5"], "--efficiency-j-per-th"),
        (["--hashprice-usd-per-ph-day", "74.73", "--efficiency-j-per-th", "0"], "--efficiency-j-per-th"),
        (["--hashprice-usd-per-ph-day", "74.73", "--efficiency-j-per-th", "29.5", "--pue", "0.5"], "--pue"),
        (
            [
                "--hashprice-usd-per-ph-day",
                "74.73",
                "--efficiency-j-per-th",
                "29.5",
                "--pool-fee-fraction",
                "1",
            ],
            "--pool-fee-fraction",
        ),
    ],
)
def test_breakeven_bad_input_exits_2_and_names_the_flag(args: list[str], flag: str) -> None:
    result = _invoke(["breakeven", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    _assert_one_line_error(result.stderr, flag)


def test_breakeven_in_a_real_subprocess(tmp_path: Path) -> None:
    proc = _run_subprocess(
        ["breakeven", "--hashprice-usd-per-ph-day", "74.73", "--efficiency-j-per-th", "29.5"], cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert _plain(proc.stdout).strip() == "105.55 USD/MWh"


# --------------------------------------------------------------------------------------------------
# (4) bad input: clear one-line error, non-zero exit, no output folder


def _backtest_args(
    site: Path, out: Path, *extra: str, start: str = "2023-01-01", end: str = "2023-01-02"
) -> list[str]:
    return ["backtest", str(site), "--start", start, "--end", end, "--out", str(out), *extra]


@pytest.fixture
def malformed_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\ngrid:\n  connection_limit_mw: 5\n    block_mw: [1\n", encoding="utf-8")
    return path


def test_malformed_yaml(tmp_path: Path, malformed_yaml: Path) -> None:
    out = tmp_path / "out"
    result = _invoke(_backtest_args(malformed_yaml, out))
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)
    _assert_one_line_error(result.stderr, "malformed YAML", "line 4", "broken.yaml")
    assert not out.exists()


def test_malformed_yaml_in_a_real_subprocess(tmp_path: Path, malformed_yaml: Path) -> None:
    out = tmp_path / "out"
    proc = _run_subprocess(_backtest_args(malformed_yaml, out), cwd=tmp_path)
    assert proc.returncode == 2
    _assert_one_line_error(proc.stderr, "malformed YAML", "line 4")
    assert "Traceback" not in _plain(proc.stdout)
    assert not out.exists()


def test_invalid_site_names_the_field(tmp_path: Path) -> None:
    site = tmp_path / "negative.yaml"
    site.write_text(
        WEST_TEXAS.read_text(encoding="utf-8").replace("units: 10000", "units: -10"), encoding="utf-8"
    )
    out = tmp_path / "out"
    result = _invoke(_backtest_args(site, out))
    assert result.exit_code == 2
    text = _plain(result.stderr)
    assert "Traceback" not in result.output
    assert "fleets[1].units" in text
    assert "-10" in text
    assert "greater than or equal to 1" in text
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--strategy", "magic"], ["'magic'", "perfect, breakeven, always-on"]),
        (["--strategy", "perfect", "--strategy", "perfect"], ["--strategy", "once"]),
        (["--prices", "ercot-rt:HB_NOPE"], ["'HB_NOPE'", "HB_WEST"]),
        (["--prices", "pjm:WEST"], ["unknown market 'pjm'"]),
    ],
    ids=["unknown-strategy", "repeated-strategy", "unknown-point", "unknown-market"],
)
def test_bad_options_fail_before_any_work(tmp_path: Path, extra: list[str], fragments: list[str]) -> None:
    out = tmp_path / "out"
    result = _invoke(_backtest_args(WEST_TEXAS, out, *extra))
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)
    _assert_one_line_error(result.stderr, *fragments)
    assert not out.exists()


def test_unknown_price_column_in_csv(tmp_path: Path) -> None:
    csv = tmp_path / "prices.csv"
    csv.write_text(
        "interval_start_utc,LMP,LMP_ENERGY\n2023-01-01T06:00:00Z,20,19\n2023-01-01T06:15:00Z,21,20\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = _invoke(_backtest_args(WEST_TEXAS, out, "--prices", f"{csv}:PRICE"))
    assert result.exit_code != 0
    _assert_one_line_error(result.stderr, "'PRICE'", "LMP, LMP_ENERGY", str(csv))
    assert not out.exists()


def test_end_before_start(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _invoke(_backtest_args(WEST_TEXAS, out, start="2023-03-10", end="2023-03-01"))
    assert result.exit_code == 2
    _assert_one_line_error(result.stderr, "--end", "--start", "'2023-03-01'")
    assert not out.exists()


def test_bundled_year_not_available(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _invoke(_backtest_args(WEST_TEXAS, out, start="2019-06-01", end="2019-06-02"))
    assert result.exit_code != 0
    _assert_one_line_error(result.stderr, "2019", "bundled years")
    assert not out.exists()


def test_missing_site_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _invoke(_backtest_args(tmp_path / "nowhere.yaml", out))
    assert result.exit_code == 2
    _assert_one_line_error(result.stderr, "nowhere.yaml", "cannot read")
    assert not out.exists()


def test_error_text_is_printed_verbatim(tmp_path: Path) -> None:
    csv = tmp_path / "prices[old].csv"
    csv.write_text(
        "interval_start_utc,LMP\n2023-01-01T06:00:00Z,20\n2023-01-01T06:15:00Z,21\n", encoding="utf-8"
    )
    result = _invoke(_backtest_args(WEST_TEXAS, tmp_path / "out", "--prices", f"{csv}:PRICE"))
    assert result.exit_code == 1
    assert "prices[old].csv" in result.stderr


def test_markup_like_value_gives_a_clean_error(tmp_path: Path) -> None:
    result = _invoke(_backtest_args(WEST_TEXAS, tmp_path / "out", "--strategy", "[/x]"))
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2
    assert "'[/x]'" in result.stderr


# --------------------------------------------------------------------------------------------------
# (5) validate, models, prices


@pytest.mark.parametrize("site", [WEST_TEXAS, CAISO], ids=["west-texas", "caiso"])
def test_validate_shows_fleets(site: Path) -> None:
    result = _invoke(["validate", str(site)])
    assert result.exit_code == 0, result.output
    stdout = _plain(result.stdout)
    assert "all fleets at full power" in stdout
    assert "must-run: 0.00 MW" in stdout


def test_validate_west_texas_totals() -> None:
    stdout = _plain(_invoke(["validate", str(WEST_TEXAS)]).stdout)
    for fleet in WEST_TEXAS_FLEETS:
        assert fleet in stdout
    total = 7000 * 3250 * 1.06 / 1e6 + 10_000 * 3068 * 1.06 / 1e6 + 12_000 * 3010 * 1.10 / 1e6
    assert f"all fleets at full power: {total:.2f} MW" in stdout


def test_validate_rejects_a_bad_site(tmp_path: Path) -> None:
    site = tmp_path / "tz.yaml"
    site.write_text(
        CAISO.read_text(encoding="utf-8").replace("America/Los_Angeles", "America/Springfield"),
        encoding="utf-8",
    )
    result = _invoke(["validate", str(site)])
    assert result.exit_code == 2
    text = _plain(result.stderr)
    assert "'America/Springfield'" in text
    assert "Traceback" not in result.output


def test_validate_reports_an_infeasible_site(tmp_path: Path) -> None:
    site = tmp_path / "infeasible.yaml"
    text = WEST_TEXAS.read_text(encoding="utf-8").replace(
        "connection_limit_mw: 100", "connection_limit_mw: 10"
    )
    text = text.replace(
        "pool_fee_fraction: 0.02\n", "pool_fee_fraction: 0.02\n    min_power_fraction: 1.0\n", 1
    )
    site.write_text(text, encoding="utf-8")
    result = _invoke(["validate", str(site)])
    assert result.exit_code == 2
    assert "infeasible" in _plain(result.stderr)
    assert "connection_limit_mw" in _plain(result.stderr)


def test_models_lists_the_bundled_table() -> None:
    result = _invoke(["models"])
    assert result.exit_code == 0, result.output
    rows = {
        line.split("│")[1].strip(): line for line in _plain(result.stdout).splitlines() if line.count("│") > 3
    }
    assert "S19jPro" in rows
    cells = [c.strip() for c in rows["S19jPro"].split("│")]
    assert cells[2:5] == ["104", "3068", "29.5"]
    assert {"S19", "S19XP", "S21", "S21Pro", "S19kPro"} <= set(rows)


def test_prices_command_reports_gaps() -> None:
    result = _invoke(["prices", "ercot-rt:HB_WEST", "--start", "2021-01-01", "--end", "2021-12-31"])
    assert result.exit_code == 0, result.output
    stdout = _plain(result.stdout)
    assert "34983 of 35040 intervals have a price" in stdout
    assert "gaps inside the data: 57 missing (longest 8 from 2021-02-08T22:00:00Z)" in stdout


def test_no_arguments_prints_help() -> None:
    result = _invoke([])
    assert result.exit_code != 0
    for command in ("backtest", "breakeven", "validate", "models"):
        assert command in result.output
