"""report.html is one self-contained file: plotly.js inlined, no CDN, three charts, and the caveats
(perfect is an upper bound; transaction fees are not in the bundled hashprice)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
import yaml
from plotly.offline import get_plotlyjs

from plotly_page import CDN_HOSTS, array, figures
from powerfirst.backtest.outputs import report_input, write_outputs
from powerfirst.backtest.runner import Backtest, StrategyResult, comparison, prepare_backtest, run_strategy
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.reporting import html as report_module
from powerfirst.reporting.html import render_report
from powerfirst.site.schema import Site

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
STRATEGIES = ("perfect", "breakeven", "always-on")


@pytest.fixture(scope="module")
def plotly_js() -> str:
    return get_plotlyjs()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    site = load_site(EXAMPLES / "west-texas-fixed-block.yaml")
    bt = prepare_backtest(site, "2023-08-01", "2023-08-03")
    results = [run_strategy(bt, name) for name in STRATEGIES]
    out = tmp_path_factory.mktemp("report") / "out"
    return out, write_outputs(out, bt, results)


@pytest.fixture(scope="module")
def html(report: tuple[Path, dict[str, Path]]) -> str:
    _, paths = report
    return paths["report.html"].read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(html: str, plotly_js: str) -> str:
    """The report without the inlined plotly.js library (which mentions CDN hosts in its own code)."""
    assert html.count(plotly_js) == 1
    return html.replace(plotly_js, "")


def test_write_outputs_returns_every_path(report: tuple[Path, dict[str, Path]]) -> None:
    out, paths = report
    assert paths["report.html"] == out / "report.html"
    assert paths["comparison.json"] == out / "comparison.json"
    for name in STRATEGIES:
        assert paths[f"{name}/summary.json"].is_file()
        assert paths[f"{name}/intervals.parquet"].is_file()
    assert all(p.is_file() for p in paths.values())


def test_report_is_one_html_document(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert html.rstrip().endswith("</html>")
    assert html.count("<html") == 1
    assert "West Texas mining site" in html


def test_plotly_js_is_inlined(html: str, plotly_js: str) -> None:
    assert len(plotly_js) > 1_000_000
    assert f'<script type="text/javascript">{plotly_js}</script>' in html


def test_no_external_scripts_or_cdn(page: str) -> None:
    assert re.search(r"<script[^>]*\bsrc\s*=", page, flags=re.IGNORECASE) is None
    assert re.search(r"<link[^>]*\bhref\s*=\s*[\"']?https?:", page, flags=re.IGNORECASE) is None
    assert re.search(r"@import", page) is None
    for host in CDN_HOSTS:
        assert host not in page
    assert "require.js" not in page
    assert "mathjax" not in page.lower()


def test_three_charts(page: str) -> None:
    assert page.count('class="plotly-graph-div"') == 3
    assert page.count("Plotly.newPlot(") == 3
    for title in ("Dispatch stack", "Cumulative net margin", "Price-duration curve"):
        assert title in page


def test_perfect_is_labelled_as_an_upper_bound(page: str) -> None:
    assert "perfect <em>(upper bound)</em>" in page  # summary table
    assert "perfect (upper bound)" in page  # cumulative-margin legend
    assert "breakeven (upper bound)" not in page
    assert "always-on (upper bound)" not in page
    assert "upper bound on what any strategy can earn" in page


def test_transaction_fee_note(page: str) -> None:
    assert "Transaction fees are not included" in page
    assert "tx_fees_btc_per_block" in page


def test_summary_table_has_every_strategy(page: str) -> None:
    table = page.split("<table>")[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + len(STRATEGIES)
    for name in STRATEGIES:
        assert f"<td>{name}" in table
    assert "100.0 %" in table  # perfect captures all of its own value


def test_report_states_gaps_from_caiso_data() -> None:
    """CAISO 2023 misses most of late July: the report says how many intervals are missing."""
    site = load_site(EXAMPLES / "caiso-index.yaml")
    bt = prepare_backtest(site, "2023-07-23", "2023-07-25")
    assert bt.gaps.count > 0
    results = [run_strategy(bt, "always-on")]
    text = render_report(report_input(bt, results, comparison(bt, results)))
    assert f"{bt.gaps.count} missing intervals" in text
    assert "excluded, not filled" in text
    assert f"{bt.inputs.num_intervals} intervals" in text
    # without 'perfect' there is no upper bound to label
    assert "(upper bound)" not in text.replace(get_plotlyjs(), "")


# --- hybrid site: GPU hall figure, stream columns, training jobs, inference SLA and 4CP peaks ---

HYBRID_STRATEGIES = ("perfect", "rule-based")
HYBRID_WINDOW = ("2023-08-08", "2023-08-10")  # three local days, with the August 4CP peak (Aug 10)


def _hybrid_site() -> Site:
    """The hybrid example with finetune-b shrunk into the window (llm-pretrain-a stays outside it)."""
    data = yaml.safe_load((EXAMPLES / "west-texas-hybrid.yaml").read_text(encoding="utf-8"))
    job = next(j for j in data["gpu_hall"]["training_jobs"] if j["name"] == "finetune-b")
    job.update(release="2023-08-08", deadline="2023-08-10", gpu_hours=60_000)
    return parse_site(data)


@dataclass(frozen=True)
class Hybrid:
    bt: Backtest
    results: list[StrategyResult]
    page: str
    """report.html without the inlined plotly.js."""
    html: str


@pytest.fixture(scope="module")
def hybrid(tmp_path_factory: pytest.TempPathFactory, plotly_js: str) -> Hybrid:
    bt = prepare_backtest(_hybrid_site(), *HYBRID_WINDOW)
    results = [run_strategy(bt, name) for name in HYBRID_STRATEGIES]
    paths = write_outputs(tmp_path_factory.mktemp("hybrid") / "out", bt, results)
    text = paths["report.html"].read_text(encoding="utf-8")
    assert text.count(plotly_js) == 1
    return Hybrid(bt, results, text.replace(plotly_js, ""), text)


def _cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh]>(.*?)</t[dh]>", row)]


def _table(page: str, kind: str | None = None, strategy: str | None = None) -> list[list[str]]:
    """Rows (header first) of the summary table (no kind) or of a per-strategy table, as plain text."""
    opening = "<table>" if kind is None else f'<table class="{kind}" data-strategy="{strategy}">'
    assert page.count(opening) == 1, opening
    body = page.split(opening)[1].split("</table>")[0]
    return [_cells(row) for row in re.findall(r"<tr>(.*?)</tr>", body)]


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").strip())


def _hall_figure(page: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    found = [f for f in figures(page) if f[1]["title"]["text"].startswith("GPU hall")]
    assert len(found) == 1
    return found[0]


def _hourly_local(series: pd.Series, timezone: str) -> pd.Series:
    local = series.set_axis(pd.DatetimeIndex(series.index).tz_convert(timezone))
    return local.resample("1h").mean()


def test_hybrid_report_has_four_charts(hybrid: Hybrid) -> None:
    assert hybrid.page.count('class="plotly-graph-div"') == 4
    assert hybrid.page.count("Plotly.newPlot(") == 4
    assert "<h2>GPU hall by workload</h2>" in hybrid.page
    assert "<h2>GPU hall and grid programs by strategy</h2>" in hybrid.page


def test_hybrid_report_is_self_contained(hybrid: Hybrid, plotly_js: str) -> None:
    assert f'<script type="text/javascript">{plotly_js}</script>' in hybrid.html
    assert re.search(r"<script[^>]*\bsrc\s*=", hybrid.page, flags=re.IGNORECASE) is None
    assert re.search(r"\bsrc\s*=\s*[\"']?https?:", hybrid.page, flags=re.IGNORECASE) is None
    assert re.search(r"<link[^>]*\bhref\s*=\s*[\"']?https?:", hybrid.page, flags=re.IGNORECASE) is None
    for host in CDN_HOSTS:
        assert host not in hybrid.page


def test_hall_figure_matches_the_ledger(hybrid: Hybrid) -> None:
    """Per strategy panel: each workload's hourly mean GPUs (market-local hours) is the ledger's, the
    stack tops out at the hall's GPUs, and the demand line is the ledger's inference demand."""
    traces, layout = _hall_figure(hybrid.page)
    tz = hybrid.bt.window.timezone
    gpus = 14_000.0
    assert "1h means" in layout["title"]["text"]
    titles = [a["text"] for a in layout["annotations"]]
    assert any(t.startswith("perfect — perfect hindsight (upper bound") for t in titles)
    for row, result in enumerate(hybrid.results, start=1):
        axis = "y" if row == 1 else f"y{row}"
        in_panel = [t for t in traces if t.get("yaxis", "y") == axis]
        panel = {t["name"]: t for t in in_panel}
        assert len(panel) == len(in_panel)  # no gaps: one area per workload
        assert list(panel) == [
            "inference (served)",
            "training: llm-pretrain-a",
            "training: finetune-b",
            "rental",
            "idle",
            "inference demand",
        ]
        frame = result.ledger.intervals
        hourly = {
            c: _hourly_local(frame[c], tz) for c in frame.columns if c.endswith("gpus") or "gpus__" in c
        }
        expected_x = [t.strftime("%Y-%m-%dT%H:%M:%S") for t in hourly["idle_gpus"].index]
        assert [x[:19] for x in panel["idle"]["x"]] == expected_x
        assert expected_x[0] == "2023-08-08T00:00:00"  # local midnight, not UTC
        for name, column in [
            ("inference (served)", "inference_gpus"),
            ("training: llm-pretrain-a", "training_gpus__llm-pretrain-a"),
            ("training: finetune-b", "training_gpus__finetune-b"),
            ("rental", "rental_gpus"),
            ("idle", "idle_gpus"),
        ]:
            np.testing.assert_allclose(array(panel[name]["customdata"]), hourly[column].to_numpy(), atol=1e-6)
        np.testing.assert_allclose(array(panel["idle"]["y"]), gpus, rtol=1e-9)
        np.testing.assert_allclose(
            array(panel["inference demand"]["y"]), hourly["inference_demand_gpus"].to_numpy(), atol=1e-6
        )
        trained = float(array(panel["training: finetune-b"]["customdata"]).sum())  # hourly means x 1 h
        gpu_hours = result.summary.gpu_hours
        assert gpu_hours is not None
        assert trained == pytest.approx(gpu_hours.training["finetune-b"], rel=1e-9)


def test_summary_table_has_the_stream_columns(hybrid: Hybrid) -> None:
    rows = _table(hybrid.page)
    header = rows[0]
    revenue = {
        "inference revenue": "inference",
        "training value": "training",
        "rental revenue": "rental",
        "heat revenue": "heat",
        "ancillary revenue": "ancillary",
    }
    cost = {"SLA penalty (cost)": "sla_penalty", "4CP charge (cost)": "fourcp_charge"}
    for column in [*revenue, *cost, "ASIC energy (MWh)", "GPU hall energy (MWh)"]:
        assert column in header
    assert "energy used (MWh)" not in header
    assert len(rows) == 1 + len(hybrid.results)
    for result, row in zip(hybrid.results, rows[1:], strict=True):
        cell = dict(zip(header, row, strict=True))
        s = result.summary
        assert cell["strategy"] == _strategy_label(result)
        for column, key in revenue.items():
            assert _number(cell[column]) == pytest.approx(getattr(s.revenue_usd, key), abs=0.5)
        for column, key in cost.items():
            assert _number(cell[column]) == pytest.approx(getattr(s.cost_usd, key), abs=0.5)
        frame = result.ledger.intervals
        assert _number(cell["GPU hall energy (MWh)"]) == pytest.approx(
            frame["hall_power_mw"].sum() * hybrid.bt.inputs.interval_hours, abs=0.5
        )
        # every cash flow of the net margin is a column: the margin is their sum (to the rounding)
        money_in = ["mining revenue", "sell-back", *revenue]
        money_out = ["energy cost", "adders", "pool fees", *cost]
        total = sum(_number(cell[c]) for c in money_in) - sum(_number(cell[c]) for c in money_out)
        assert total == pytest.approx(
            _number(cell["net margin (USD)"]), abs=0.5 * (len(money_in + money_out) + 1)
        )
        assert _number(cell["net margin (USD)"]) == pytest.approx(result.ledger.net_margin_usd, abs=0.5)
    # the finetune-b job finishes in the window: its value is in the table, not 0
    assert all(_number(dict(zip(header, r, strict=True))["training value"]) == 1_200_000 for r in rows[1:])


def _strategy_label(result: StrategyResult) -> str:
    return f"{result.name} (upper bound)" if result.policy.uses_hindsight else result.name


def test_training_jobs_table_matches_the_ledger(hybrid: Hybrid) -> None:
    tz = hybrid.bt.window.timezone
    for result in hybrid.results:
        rows = _table(hybrid.page, "training-jobs", result.name)
        header = rows[0]
        by_job = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
        assert set(by_job) == {"llm-pretrain-a", "finetune-b"}
        outcome = next(j for j in result.ledger.jobs if j.name == "finetune-b")
        assert outcome.finished and outcome.finish_utc is not None
        row = by_job["finetune-b"]
        assert row["finished (local)"] == outcome.finish_utc.tz_convert(tz).strftime("%Y-%m-%d %H:%M %Z")
        assert row["deadline (local, end)"] == "2023-08-11 00:00 CDT"  # the end of the deadline day
        assert row["met deadline"] == "yes"
        assert int(row["preemptions"]) == outcome.preemptions
        assert _number(row["GPU-hours lost (restarts, checkpoints)"]) == pytest.approx(
            outcome.gpu_hours_lost, abs=0.5
        )
        assert _number(row["GPU-hours used"]) == pytest.approx(outcome.gpu_hours_used, abs=0.5)
        assert _number(row["value earned (USD)"]) == 1_200_000
        outside = by_job["llm-pretrain-a"]
        assert outside["met deadline"].startswith("not scheduled")
        assert outside["finished (local)"] == "—"


def test_inference_sla_table_matches_the_ledger(hybrid: Hybrid) -> None:
    for result in hybrid.results:
        rows = _table(hybrid.page, "inference-sla", result.name)
        header = rows[0]
        assert len(rows) == 2  # one month
        row = dict(zip(header, rows[1], strict=True))
        frame = result.ledger.intervals
        availability = frame["inference_gpus"].sum() / frame["inference_demand_gpus"].sum()
        assert row["month (local)"] == "2023-08"
        assert _number(row["availability"]) == pytest.approx(100.0 * availability, abs=6e-4)
        assert _number(row["target"]) == pytest.approx(99.9, abs=1e-9)
        assert row["met"] == ("yes" if availability >= 0.999 - 1e-9 else "no")
        dt = hybrid.bt.inputs.interval_hours
        assert _number(row["GPU-hours demanded"]) == pytest.approx(
            frame["inference_demand_gpus"].sum() * dt, abs=0.5
        )
        assert _number(row["GPU-hours served"]) == pytest.approx(frame["inference_gpus"].sum() * dt, abs=0.5)


def test_fourcp_table_shows_the_site_load_at_each_peak(hybrid: Hybrid) -> None:
    peak = pd.Timestamp("2023-08-10T22:00:00Z")  # ERCOT's August 2023 peak hour (17:00 CDT)
    loads = {}
    for result in hybrid.results:
        rows = _table(hybrid.page, "fourcp-peaks", result.name)
        header = rows[0]
        assert len(rows) == 2
        row = dict(zip(header, rows[1], strict=True))
        frame = result.ledger.intervals
        inside = (frame.index >= peak) & (frame.index < peak + pd.Timedelta(hours=1))
        assert row["4CP month"] == "2023-08"
        assert row["peak hour starts (local)"] == "2023-08-10 17:00 CDT"
        assert int(row["intervals in window"]) == int(inside.sum()) == 4
        loads[result.name] = _number(row["site load at the peak (MW)"])
        assert loads[result.name] == pytest.approx(frame["load_mw"][inside].mean(), abs=0.005)
        assert _number(row["4CP charge (USD)"]) == pytest.approx(
            result.summary.cost_usd.fourcp_charge, abs=0.5
        )
    assert loads["perfect"] < loads["rule-based"]  # hindsight knows the peak hour


def test_hybrid_report_labels_the_upper_bound(hybrid: Hybrid) -> None:
    page = hybrid.page
    assert "<td>perfect <em>(upper bound)</em></td>" in page  # summary table
    assert "<h3>perfect <em>(upper bound)</em></h3>" in page  # jobs, SLA and 4CP section
    assert "<h3>rule-based</h3>" in page
    assert "perfect (upper bound)" in page  # cumulative-margin legend
    assert "rule-based (upper bound)" not in page
    assert "rule-based <em>(upper bound)</em>" not in page


def test_mining_only_report_has_no_stream_sections(page: str) -> None:
    header = _table(page)[0]
    assert header == [
        "strategy",
        "net margin (USD)",
        "value captured",
        "mining revenue",
        "sell-back",
        "energy cost",
        "adders",
        "pool fees",
        "all-in power cost (USD/MWh)",
        "energy used (MWh)",
    ]
    for text in (
        "GPU hall",
        "grid programs",
        "training-jobs",
        "inference-sla",
        "fourcp-peaks",
        "4CP",
        "<h3>",
    ):
        assert text not in page


def test_hall_figure_bins_long_windows() -> None:
    """Hourly means up to _GPU_POINTS hours, coarser beyond (a year: 6-hour means)."""

    def bin_for(days: int) -> str:
        start = pd.Timestamp("2023-01-01T06:00Z")
        window = SimpleNamespace(start_utc=start, end_utc=start + pd.Timedelta(days=days))
        return report_module._gpu_bin(cast(Any, SimpleNamespace(window=window)))

    assert bin_for(3) == "1h"
    assert bin_for(62) == "1h"
    assert bin_for(92) == "2h"
    assert bin_for(365) == "6h"
    assert bin_for(3650) == "1D"


def test_hall_figure_shows_gaps_as_bands() -> None:
    """CAISO misses three hours of 30 Nov 2023 (19:45-23:00 UTC): the GPU-hall panel gets the grey band
    and no area spans the gap."""
    spec = yaml.safe_load((EXAMPLES / "caiso-index.yaml").read_text(encoding="utf-8"))["contract"][
        "price_series"
    ]
    bt = prepare_backtest(_hybrid_site(), "2023-11-30", "2023-12-01", prices=spec)
    assert bt.gaps.count > 0
    results = [run_strategy(bt, "rule-based")]
    page = render_report(report_input(bt, results, comparison(bt, results))).replace(get_plotlyjs(), "")
    traces, layout = _hall_figure(page)
    bands = [s for s in layout["shapes"] if s.get("fillcolor") == "#bbbbbb"]
    assert bands
    assert any(a.get("text") == "no price data" for a in layout["annotations"])
    idle = [t for t in traces if t["name"] == "idle"]
    assert len(idle) == 2  # one area per run of hours with prices, none across the gap
    for trace in idle:
        assert not np.isnan(array(trace["y"])).any()
    (demand,) = [t for t in traces if t["name"] == "inference demand"]
    assert np.isnan(array(demand["y"])).any()  # the line breaks in the gap
