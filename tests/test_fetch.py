"""``powerfirst data fetch``: replayed ERCOT Public API and Blockchain.com answers → the bundled CSV
layouts, read back by the project's own readers and used by a short backtest.

Nothing here touches the network: every request goes to an ``httpx.MockTransport`` that serves the
hand-built fixtures under ``tests/fixtures/fetch/`` (see ``make_fixtures.py`` there: documented
response formats, real bundled ERCOT values for the fall-back day 2023-11-05 and 2023-11-06).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner, Result

from powerfirst.backtest.runner import FEES_NOTE
from powerfirst.bitcoin.economics import hashprice_usd_per_th_day
from powerfirst.bitcoin.hashprice import BundledHashprice, NetworkCsvHashprice
from powerfirst.cli import data as cli_data
from powerfirst.cli.app import app
from powerfirst.errors import DataError
from powerfirst.fetch.ercot import TOKEN_URL, ErcotApi, ErcotCredentials
from powerfirst.fetch.ercot_time import interval_start_utc
from powerfirst.fetch.http import HttpClient
from powerfirst.market.sources import parse_source
from powerfirst.site.compile import hashprice_source
from powerfirst.site.schema import BitcoinConfig

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "fetch"
DATA = ROOT / "src" / "powerfirst" / "data"
DAYS = ("2023-11-05", "2023-11-06")
CREDENTIALS = ["--subscription-key", "test-key", "--username", "user@example.com", "--password", "pw"]
BUNDLED = {
    "ercot-rt": "ercot_rt_hub_spp_15min_2023.csv.gz",
    "ercot-da": "ercot_dam_spp_hourly_2023.csv.gz",
    "ercot-load": "ercot_native_load_hourly_2023.csv.gz",
}
REPORTS = {
    "np6-905-cd/spp_node_zone_hub": ("np6-905-cd.json", "deliveryDate"),
    "np4-190-cd/dam_stlmnt_pnt_prices": ("np4-190-cd.json", "deliveryDate"),
    "np6-345-cd/act_sys_load_by_wzn": ("np6-345-cd.json", "operatingDay"),
}


class FakeServers:
    """ERCOT's token endpoint and report API and Blockchain.com's charts, from the fixtures.

    Reports are filtered by the date range and settlement point asked for and paged by ``page`` and
    ``size``, as the documented API does. ``fail`` maps a path fragment to statuses to answer first.
    """

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.fail: dict[str, list[int]] = {}
        self.tokens_issued = 0
        self.token_lasts_requests: int | None = None
        """After this many report requests with one ID token, that token is refused (401)."""
        self._uses = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        for fragment, statuses in self.fail.items():
            if fragment in url and statuses:
                return httpx.Response(statuses.pop(0), text="simulated failure")
        if url.startswith(TOKEN_URL):
            form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
            assert form["grant_type"] == "password" and form["username"] and form["password"]
            self.tokens_issued += 1
            self._uses = 0
            token = f"id-token-{self.tokens_issued}"
            return httpx.Response(200, json={"id_token": token, "access_token": "a", "expires_in": "3600"})
        if request.url.host == "api.ercot.com":
            return self._report(request)
        if request.url.host == "api.blockchain.info":
            return self._chart(request)
        return httpx.Response(404, text="no such fixture")

    def _report(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Ocp-Apim-Subscription-Key") != "test-key":
            return httpx.Response(
                401, json={"statusCode": 401, "message": "Access denied due to missing subscription key."}
            )
        expired = self.token_lasts_requests is not None and self._uses >= self.token_lasts_requests
        if request.headers.get("Authorization") != f"Bearer id-token-{self.tokens_issued}" or expired:
            return httpx.Response(401, json={"statusCode": 401, "message": "Invalid or expired token"})
        self._uses += 1
        path = request.url.path.removeprefix("/api/public-reports/")
        name, day_field = REPORTS[path]
        payload = json.loads((FIXTURES / name).read_text())
        fields = [f["name"] for f in payload["fields"]]
        params = request.url.params
        prefix = "operatingDay" if day_field == "operatingDay" else "deliveryDate"
        lo, hi = params[f"{prefix}From"], params[f"{prefix}To"]
        rows = [r for r in payload["data"] if lo <= r[fields.index(day_field)] <= hi]
        if "settlementPoint" in params:
            rows = [r for r in rows if r[fields.index("settlementPoint")] == params["settlementPoint"]]
        page, size = int(params["page"]), int(params["size"])
        pages = max(1, -(-len(rows) // size))
        meta = {"totalRecords": len(rows), "pageSize": size, "totalPages": pages, "currentPage": page}
        body = {**payload, "_meta": meta, "data": rows[(page - 1) * size : page * size]}
        return httpx.Response(200, json=body)

    def _chart(self, request: httpx.Request) -> httpx.Response:
        chart = request.url.path.removeprefix("/charts/")
        payload = json.loads((FIXTURES / f"blockchain-{chart}.json").read_text())
        start = pd.Timestamp(request.url.params["start"], tz="UTC")
        days = int(request.url.params["timespan"].removesuffix("days"))
        lo, hi = start.timestamp(), (start + pd.Timedelta(days=days)).timestamp()
        payload["values"] = [v for v in payload["values"] if lo <= v["x"] < hi]
        return httpx.Response(200, json=payload)


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServers]:
    fake = FakeServers()

    def client(timeout_s: float, attempts: int) -> HttpClient:
        return HttpClient(
            transport=httpx.MockTransport(fake), timeout_s=timeout_s, attempts=attempts, sleep=lambda s: None
        )

    monkeypatch.setattr(cli_data, "http_client", client)
    yield fake


def _invoke(args: list[Any]) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def _fetch(dataset: str, out: Path, *extra: Any, start: str = DAYS[0], end: str = DAYS[1]) -> Result:
    credentials = CREDENTIALS if dataset.startswith("ercot") else []
    return _invoke(
        ["data", "fetch", dataset, "--start", start, "--end", end, "--out", out, *credentials, *extra]
    )


def _bundled_rows(dataset: str) -> pd.DataFrame:
    frame = pd.read_csv(DATA / "ercot" / BUNDLED[dataset])
    return frame[frame["interval_start_local"].str[:10].isin(DAYS)].reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# ERCOT: the written files are the bundled rows, the fall-back day included


@pytest.mark.parametrize("dataset", ["ercot-rt", "ercot-da", "ercot-load"])
def test_ercot_fetch_writes_the_bundled_layout_and_values(
    servers: FakeServers, tmp_path: Path, dataset: str
) -> None:
    out = tmp_path / f"{dataset}-2023-11.csv.gz"
    result = _fetch(dataset, out)
    assert result.exit_code == 0, result.output
    assert "missing intervals: 0" in result.output
    written = pd.read_csv(out)
    expected = _bundled_rows(dataset)
    assert list(written.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left behind


def test_fall_back_day_has_25_hours_and_the_repeated_hour_in_standard_time(
    servers: FakeServers, tmp_path: Path
) -> None:
    out = tmp_path / "rt.csv"
    assert _fetch("ercot-rt", out).exit_code == 0
    written = pd.read_csv(out)
    fall_back = written[written["interval_start_local"].str.startswith("2023-11-05")]
    assert len(fall_back) == 100
    one_am = fall_back[fall_back["interval_start_local"].str[11:13] == "01"]
    assert list(one_am["interval_start_utc"].str[11:16]) == [
        *("06:00", "06:15", "06:30", "06:45"),  # 01:xx CDT (-05:00), DSTFlag false
        *("07:00", "07:15", "07:30", "07:45"),  # 01:xx CST (-06:00), DSTFlag true
    ]
    assert list(one_am["interval_start_local"].str[19:]) == ["-05:00"] * 4 + ["-06:00"] * 4


def test_hour_ending_conversion() -> None:
    day = pd.Series(["2024-11-03"] * 5)
    starts = interval_start_utc(
        day,
        pd.Series(["01:00", "02:00", "02:00", "03:00", "24:00"]),
        pd.Series(["false", "false", "true", "false", "false"]),
    )
    assert [t.strftime("%m-%d %H:%M") for t in starts] == [
        "11-03 05:00",
        "11-03 06:00",
        "11-03 07:00",
        "11-03 08:00",
        "11-04 05:00",
    ]
    spring = interval_start_utc(
        pd.Series(["2024-03-10"] * 2), pd.Series([2, 4]), pd.Series(["N", "N"]), pd.Series([4, 1])
    )
    assert [t.strftime("%H:%M") for t in spring] == ["07:45", "08:00"]  # 01:45 CST, then 03:00 CDT
    with pytest.raises(DataError, match="does not exist"):
        interval_start_utc(pd.Series(["2024-03-10"]), pd.Series([3]), pd.Series([False]))
    with pytest.raises(DataError, match="not the repeated fall-back hour"):
        interval_start_utc(pd.Series(["2024-03-11"]), pd.Series([2]), pd.Series([True]))
    with pytest.raises(DataError, match="hour ending"):
        interval_start_utc(pd.Series(["2024-03-11"]), pd.Series(["25:00"]), pd.Series([False]))


def test_reports_are_read_page_by_page(servers: FakeServers) -> None:
    http = HttpClient(transport=httpx.MockTransport(servers), sleep=lambda s: None)
    paged = ErcotApi(http, ErcotCredentials("test-key", "u", "p"), page_size=37)
    whole = ErcotApi(http, ErcotCredentials("test-key", "u", "p"))
    first, last = date(2023, 11, 5), date(2023, 11, 6)
    servers.requests.clear()
    small = paged.system_load(first, last)
    pages = [r for r in servers.requests if r.url.host == "api.ercot.com"]
    assert len(pages) == 2  # 49 rows, 37 a page
    pd.testing.assert_frame_equal(small, whole.system_load(first, last))
    assert len(small) == 49


@pytest.mark.parametrize(
    ("dataset", "point", "minutes", "count"),
    [("ercot-rt", "HB_WEST", 15, 196), ("ercot-da", "LZ_WEST", 60, 49)],
)
def test_written_prices_parse_with_the_price_reader(
    servers: FakeServers, tmp_path: Path, dataset: str, point: str, minutes: int, count: int
) -> None:
    out = tmp_path / "prices.csv"
    assert _fetch(dataset, out).exit_code == 0
    source = parse_source(f"{out}:{point}", timezone="America/Chicago")
    start = pd.Timestamp("2023-11-05T05:00Z")
    series = source.load(start, start + pd.Timedelta(hours=49))
    assert series.interval == pd.Timedelta(minutes=minutes)
    assert series.gaps(start, start + pd.Timedelta(hours=49)).count == 0
    bundled = parse_source(f"{dataset}:{point}").load(start, start + pd.Timedelta(hours=49))
    assert len(series.prices) == count
    pd.testing.assert_series_equal(series.prices, bundled.prices, check_names=False, check_index_type=False)


# --------------------------------------------------------------------------------------------------
# Bitcoin: fees per block from the charts, hashprice with fees


def test_bitcoin_fetch_and_hashprice_with_fees(servers: FakeServers, tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    result = _fetch("bitcoin", out, start="2023-11-04", end="2023-11-07")
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    assert list(written.columns) == [
        "date_utc",
        "btc_usd",
        "difficulty",
        "tx_fees_btc_per_block",
        "blocks_mined",
    ]
    assert list(written["date_utc"]) == ["2023-11-04", "2023-11-05", "2023-11-06", "2023-11-07"]
    # 2023-11-05: 78 BTC of fees over 436,800 / 2,800 = 156 blocks
    assert written["blocks_mined"][1] == pytest.approx(156.0)
    assert written["tx_fees_btc_per_block"][1] == pytest.approx(0.5)

    source = hashprice_source(BitcoinConfig(source="network_csv", csv_path=str(out)))
    daily = source.daily(pd.Timestamp("2023-11-04", tz="UTC"), pd.Timestamp("2023-11-08", tz="UTC"))
    hashrate = written["difficulty"] * 2.0**32 / 600 / 1e12
    expected = written["btc_usd"] * (6.25 + written["tx_fees_btc_per_block"]) * 144 / hashrate
    np.testing.assert_allclose(daily.to_numpy(), expected.to_numpy(), rtol=1e-12)
    # the same days without fees (bundled price and difficulty are the fixture's): lower by subsidy/(subsidy+fees)
    bundled = BundledHashprice().daily(
        pd.Timestamp("2023-11-04", tz="UTC"), pd.Timestamp("2023-11-08", tz="UTC")
    )
    np.testing.assert_allclose(
        bundled.to_numpy() / daily.to_numpy(),
        6.25 / (6.25 + written["tx_fees_btc_per_block"].to_numpy()),
        rtol=1e-9,
    )
    assert "fees included" in source.description


def _network_csv(
    path: Path, rows: list[str], header: str = "date_utc,btc_usd,difficulty,tx_fees_btc_per_block"
) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_network_csv_errors_name_the_day_column_and_value(tmp_path: Path) -> None:
    good = "2024-05-01,60000,8.8e13,0.1"
    window = (pd.Timestamp("2024-05-01", tz="UTC"), pd.Timestamp("2024-05-03", tz="UTC"))
    with pytest.raises(
        DataError,
        match=r"no row for 1 UTC day\(s\), first 2024-05-02; the file covers 2024-05-01 to 2024-05-01",
    ):
        NetworkCsvHashprice(_network_csv(tmp_path / "a.csv", [good])).daily(*window)
    with pytest.raises(DataError, match="missing column 'tx_fees_btc_per_block'"):
        NetworkCsvHashprice(
            _network_csv(tmp_path / "b.csv", ["2024-05-01,60000,8.8e13"], "date_utc,btc_usd,difficulty")
        ).daily(*window)
    with pytest.raises(DataError, match=r"row 3: tx_fees_btc_per_block = '-1' BTC/block"):
        NetworkCsvHashprice(_network_csv(tmp_path / "c.csv", [good, "2024-05-02,60000,8.8e13,-1"])).daily(
            *window
        )
    with pytest.raises(DataError, match="date_utc 2024-05-01 repeats"):
        NetworkCsvHashprice(_network_csv(tmp_path / "d.csv", [good, good])).daily(*window)
    with pytest.raises(ValueError, match=r"tx_fees_btc_per_block = 0\.2 BTC/block must be left out"):
        BitcoinConfig(source="network_csv", csv_path="x.csv", tx_fees_btc_per_block=0.2)


def test_backtest_on_fetched_prices_and_bitcoin_includes_fees(servers: FakeServers, tmp_path: Path) -> None:
    prices, btc = tmp_path / "rt-fetched.csv.gz", tmp_path / "btc-fetched.csv"
    assert _fetch("ercot-rt", prices).exit_code == 0
    assert _fetch("bitcoin", btc, start="2023-11-04", end="2023-11-07").exit_code == 0
    site = yaml.safe_load((ROOT / "examples" / "west-texas-fixed-block.yaml").read_text())
    site["timezone"] = "America/Chicago"
    site["contract"]["price_series"] = f"{prices.name}:HB_WEST"
    site["bitcoin"] = {"source": "network_csv", "csv_path": btc.name}
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    out = tmp_path / "out"
    result = _invoke(
        [
            "backtest",
            tmp_path / "site.yaml",
            "--start",
            DAYS[0],
            "--end",
            DAYS[1],
            "--strategy",
            "perfect",
            "--strategy",
            "breakeven",
            "--out",
            out,
        ]
    )
    assert result.exit_code == 0, result.output
    for name in ("perfect", "breakeven"):
        summary = json.loads((out / name / "summary.json").read_text())
        assert summary["intervals"] == 196 and summary["data_gaps"]["count"] == 0
        hp = summary["hashprice"]
        assert hp["fees_included"] is True
        assert "transaction fees included" in hp["source"]
        assert hp["note"] == ""
        written = pd.read_csv(btc)
        assert hp["tx_fees_btc_per_block"] == pytest.approx(written["tx_fees_btc_per_block"].mean())
        days = written.set_index("date_utc")
        hashrate = days["difficulty"] * 2.0**32 / 600 / 1e12
        per_day = (
            hashprice_usd_per_th_day(days["btc_usd"], hashrate, 6.25, days["tx_fees_btc_per_block"]) * 1000
        )
        # 100 intervals on 11-05 (all within the UTC days 11-05 and 11-06), 96 on 11-06 (11-06 and 11-07 UTC)
        frame = pd.read_parquet(out / name / "intervals.parquet")
        day_of = frame.index.tz_convert("UTC").strftime("%Y-%m-%d")
        np.testing.assert_allclose(
            frame["hashprice_usd_per_ph_day"].to_numpy(), per_day.reindex(day_of).to_numpy(), rtol=1e-9
        )
    assert FEES_NOTE not in result.output
    assert FEES_NOTE not in (out / "comparison.json").read_text()


# --------------------------------------------------------------------------------------------------
# Safe writes, credentials, network failures


def test_refuses_to_overwrite_unless_asked(servers: FakeServers, tmp_path: Path) -> None:
    out = tmp_path / "load.csv"
    out.write_text("keep me\n")
    result = _fetch("ercot-load", out)
    assert result.exit_code == 2
    assert f"{out} already exists; pass --overwrite" in " ".join(result.output.split())
    assert out.read_text() == "keep me\n"
    assert not servers.requests  # refused before any request
    assert _fetch("ercot-load", out, "--overwrite").exit_code == 0
    assert out.read_text().startswith("interval_start_utc,interval_start_local,COAST")


def test_missing_credentials_name_the_flags(
    servers: FakeServers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for env in ("ERCOT_API_SUBSCRIPTION_KEY", "ERCOT_API_USERNAME", "ERCOT_API_PASSWORD"):
        monkeypatch.delenv(env, raising=False)
    result = _invoke(
        ["data", "fetch", "ercot-rt", "--start", DAYS[0], "--end", DAYS[1], "--out", tmp_path / "x.csv"]
    )
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert (
        "--subscription-key (or ERCOT_API_SUBSCRIPTION_KEY)" in text
        and "--password (or ERCOT_API_PASSWORD)" in text
    )
    assert not (tmp_path / "x.csv").exists()


def test_http_error_is_one_line_with_url_and_status(servers: FakeServers, tmp_path: Path) -> None:
    servers.fail["np6-345-cd"] = [403]
    result = _fetch("ercot-load", tmp_path / "x.csv")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    line = " ".join(result.output.split())
    assert (
        "GET https://api.ercot.com/api/public-reports/np6-345-cd/act_sys_load_by_wzn?operatingDayFrom=2023-11-05"
        in line
    )
    assert "HTTP 403 Forbidden" in line
    assert "pw" not in line.split("HTTP 403")[0] and "test-key" not in line  # no secret in the message
    assert not (tmp_path / "x.csv").exists()


def test_transient_errors_are_retried_a_bounded_number_of_times(servers: FakeServers, tmp_path: Path) -> None:
    servers.fail["charts/difficulty"] = [503, 429]
    assert (
        _fetch(
            "bitcoin", tmp_path / "ok.csv", "--retries", "3", start="2023-11-04", end="2023-11-07"
        ).exit_code
        == 0
    )
    servers.fail["charts/difficulty"] = [503, 503, 503]
    result = _fetch("bitcoin", tmp_path / "bad.csv", "--retries", "3", start="2023-11-04", end="2023-11-07")
    assert result.exit_code == 1
    assert "HTTP 503 Service Unavailable (gave up after 3 tries)" in " ".join(result.output.split())
    assert not servers.fail["charts/difficulty"]


def test_timeouts_are_retried_then_reported(tmp_path: Path) -> None:
    calls: list[float] = []

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    http = HttpClient(transport=httpx.MockTransport(slow), attempts=2, backoff_s=1.5, sleep=calls.append)
    with pytest.raises(
        DataError,
        match=r"GET https://api.blockchain.info/charts/difficulty\?.*timed out \(gave up after 2 tries\)",
    ):
        http.get_json("https://api.blockchain.info/charts/difficulty", params={"start": "2024-01-01"})
    assert calls == [1.5]


def test_missing_bitcoin_days_are_left_out_and_reported(servers: FakeServers, tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    result = _fetch("bitcoin", out, start="2023-11-03", end="2023-11-07")
    assert result.exit_code == 0, result.output
    assert "missing days: 1, first 2023-11-03" in " ".join(result.output.split())
    assert list(pd.read_csv(out)["date_utc"]) == ["2023-11-04", "2023-11-05", "2023-11-06", "2023-11-07"]


def test_bad_dates_are_config_errors(servers: FakeServers, tmp_path: Path) -> None:
    result = _fetch("bitcoin", tmp_path / "x.csv", start="2023-11-07", end="2023-11-04")
    assert result.exit_code == 2 and "--end 2023-11-04 is before --start 2023-11-07" in result.output
    result = _fetch("bitcoin", tmp_path / "x.csv", start="11/07/2023")
    assert result.exit_code == 2 and "--start = '11/07/2023': need a date YYYY-MM-DD" in result.output


def test_an_expired_id_token_is_renewed_once(servers: FakeServers, tmp_path: Path) -> None:
    servers.token_lasts_requests = 5  # the day-ahead fetch makes 15 report requests
    out = tmp_path / "da.csv"
    result = _fetch("ercot-da", out)
    assert result.exit_code == 0, result.output
    assert servers.tokens_issued == 3
    pd.testing.assert_frame_equal(pd.read_csv(out), _bundled_rows("ercot-da"), check_dtype=False)
    servers.token_lasts_requests = 0  # every token refused: one renewal, then a clear error
    servers.tokens_issued = 0
    result = _fetch("ercot-load", tmp_path / "load.csv")
    assert result.exit_code == 1
    assert servers.tokens_issued == 2
    assert "act_sys_load_by_wzn" in result.output and "HTTP 401 Unauthorized" in " ".join(
        result.output.split()
    )


def test_retry_after_is_honoured_up_to_a_limit() -> None:
    waits: list[float] = []
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(503, headers={"Retry-After": "600"}),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    http = HttpClient(
        transport=httpx.MockTransport(lambda r: next(answers)), attempts=3, backoff_s=2.0, sleep=waits.append
    )
    assert http.get_json("https://api.ercot.com/api/public-reports/x") == {"ok": True}
    assert waits == [7.0, 60.0]
