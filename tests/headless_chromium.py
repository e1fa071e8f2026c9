"""Loading a report in headless Chromium with the network cut off (shared by the reports' browser
tests): the DOM after its scripts ran, and what the page wrote to the console."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

_CONSOLE = re.compile(r":CONSOLE(?:\(\d+\))?:?\d*\]\s*(.*)")


def chromium() -> str:
    """The Chromium binary; the test is skipped when POWERFIRST_SKIP_BROWSER is set and fails when
    Chromium is not installed."""
    if os.environ.get("POWERFIRST_SKIP_BROWSER"):
        pytest.skip("POWERFIRST_SKIP_BROWSER is set")
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "Chromium is not installed: scripts/system-deps.sh installs it (apt-get install chromium)"
        )
    return path


@dataclass(frozen=True)
class Loaded:
    dom: str
    """The document after its scripts ran (``--dump-dom``)."""
    console: list[str]
    """Every console message, uncaught errors included, as Chromium logs them."""


def load(page: Path, workdir: Path) -> Loaded:
    """Load ``page`` offline (every request goes to a closed proxy on 127.0.0.1:9, so a chart that
    needed a CDN would not draw) and return its DOM and console (at most 120 s)."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        f"--user-data-dir={workdir / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=15000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    console = [m.group(1) for line in done.stderr.splitlines() if (m := _CONSOLE.search(line))]
    return Loaded(dom=done.stdout, console=console)
