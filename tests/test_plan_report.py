"""A plan's report.html: one self-contained page (plotly.js inlined, nothing from the network), each
chart holding the model's numbers, the key figures formatted with their units, and a missing figure
shown as "—" with its reason, never as "nan" or "None"."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from plotly.offline import get_plotlyjs

from plan_report_data import (
    DETERMINISTIC_NPV_USD,
    MONTHS,
    NOTES,
    SAMPLES_USD,
    SWING_ORDER,
    TORNADO_USD,
    WATERFALL_USD,
    distribution,
    report_data,
    summary,
)
from plotly_page import array, assert_self_contained, figures_by_id
from powerfirst.planning.report_data import Breakeven, FanChart, TornadoRow, WaterfallStep
from powerfirst.reporting.plan_report import CHART_IDS, render_plan_report, write_plan_report
from powerfirst.reporting.plan_tables import m_usd, number


@pytest.fixture(scope="module")
def plotly_js() -> str:
    return str(get_plotlyjs())


@pytest.fixture(scope="module")
def html() -> str:
    return render_plan_report(report_data())


def _without_js(html: str, plotly_js: str) -> str:
    assert html.count(plotly_js) == 1
    return html.replace(plotly_js, "")


@pytest.fixture(scope="module")
def page(html: str, plotly_js: str) -> str:
    """The report without the inlined plotly.js library (which names CDN hosts in its own code)."""
    return _without_js(html, plotly_js)


def _text(page: str) -> str:
    """The page's visible text: tags and the charts' scripts removed, whitespace collapsed."""
    page = re.sub(r"<(script|style).*?</\1>", " ", page, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_one_self_contained_document(html: str, page: str, plotly_js: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert html.rstrip().endswith("</html>")
    assert html.count("<html") == 1
    assert f'<script type="text/javascript">{plotly_js}</script>' in html
    assert_self_contained(page)


def test_header_names_the_run(page: str) -> None:
    text = _text(page)
    for part in (
        "Plan: Convert 20 MW of West Texas to AI",
        "west-texas-conversion",
        "West Texas 100 MW",
        "24 months (2 years) from 2027-01",
        "200 Monte Carlo paths, seed 7",
        "Dask LocalCluster on 127.0.0.1 (2 workers)",
        "10.0 %/yr",
    ):
        assert part in text


def test_every_chart_by_id_and_trace_type(page: str) -> None:
    found = figures_by_id(page)
    assert list(found) == list(CHART_IDS)
    types = {k: [t["type"] for t in traces] for k, (traces, _) in found.items()}
    assert types == {
        "plan-waterfall": ["waterfall"],
        "plan-npv-distribution": ["histogram"],
        "plan-tornado": ["bar", "bar"],
        "plan-fan": ["scatter", "scatter", "scatter"],
    }
    for _, layout in found.values():  # units on every value axis
        assert any("M USD" in layout[a]["title"]["text"] for a in ("xaxis", "yaxis"))


def test_waterfall_adds_up_to_the_deterministic_npv(page: str) -> None:
    (trace,), layout = figures_by_id(page)["plan-waterfall"]
    assert trace["x"] == [*WATERFALL_USD, "NPV of the difference"]
    assert trace["measure"] == ["relative"] * len(WATERFALL_USD) + ["total"]
    y = array(trace["y"])
    np.testing.assert_allclose(y[:-1], np.array(list(WATERFALL_USD.values())) / 1e6)
    assert y[:-1].sum() == pytest.approx(y[-1], abs=1e-9)
    assert y[-1] == pytest.approx(DETERMINISTIC_NPV_USD / 1e6)
    assert trace["text"][-1] == "−12.3 M USD"
    assert layout["yaxis"]["title"]["text"] == "NPV of the difference (M USD)"
    assert "in no line item" not in page


def test_waterfall_that_does_not_add_up_is_said_to(plotly_js: str) -> None:
    page = _without_js(render_plan_report(report_data(deterministic_npv_difference_usd=-10.3e6)), plotly_js)
    assert "The line items add up to −12.3 M USD, not to the NPV of the difference (−10.3 M USD)" in page


def test_npv_distribution_draws_every_path_with_its_percentiles(page: str) -> None:
    (trace,), layout = figures_by_id(page)["plan-npv-distribution"]
    np.testing.assert_allclose(array(trace["x"]), SAMPLES_USD / 1e6)
    lines = sorted(shape["x0"] for shape in layout["shapes"])
    p10, p50, p90 = np.percentile(SAMPLES_USD, [10, 50, 90]) / 1e6
    np.testing.assert_allclose(lines, sorted([p10, p50, p90, 0.0]))
    notes = [a["text"] for a in layout["annotations"]]
    assert f"P10 {m_usd(p10 * 1e6)}" in notes
    assert "0: plan = baseline" in notes
    assert layout["xaxis"]["title"]["text"] == "NPV of the difference (M USD)"
    assert layout["yaxis"]["title"]["text"] == "paths (count)"


def test_tornado_is_sorted_by_swing_from_the_base(page: str) -> None:
    (low, high), layout = figures_by_id(page)["plan-tornado"]
    assert low["y"] == SWING_ORDER and high["y"] == SWING_ORDER
    assert layout["yaxis"]["autorange"] == "reversed"  # the first (largest swing) on top
    by_driver = {d: (lo, hi) for d, lo, hi in TORNADO_USD}
    base = DETERMINISTIC_NPV_USD / 1e6
    for trace, side in ((low, 0), (high, 1)):
        assert trace["orientation"] == "h"
        assert trace["base"] == pytest.approx(base)
        ends = base + array(trace["x"])
        np.testing.assert_allclose(ends, [by_driver[d][side] / 1e6 for d in SWING_ORDER])
    swings = [abs(hi - lo) for lo, hi in zip(array(low["x"]), array(high["x"]), strict=True)]
    assert swings == sorted(swings, reverse=True)
    assert low["text"][0] == "BTC price low: 2.7 M USD"
    assert high["text"][0] == "BTC price high: −27.3 M USD"


def test_fan_chart_band_and_median(page: str) -> None:
    (p10, p90, p50), layout = figures_by_id(page)["plan-fan"]
    data = report_data().fan
    for trace, values in ((p10, data.p10_usd), (p50, data.p50_usd), (p90, data.p90_usd)):
        assert trace["x"] == MONTHS
        np.testing.assert_allclose(array(trace["y"]), np.array(values) / 1e6)
    assert p90["fill"] == "tonexty" and p90["name"] == "P10–P90"
    assert layout["yaxis"]["title"]["text"] == "cumulative difference (M USD)"


def test_key_figures_formatted_with_units(page: str) -> None:
    text = _text(page)
    npv = report_data().summary.npv_difference_usd
    row = f"NPV of the difference (plan − baseline) {m_usd(npv.p10)} {m_usd(npv.p50)} {m_usd(npv.p90)}"
    assert row in text
    assert "NPV of the plan 180.0 M USD 210.0 M USD 250.0 M USD 212.0 M USD 200 of 200" in text
    assert "IRR of the difference −3.5 %/yr 6.2 %/yr 14.0 %/yr 6.0 %/yr 180 of 200" in text
    assert "lowest annual DSCR of the plan 0.91 1.35 1.80 1.33" in text
    assert "NPV of the difference on the deterministic base path −12.3 M USD" in text
    assert "probability the plan beats staying with mining 42.0 %" in text
    assert "converted 20.0 MW of 100.0 MW mining (20.0 %)" in text
    assert "payback of the difference — (the conversion pays back within the horizon on no path)" in text


def test_breakevens_table(page: str) -> None:
    text = _text(page)
    assert "hashprice 38.5 USD/PH/day 52.1 first-year mean hashprice" in text
    assert "GPU price none in range USD/GPU-h 2.10 no GPU price in 0.5 to 10 USD/GPU-h" in text


def test_every_note_listed_once(page: str) -> None:
    notes = re.search(r'<ul class="notes">(.*?)</ul>', page, flags=re.DOTALL)
    assert notes is not None
    items = re.findall(r"<li>(.*?)</li>", notes.group(1))
    assert items == [*NOTES, "The debt still owed at the horizon is repaid in its last month."]


def _nan_free(page: str) -> None:
    text = _text(page)
    for word in ("nan", "inf", "null", "undefined"):
        assert re.search(rf"\b{word}\b", text, flags=re.IGNORECASE) is None, word
    assert re.search(r"\bNone\b", text) is None
    for traces, layout in figures_by_id(page).values():  # no NaN drawn: Plotly would show it as 0
        _no_nan_in(traces)
        _no_nan_in(layout)


def _no_nan_in(value: Any) -> None:
    """No NaN in a chart's JSON: its numbers, its lists and its base64 arrays."""
    if isinstance(value, dict) and "bdata" in value:
        assert not np.isnan(array(value).astype(np.float64)).any()
    elif isinstance(value, dict):
        for item in value.values():
            _no_nan_in(item)
    elif isinstance(value, list):
        for item in value:
            _no_nan_in(item)
    elif isinstance(value, float):
        assert not math.isnan(value)


def test_missing_and_nan_figures_read_as_a_dash(plotly_js: str) -> None:
    nan = math.nan
    data = report_data(
        summary=summary(
            irr_difference_pct_per_year=None,
            min_dscr=None,
            npv_plan_usd=distribution(nan, 210e6, nan, 212e6, 200),
        ),
        npv_difference_samples_usd=[*SAMPLES_USD[:-2], nan, nan],
        waterfall=[WaterfallStep(label="tax", npv_usd=nan), WaterfallStep(label="capex", npv_usd=-12.3e6)],
        tornado=[
            TornadoRow(
                driver="fees",
                low_label="fees low",
                high_label="fees high",
                npv_difference_low_usd=nan,
                npv_difference_high_usd=1e6,
            ),
            *report_data().tornado,
        ],
        breakevens=[Breakeven(name="hashprice", value=nan, unit="USD/PH/day", base_value=nan, note="n/a")],
        fan=FanChart(months=MONTHS[:2], p10_usd=[nan, 1e6], p50_usd=[0.0, 2e6], p90_usd=[1e6, 3e6]),
    )
    html = render_plan_report(data)
    page = _without_js(html, plotly_js)
    _nan_free(page)
    text = _text(page)
    assert "IRR of the difference — (no path has an IRR" in text
    assert "lowest annual DSCR of the plan — (the plan has no debt service)" in text
    assert "NPV of the plan — 210.0 M USD — 212.0 M USD" in text
    assert "2 paths with no finite NPV are left out." in text
    assert "tax: not drawn, its NPV is not a number" in text
    assert "fees: not drawn, an NPV at its settings is not a number" in text
    assert "hashprice — USD/PH/day —" in text
    fan = figures_by_id(page)["plan-fan"][0]
    assert fan[0]["y"][0] is None  # a gap in the band, not a number
    assert "fees" not in figures_by_id(page)["plan-tornado"][0][0]["y"]


def test_deterministic_only_report(plotly_js: str) -> None:
    one = distribution(-12.3e6, -12.3e6, -12.3e6, -12.3e6, 1)
    data = report_data(
        summary=summary(num_paths=1, seed=None, npv_difference_usd=one, probability_plan_beats_baseline=0.0),
        npv_difference_samples_usd=[],
    )
    page = _without_js(render_plan_report(data), plotly_js)
    assert_self_contained(page)
    assert list(figures_by_id(page)) == ["plan-waterfall", "plan-tornado", "plan-fan"]
    text = _text(page)
    assert "Deterministic only: no Monte Carlo paths" in text
    assert "1 deterministic path (no seed)" in text
    _nan_free(page)


def test_text_from_the_model_is_escaped(plotly_js: str) -> None:
    page = _without_js(
        render_plan_report(report_data(title="<script>x()</script>", notes=["a <b>bold</b> claim"])),
        plotly_js,
    )
    assert "<script>x()</script>" not in page
    assert "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "a &lt;b&gt;bold&lt;/b&gt; claim" in page


def test_number_formats() -> None:
    assert m_usd(-12.34e6) == "−12.3 M USD"
    assert m_usd(1234.56e6) == "1,234.6 M USD"
    assert m_usd(-0.01e6) == "0.0 M USD"  # no "−0.0"
    assert m_usd(None) == "—" and m_usd(math.nan) == "—" and m_usd(math.inf) == "—"
    assert number(0.004321) == "0.00432"
    assert number(2.104) == "2.10"
    assert number(52.14) == "52.1"
    assert number(-1234.5) == "−1,234"


def test_write_plan_report(tmp_path: Path, html: str) -> None:
    path = write_plan_report(tmp_path / "report.html", report_data())
    assert path.read_text(encoding="utf-8") == html
