"""The live agent: a wall clock (or a replay clock) over the same policies and plant as the backtest.

Each interval the agent

1. reads the signals (settled prices from a :class:`~powerfirst.live.signals.SignalSource`, the
   hashprice published by then) and every miner's telemetry;
2. builds the same :class:`~powerfirst.control.contract.Observation` the backtest's replay clock
   builds (:mod:`powerfirst.live.observe`) and asks the same
   :class:`~powerfirst.control.contract.Policy`, in a worker thread with half an interval to
   answer — unless the watchdog (feed stale, policy failed, hung or wrong) or an instruction
   (hold, curtail N MW, a grid event held for its minutes) overrides it;
3. passes the decision through the same :class:`~powerfirst.control.plant.Plant`;
4. turns each fleet's power into the miners that should run (:mod:`powerfirst.live.fleet_map`)
   and each training job's GPUs into its Slurm job running or held (:mod:`powerfirst.live.gpu_jobs`),
   journals each change durably (:mod:`powerfirst.live.journal`) and only then sends it, sheds
   before restores, in waves (``stagger_s``, ``max_step_mw``);
5. confirms each command from telemetry (:mod:`powerfirst.live.reconcile`), puts drifted miners
   back, and fails what is not confirmed in ``confirm_within_s``.

A restarted agent first reconciles the journal's open commands with what the devices show
(:meth:`powerfirst.live.reconcile.Reconciler.recover`), so no command is lost or repeated, and
holds the instruction that was in force; ``resume`` lets a replay go on from where it stopped. Power in MW for
fleets and W for devices; times in seconds since the epoch (UTC) on the agent's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from powerfirst.backtest.reveal import WindowReveal
from powerfirst.control.contract import Policy
from powerfirst.control.decision import Decision
from powerfirst.control.interval import IntervalInput
from powerfirst.control.plant import Plant
from powerfirst.live.clock import AgentClock, ReplayClock
from powerfirst.live.devices import DeviceDriver, DeviceInfo, DeviceReading, DeviceStatus
from powerfirst.live.fleet_map import FleetMap
from powerfirst.live.gpu_jobs import JobReconciler
from powerfirst.live.heap import freeze_setup
from powerfirst.live.journal import Journal
from powerfirst.live.logs import log_event
from powerfirst.live.metrics import AgentMetrics
from powerfirst.live.observe import Observer
from powerfirst.live.reconcile import Reconciler
from powerfirst.live.signals import SignalSource
from powerfirst.market.information import MarketData
from powerfirst.site.live import LiveConfig
from powerfirst.site.params import SiteParams

__all__ = ["Agent", "StepRecord"]


@dataclass(frozen=True)
class StepRecord:
    """What the agent decided and did in one interval."""

    step: int
    start_s: float
    power_mw: np.ndarray
    """Each fleet's power after the plant, (F,) [MW]."""
    basis: str
    """``policy``, ``safe state: …`` (watchdog), ``hold`` or ``curtail N MW`` (manual)."""
    running: tuple[int, ...]
    """Miners each fleet should run."""
    commands: int
    """Commands journaled and sent in this interval [count]."""
    observed_running: tuple[int, ...] = ()
    """Miners of each fleet whose telemetry showed them hashing when the interval started (the
    previous interval's commands at work)."""
    late_s: float = 0.0
    """How far behind its clock the agent started this interval [s, agent clock] (a slow policy or
    slow devices: the previous interval's commands had less time to take effect)."""


@dataclass(frozen=True)
class Override:
    """A manual instruction or grid event that holds the site's power until released or over."""

    basis: str
    level_mw: np.ndarray
    """Each fleet's power it holds, (F,) [MW]."""
    source: str | None = None
    event_id: str | None = None
    until_s: float | None = None
    """When a grid event ends [s since the epoch] (None: when released)."""
    baseline_mw: float = 0.0
    """Site power measured when it arrived [MW] (the settlement's baseline)."""


class Agent:
    """One site's live loop (see the module docstring)."""

    def __init__(
        self,
        *,
        site: SiteParams,
        policy: Policy,
        source: SignalSource,
        hashprice_daily: pd.Series,
        clock: AgentClock,
        driver: DeviceDriver | None,
        config: LiveConfig,
        journal: Journal,
        market: MarketData | None = None,
        dry_run: bool = False,
        echo: Callable[[str], None] = print,
        metrics: AgentMetrics | None = None,
        stale_after_s: float | None = None,
        on_step: Callable[[StepRecord], None] | None = None,
        window: WindowReveal | None = None,
        jobs_driver: DeviceDriver | None = None,
    ) -> None:
        self.site = site
        self.on_step = on_step
        """Called with each interval's record (the CLI prints it)."""
        self.policy = policy
        self.clock = clock
        self.driver = driver
        self.config = config
        self.journal = journal
        self.dry_run = dry_run
        self.echo = echo
        self.metrics = metrics
        self.stale_after_s = (
            stale_after_s
            if stale_after_s is not None
            else (config.price_feed.stale_after_s if config.price_feed is not None else 2 * source.interval_s)
        )
        self.interval_s = site.interval_hours * 3600.0
        self.plant = Plant(site)
        self.fleet_map = FleetMap([(f.name, f.max_power_mw, []) for f in site.fleets])
        self.devices: dict[str, DeviceInfo] = {}
        self.readings: dict[str, DeviceReading] = {}
        self.observer = Observer(
            source, hashprice_daily, clock, journal, site.interval_hours * 3600.0, market, window
        )
        self.manual: Override | None = None
        """A manual instruction or grid event in force."""
        self._last_sample_s = -math.inf
        self._deciding: asyncio.Future[Decision | np.ndarray] | None = None
        self.min_policy_wait_real_s = 5.0
        """The policy gets half an interval, and at least this long in real time [s], to decide."""
        self.records: list[StepRecord] = []
        self.training_gpus: list[np.ndarray] = []
        """Each interval's GPUs per training job after the plant, (J,)."""
        self.reconciler = Reconciler(journal, driver, config, clock, echo, metrics, dry_run=dry_run)
        self.jobs: JobReconciler | None = None
        if jobs_driver is not None and site.hall is not None and site.num_jobs:
            slurm = config.slurm
            self.jobs = JobReconciler(
                journal,
                jobs_driver,
                clock,
                checkpoint_grace_s=slurm.checkpoint_grace_s if slurm is not None else 60.0,
                max_changes_per_hour=config.max_changes_per_device_per_hour,
                echo=echo,
            )
        self.job_readings: dict[str, DeviceReading] = {}

    # --- start
    async def start(self, *, restore_plant: bool = True) -> None:
        """Reset the policy, find the fleets' miners, rank them, and reconcile the journal's open
        commands. ``restore_plant``: start the plant from what the journal last asked of the
        miners (a restart that does not replay its past)."""
        self.policy.reset(self.site)
        groups: list[list[DeviceInfo]] = [[] for _ in self.site.fleets]
        if self.driver is not None:
            found = await self.driver.discover()
            nets = {
                i: [ipaddress.ip_network(a, strict=False) for a in self.config.fleets[f.name].addresses]
                for i, f in enumerate(self.site.fleets)
                if f.name in self.config.fleets
            }
            for info in found:
                try:
                    address = ipaddress.ip_address(info.device_id)
                except ValueError:
                    continue
                for i, fleet_nets in nets.items():
                    if any(address in net for net in fleet_nets):
                        groups[i].append(info)
                        self.devices[info.device_id] = info
                        break
        self.fleet_map = FleetMap(
            [(f.name, f.max_power_mw, groups[i]) for i, f in enumerate(self.site.fleets)]
        )
        desired = self.journal.desired()
        if restore_plant and any(m.device_id in desired for g in self.fleet_map.fleets for m in g.miners):
            # a restart: the site runs what the journal last asked of it, not full power
            power = [
                self.fleet_map.power_share(
                    f, sum(1 for m in g.miners if desired.get(m.device_id, ("running", None))[0] == "running")
                )
                for f, g in enumerate(self.fleet_map.fleets)
            ]
            self.plant = Plant(self.site, np.array(power, dtype=np.float64))
            self.journal.audit(self.clock.now(), "restarted", power_mw=[round(p, 6) for p in power])
        for note in self.fleet_map.mismatches():
            self.echo(note)
            self.journal.audit(self.clock.now(), "fleet_mismatch", note=note)
        self.echo("miners found: " + ", ".join(f"{g.fleet} {len(g.miners)}" for g in self.fleet_map.fleets))
        for g in self.fleet_map.fleets:
            if g.fleet in self.config.fleets and not g.miners:
                where = ", ".join(self.config.fleets[g.fleet].addresses)
                note = (
                    f"WARNING: fleet {g.fleet!r}: no miner answered at {where}; its decisions are made "
                    "but nothing can be commanded (check the addresses and the network)"
                )
                self.echo(note)
                self.journal.audit(self.clock.now(), "fleet_not_found", fleet=g.fleet, addresses=where)
        await self.reconciler.recover()
        self._restore_override()
        if self.jobs is not None and self.site.hall is not None:
            await self.jobs.discover([job.name for job in self.site.hall.jobs])
        freeze_setup()  # the fleet's objects out of the collector's way (live/heap.py)

    # --- the loop
    async def _catch_up(self, step: int, at_s: float) -> None:
        """Decide interval ``step`` again as it was decided, without reading or commanding devices."""
        await self.observer.poll(at_s)
        interval = self.observer.interval(step, at_s)
        decision, _ = await self._decide(step, at_s, interval)
        self.plant.apply(decision, interval)

    async def run(
        self,
        start_s: float,
        end_s: float | None = None,
        stop: asyncio.Event | None = None,
        *,
        resume: bool = False,
    ) -> None:
        """Run intervals from ``start_s`` (on the interval grid) until ``end_s`` or ``stop``.

        ``resume`` (a replay restarted with the same window and journal): the intervals before the
        last one the journal says was started are decided again without touching a device, so the
        policy and the plant are where they were; the run goes on from that interval."""
        await self.start(restore_plant=not resume)
        self.observer.window_start_s = start_s
        step = 0
        last = self.journal.get_state("last_step_s") if resume else None
        if last is not None:
            while start_s + step * self.interval_s < last - 1e-6:
                await self._catch_up(step, start_s + step * self.interval_s)
                step += 1
            if isinstance(self.clock, ReplayClock):
                self.clock.jump(start_s + step * self.interval_s)
            self.journal.audit(self.clock.now(), "resumed", intervals_caught_up=step)
        elif isinstance(self.clock, ReplayClock):
            self.clock.jump(start_s)  # the replay starts now, once the devices are found
        confirm = asyncio.create_task(self._confirm_loop(stop))
        try:
            while end_s is None or start_s + step * self.interval_s < end_s - 1e-6:
                at = start_s + step * self.interval_s
                if stop is not None and stop.is_set():
                    break
                await self._sleep_until(at, stop)
                if stop is not None and stop.is_set():
                    break
                await self.step(step, at)
                step += 1
            if end_s is not None:  # let the last interval's commands be confirmed
                await self._sleep_until(end_s, stop)
                await self._confirm_once()
        finally:
            self.reconciler.stopping = True
            confirm.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await confirm

    def _set_override(self, override: Override | None, at_s: float) -> None:
        """Put an instruction or grid event in force (None: back to the policy), kept in the journal
        so a restarted agent holds it too."""
        self.manual = override
        if override is None:
            self.journal.set_state("override", 0.0)
            return
        self.journal.set_state(
            "override",
            1.0,
            {
                "basis": override.basis,
                "level_mw": [float(x) for x in override.level_mw],
                "source": override.source,
                "event_id": override.event_id,
                "until_s": override.until_s,
                "baseline_mw": override.baseline_mw,
                "at_s": at_s,
            },
        )

    def _restore_override(self) -> None:
        """At start: the instruction or grid event that was in force when the agent stopped."""
        if not self.journal.get_state("override"):
            return
        held = self.journal.get_state_detail("override")
        if held is None or len(held["level_mw"]) != len(self.site.fleets):
            return
        self.manual = Override(
            basis=str(held["basis"]),
            level_mw=np.array(held["level_mw"], dtype=np.float64),
            source=held["source"],
            event_id=held["event_id"],
            until_s=held["until_s"],
            baseline_mw=float(held["baseline_mw"]),
        )
        self.echo(f"still in force from before the restart: {self.manual.basis}")
        self.journal.audit(self.clock.now(), "override_restored", basis=self.manual.basis)

    def _take_instructions(self, at_s: float) -> None:
        """Take queued instructions; a grid event once per (source, id); end an event that expired."""
        manual = self.manual
        if manual is not None and manual.until_s is not None and at_s >= manual.until_s - 1e-6:
            self.journal.audit(at_s, "event_ended", source=manual.source, event_id=manual.event_id)
            self.echo(f"grid event {manual.source}/{manual.event_id} ended: back to the policy")
            self._set_override(None, at_s)
        for instruction in self.journal.take_instructions(at_s):
            label = f"{instruction.kind}" + (f" {instruction.mw:g} MW" if instruction.mw else "")
            if instruction.event_id is not None and instruction.source is not None:
                payload = {"kind": instruction.kind, "mw": instruction.mw, "minutes": instruction.minutes}
                if not self.journal.record_event(
                    instruction.source, instruction.event_id, instruction.kind, payload, at_s
                ):
                    self.echo(
                        f"grid event {instruction.source}/{instruction.event_id} again: already taken, ignored"
                    )
                    continue
                label = f"grid event {instruction.source}/{instruction.event_id}: {label}"
            self.echo(f"instruction {instruction.seq}: {label}")
            if instruction.kind == "release":
                self._set_override(None, at_s)
                continue
            mw = float(instruction.mw or 0.0)
            level = self._curtailed(mw) if instruction.kind == "curtail" else self.plant.previous_mw.copy()
            measured = [r.power_w for r in self.readings.values() if r.power_w is not None]
            self._set_override(
                Override(
                    basis=label,
                    level_mw=level,
                    source=instruction.source,
                    event_id=instruction.event_id,
                    until_s=None if instruction.minutes is None else at_s + instruction.minutes * 60.0,
                    baseline_mw=sum(measured) / 1e6 if measured else float(self.plant.previous_mw.sum()),
                ),
                at_s,
            )

    async def _sample_event_power(self) -> None:
        """During a grid event, log the measured site power every ``settlement_sample_s``."""
        manual = self.manual
        now = self.clock.now()
        if (
            manual is None
            or manual.event_id is None
            or now - self._last_sample_s < self.config.settlement_sample_s
        ):
            return
        self._last_sample_s = now
        readings = await self.reconciler.read(list(self.devices))
        measured = [r.power_w for r in readings.values() if r.power_w is not None]
        self.journal.record_power(now, sum(measured) / 1e6, manual.baseline_mw, manual.event_id)

    async def _confirm_once(self) -> None:
        await self._sample_event_power()
        await self.reconciler.confirm_once()
        if self.jobs is not None:
            await self.jobs.tick(self.clock.now())
            self.job_readings = await self.jobs.read()
            self.jobs.confirm(self.job_readings, self.clock.now())

    async def _confirm_loop(self, stop: asyncio.Event | None) -> None:
        """Confirm commands from telemetry and send the requeues whose grace is over, between intervals."""
        while not self.reconciler.stopping and not (stop is not None and stop.is_set()):
            await self._confirm_once()
            await asyncio.sleep(self.reconciler.poll_real_s)

    async def _sleep_until(self, at_s: float, stop: asyncio.Event | None) -> None:
        if stop is None:
            await self.clock.sleep_until(at_s)
            return
        left = self.clock.real_seconds(at_s - self.clock.now())
        if left > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=left)

    async def step(self, step: int, at_s: float) -> StepRecord:
        """Decide and command the interval starting at ``at_s``."""
        late_s = max(self.clock.now() - at_s, 0.0)
        if self.observer.window_start_s is None:
            self.observer.window_start_s = at_s
        self.journal.set_state("last_step_s", at_s)
        await self.observer.poll(at_s)
        if self.devices:
            self.readings = await self.reconciler.read(list(self.devices))
            self.reconciler.confirm_from(self.readings)
            self.reconciler.fix_drift(self.readings, at_s)
        self._take_instructions(at_s)
        if self.jobs is not None:
            self.job_readings = await self.jobs.read()
            self.jobs.confirm(self.job_readings, at_s)
        interval = self.observer.interval(step, at_s)
        decision, basis = await self._decide(step, at_s, interval)
        applied = self.plant.apply(decision, interval)
        running = [self.fleet_map.running(f, float(mw)) for f, mw in enumerate(applied.power_mw)]
        event_id = self.manual.event_id if self.manual is not None else None
        sent = await self.reconciler.command(running, self.fleet_map, self.readings, at_s, basis, event_id)
        if self.jobs is not None and self.site.hall is not None:
            names = [job.name for job in self.site.hall.jobs]
            sent += await self.jobs.command(
                {n: bool(applied.training_gpus[j] > 0) for j, n in enumerate(names)}, at_s, basis, event_id
            )
            sent += await self.jobs.tick(at_s)
        self.training_gpus.append(applied.training_gpus.copy())
        observed = tuple(
            sum(
                1
                for m in g.miners
                if (r := self.readings.get(m.device_id)) is not None and r.status is DeviceStatus.RUNNING
            )
            for g in self.fleet_map.fleets
        )
        record = StepRecord(
            step, at_s, applied.power_mw.copy(), basis, tuple(len(r) for r in running), sent, observed, late_s
        )
        self.records.append(record)
        log_event(
            "interval",
            interval_start_utc=dt.datetime.fromtimestamp(at_s, dt.UTC).isoformat(),
            basis=basis,
            power_mw=[round(float(p), 6) for p in record.power_mw],
            miners_wanted=list(record.running),
            miners_hashing=list(record.observed_running),
            commands=sent,
            late_s=round(late_s, 3),
            feed_age_s=round(self.observer.feed_age(at_s), 3)
            if math.isfinite(self.observer.feed_age(at_s))
            else None,
        )
        if self.on_step is not None:
            self.on_step(record)
        if self.metrics is not None:
            self.metrics.step(
                [g.fleet for g in self.fleet_map.fleets],
                list(record.power_mw),
                record.running,
                self.readings,
                self.observer.feed_age(at_s),
            )
        measured = [r.power_w for r in self.readings.values() if r.power_w is not None]
        if measured:
            baseline = self.manual.baseline_mw if self.manual is not None and self.manual.event_id else None
            self.journal.record_power(at_s, sum(measured) / 1e6, baseline, event_id)
        return record

    async def _decide(self, step: int, at_s: float, interval: IntervalInput) -> tuple[Decision, str]:
        site = self.site
        if self.manual is not None:
            return Decision(power_mw=self.manual.level_mw.copy()), self.manual.basis
        age = self.observer.feed_age(at_s)
        if step > 0 and age > self.stale_after_s:
            return self._safe(
                f"safe state: no price settled for {age:.0f} s (limit {self.stale_after_s:g} s)", at_s
            )
        if self._deciding is not None and not self._deciding.done():
            return self._safe("safe state: the policy has not answered the previous interval yet", at_s)
        wait_s = max(self.clock.real_seconds(self.interval_s / 2), self.min_policy_wait_real_s)
        try:
            obs = self.observer.observation(step, at_s, interval, self.plant.state(interval))
            # in a worker thread, so a policy that hangs cannot stop the loop (or the watchdog)
            self._deciding = asyncio.ensure_future(asyncio.to_thread(self.policy.decide, obs))
            raw = await asyncio.wait_for(asyncio.shield(self._deciding), timeout=wait_s)
        except TimeoutError:
            return self._safe(f"safe state: the policy did not answer within {wait_s:g} s", at_s)
        except Exception as exc:
            return self._safe(f"safe state: the policy failed ({type(exc).__name__}: {exc})", at_s)
        decision = raw if isinstance(raw, Decision) else Decision(power_mw=np.asarray(raw, dtype=np.float64))
        wanted = np.asarray(decision.power_mw, dtype=np.float64)
        if wanted.shape != (len(site.fleets),) or not np.all(np.isfinite(wanted)):
            return self._safe(f"safe state: the policy decided {wanted!r}", at_s)
        return decision, "policy"

    def _safe(self, basis: str, at_s: float) -> tuple[Decision, str]:
        log_event("watchdog", logging.WARNING, basis=basis, safe_state=self.config.safe_state)
        self.journal.audit(at_s, "watchdog", basis=basis, safe_state=self.config.safe_state)
        state = self.config.safe_state
        power = (
            self.site.min_power_mw
            if state == "curtail"
            else self.site.max_power_mw
            if state == "run"
            else self.plant.previous_mw
        )
        return Decision(power_mw=np.array(power, dtype=np.float64)), basis

    def _curtailed(self, mw: float) -> np.ndarray:
        """The previous interval's power less ``mw`` [MW], taken from the least efficient fleets first."""
        site = self.site
        power = self.plant.previous_mw.copy()
        left = mw
        for f in sorted(range(len(site.fleets)), key=lambda i: -site.fleets[i].efficiency_j_per_th):
            cut = min(left, power[f] - site.fleets[f].min_power_mw)
            if cut > 0:
                power[f] -= cut
                left -= cut
        return power

    def device_states(self) -> dict[str, str]:
        """Each miner's state for the operator: confirmed, drifted, unavailable, restore-failed, pending."""
        return self.reconciler.device_states(self.readings)
