"""A warning raised in a Dask worker (a margin cache it cannot write) is told in the process that
runs the sweep, as when the sweep runs in that process (issue 13)."""

from __future__ import annotations

import functools
import warnings

import pytest

from powerfirst.planning.margins_cache import MarginCacheWarning
from powerfirst.planning.sweep import executor


@pytest.mark.parametrize("cluster", ["none", "local"])
def test_a_tasks_warnings_are_told_in_the_process_that_runs_the_sweep(cluster: str) -> None:
    task = functools.partial(warnings.warn, category=MarginCacheWarning)
    messages = ["margin cache: cannot write /nowhere/a (read-only)", "margin cache: cannot write /nowhere/b"]
    with executor(cluster, workers=1) as ex, pytest.warns(MarginCacheWarning) as told:
        results = ex.map(task, messages)
    assert results == [None, None]
    assert sorted(str(w.message) for w in told) == sorted(messages)
