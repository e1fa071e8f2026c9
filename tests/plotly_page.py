"""Reading a report page's Plotly figures back: the JSON of each ``Plotly.newPlot`` call, and its
arrays (Plotly writes numpy arrays as base64 typed arrays). Shared by the reports' tests."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import numpy as np

CDN_HOSTS = ("cdn.plot.ly", "cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "ajax.googleapis.com")

Figure = tuple[list[dict[str, Any]], dict[str, Any]]


def array(value: Any) -> np.ndarray:
    """A Plotly JSON array: a list, or base64 typed-array data ({"dtype", "bdata"})."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)


def figures_by_id(page: str) -> dict[str, Figure]:
    """(traces, layout) of every Plotly.newPlot call in the page, by the id of its div."""
    decoder = json.JSONDecoder()
    found = {}
    for match in re.finditer(r'Plotly\.newPlot\(\s*"([^"]+)",\s*', page):
        traces, end = decoder.raw_decode(page, match.end())
        comma = re.compile(r"\s*,\s*").match(page, end)
        assert comma is not None
        layout, _ = decoder.raw_decode(page, comma.end())
        assert match.group(1) not in found, f"two charts with the id {match.group(1)}"
        found[match.group(1)] = (traces, layout)
    return found


def figures(page: str) -> list[Figure]:
    """(traces, layout) of every Plotly.newPlot call in the page, in page order."""
    return list(figures_by_id(page).values())


def assert_self_contained(page: str) -> None:
    """No script, stylesheet or import loaded from the network (``page`` without plotly.js itself,
    whose code names CDN hosts)."""
    assert re.search(r"<script[^>]*\bsrc\s*=", page, flags=re.IGNORECASE) is None
    assert re.search(r"\b(src|href)\s*=\s*[\"']?https?:", page, flags=re.IGNORECASE) is None
    assert re.search(r"@import", page) is None
    for host in CDN_HOSTS:
        assert host not in page
    assert "require.js" not in page
    assert "mathjax" not in page.lower()
