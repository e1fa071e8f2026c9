"""Site model: the examples load, ASIC models resolve, and every bad input is a ConfigError that
names the field, the value, the unit and the limit (never a raw pydantic ValidationError)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from powerfirst.errors import ConfigError, PowerfirstError
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.site.asic_catalog import asic_models, lookup_asic_model
from powerfirst.site.schema import FixedBlockContract, IndexContract, Site

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_FILES = sorted(
    p for p in EXAMPLES.glob("*.yaml") if p.name != "candidates.yaml" and not p.name.startswith("plan-")
)
"""The example site files (``candidates.yaml`` is a ``sites rank`` file, ``plan-*.yaml`` scenarios)."""


def _site_dict() -> dict[str, Any]:
    """A small valid site, as parsed YAML."""
    return {
        "name": "test site",
        "timezone": "America/Chicago",
        "grid": {"connection_limit_mw": 20},
        "contract": {
            "kind": "fixed_block",
            "price_series": "ercot-rt:HB_WEST",
            "block_mw": 10,
            "block_price_usd_per_mwh": 30.0,
            "adders_usd_per_mwh": {"tdsp": 3.0},
        },
        "fleets": [
            {"name": "jpro", "model": "S19jPro", "units": 1000, "pue": 1.05},
            {
                "name": "custom",
                "hashrate_ths": 100.0,
                "power_w": 3000.0,
                "units": 500,
                "overhead_fraction": 0.1,
            },
        ],
    }


def _error_of(mutate: Callable[[dict[str, Any]], None]) -> str:
    data = copy.deepcopy(_site_dict())
    mutate(data)
    with pytest.raises(ConfigError) as info:
        parse_site(data, source="site.yaml")
    message = str(info.value)
    assert message.startswith("site.yaml: ")
    return message


def test_the_base_site_is_valid() -> None:
    site = parse_site(_site_dict())
    assert isinstance(site, Site)
    assert [f.name for f in site.fleets] == ["jpro", "custom"]
    assert site.fleets[1].effective_pue == pytest.approx(1.1)
    assert site.fleets[1].max_power_mw == pytest.approx(500 * 3000 * 1.1 / 1e6)


# --------------------------------------------------------------------------------------------------
# examples and ASIC models


def test_there_are_examples() -> None:
    assert len(EXAMPLE_FILES) >= 2


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_examples_load(path: Path) -> None:
    site = load_site(path)
    assert site.name
    assert site.fleets
    assert site.grid.connection_limit_mw > 0
    for fleet in site.fleets:
        assert fleet.unit_hashrate_ths > 0
        assert fleet.unit_power_w > 0
        assert fleet.effective_pue >= 1.0


def test_west_texas_example_contract_and_fleets() -> None:
    site = load_site(EXAMPLES / "west-texas-fixed-block.yaml")
    assert isinstance(site.contract, FixedBlockContract)
    assert site.contract.block_mw == 80
    assert site.contract.total_adder_usd_per_mwh == pytest.approx(3.5)
    assert site.timezone is None  # read from the price source
    jpro = next(f for f in site.fleets if f.name == "s19jpro")
    assert jpro.max_power_mw == pytest.approx(10_000 * 3068 * 1.06 / 1e6)


def test_caiso_example_is_an_index_contract() -> None:
    site = load_site(EXAMPLES / "caiso-index.yaml")
    assert isinstance(site.contract, IndexContract)
    assert site.contract.price_series == "caiso-rt:SP15"
    assert site.timezone == "America/Los_Angeles"
    assert site.contract.total_adder_usd_per_mwh == pytest.approx(18.0)


def test_model_s19jpro_resolves_to_104_ths_and_3068_w() -> None:
    data = _site_dict()
    fleet = parse_site(data).fleets[0]
    assert fleet.model == "S19jPro"
    assert fleet.unit_hashrate_ths == 104
    assert fleet.unit_power_w == 3068
    assert fleet.efficiency_j_per_th == pytest.approx(29.5, abs=0.01)
    assert fleet.hashrate_ths_total == 104 * 1000


@pytest.mark.parametrize("spelling", ["S19jPro", "s19jpro", "S19j Pro", "s19j-pro", "S19J_PRO"])
def test_model_lookup_ignores_case_spaces_and_dashes(spelling: str) -> None:
    spec = lookup_asic_model(spelling)
    assert spec is not None
    assert (spec.hashrate_ths, spec.power_w) == (104, 3068)


@pytest.mark.parametrize("extra", [{"power_w": 3250.0}, {"hashrate_ths": 110.0, "power_w": 3068.0}])
def test_model_with_explicit_values_is_a_conflict_not_an_override(extra: dict[str, float]) -> None:
    message = _error_of(lambda d: d["fleets"][0].update(extra))
    assert "fleets[0] (fleet 'jpro')" in message and "'S19jPro'" in message
    assert "not both" in message
    for name, value in extra.items():
        assert f"{name} = {value:g}" in message


def test_unknown_asic_model_lists_known_ones() -> None:
    message = _error_of(lambda d: d["fleets"][0].update(model="S99"))
    assert "'S99'" in message
    assert "fleets[0]" in message
    for model in asic_models().values():
        assert model.model in message
    assert "hashrate_ths" in message


def test_fleet_without_model_or_spec() -> None:
    message = _error_of(lambda d: d["fleets"][1].pop("power_w"))
    assert "fleets[1]" in message
    assert "'custom'" in message
    assert "power_w" in message


# --------------------------------------------------------------------------------------------------
# malformed files


def test_malformed_yaml_gives_line_number(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "name: broken\ngrid:\n  connection_limit_mw: 5\n    block_mw: [1, 2\ncontract: {}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as info:
        load_site(path)
    message = str(info.value)
    assert "malformed YAML" in message
    assert "line 4" in message
    assert str(path) in message
    assert info.value.source == str(path)


def test_unclosed_bracket_gives_line_number(tmp_path: Path) -> None:
    path = tmp_path / "unclosed.yaml"
    path.write_text("name: x\nfleets: [\n  {name: a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"malformed YAML at line \d+"):
        load_site(path)


@pytest.mark.parametrize(
    ("text", "kind"), [("", "NoneType"), ("- a\n- b\n", "list"), ("just a string\n", "str")]
)
def test_site_file_that_is_not_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    path = tmp_path / "notamap.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_site(path)
    assert "mapping" in str(info.value)
    assert kind in str(info.value)


def test_missing_site_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read site file"):
        load_site(tmp_path / "nope.yaml")


def test_yaml_file_with_invalid_value_names_file_and_field(tmp_path: Path) -> None:
    data = _site_dict()
    data["grid"]["connection_limit_mw"] = -5
    path = tmp_path / "neg.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_site(path)
    assert str(path) in str(info.value)
    assert "grid.connection_limit_mw" in str(info.value)


# --------------------------------------------------------------------------------------------------
# field, value, unit, limit


def test_negative_grid_limit_names_field_value_unit_and_limit() -> None:
    message = _error_of(lambda d: d["grid"].update(connection_limit_mw=-5))
    assert "grid.connection_limit_mw = -5 MW" in message
    assert "greater than or equal to 0.001" in message


def test_negative_units_names_field_value_unit_and_limit() -> None:
    message = _error_of(lambda d: d["fleets"][0].update(units=-10))
    assert "fleets[0].units" in message
    assert "(fleet 'jpro')" in message
    assert "-10" in message
    assert "count" in message
    assert "greater than or equal to 1" in message


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        (lambda d: d["contract"].update(block_mw=0), ["contract.block_mw = 0 MW", "greater than 0"]),
        (lambda d: d["grid"].update(connection_limit_mw=20_000), ["20000 MW", "less than or equal to 10000"]),
        (
            lambda d: d["fleets"][0].update(pue=0.9),
            ["fleets[0].pue", "0.9", "ratio", "greater than or equal to 1"],
        ),
        (
            lambda d: d["fleets"][1].update(pool_fee_fraction=1.5),
            ["fleets[1].pool_fee_fraction", "1.5", "fraction", "less than 1"],
        ),
        (
            lambda d: d["fleets"][0].update(min_off_time_min=-1),
            ["fleets[0].min_off_time_min", "-1", "minutes", "greater than or equal to 0"],
        ),
        (
            lambda d: d["fleets"][1].update(power_w=-3000),
            ["fleets[1].power_w", "-3000", " W:", "greater than 0"],
        ),
        (
            lambda d: d["fleets"][1].update(hashrate_ths=0),
            ["fleets[1].hashrate_ths", "TH/s", "greater than 0"],
        ),
        (lambda d: d["fleets"][0].update(units=10.5), ["fleets[0].units", "10.5", "integer"]),
        (
            lambda d: d["contract"].update(block_price_usd_per_mwh="cheap"),
            ["contract.block_price_usd_per_mwh", "'cheap'", "USD/MWh"],
        ),
        (
            lambda d: d.update(strategies={"breakeven": {"confirm_intervals": 0}}),
            ["strategies.breakeven.confirm_intervals", "count of intervals", "greater than or equal to 1"],
        ),
    ],
)
def test_out_of_range_values_name_field_value_unit_and_limit(
    mutate: Callable[[dict[str, Any]], None], fragments: list[str]
) -> None:
    message = _error_of(mutate)
    for fragment in fragments:
        assert fragment in message


def test_several_problems_are_all_reported() -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["grid"]["connection_limit_mw"] = -5
        d["fleets"][1]["units"] = -10

    message = _error_of(mutate)
    assert "grid.connection_limit_mw" in message
    assert "fleets[1].units" in message
    assert message.count("\n  - ") == 2


def test_missing_required_field() -> None:
    message = _error_of(lambda d: d["grid"].pop("connection_limit_mw"))
    assert "grid.connection_limit_mw" in message
    assert "required" in message
    assert "MW" in message


# --------------------------------------------------------------------------------------------------
# unknown fields, conflicts, names, zones, contract kinds


@pytest.mark.parametrize(
    ("mutate", "path", "suggestion"),
    [
        (lambda d: d["grid"].update(conection_limit_mw=5), "grid.conection_limit_mw", "connection_limit_mw"),
        (lambda d: d["fleets"][0].update(modle="S19"), "fleets[0].modle", "model"),
        (lambda d: d.update(timzone="America/Chicago"), "timzone", "timezone"),
        (lambda d: d["contract"].update(block_price=30), "contract.block_price", "block_price_usd_per_mwh"),
        (lambda d: d["contract"].update(kind="index", block_mw=10), "contract.block_mw", None),
    ],
)
def test_unknown_fields_are_rejected(
    mutate: Callable[[dict[str, Any]], None], path: str, suggestion: str | None
) -> None:
    message = _error_of(mutate)
    assert path in message
    assert "unknown field" in message
    if suggestion is None:
        assert "did you mean" not in message
    else:
        assert f"did you mean {suggestion!r}" in message


def test_pue_and_overhead_fraction_together_is_an_error() -> None:
    message = _error_of(lambda d: d["fleets"][0].update(overhead_fraction=0.05))
    assert "fleets[0]" in message
    assert "'pue'" in message
    assert "'overhead_fraction'" in message
    assert "not both" in message


def test_duplicate_fleet_names() -> None:
    message = _error_of(lambda d: d["fleets"][1].update(name="jpro"))
    assert "unique" in message
    assert "jpro" in message


def test_bad_timezone() -> None:
    message = _error_of(lambda d: d.update(timezone="Mars/Olympus_Mons"))
    assert "timezone" in message
    assert "'Mars/Olympus_Mons'" in message
    assert "IANA" in message


def test_unknown_contract_kind_lists_the_kinds() -> None:
    message = _error_of(lambda d: d["contract"].update(kind="ppa"))
    assert "contract" in message
    assert "'ppa'" in message
    assert "'index'" in message
    assert "'fixed_block'" in message


def test_missing_contract_kind_says_which_kinds_exist() -> None:
    message = _error_of(lambda d: d["contract"].pop("kind"))
    assert "contract.kind" in message
    assert "index" in message
    assert "fixed_block" in message


def test_switch_block_must_divide_units() -> None:
    message = _error_of(lambda d: d["fleets"][0].update(switch_block_units=300))
    assert "1000" in message
    assert "300" in message


def test_bitcoin_constant_source_needs_a_value() -> None:
    message = _error_of(lambda d: d.update(bitcoin={"source": "constant"}))
    assert "constant_usd_per_ph_day" in message


def test_empty_fleet_list() -> None:
    message = _error_of(lambda d: d.update(fleets=[]))
    assert "fleets" in message
    assert "at least 1" in message


def test_boolean_is_not_a_capacity() -> None:
    data = yaml.safe_load("name: x\ngrid:\n  connection_limit_mw: yes\n")
    assert data["grid"]["connection_limit_mw"] is True
    full = _site_dict()
    full["grid"] = data["grid"]
    with pytest.raises(ConfigError):
        parse_site(full)


# --------------------------------------------------------------------------------------------------
# never a raw ValidationError

_BAD_INPUTS: list[Callable[[dict[str, Any]], None]] = [
    lambda d: d.update(grid=5),
    lambda d: d.update(grid=None),
    lambda d: d.update(fleets={"a": 1}),
    lambda d: d["fleets"].__setitem__(0, "S19jPro"),
    lambda d: d["fleets"][0].update(name=""),
    lambda d: d["fleets"][0].update(units=None),
    lambda d: d.update(contract="fixed"),
    lambda d: d["contract"].update(adders_usd_per_mwh={"tdsp": "three"}),
    lambda d: d["contract"].update(adders_usd_per_mwh=[1, 2]),
    lambda d: d.update(timezone=5),
    lambda d: d.update(bitcoin={"source": "exchange"}),
    lambda d: d.update({1: "numeric key"}),
    lambda d: d.pop("name"),
    lambda d: d.pop("fleets"),
    lambda d: d.update(strategies={"breakeven": {"hysteresis_usd_per_mwh": -1}}),
    lambda d: d["grid"].update(connection_limit_mw=float("nan")),
]


@pytest.mark.parametrize("mutate", _BAD_INPUTS, ids=[f"bad{i}" for i in range(len(_BAD_INPUTS))])
def test_bad_inputs_raise_config_error_not_validation_error(mutate: Callable[[dict[str, Any]], None]) -> None:
    data = copy.deepcopy(_site_dict())
    mutate(data)
    try:
        parse_site(data)
    except ValidationError as exc:  # pragma: no cover - this is the failure being tested for
        pytest.fail(f"raw pydantic ValidationError escaped: {exc}")
    except ConfigError as exc:
        assert isinstance(exc, PowerfirstError)
        assert "invalid site file" in str(exc)
        assert "For further information visit" not in str(exc)  # no pydantic URLs
    else:
        pytest.fail("the invalid site was accepted")


@pytest.mark.parametrize("data", [None, [], "site", 3])
def test_non_mapping_data_is_a_config_error(data: Any) -> None:
    with pytest.raises(ConfigError, match="mapping"):
        parse_site(data)


def test_paths_in_a_site_file_are_relative_to_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "sites"
    folder.mkdir()
    (folder / "site.yaml").write_text(
        "name: relative\n"
        "grid: {connection_limit_mw: 10}\n"
        "contract: {kind: index, price_series: prices/rt.csv:LMP}\n"
        "fleets: [{name: a, model: S21, units: 10}]\n"
        "bitcoin: {source: csv, csv_path: hashprice.csv}\n",
        encoding="utf-8",
    )
    site = load_site(folder / "site.yaml")
    assert site.contract.price_series == f"{folder / 'prices' / 'rt.csv'}:LMP"
    assert site.bitcoin.csv_path == str(folder / "hashprice.csv")
    # bundled sources are left alone
    (folder / "bundled.yaml").write_text(
        "name: b\ngrid: {connection_limit_mw: 10}\n"
        "contract: {kind: index, price_series: ercot-rt:HB_WEST}\nfleets: [{name: a, model: S21, units: 10}]\n",
        encoding="utf-8",
    )
    assert load_site(folder / "bundled.yaml").contract.price_series == "ercot-rt:HB_WEST"
