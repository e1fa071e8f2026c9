"""report.html is one self-contained file: plotly.js inlined, no CDN, three charts, and the caveats
(perfect is an upper bound; transaction fees are not in the bundled hashprice)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs

from powerfirst.backtest.outputs import write_outputs
from powerfirst.backtest.runner import comparison, prepare_backtest, run_strategy
from powerfirst.report import render_report
from powerfirst.site import load_site

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
STRATEGIES = ("perfect", "breakeven", "always-on")
CDN_HOSTS = ("cdn.plot.ly", "cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "ajax.googleapis.com")


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
    text = render_report(bt, results, comparison(bt, results))
    assert f"{bt.gaps.count} missing intervals" in text
    assert "excluded, not filled" in text
    assert f"{bt.inputs.num_intervals} intervals" in text
    # without 'perfect' there is no upper bound to label
    assert "(upper bound)" not in text.replace(get_plotlyjs(), "")
