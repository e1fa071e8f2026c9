"""Forecasts of a rolling backtest computed ahead, on the second core, from the same information.

A rolling year re-solves every clock hour, and each re-solve first asks the forecaster (and the 4CP
predictor) about the next hours: about 2–3 ms per hour on one core, a quarter to a third of the
run. Those forecasts depend only on what the market had revealed at the issue time — not on any
decision — so a backtest can compute them in a worker process while the main process decides: the
worker advances its own :class:`~powerfirst.market.information.MarketClock` over the same
:class:`~powerfirst.market.information.MarketData` to each clock hour of the window and runs the
same ``predict`` and ``probability`` on the history it reveals. Nothing after an issue time enters
its forecast, exactly as when the policy computes it itself.

The main process takes a forecast only for the issue time and hours it asks about
(:meth:`ForecastPrefetch.take`); anything else (a re-solve within the hour, an hour the worker has
not reached yet or could not forecast) is computed in the policy as usual. Both ways give the same
numbers, so a run's results do not depend on whether, or how far, the worker got ahead. A live
controller has no realised future to prefetch from and never uses this.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from powerfirst._types import Array, IntArray
from powerfirst.calendar import NS_PER_HOUR
from powerfirst.control.contract import Policy
from powerfirst.dispatch.inputs import DispatchInputs
from powerfirst.forecast.base import PriceForecaster
from powerfirst.forecast.known import KnownArrays
from powerfirst.fourcp.predictor import FourCpPredictor
from powerfirst.market.information import MarketData, MarketHistory
from powerfirst.policies.horizon import PrefetchedForecast, horizon_hours_ns
from powerfirst.policies.rolling import RollingPolicy

__all__ = ["ForecastPrefetch", "prefetch_for", "scheduled_issue_times_ns", "worth_prefetching"]

_MIN_ISSUES = 24 * 7
"""Fewer hourly re-solves than this are not worth starting a worker process for (~1–2 s)."""


def worth_prefetching(issues: int) -> bool:
    """A worker pays off for a window of at least a week, on a machine with a second core."""
    return issues >= _MIN_ISSUES and (os.cpu_count() or 1) >= 2


def scheduled_issue_times_ns(
    times_ns: IntArray, prices_usd_per_mwh: Array, move_trigger_usd_per_mwh: float | None
) -> IntArray:
    """When a rolling policy will re-solve over the window's intervals (UTC ns): the first interval
    of each clock hour, and — with ``move_trigger_usd_per_mwh`` (mining-only sites) — each interval
    whose last settled price is more than the trigger away from the price the plan assumed for it.
    Within the plan's first clock hour that price is the last settled price when the plan was made
    (the nowcast), so these times follow from the settled prices alone. A re-solve that fails and
    falls back is not foreseen here; the policy then computes what it needs itself."""
    times = np.asarray(times_ns, dtype=np.int64)
    prices = np.asarray(prices_usd_per_mwh, dtype=np.float64)
    hours = times // NS_PER_HOUR
    issues: list[int] = []
    anchor: float | None = None
    for t in range(times.size):
        if t == 0 or hours[t] != hours[t - 1]:
            issues.append(t)
            anchor = float(prices[t - 1]) if t > 0 else None
        elif (
            move_trigger_usd_per_mwh is not None
            and anchor is not None
            and abs(float(prices[t - 1]) - anchor) > move_trigger_usd_per_mwh
        ):
            issues.append(t)
            anchor = float(prices[t - 1])
    return times[np.asarray(issues, dtype=np.int64)]


@dataclass(frozen=True)
class _Job:
    forecaster: PriceForecaster
    fourcp: FourCpPredictor | None
    data: MarketData
    issues_ns: IntArray
    step_ns: int
    length: int


_Message = tuple[int, Array | None, int | None, Array | None]
"""(issue time [UTC ns], quantiles or None: not forecast, latest day-ahead hour known [UTC ns],
4CP probability per hour or None)."""


def _last_day_ahead_ns(history: MarketHistory) -> int | None:
    """Start of the latest day-ahead hour known in ``history`` [UTC ns] (None: none), as the
    forecasters count it (:class:`~powerfirst.forecast.base.DayAheadGaps`)."""
    known = KnownArrays.of(history)
    return int(known.da_ns[-1]) if known.da_ns.size else None


_HEADER = struct.Struct("<Q")
"""Each message on the worker's stdout: its length (8 bytes, little-endian), then the pickle."""
_READ_BYTES = 1 << 16
"""Most bytes read from the worker's pipe at a time (a pipe's usual capacity)."""


def _send(out: BinaryIO, message: _Message | None) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(data)) + data)
    out.flush()


def _serve(job: _Job, out: BinaryIO) -> None:
    """The worker: one message per issue time, in order; ``None`` at the end."""
    clock = job.data.clock()
    for issued_ns in job.issues_ns:
        issued = pd.Timestamp(int(issued_ns), tz="UTC")
        clock.advance(issued)
        history = clock.view.history()
        hours = pd.DatetimeIndex(horizon_hours_ns(int(issued_ns), job.step_ns, job.length), tz="UTC")
        try:
            quantiles = job.forecaster.predict(history, hours)
            probability = job.fourcp.probability(history, hours) if job.fourcp is not None else None
        except Exception:  # the policy computes it itself, and fails or falls back as it would
            _send(out, (int(issued_ns), None, None, None))
            continue
        _send(out, (int(issued_ns), quantiles, _last_day_ahead_ns(history), probability))
    _send(out, None)


def _main() -> None:
    """``python -m powerfirst.backtest.prefetch``: the job from stdin, messages to stdout."""
    try:
        job = pickle.load(sys.stdin.buffer)
        _serve(job, sys.stdout.buffer)
    except (BrokenPipeError, KeyboardInterrupt):  # the backtest has ended or was interrupted
        pass


class ForecastPrefetch:
    """The worker process and the main process's end of its pipe (see the module docstring)."""

    def __init__(
        self,
        forecaster: PriceForecaster,
        fourcp: FourCpPredictor | None,
        data: MarketData,
        issues_ns: IntArray,
        step_ns: int,
        length: int,
    ) -> None:
        self.taken = 0
        """Forecasts the policy took from the worker [count]."""
        job = pickle.dumps(
            _Job(forecaster, fourcp, data, np.asarray(issues_ns), step_ns, length),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        # a plain child process running this module (not multiprocessing, which would import the
        # caller's main module again), finding powerfirst where this process found it
        package_root = str(Path(__file__).resolve().parents[2])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
        }
        self._pending: _Message | None = None
        self._buffer = bytearray()
        """Bytes read from the worker and not yet taken apart (whole messages, then maybe part of one)."""
        self._step_ns, self._length = step_ns, length
        self._process: subprocess.Popen[bytes] | None = None
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "powerfirst.backtest.prefetch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                bufsize=0,
            )
            assert self._process.stdin is not None
            self._process.stdin.write(job)
            self._process.stdin.close()
        except OSError:  # no worker (none may be started here): the policy computes every forecast
            self.close()

    def ready(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the worker's first forecast (tests; a backtest never waits)."""
        process = self._process
        if process is None or process.stdout is None:
            return False
        return bool(select.select([process.stdout.fileno()], [], [], timeout_s)[0])

    def _read(self) -> _Message | None:
        """The next message when one is ready, else None (never waits for the worker to compute).

        Whatever the pipe holds is read in one call and kept (several messages at a time: fewer
        system calls, and the worker, blocked on a full pipe, is woken once for all of them)."""
        process = self._process
        if process is None or process.stdout is None:
            return None
        fd = process.stdout.fileno()
        size = self._next_size()
        if size is None or len(self._buffer) < size:
            if not select.select([fd], [], [], 0)[0]:
                return None
            chunk = os.read(fd, _READ_BYTES)
            self._buffer += chunk
            size = self._next_size()
            # a message is written in one go: the rest of one begun is on its way
            while chunk and (size is None or len(self._buffer) < size):
                chunk = os.read(fd, _READ_BYTES)
                self._buffer += chunk
                size = self._next_size()
            if not chunk:  # the worker is gone
                self.close()
                return None
        assert size is not None
        body = bytes(self._buffer[_HEADER.size : size])
        del self._buffer[:size]
        message: _Message | None = pickle.loads(body)
        if message is None:  # the worker is done
            self.close()
        return message

    def _next_size(self) -> int | None:
        """Bytes of the next message in the buffer, header included (None: no whole header yet)."""
        if len(self._buffer) < _HEADER.size:
            return None
        return _HEADER.size + int(_HEADER.unpack_from(self._buffer)[0])

    def take(self, issued_ns: int, hours_ns: IntArray) -> PrefetchedForecast | None:
        """The worker's forecast issued at ``issued_ns`` for ``hours_ns`` when it is ready; None:
        the policy computes it (the worker has not got there, could not forecast, or forecast other
        hours). Never waits for the worker."""
        while True:
            message, self._pending = (self._pending or self._read()), None
            if message is None:
                return None
            at, quantiles, last_da_ns, probability = message
            if at < issued_ns:
                continue  # an hour the policy did not re-solve on schedule
            if at > issued_ns:
                self._pending = message  # a re-solve within the hour: keep it for its hour
                return None
            expected = horizon_hours_ns(issued_ns, self._step_ns, self._length)
            if quantiles is None or not np.array_equal(expected, hours_ns):
                return None
            self.taken += 1
            return PrefetchedForecast(quantiles, last_da_ns, probability)

    def close(self) -> None:
        """Stop the worker and release its pipe."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def prefetch_for(
    policy: Policy, inputs: DispatchInputs, market: MarketData | None
) -> ForecastPrefetch | None:
    """For a rolling policy that re-solves on the clock hour, over a window long enough to pay for
    a worker: its forecasts computed ahead, handed to the policy (call :meth:`ForecastPrefetch.close`
    after the run). None: the policy computes them itself."""
    if not isinstance(policy, RollingPolicy) or market is None:
        return None
    if policy.config.resolve_every_intervals is not None:
        return None  # re-solves not on the clock hour: nothing to compute ahead
    site = inputs.site
    mining_only = site.hall is None and not site.num_products  # where rolling re-solves on price moves
    issues = scheduled_issue_times_ns(
        inputs.times_utc.as_unit("ns").asi8,
        inputs.price_usd_per_mwh,
        policy.config.resolve_on_price_move_usd_per_mwh if mining_only else None,
    )
    if not worth_prefetching(len(issues)):
        return None
    fourcp = policy.fourcp if policy.fourcp is not None and policy.fourcp.fitted else None
    prefetch = ForecastPrefetch(
        policy.forecaster,
        fourcp,
        market,
        issues,
        step_ns=int(pd.Timedelta(hours=site.interval_hours) / pd.Timedelta(1)),
        length=max(round(policy.config.horizon_hours / site.interval_hours), 1),
    )
    policy.prefetch = prefetch
    return prefetch


if __name__ == "__main__":
    _main()
