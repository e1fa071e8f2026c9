"""Validation of the site file sections beyond mining (``gpu_hall``, ``heat_offtake``, ``fourcp``,
``ancillary``, ``strategies.rule_based``): every bad value is a ConfigError that names the field path,
the value, the unit and the limit; relative CSV paths are read from the site file's folder; and the
hybrid example validates from the command line."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from powerfirst.cli.app import app
from powerfirst.errors import ConfigError
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.site.compile import site_params
from powerfirst.site.schema import Site
from powerfirst.site.streams import CsvDemand, TraceDemand

ROOT = Path(__file__).resolve().parents[1]
HYBRID = ROOT / "examples" / "west-texas-hybrid.yaml"
TIMEZONE = "America/Chicago"

Mutation = Callable[[dict[str, Any]], None]


def _hybrid() -> dict[str, Any]:
    """The hybrid example as parsed YAML (a fresh copy)."""
    data: dict[str, Any] = yaml.safe_load(HYBRID.read_text(encoding="utf-8"))
    return data


def _error_of(mutate: Mutation) -> str:
    data = copy.deepcopy(_hybrid())
    mutate(data)
    with pytest.raises(ConfigError) as info:
        parse_site(data, source="site.yaml")
    message = str(info.value)
    assert message.startswith("site.yaml: invalid site file:")
    assert "For further information visit" not in message  # no pydantic URLs
    return message


def _job(index: int, **changes: Any) -> Mutation:
    return lambda d: d["gpu_hall"]["training_jobs"][index].update(changes)


def test_the_hybrid_example_is_valid() -> None:
    site = parse_site(_hybrid())
    hall = site.gpu_hall
    assert hall is not None
    assert hall.gpus == 14_000
    assert hall.max_power_mw == pytest.approx(14_000 * 1100 * 1.3 / 1e6)
    assert hall.idle_power_mw == pytest.approx(14_000 * 300 * 1.3 / 1e6)
    assert [j.name for j in hall.training_jobs] == ["llm-pretrain-a", "finetune-b"]
    assert isinstance(hall.inference and hall.inference.demand, TraceDemand)
    assert hall.rental is not None and hall.rental.price_usd_per_gpu_hour == 2.0
    assert site.heat_offtake is not None and site.fourcp is not None and site.ancillary is not None
    assert site.ancillary.products == ["RRS", "ECRS", "NSPIN"]
    assert site.strategies.rule_based.fourcp_months == [6, 7, 8, 9]


# --------------------------------------------------------------------------------------------------
# field path, value, unit, limit


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        (
            _job(0, min_gpus=-1),
            ["gpu_hall.training_jobs[0].min_gpus = -1 GPUs", "greater than 0"],
        ),
        (
            _job(1, max_gpus=0),
            ["gpu_hall.training_jobs[1].max_gpus = 0 GPUs", "greater than 0"],
        ),
        (
            _job(0, gpu_hours=0),
            ["gpu_hall.training_jobs[0].gpu_hours = 0 GPU-hours", "greater than 0"],
        ),
        (
            _job(0, value_usd=-1),
            ["gpu_hall.training_jobs[0].value_usd = -1 USD", "greater than or equal to 0"],
        ),
        (
            _job(1, checkpoint_interval_min=-30),
            ["gpu_hall.training_jobs[1].checkpoint_interval_min = -30 minutes", "greater than or equal to 0"],
        ),
        (
            _job(1, restart_time_min=2000),
            ["gpu_hall.training_jobs[1].restart_time_min = 2000 minutes", "less than or equal to 1440"],
        ),
        (
            lambda d: d["gpu_hall"].update(gpus=0),
            ["gpu_hall.gpus = 0 GPUs", "greater than or equal to 1"],
        ),
        (
            lambda d: d["gpu_hall"].update(gpus="14000"),
            ["gpu_hall.gpus = '14000' GPUs", "valid number"],
        ),
        (
            lambda d: d["gpu_hall"].update(gpu_power_w=30_000),
            ["gpu_hall.gpu_power_w = 30000 W", "less than or equal to 20000"],
        ),
        (
            lambda d: d["gpu_hall"].update(pue=0.9),
            ["gpu_hall.pue = 0.9 ratio", "greater than or equal to 1"],
        ),
        (
            lambda d: d["gpu_hall"]["inference"].update(price_usd_per_gpu_hour=-2.5),
            ["gpu_hall.inference.price_usd_per_gpu_hour = -2.5 USD/GPU-hour", "greater than or equal to 0"],
        ),
        (
            lambda d: d["gpu_hall"]["inference"].update(penalty_usd_per_gpu_hour=-10),
            ["gpu_hall.inference.penalty_usd_per_gpu_hour = -10 USD/GPU-hour", "greater than or equal to 0"],
        ),
        (
            lambda d: d["gpu_hall"]["inference"].update(sla_availability_fraction=1.5),
            [
                "gpu_hall.inference.sla_availability_fraction = 1.5 fraction, 0 to 1",
                "less than or equal to 1",
            ],
        ),
        (
            lambda d: d["gpu_hall"]["inference"]["demand"].update(peak_gpus=-6000),
            ["gpu_hall.inference.demand.peak_gpus = -6000 GPUs", "greater than 0"],
        ),
        (
            lambda d: d["gpu_hall"]["inference"].update(demand={"kind": "constant", "gpus": -5}),
            ["gpu_hall.inference.demand.gpus = -5 GPUs", "greater than or equal to 0"],
        ),
        (
            lambda d: d["gpu_hall"]["rental"].update(price_usd_per_gpu_hour=-2),
            ["gpu_hall.rental.price_usd_per_gpu_hour = -2 USD/GPU-hour", "greater than or equal to 0"],
        ),
        (
            lambda d: d["gpu_hall"]["rental"].update(min_block_hours=-4),
            ["gpu_hall.rental.min_block_hours = -4 hours", "greater than or equal to 0"],
        ),
        (
            lambda d: d["gpu_hall"]["rental"].update(max_gpus=-1),
            ["gpu_hall.rental.max_gpus = -1 GPUs", "greater than or equal to 0"],
        ),
        (
            lambda d: d["heat_offtake"].update(max_mwth=-1),
            ["heat_offtake.max_mwth = -1 MW thermal", "greater than 0"],
        ),
        (
            lambda d: d["heat_offtake"].update(price_usd_per_mwh_thermal=-12),
            ["heat_offtake.price_usd_per_mwh_thermal = -12 USD/MWh thermal", "greater than or equal to 0"],
        ),
        (
            lambda d: d["heat_offtake"].update(recovery_mwth_per_mw=1.5),
            ["heat_offtake.recovery_mwth_per_mw = 1.5 MW thermal per MW", "less than or equal to 1"],
        ),
        (
            lambda d: d["fourcp"].update(rate_usd_per_mw_year=-55_000),
            ["fourcp.rate_usd_per_mw_year = -55000 USD/MW-year", "greater than or equal to 0"],
        ),
        (
            lambda d: d["ancillary"].update(max_offer_mw=0),
            ["ancillary.max_offer_mw = 0 MW", "greater than or equal to 0.001"],
        ),
        (
            lambda d: d["ancillary"].update(products=["RRS", "REGUP"]),
            ["ancillary.products[1] = 'REGUP'", "'RRS', 'ECRS' or 'NSPIN'"],
        ),
        (
            lambda d: d["strategies"]["rule_based"].update(fourcp_start_hour=24),
            ["strategies.rule_based.fourcp_start_hour = 24 hour of day", "less than or equal to 23"],
        ),
        (
            lambda d: d["strategies"]["rule_based"].update(fourcp_end_hour=0),
            ["strategies.rule_based.fourcp_end_hour = 0 hour of day", "greater than or equal to 1"],
        ),
    ],
)
def test_bad_values_name_field_value_unit_and_limit(mutate: Mutation, fragments: list[str]) -> None:
    message = _error_of(mutate)
    for fragment in fragments:
        assert fragment in message


def test_an_unknown_trace_names_its_field() -> None:
    """The demand field ``trace`` has the same name as the demand kind ``trace``, and the error
    formatter drops every location part that is a union tag: the message reads
    ``gpu_hall.inference.demand = 'azure'`` instead of ``gpu_hall.inference.demand.trace = 'azure'``."""
    message = _error_of(lambda d: d["gpu_hall"]["inference"]["demand"].update(trace="azure"))
    assert "gpu_hall.inference.demand.trace = 'azure'" in message
    assert "'alibaba-lora'" in message


def test_min_gpus_above_max_gpus() -> None:
    message = _error_of(_job(0, min_gpus=9000))
    assert "gpu_hall.training_jobs[0]" in message
    assert "min_gpus 9000" in message
    assert "max_gpus 8192" in message
    assert "GPUs" in message


def test_min_gpus_above_the_halls_gpus() -> None:
    message = _error_of(_job(1, min_gpus=20_000, max_gpus=20_000))
    assert "gpu_hall" in message
    assert "'finetune-b'" in message
    assert "min_gpus = 20000" in message
    assert "14000 GPUs" in message


def test_idle_power_above_working_power() -> None:
    message = _error_of(lambda d: d["gpu_hall"].update(idle_power_w=1200))
    assert "gpu_hall" in message
    assert "idle_power_w 1200 W" in message
    assert "gpu_power_w 1100 W" in message


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["gpu_hall"]["rental"].update(price_series="rental.csv:usd_per_gpu_hour"),
        lambda d: d["gpu_hall"]["rental"].pop("price_usd_per_gpu_hour"),
    ],
    ids=["both", "neither"],
)
def test_rental_needs_exactly_one_price(mutate: Mutation) -> None:
    message = _error_of(mutate)
    assert "gpu_hall.rental" in message
    assert "exactly one of 'price_usd_per_gpu_hour' or 'price_series'" in message


def test_unknown_demand_kind_lists_the_kinds() -> None:
    message = _error_of(lambda d: d["gpu_hall"]["inference"]["demand"].update(kind="poisson"))
    assert "gpu_hall.inference.demand.kind = 'poisson'" in message
    assert "unknown demand kind" in message
    for kind in ("'constant'", "'trace'", "'csv'"):
        assert kind in message


def test_missing_demand_kind_lists_the_kinds() -> None:
    message = _error_of(lambda d: d["gpu_hall"]["inference"]["demand"].pop("kind"))
    assert "gpu_hall.inference.demand.kind" in message
    assert "required" in message
    for kind in ("'constant'", "'trace'", "'csv'"):
        assert kind in message


@pytest.mark.parametrize(
    ("mutate", "path", "suggestion"),
    [
        (_job(0, deadlin="2023-07-31"), "gpu_hall.training_jobs[0].deadlin", "deadline"),
        (_job(1, min_gpu=512), "gpu_hall.training_jobs[1].min_gpu", "min_gpus"),
        (lambda d: d["gpu_hall"].update(gpu_power=1100), "gpu_hall.gpu_power", "gpu_power_w"),
        (
            lambda d: d["gpu_hall"]["inference"]["demand"].update(peak_gpu=6000),
            "gpu_hall.inference.demand.peak_gpu",
            "peak_gpus",
        ),
        (
            lambda d: d["gpu_hall"]["inference"].update(
                demand={"kind": "csv", "path": "d.csv", "colum": "g"}
            ),
            "gpu_hall.inference.demand.colum",
            "column",
        ),
        (
            lambda d: d["gpu_hall"]["rental"].update(price_usd_per_gpu_hr=2.0),
            "gpu_hall.rental.price_usd_per_gpu_hr",
            "price_usd_per_gpu_hour",
        ),
        (lambda d: d["heat_offtake"].update(max_mwt=8), "heat_offtake.max_mwt", "max_mwth"),
        (lambda d: d["fourcp"].update(peaks=5), "fourcp.peaks", "peaks_csv"),
        (lambda d: d["ancillary"].update(product=["RRS"]), "ancillary.product", "products"),
        (
            lambda d: d["strategies"]["rule_based"].update(fourcp_start=15),
            "strategies.rule_based.fourcp_start",
            "fourcp_start_hour",
        ),
        (lambda d: d.update(gpu_halls={}), "gpu_halls", "gpu_hall"),
    ],
)
def test_a_typo_suggests_the_right_field(mutate: Mutation, path: str, suggestion: str) -> None:
    message = _error_of(mutate)
    assert f"{path}: unknown field; did you mean {suggestion!r}?" in message


def test_duplicate_job_names() -> None:
    message = _error_of(_job(1, name="llm-pretrain-a"))
    assert "gpu_hall" in message
    assert "training job names must be unique" in message
    assert "llm-pretrain-a" in message


def test_repeated_ancillary_products() -> None:
    message = _error_of(lambda d: d["ancillary"].update(products=["RRS", "RRS"]))
    assert "ancillary" in message
    assert "must not repeat" in message


@pytest.mark.parametrize(("start", "end"), [(19, 15), (15, 15)])
def test_a_4cp_window_must_end_after_it_starts(start: int, end: int) -> None:
    message = _error_of(
        lambda d: d["strategies"]["rule_based"].update(fourcp_start_hour=start, fourcp_end_hour=end)
    )
    assert "strategies.rule_based" in message
    assert f"fourcp_end_hour {end} must be after fourcp_start_hour {start}" in message


def test_4cp_months_are_month_numbers() -> None:
    message = _error_of(lambda d: d["strategies"]["rule_based"].update(fourcp_months=[6, 13]))
    assert "strategies.rule_based" in message
    assert "1-12" in message
    assert "[13]" in message


def test_several_stream_problems_are_all_reported() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["gpu_hall"]["gpus"] = -1
        d["heat_offtake"]["max_mwth"] = 0
        d["fourcp"]["rate_usd_per_mw_year"] = -1

    message = _error_of(mutate)
    assert "gpu_hall.gpus" in message
    assert "heat_offtake.max_mwth" in message
    assert "fourcp.rate_usd_per_mw_year" in message


def test_stream_errors_are_config_errors_not_validation_errors() -> None:
    for mutate in (
        lambda d: d.update(gpu_hall=5),
        lambda d: d["gpu_hall"].update(training_jobs={"a": 1}),
        lambda d: d["gpu_hall"]["training_jobs"].__setitem__(0, "llm"),
        lambda d: d.update(ancillary={"products": []}),
        lambda d: d["gpu_hall"]["inference"].update(demand="trace"),
        lambda d: d["heat_offtake"].update(max_mwth=float("nan")),
    ):
        data = copy.deepcopy(_hybrid())
        mutate(data)
        try:
            parse_site(data)
        except ValidationError as exc:  # pragma: no cover - this is the failure being tested for
            pytest.fail(f"raw pydantic ValidationError escaped: {exc}")
        except ConfigError as exc:
            assert "invalid site file" in str(exc)
        else:
            pytest.fail("the invalid site was accepted")


# --------------------------------------------------------------------------------------------------
# training job dates (read in the market's time zone when the site's parameters are built)


def _params_error(**changes: Any) -> str:
    data = copy.deepcopy(_hybrid())
    data["gpu_hall"]["training_jobs"][0].update(changes)
    site = parse_site(data)
    with pytest.raises(ConfigError) as info:
        site_params(site, 0.25, TIMEZONE)
    return str(info.value)


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"release": "June 1st"}, ["release = 'June 1st'", "YYYY-MM-DD"]),
        ({"release": "2023-02-30"}, ["release = '2023-02-30'", "not a date"]),
        ({"deadline": "2023-07-31T25:00"}, ["deadline = '2023-07-31T25:00'", "not a date"]),
        (
            {"release": "2023-08-01", "deadline": "2023-07-31"},
            ["deadline = '2023-07-31' must be after release = '2023-08-01'"],
        ),
    ],
)
def test_a_training_job_date_that_is_not_a_date(changes: dict[str, str], fragments: list[str]) -> None:
    message = _params_error(**changes)
    assert "gpu_hall.training_jobs[0]" in message
    assert "'llm-pretrain-a'" in message
    assert "--start" not in message and "--end" not in message  # the job's own field names
    for fragment in fragments:
        assert fragment in message


def test_the_validate_command_rejects_a_job_date_that_is_not_a_date(tmp_path: Path) -> None:
    data = _hybrid()
    data["gpu_hall"]["training_jobs"][1]["deadline"] = "end of August"
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    text = " ".join(result.output.split())
    assert "gpu_hall.training_jobs[1]" in text
    assert "deadline = 'end of August'" in text
    assert "Traceback" not in result.output


def test_a_yaml_date_without_quotes_is_a_market_local_day(tmp_path: Path) -> None:
    """YAML reads ``release: 2023-06-01`` (no quotes) as a date, not a string, and the strict site
    model rejects it with "gpu_hall.training_jobs[0].release = datetime.date(2023, 6, 1): Input should
    be a valid string": the most natural spelling of a date in a site file is refused, and the
    message shows a Python repr without saying that quotes would help."""
    text = HYBRID.read_text(encoding="utf-8")
    text = text.replace('release: "2023-06-01"', "release: 2023-06-01")
    text = text.replace('deadline: "2023-07-31"', "deadline: 2023-07-31")
    assert "release: 2023-06-01" in text and "deadline: 2023-07-31" in text
    path = tmp_path / "unquoted.yaml"
    path.write_text(text, encoding="utf-8")
    site = load_site(path)
    assert site.gpu_hall is not None
    job = site_params(site, 0.25, TIMEZONE).hall
    assert job is not None
    assert job.jobs[0].release_utc == pd.Timestamp("2023-06-01T05:00:00Z")
    assert job.jobs[0].deadline_utc == pd.Timestamp("2023-08-01T05:00:00Z")


# --------------------------------------------------------------------------------------------------
# relative CSV paths are read from the site file's folder


def _relative_site(folder: Path) -> Path:
    """A one-day hybrid site whose every file (prices, inference demand, rental prices, 4CP peaks)
    is named relative to its own folder."""
    data_dir = folder / "data"
    data_dir.mkdir(parents=True)
    stamps = pd.date_range("2023-08-10T05:00Z", periods=24, freq="h")
    iso = stamps.strftime("%Y-%m-%dT%H:%M:%SZ")
    pd.DataFrame({"interval_start_utc": iso, "LMP": np.linspace(20.0, 120.0, 24)}).to_csv(
        data_dir / "prices.csv", index=False
    )
    pd.DataFrame({"interval_start_utc": iso, "gpus": np.full(24, 40.0)}).to_csv(
        data_dir / "demand.csv", index=False
    )
    pd.DataFrame({"interval_start_utc": iso, "usd_per_gpu_hour": np.full(24, 1.5)}).to_csv(
        data_dir / "rental.csv", index=False
    )
    pd.DataFrame({"peak_interval_start_utc": ["2023-08-10T21:00:00Z"]}).to_csv(
        data_dir / "peaks.csv", index=False
    )
    site = {
        "name": "relative paths",
        "timezone": TIMEZONE,
        "grid": {"connection_limit_mw": 5},
        "contract": {"kind": "index", "price_series": "data/prices.csv:LMP"},
        "fleets": [{"name": "a", "model": "S19jPro", "units": 500}],
        "bitcoin": {"source": "constant", "constant_usd_per_ph_day": 60.0},
        "gpu_hall": {
            "gpus": 100,
            "gpu_power_w": 1000,
            "idle_power_w": 200,
            "inference": {
                "demand": {"kind": "csv", "path": "data/demand.csv", "column": "gpus"},
                "price_usd_per_gpu_hour": 2.0,
            },
            "rental": {"price_series": "data/rental.csv:usd_per_gpu_hour", "min_block_hours": 4},
        },
        "fourcp": {"rate_usd_per_mw_year": 50_000, "peaks_csv": "data/peaks.csv"},
    }
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site, sort_keys=False), encoding="utf-8")
    return path


def test_relative_csv_paths_resolve_against_the_site_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "sites" / "west"
    path = _relative_site(folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    relative = Path("..") / "sites" / "west" / "site.yaml"
    assert relative.resolve() == path.resolve()
    site: Site = load_site(relative)
    hall = site.gpu_hall
    assert hall is not None and hall.inference is not None and hall.rental is not None
    demand = hall.inference.demand
    assert isinstance(demand, CsvDemand)
    assert Path(demand.path).resolve() == (folder / "data" / "demand.csv").resolve()
    head, _, column = (hall.rental.price_series or "").rpartition(":")
    assert column == "usd_per_gpu_hour"
    assert Path(head).resolve() == (folder / "data" / "rental.csv").resolve()
    assert site.fourcp is not None and site.fourcp.peaks_csv is not None
    assert Path(site.fourcp.peaks_csv).resolve() == (folder / "data" / "peaks.csv").resolve()
    # and the files are read from there by a backtest started in another folder
    out = elsewhere / "out"
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            str(relative),
            "--start",
            "2023-08-10",
            "--end",
            "2023-08-10",
            "--strategy",
            "perfect",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out / "perfect" / "intervals.parquet")
    assert len(frame) == 24
    assert (frame["inference_demand_gpus"] == 40.0).all()
    assert frame["rental_revenue_usd"].sum() > 0
    # the 4CP peak of the CSV (16:00 local) is charged
    assert frame["fourcp_usd_per_mw"].sum() == pytest.approx(50_000 / 4)


# --------------------------------------------------------------------------------------------------
# the validate command


def test_validate_accepts_the_hybrid_example() -> None:
    result = CliRunner().invoke(app, ["validate", str(HYBRID)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "GPU hall 'hall-1'" in text
    assert "14,000 GPUs" in text
    assert "training 'llm-pretrain-a'" in text
    assert "training 'finetune-b'" in text
    assert "rentals" in text
    assert "heat offtake" in text
    assert "4CP" in text
    assert "ancillary offers: RRS, ECRS, NSPIN" in text
