"""A hostile user's site files and options: nothing absurd, conflicting, repeated or undecodable is
run, and every refusal names the field or flag, the value, the unit and the limit."""

from __future__ import annotations

import copy
import gzip
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from powerfirst.cli.app import app
from powerfirst.errors import ConfigError
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.site.compile import site_params

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MINING = EXAMPLES / "west-texas-fixed-block.yaml"
HYBRID = EXAMPLES / "west-texas-hybrid.yaml"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _example(path: Path = MINING) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_site(data, source="site.yaml")
    return str(caught.value)


def _mutated(mutate: Callable[[dict[str, Any]], None], path: Path = MINING) -> str:
    data = copy.deepcopy(_example(path))
    mutate(data)
    return _error(data)


# --- repeated keys ------------------------------------------------------------------------------


def test_a_repeated_key_is_refused_with_both_lines(tmp_path: Path) -> None:
    text = MINING.read_text(encoding="utf-8").replace(
        "  connection_limit_mw: 100", "  connection_limit_mw: 100\n  connection_limit_mw: 5", 1
    )
    path = tmp_path / "twice.yaml"
    path.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    first = lines.index("  connection_limit_mw: 100") + 1
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "'connection_limit_mw'" in message
    assert f"line {first} and line {first + 1}" in message


def test_a_repeated_key_inside_a_fleet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "name: s\ngrid: {connection_limit_mw: 10}\ncontract: {kind: index, price_series: 'ercot-rt:HB_WEST'}\n"
        "fleets:\n  - name: a\n    model: S19jPro\n    units: 10\n    units: 10000\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"'units' appears twice .*line 7 and line 8"):
        load_site(path)


def test_anchors_and_merge_keys_are_not_repeats(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text(
        "name: s\ngrid: {connection_limit_mw: 10}\ncontract: {kind: index, price_series: 'ercot-rt:HB_WEST'}\n"
        "fleets:\n  - &base {name: a, model: S19jPro, units: 10}\n  - <<: *base\n    name: b\n",
        encoding="utf-8",
    )
    site = load_site(path)
    assert [f.name for f in site.fleets] == ["a", "b"]


# --- files that are not UTF-8 text ---------------------------------------------------------------


def test_a_latin1_file_names_the_file_and_the_byte_offset(tmp_path: Path) -> None:
    text = MINING.read_text(encoding="utf-8").replace("name: West Texas", "name: Hélène's West Texas", 1)
    assert "Hélène" in text
    raw = text.encode("latin-1")
    path = tmp_path / "latin1.yaml"
    path.write_bytes(raw)
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    message = str(caught.value)
    offset = raw.index("é".encode("latin-1"))
    assert message.startswith(f"{path}: ")
    assert f"byte offset {offset}" in message and "0xe9" in message and "UTF-8" in message


@pytest.mark.parametrize(
    ("encode", "named"),
    [
        (lambda text: text.encode("utf-16"), "UTF-16"),
        (lambda text: text.encode("utf-32"), "UTF-32"),
        (lambda text: gzip.compress(text.encode("utf-8")), "gzip"),
        (lambda text: text.encode("utf-16-le"), "NUL byte at byte offset 1"),
    ],
    ids=["utf-16", "utf-32", "gzip", "utf-16-without-bom"],
)
def test_a_file_of_another_encoding_is_named_as_such(
    tmp_path: Path, encode: Callable[[str], bytes], named: str
) -> None:
    path = tmp_path / "site.yaml"
    path.write_bytes(encode(MINING.read_text(encoding="utf-8")))
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert named in str(caught.value)


def test_a_utf8_byte_order_mark_is_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(MINING.read_text(encoding="utf-8").encode("utf-8-sig"))
    assert load_site(path).name == load_site(MINING).name


# --- absurd magnitudes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        (
            lambda d: d["grid"].update(connection_limit_mw=1e-300),
            ["grid.connection_limit_mw = 1e-300 MW", "greater than or equal to 0.001"],
        ),
        (
            lambda d: d["contract"]["adders_usd_per_mwh"].update(tdsp=-1e12),
            ["contract.adders_usd_per_mwh.tdsp = -1000000000000.0 USD/MWh", "greater than or equal to -1000"],
        ),
        (
            lambda d: d["contract"]["adders_usd_per_mwh"].update(a=600.0, b=600.0),
            ["adders sum to", "±1,000 USD/MWh"],
        ),
        (
            lambda d: d["contract"].update(block_mw=500),
            [
                "contract.block_mw = 500 MW",
                "grid.connection_limit_mw = 100 MW",
                "at most the connection limit",
            ],
        ),
        (
            lambda d: d["fleets"][0].update(model=None, hashrate_ths=0.001, power_w=3000.0),
            ["fleets[0] (fleet 's19-legacy')", "3e+06 J/TH", "1 to 500 J/TH"],
        ),
        (
            lambda d: d["fleets"][0].update(
                units=10_000_000, model=None, hashrate_ths=1000.0, power_w=20_000.0
            ),
            ["fleets[0]", "MW at full power", "limit is 10,000 MW"],
        ),
    ],
    ids=["grid-1e-300", "adder-minus-1e12", "adder-sum", "block-above-grid", "efficiency", "fleet-power"],
)
def test_absurd_magnitudes_are_refused_with_the_limit(
    mutate: Callable[[dict[str, Any]], None], fragments: list[str]
) -> None:
    message = _mutated(mutate)
    for fragment in fragments:
        assert fragment in message


def _first_job(d: dict[str, Any]) -> dict[str, Any]:
    job: dict[str, Any] = d["gpu_hall"]["training_jobs"][0]
    return job


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        (
            lambda d: _first_job(d).update(max_gpus=d["gpu_hall"]["gpus"] * 2),
            ["max_gpus = 28000 GPUs", "above the hall's gpus = 14000 GPUs"],
        ),
        (
            lambda d: d["gpu_hall"]["rental"].update(max_gpus=20_000),
            ["rental.max_gpus = 20000 GPUs", "above the hall's gpus = 14000 GPUs"],
        ),
        (
            lambda d: d["gpu_hall"]["inference"].update(demand={"kind": "constant", "gpus": 20_000}),
            ["inference.demand.gpus = 20000 GPUs", "above the hall's gpus = 14000 GPUs"],
        ),
        (
            lambda d: d["gpu_hall"]["inference"].update(demand={"kind": "trace", "peak_gpus": 15_000}),
            ["inference.demand.peak_gpus = 15000 GPUs", "above the hall's gpus = 14000 GPUs"],
        ),
        (
            lambda d: d["gpu_hall"].update(gpus=10_000_000, gpu_power_w=2_000.0),
            ["hall draws", "limit is 10,000 MW"],
        ),
        (
            lambda d: d["gpu_hall"]["rental"].update(min_block_hours=0),
            ["gpu_hall.rental.min_block_hours = 0 hours", "greater than or equal to 0.0833"],
        ),
        (
            lambda d: d["heat_offtake"].update(price_usd_per_mwh_thermal=5_000.0),
            ["heat_offtake.price_usd_per_mwh_thermal = 5000.0 USD/MWh thermal", "less than or equal to 1000"],
        ),
    ],
    ids=[
        "job-max-gpus",
        "rental-max-gpus",
        "constant-demand",
        "trace-peak",
        "hall-power",
        "rental-block-0",
        "heat-price",
    ],
)
def test_gpu_counts_and_hall_magnitudes_are_refused(
    mutate: Callable[[dict[str, Any]], None], fragments: list[str]
) -> None:
    data = _example(HYBRID)
    assert data["gpu_hall"]["gpus"] == 14000 and data["grid"]["connection_limit_mw"] == 100
    message = _mutated(mutate, HYBRID)
    for fragment in fragments:
        assert fragment in message


def test_a_rental_slice_shorter_than_the_price_interval_is_refused() -> None:
    data = _example(HYBRID)
    data["gpu_hall"]["rental"]["min_block_hours"] = 0.1
    site = parse_site(data)
    with pytest.raises(ConfigError) as caught:
        site_params(site, 0.25, "America/Chicago")
    message = str(caught.value)
    assert "gpu_hall.rental.min_block_hours = 0.1 hours" in message and "15 min" in message


# --- conflicting fields -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bitcoin", "fragments"),
    [
        (
            {"source": "constant", "constant_usd_per_ph_day": 50.0, "csv_path": "hashprice.csv"},
            ["source 'constant' does not use csv_path = 'hashprice.csv'"],
        ),
        (
            {"source": "csv", "csv_path": "hashprice.csv", "constant_usd_per_ph_day": 50.0},
            ["source 'csv' does not use constant_usd_per_ph_day = 50.0"],
        ),
        ({"source": "bundled", "csv_path": "network.csv"}, ["source 'bundled' does not use csv_path"]),
        (
            {"source": "constant", "constant_usd_per_ph_day": 50.0, "tx_fees_btc_per_block": 0.2},
            ["source 'constant' does not use tx_fees_btc_per_block = 0.2"],
        ),
    ],
    ids=["constant+csv_path", "csv+constant", "bundled+csv_path", "constant+fees"],
)
def test_bitcoin_fields_the_source_does_not_read_are_refused(
    bitcoin: dict[str, Any], fragments: list[str]
) -> None:
    message = _mutated(lambda d: d.update(bitcoin=bitcoin))
    for fragment in fragments:
        assert fragment in message


# --- command-line options -----------------------------------------------------------------------


def _backtest(tmp_path: Path, *options: str) -> tuple[int, str]:
    args = ["backtest", str(MINING), "--start", "2023-03-02", "--end", "2023-03-02"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out"), *options])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, " ".join(ANSI.sub("", result.output).split())


@pytest.mark.parametrize(
    ("options", "fragments"),
    [
        (
            ["--hysteresis-usd-per-mwh", "-5"],
            ["--hysteresis-usd-per-mwh = -5.0 USD/MWh", "greater than or equal to 0"],
        ),
        (
            ["--confirm-intervals", "500"],
            ["--confirm-intervals = 500 count of intervals", "less than or equal to 96"],
        ),
        (
            ["--tx-fees-btc-per-block", "1000"],
            ["--tx-fees-btc-per-block = 1000.0 BTC/block", "less than or equal to 100"],
        ),
        (
            ["--strategy", "rolling", "--risk-quantile", "0.99"],
            ["--risk-quantile = 0.99", "less than or equal to 0.9"],
        ),
    ],
    ids=["hysteresis", "confirm", "tx-fees", "risk-quantile"],
)
def test_option_errors_name_the_flag_not_the_site_file(
    tmp_path: Path, options: list[str], fragments: list[str]
) -> None:
    code, output = _backtest(tmp_path, "--strategy", "breakeven", *options)
    assert code == 2
    assert "invalid option" in output and "site file" not in output
    for fragment in fragments:
        assert fragment in output


@pytest.mark.parametrize(
    ("options", "flag", "strategy"),
    [
        (["--forecast", "persistence"], "--forecast = 'persistence'", "rolling"),
        (["--horizon-hours", "24"], "--horizon-hours = 24", "rolling"),
        (["--risk-quantile", "0.8"], "--risk-quantile = 0.8", "rolling"),
        (["--day-ahead", "ercot-da:HB_WEST"], "--day-ahead = 'ercot-da:HB_WEST'", "rolling"),
    ],
    ids=["forecast", "horizon", "risk", "day-ahead"],
)
def test_a_rolling_option_without_rolling_is_refused(
    tmp_path: Path, options: list[str], flag: str, strategy: str
) -> None:
    code, output = _backtest(tmp_path, "--strategy", "perfect", "--strategy", "breakeven", *options)
    assert code == 2
    assert flag in output and f"option of {strategy}, which is not run" in output
    assert "--strategy: perfect, breakeven" in output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_breakeven_option_without_breakeven_or_rule_based_is_refused(tmp_path: Path) -> None:
    code, output = _backtest(tmp_path, "--strategy", "perfect", "--confirm-intervals", "3")
    assert code == 2
    assert "--confirm-intervals = 3 is an option of breakeven and rule-based, which is not run" in output


def test_cli_options_keep_an_explicit_null_of_the_site_file(tmp_path: Path) -> None:
    """A CLI option written over the site keeps what the file set explicitly, ``null`` included:
    ``resolve_on_price_move_usd_per_mwh: null`` means "never re-solve on a price move", and must not
    turn back into the default (10 USD/MWh) because another option was given."""
    from powerfirst.cli.backtest import _with_overrides
    from powerfirst.policies.registry import make_policy

    data = yaml.safe_load(MINING.read_text(encoding="utf-8"))
    data.setdefault("strategies", {})["rolling"] = {"resolve_on_price_move_usd_per_mwh": None}
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    site = load_site(path)
    overridden = _with_overrides(site, {"--horizon-hours": (("strategies", "rolling", "horizon_hours"), 24)})
    config = make_policy("rolling", overridden).config  # type: ignore[attr-defined]
    assert config.horizon_hours == 24
    assert config.resolve_on_price_move_usd_per_mwh is None
    untouched = make_policy("rolling", site).config  # type: ignore[attr-defined]
    assert untouched.resolve_on_price_move_usd_per_mwh is None
