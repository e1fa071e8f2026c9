"""A plan's report draws every chart in a real browser with the network cut off (plotly.js inlined),
and its scripts raise no error."""

from __future__ import annotations

from pathlib import Path

from headless_chromium import load
from plan_report_data import SWING_ORDER, WATERFALL_USD, report_data
from powerfirst.reporting.plan_report import CHART_IDS, write_plan_report


def test_plan_report_draws_every_chart_offline(tmp_path: Path) -> None:
    page = write_plan_report(tmp_path / "report.html", report_data())
    loaded = load(page, tmp_path)
    assert [m for m in loaded.console if "Uncaught" in m or "Error" in m] == []
    dom = loaded.dom
    # Plotly adds class "js-plotly-plot" and draws "main-svg" layers only when its JS ran
    assert dom.count('class="plot-container plotly"') == len(CHART_IDS)
    for div_id in CHART_IDS:
        assert f'id="{div_id}" class="plotly-graph-div js-plotly-plot"' in dom
    assert dom.count('class="main-svg"') >= 2 * len(CHART_IDS)
    assert 'class="waterfalllayer' in dom  # the waterfall's bars
    assert dom.count('class="trace scatter') == 3  # the fan's band edges and median
    for label in (*SWING_ORDER, *WATERFALL_USD, "NPV of the difference (M USD)", "paths (count)"):
        assert label in dom, label
