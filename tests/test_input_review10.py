"""Review of issue 10, inputs: a rental block that is not whole price intervals, YAML numbers with
an exponent, CSVs that are not UTF-8 text (UTF-16 without a byte-order mark, gzip without .gz), a
header name with spaces around it. Each is a clear error naming the value, never a silent guess."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest
import yaml

from powerfirst.errors import ConfigError, DataError
from powerfirst.market.sources import parse_source
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.site.compile import hall_params

ROOT = Path(__file__).resolve().parents[1]
MINING = ROOT / "examples" / "west-texas-fixed-block.yaml"
HYBRID = ROOT / "examples" / "west-texas-hybrid.yaml"
T0 = pd.Timestamp("2023-01-01T06:00Z")
T1 = pd.Timestamp("2023-01-02T06:00Z")


def _hall_with_block(hours: float) -> None:
    data = yaml.safe_load(HYBRID.read_text(encoding="utf-8"))
    data["gpu_hall"]["rental"]["min_block_hours"] = hours
    site = parse_site(data, source="hybrid.yaml")
    assert site.gpu_hall is not None
    hall_params(site.gpu_hall, "America/Chicago", 0.25)


def test_a_rental_block_of_part_intervals_is_refused_with_the_nearest_valid_values() -> None:
    with pytest.raises(ConfigError) as caught:
        _hall_with_block(0.3)
    message = str(caught.value)
    assert "gpu_hall.rental.min_block_hours = 0.3 hours" in message
    assert "15 min" in message and "give 0.25 or 0.5 hours" in message
    _hall_with_block(0.75)  # three intervals: accepted


def _site_text(replace: str, by: str) -> str:
    text = MINING.read_text(encoding="utf-8")
    assert replace in text
    return text.replace(replace, by, 1)


@pytest.mark.parametrize(("written", "value"), [("1e3", 1000.0), ("1.0e2", 100.0), ("5E2", 500.0)])
def test_yaml_numbers_with_an_exponent_are_numbers(tmp_path: Path, written: str, value: float) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        _site_text("connection_limit_mw: 100", f"connection_limit_mw: {written}"), encoding="utf-8"
    )
    site = load_site(path)
    assert site.grid.connection_limit_mw == value


def test_a_tiny_exponent_number_reaches_the_limit_check(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(_site_text("connection_limit_mw: 100", "connection_limit_mw: 1e-300"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    message = str(caught.value)
    assert "grid.connection_limit_mw = 1e-300 MW" in message
    assert "greater than or equal to 0.001" in message and "valid number" not in message


def _csv_text() -> str:
    stamps = pd.date_range(T0, periods=4, freq="15min").strftime("%Y-%m-%dT%H:%M:%SZ")
    return "interval_start_utc,P\n" + "".join(f"{t},{20 + i}\n" for i, t in enumerate(stamps))


@pytest.mark.parametrize(
    ("encode", "fragment"),
    [
        (lambda text: text.encode("utf-16-le"), "a NUL byte at offset 1"),
        (lambda text: text.encode("utf-16-be"), "a NUL byte at offset 0"),
        (lambda text: text.encode("utf-16"), "UTF-16 text"),
        (lambda text: gzip.compress(text.encode("utf-8")), "a gzip file; name it with .gz"),
    ],
    ids=["utf-16-le-no-bom", "utf-16-be-no-bom", "utf-16-bom", "gzip-without-suffix"],
)
def test_a_csv_that_is_not_utf8_text_is_an_encoding_error(
    tmp_path: Path, encode: object, fragment: str
) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(encode(_csv_text()))  # type: ignore[operator]
    with pytest.raises(DataError) as caught:
        parse_source(f"{path}:P").load(T0, T1)
    message = str(caught.value)
    assert fragment in message and "missing column" not in message


def test_a_nul_byte_after_decompression_is_named(tmp_path: Path) -> None:
    path = tmp_path / "p.csv.gz"
    path.write_bytes(gzip.compress(_csv_text().encode("utf-16-le")))
    with pytest.raises(DataError, match=r"a NUL byte \(after decompression\) at offset 1"):
        parse_source(f"{path}:P").load(T0, T1)


def test_a_header_name_with_spaces_around_it_is_said(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        _csv_text().replace("interval_start_utc,P", " interval_start_utc , P", 1), encoding="utf-8"
    )
    with pytest.raises(DataError) as caught:
        parse_source(f"{path}:P").load(T0, T1)
    message = str(caught.value)
    assert "' interval_start_utc '" in message and "spaces" in message
