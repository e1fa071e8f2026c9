"""The report renders in a real browser with the network cut off: every chart draws from the
inlined plotly.js, so the file works offline and needs no CDN."""

from __future__ import annotations

from pathlib import Path

from headless_chromium import load
from powerfirst.backtest.outputs import write_outputs
from powerfirst.backtest.runner import prepare_backtest, run_strategy
from powerfirst.policies.registry import load_site

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_report_renders_every_chart_offline(tmp_path: Path) -> None:
    site = load_site(EXAMPLES / "west-texas-fixed-block.yaml")
    bt = prepare_backtest(site, "2023-08-01", "2023-08-03")
    results = [run_strategy(bt, name) for name in ("perfect", "breakeven")]
    paths = write_outputs(tmp_path / "out", bt, results)
    loaded = load(paths["report.html"], tmp_path)
    assert not [m for m in loaded.console if "Uncaught" in m]
    dom = loaded.dom
    # Plotly adds class "js-plotly-plot" and draws "main-svg" layers only when its JS ran
    assert dom.count('class="plot-container plotly"') == 3
    assert dom.count("js-plotly-plot") >= 3
    assert dom.count('class="main-svg"') >= 6
    assert "perfect (upper bound)" in dom
    assert "breakeven" in dom
