"""The report renders in a real browser with the network cut off: every chart draws from the
inlined plotly.js, so the file works offline and needs no CDN."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from powerfirst.backtest.outputs import write_outputs
from powerfirst.backtest.runner import prepare_backtest, run_strategy
from powerfirst.policies.registry import load_site

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _chromium() -> str:
    if os.environ.get("POWERFIRST_SKIP_BROWSER"):
        pytest.skip("POWERFIRST_SKIP_BROWSER is set")
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "Chromium is not installed: scripts/system-deps.sh installs it (apt-get install chromium)"
        )
    return path


def test_report_renders_every_chart_offline(tmp_path: Path) -> None:
    chromium = _chromium()
    site = load_site(EXAMPLES / "west-texas-fixed-block.yaml")
    bt = prepare_backtest(site, "2023-08-01", "2023-08-03")
    results = [run_strategy(bt, name) for name in ("perfect", "breakeven")]
    paths = write_outputs(tmp_path / "out", bt, results)
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        # no network at all: a chart that needed a CDN would not draw
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=15000",
        "--dump-dom",
        paths["report.html"].resolve().as_uri(),
    ]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    # Plotly adds class "js-plotly-plot" and draws "main-svg" layers only when its JS ran
    assert dom.count('class="plot-container plotly"') == 3
    assert dom.count("js-plotly-plot") >= 3
    assert dom.count('class="main-svg"') >= 6
    assert "perfect (upper bound)" in dom
    assert "breakeven" in dom
