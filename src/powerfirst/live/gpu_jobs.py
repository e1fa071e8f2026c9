"""Training jobs in the GPU hall, run or stopped as the plant decided, through the Slurm driver.

The site file names each training job; the Slurm job of the same name (in a preemptible
partition) is its device. When the plant gives a job no GPUs, the :class:`JobReconciler`

1. journals and sends CHECKPOINT (the job writes its checkpoint and keeps running),
2. once ``checkpoint_grace_s`` has passed on the agent's clock, journals and sends REQUEUE (the
   job is killed and held: its GPUs, and their power, are free),

and when the plant gives it GPUs again, RELEASE. A job is switched whole: the number of GPUs a
running job uses within its [min, max] is its own (an elastic job's) business, not commanded here.
Jobs in protected partitions (inference) are never touched. Each command is journaled before it is
sent, like the miners' (:mod:`powerfirst.live.reconcile`); a job found running while it should be
held (its requeue did not take) is requeued again, within the cycling limit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from powerfirst.live.clock import AgentClock
from powerfirst.live.devices import Action, Command, DeviceDriver, DeviceInfo, DeviceReading, DeviceStatus
from powerfirst.live.journal import CommandState, Journal

__all__ = ["JobReconciler"]

RUNNING, CURTAILED = "running", "curtailed"


class JobReconciler:
    """The site's training jobs ↔ Slurm jobs (see the module docstring)."""

    def __init__(
        self,
        journal: Journal,
        driver: DeviceDriver,
        clock: AgentClock,
        *,
        checkpoint_grace_s: float,
        max_changes_per_hour: int,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.journal = journal
        self.driver = driver
        self.clock = clock
        self.grace_s = checkpoint_grace_s
        self.max_changes_per_hour = max_changes_per_hour
        self.echo = echo
        self.jobs: dict[str, DeviceInfo] = {}
        """The Slurm job of each site job, by the site job's name."""

    async def discover(self, names: list[str]) -> None:
        """Find the Slurm job of each training job by name (protected ones are never taken)."""
        found = await self.driver.discover()
        by_name: dict[str, DeviceInfo] = {}
        for info in found:
            if info.model in names and not info.protected and info.model not in by_name:
                by_name[info.model] = info
        self.jobs = by_name
        missing = [n for n in names if n not in by_name]
        if missing:
            self.echo(f"training jobs without a preemptible Slurm job of that name: {', '.join(missing)}")
        self.journal.audit(
            self.clock.now(), "jobs_found", jobs={n: i.device_id for n, i in by_name.items()}, missing=missing
        )

    async def read(self) -> dict[str, DeviceReading]:
        if not self.jobs:
            return {}
        return await self.driver.read_all([i.device_id for i in self.jobs.values()])

    async def command(
        self, running: dict[str, bool], at_s: float, basis: str, event_id: str | None = None
    ) -> int:
        """Bring each job to ``running[name]`` (True: run, False: checkpoint then requeue)."""
        desired = self.journal.desired()
        stamp = dt.datetime.fromtimestamp(at_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        out: list[Command] = []
        wanted: list[tuple[str, str, float | None]] = []
        for name, run in running.items():
            info = self.jobs.get(name)
            if info is None:
                continue
            device = info.device_id
            state = desired.get(device, (RUNNING, None))[0]
            if not run and state != CURTAILED:
                out.append(Command(f"{stamp}/{device}/checkpoint", device, Action.CHECKPOINT))
                wanted.append((device, CURTAILED, None))
            elif run and state == CURTAILED:
                out.append(Command(f"{stamp}/{device}/release", device, Action.RELEASE))
                wanted.append((device, RUNNING, None))
        if not out:
            return 0
        recent = self.journal.sent_since(at_s - 3600.0)
        allowed = [c for c in out if recent.get(c.device_id, 0) < self.max_changes_per_hour]
        for c in out:
            if c not in allowed:
                self.journal.audit(at_s, "cycling_limit", device_id=c.device_id, action=str(c.action))
        keep = {c.device_id for c in allowed}
        self.journal.set_desired([w for w in wanted if w[0] in keep], at_s)
        return await self._send(allowed, at_s, basis, event_id)

    async def tick(self, now_s: float) -> int:
        """Send the REQUEUE of each job whose checkpoint's grace has passed (and requeue again a
        held job found running). Called by the agent's confirmation loop and at each interval."""
        if not self.jobs:
            return 0
        desired = self.journal.desired()
        due: list[Command] = []
        readings = None
        for info in self.jobs.values():
            device = info.device_id
            if desired.get(device, (RUNNING, None))[0] != CURTAILED:
                continue
            checkpoint = self.journal.last_command(device, Action.CHECKPOINT)
            requeue = self.journal.last_command(device, Action.REQUEUE)
            if checkpoint is None or checkpoint.sent_at is None:
                continue
            if requeue is not None and requeue.journaled_at >= checkpoint.journaled_at:
                if requeue.state in (CommandState.CONFIRMED, CommandState.FAILED, CommandState.REJECTED):
                    readings = readings if readings is not None else await self.read()
                    reading = readings.get(device)
                    if reading is not None and reading.status is DeviceStatus.RUNNING:
                        self.journal.audit(now_s, "drifted", device_id=device, wanted=CURTAILED)
                        n = requeue.attempts + 1
                        due.append(
                            Command(f"{checkpoint.command.command_id}/requeue/{n}", device, Action.REQUEUE)
                        )
                continue
            if now_s - checkpoint.sent_at >= self.grace_s:
                due.append(Command(f"{checkpoint.command.command_id}/requeue", device, Action.REQUEUE))
        return await self._send(due, now_s, "checkpoint grace over") if due else 0

    async def _send(
        self, commands: list[Command], at_s: float, basis: str, event_id: str | None = None
    ) -> int:
        new = self.journal.journal(commands, reason=basis, at=at_s, event_id=event_id)
        if not new:
            return 0
        self.journal.mark_sent([c.command_id for c in new], self.clock.now())
        outcomes = await self.driver.send_all(new)
        self.journal.mark_answered(outcomes, self.clock.now())
        for o in outcomes:
            if not o.accepted:
                self.echo(f"GPU job {o.device_id}: not accepted: {o.message}")
        return len(new)

    def confirm(self, readings: dict[str, DeviceReading], now_s: float) -> None:
        """Confirm acknowledged job commands from telemetry: CHECKPOINT on its answer (the job keeps
        running), REQUEUE when the job is held, RELEASE when it runs."""
        settled = []
        for j in self.journal.open_commands():
            if j.state is not CommandState.ACKED or j.command.device_id not in readings:
                continue
            status = readings[j.command.device_id].status
            done = (
                j.command.action is Action.CHECKPOINT
                or (j.command.action is Action.REQUEUE and status is DeviceStatus.CURTAILED)
                or (j.command.action is Action.RELEASE and status is DeviceStatus.RUNNING)
            )
            if done:
                settled.append((j.command.command_id, CommandState.CONFIRMED, f"telemetry: {status}"))
        if settled:
            self.journal.settle(settled, now_s)
