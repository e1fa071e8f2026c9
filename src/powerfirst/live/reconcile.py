"""Desired against observed: journal, send, confirm from telemetry, put drifted miners back.

The :class:`Reconciler` owns the command path of the agent:

- :meth:`Reconciler.command` turns the miners that should run into commands for the miners whose
  *desired* state changes (sheds first, least efficient first; then restores, most efficient
  first), skips a device that reached the hourly cycling limit (logged), journals each wave in one
  durable transaction, marks it sent, sends it (bounded concurrency), and records the answers;
- :meth:`Reconciler.confirm_once` reads the devices of acknowledged commands: a command is
  *confirmed* only when telemetry shows its effect, *failed* when that has not happened within
  ``confirm_within_s``;
- :meth:`Reconciler.fix_drift` sends a miner that woke up during a curtailment back to sleep
  (and wakes one that should run but sleeps), within the cycling limit;
- :meth:`Reconciler.recover` (at start) reads the devices of the journal's open commands: a
  command whose effect the device shows is taken as delivered (not sent again), one it does not
  show is sent once more if it is still wanted, else superseded.

Fault-injection points for tests (:func:`powerfirst.interrupt.checkpoint`): ``agent-journaled``,
``agent-marked-sent``, ``agent-sent``, ``agent-answered``, ``agent-confirmed``.

A command id is ``<interval start>/<device>/<action>[/<n>]``: deciding the same interval again after
a restart finds the same ids in the journal and sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable

from powerfirst.interrupt import checkpoint
from powerfirst.live.clock import AgentClock
from powerfirst.live.devices import Action, Command, CommandOutcome, DeviceDriver, DeviceReading, DeviceStatus
from powerfirst.live.fleet_map import FleetMap
from powerfirst.live.journal import OPEN_STATES, CommandState, Journal, JournaledCommand
from powerfirst.live.logs import log_event
from powerfirst.live.metrics import AgentMetrics
from powerfirst.site.live import LiveConfig

__all__ = ["Reconciler", "shows"]

RUNNING, CURTAILED = "running", "curtailed"


def shows(action: Action, reading: DeviceReading, *, final: bool) -> bool:
    """Telemetry shows ``action``'s effect: final (asleep / hashing) or, with ``final=False``, on
    its way there too (a ramp the command started)."""
    target = DeviceStatus.CURTAILED if action is Action.SLEEP else DeviceStatus.RUNNING
    if reading.status is target:
        return True
    return not final and reading.status is DeviceStatus.TRANSITIONING


class Reconciler:
    """The command path (see the module docstring)."""

    def __init__(
        self,
        journal: Journal,
        driver: DeviceDriver | None,
        config: LiveConfig,
        clock: AgentClock,
        echo: Callable[[str], None],
        metrics: AgentMetrics | None,
        *,
        dry_run: bool = False,
    ) -> None:
        self.journal = journal
        self.driver = driver
        self.config = config
        self.clock = clock
        self.echo = echo
        self.metrics = metrics
        self.dry_run = dry_run
        self.stopping = False
        self.poll_real_s = 0.25
        """Real seconds between confirmation reads."""
        self._drift: list[Command] = []
        self._failed: set[str] = set()
        """Devices whose last command failed (restore-failed when it was a wake)."""

    @staticmethod
    def _mine(device_id: str) -> bool:
        """Miners are the devices named by an IP address; the GPU jobs' commands in the same
        journal are :class:`~powerfirst.live.gpu_jobs.JobReconciler`'s."""
        try:
            ipaddress.ip_address(device_id)
        except ValueError:
            return False
        return True

    def _open_commands(self) -> list[JournaledCommand]:
        return [j for j in self.journal.open_commands() if self._mine(j.command.device_id)]

    def _desired(self) -> dict[str, tuple[str, float | None]]:
        return {d: v for d, v in self.journal.desired().items() if self._mine(d)}

    # --- reading
    async def read(self, device_ids: list[str]) -> dict[str, DeviceReading]:
        if self.driver is None or not device_ids:
            return {}
        return await self.driver.read_all(device_ids)

    # --- commanding
    async def command(
        self,
        running: list[list[str]],
        fleet_map: FleetMap,
        readings: dict[str, DeviceReading],
        at_s: float,
        basis: str,
        event_id: str | None = None,
    ) -> int:
        """Bring each fleet's miners to ``running`` (ids per fleet); returns the commands sent
        (``event_id``: the grid event they answer, for settlement)."""
        desired = self._desired()
        sleeps: list[tuple[Command, float, float | None]] = []  # (command, nominal W, target to restore)
        wakes: list[tuple[Command, float, float | None]] = []
        stamp = _stamp(at_s)
        for f, group in enumerate(fleet_map.fleets):
            run = set(running[f])
            for info in reversed(group.miners):  # least efficient first
                if info.device_id not in run and desired.get(info.device_id, (RUNNING, None))[0] != CURTAILED:
                    reading = readings.get(info.device_id)
                    # the target to restore on wake: what it runs at now (its nominal power: no target)
                    restore = (
                        reading.power_limit_w
                        if reading is not None and reading.power_limit_w
                        else info.nominal_power_w
                    )
                    cmd = Command(f"{stamp}/{info.device_id}/sleep", info.device_id, Action.SLEEP)
                    sleeps.append((cmd, info.nominal_power_w, restore))
            for info in group.miners:  # most efficient first
                state = desired.get(info.device_id)
                if info.device_id in run and state is not None and state[0] == CURTAILED:
                    cmd = Command(f"{stamp}/{info.device_id}/wake", info.device_id, Action.WAKE, state[1])
                    wakes.append((cmd, info.nominal_power_w, None))
        drift, self._drift = self._drift, []
        planned = sleeps + wakes + [(c, 0.0, None) for c in drift]
        if not planned:
            return 0
        recent = self.journal.sent_since(at_s - 3600.0)
        limit = self.config.max_changes_per_device_per_hour
        allowed = [p for p in planned if recent.get(p[0].device_id, 0) < limit]
        skipped = [
            {"device_id": c.device_id, "action": str(c.action), "limit": limit}
            for c, _, _ in planned
            if recent.get(c.device_id, 0) >= limit
        ]
        if skipped:
            self.journal.audit_many(at_s, "cycling_limit", skipped)
        changing = {c.device_id for c, _, _ in allowed}
        replaced = [
            (j.command.command_id, CommandState.SUPERSEDED, "a later decision replaced it")
            for j in self._open_commands()
            if j.command.device_id in changing
        ]
        if replaced:
            self.journal.settle(replaced, at_s)
        self.journal.set_desired(
            [(c.device_id, CURTAILED if c.action is Action.SLEEP else RUNNING, r) for c, _, r in allowed],
            at_s,
        )
        sent = 0
        for n, wave in enumerate(self._waves(allowed)):
            if n and self.config.stagger_s > 0:
                await self.clock.sleep_until(self.clock.now() + self.config.stagger_s)
            sent += await self._send_wave([c for c, _, _ in wave], at_s, basis, event_id)
        return sent

    def _waves(
        self, planned: list[tuple[Command, float, float | None]]
    ) -> list[list[tuple[Command, float, float | None]]]:
        """Split into waves of at most ``max_step_mw`` switched power (one wave without a limit)."""
        limit_w = None if self.config.max_step_mw is None else self.config.max_step_mw * 1e6
        waves: list[list[tuple[Command, float, float | None]]] = [[]]
        total = 0.0
        for item in planned:
            if limit_w is not None and waves[-1] and total + item[1] > limit_w:
                waves.append([])
                total = 0.0
            waves[-1].append(item)
            total += item[1]
        return [w for w in waves if w]

    async def _send_wave(
        self, commands: list[Command], at_s: float, basis: str, event_id: str | None = None
    ) -> int:
        new = self.journal.journal(commands, reason=basis, at=at_s, event_id=event_id)
        written = {c.command_id for c in new}  # a set: a list here was O(N²) for 10,000 miners
        retry = self._retries([c for c in commands if c.command_id not in written])
        if retry:  # the same decision once more after a restart, its earlier command closed unfulfilled
            new += self.journal.journal(retry, reason=basis, at=at_s, event_id=event_id)
        if not new:
            return 0
        checkpoint("agent-journaled")
        if self.dry_run or self.driver is None:
            for c in new:
                self.echo(
                    f"dry run: {c.action} {c.device_id}"
                    + (f" at {c.power_limit_w:g} W" if c.power_limit_w else "")
                )
            self.journal.settle(
                [(c.command_id, CommandState.SUPERSEDED, "dry run: not sent") for c in new], at_s
            )
            return 0
        return await self._send(new, at_s)

    def _retries(self, already: list[Command]) -> list[Command]:
        """For commands whose id the journal holds already: a new attempt of each that was closed
        without its effect (superseded, failed, rejected); none for one still open (recovery and
        confirmation follow it) or confirmed (done)."""
        out = []
        for command in already:
            n = 1
            while (
                held := self.journal.command(command.command_id if n == 1 else f"{command.command_id}/{n}")
            ) is not None:
                if held.state in (CommandState.CONFIRMED, *OPEN_STATES):
                    break
                n += 1
            else:
                out.append(
                    Command(
                        f"{command.command_id}/{n}", command.device_id, command.action, command.power_limit_w
                    )
                )
        return out

    async def _send(self, commands: list[Command], at_s: float) -> int:
        assert self.driver is not None
        self.journal.mark_sent([c.command_id for c in commands], self.clock.now())
        checkpoint("agent-marked-sent")
        outcomes = await self.driver.send_all(commands)
        checkpoint("agent-sent")
        self.journal.mark_answered(outcomes, self.clock.now())
        checkpoint("agent-answered")
        if self.metrics is not None:
            self.metrics.commands(commands, outcomes)
        rejected = [o for o in outcomes if not o.accepted]
        log_event(
            "commands",
            sent=len(commands),
            accepted=len(commands) - len(rejected),
            actions=sorted({str(c.action) for c in commands}),
            not_accepted=[{"device_id": o.device_id, "message": o.message} for o in rejected[:20]],
        )
        for o in rejected:
            self._failed.add(o.device_id)
        if rejected:
            self.echo(
                f"{len(rejected)} of {len(commands)} commands not accepted, e.g. {rejected[0].device_id}: {rejected[0].message}"
            )
        return len(commands)

    def fix_drift(self, readings: dict[str, DeviceReading], at_s: float) -> None:
        """Queue commands for miners whose telemetry left the desired state with no command open
        (not in a dry run: nothing was sent, so nothing drifted)."""
        if self.dry_run:
            return
        open_devices = {j.command.device_id for j in self._open_commands()}
        stamp = _stamp(at_s)
        drifted: list[dict[str, object]] = []
        for device_id, (state, restore) in self._desired().items():
            reading = readings.get(device_id)
            if reading is None or device_id in open_devices:
                continue
            if state == CURTAILED and reading.status is DeviceStatus.RUNNING:
                self._drift.append(Command(f"{stamp}/{device_id}/sleep/drift", device_id, Action.SLEEP))
            elif state == RUNNING and reading.status is DeviceStatus.CURTAILED:
                self._drift.append(
                    Command(f"{stamp}/{device_id}/wake/drift", device_id, Action.WAKE, restore)
                )
            else:
                continue
            drifted.append({"device_id": device_id, "wanted": state})
        if drifted:
            self.journal.audit_many(at_s, "drifted", drifted)

    # --- confirming
    async def confirm_once(self) -> None:
        """Confirm or fail the acknowledged commands from a fresh reading of their devices."""
        waiting = [j for j in self._open_commands() if j.state is CommandState.ACKED]
        if not waiting or self.driver is None:
            return
        self.confirm_from(await self.read(sorted({j.command.device_id for j in waiting})))

    def confirm_from(self, readings: dict[str, DeviceReading]) -> None:
        """Confirm or fail the acknowledged commands of the devices in ``readings``."""
        waiting = [
            j
            for j in self._open_commands()
            if j.state is CommandState.ACKED and j.command.device_id in readings
        ]
        now = self.clock.now()
        settled: list[tuple[str, CommandState, str]] = []
        for j in waiting:
            reading = readings.get(j.command.device_id)
            if reading is not None and shows(j.command.action, reading, final=True):
                settled.append((j.command.command_id, CommandState.CONFIRMED, f"telemetry: {reading.status}"))
                self._failed.discard(j.command.device_id)
                if self.metrics is not None and j.sent_at is not None:
                    self.metrics.confirmed(now - j.sent_at)
            elif j.sent_at is not None and now - j.sent_at > self.config.confirm_within_s:
                why = (
                    reading.reason
                    if reading is not None and reading.reason
                    else f"telemetry: {reading.status if reading else 'none'}"
                )
                settled.append(
                    (
                        j.command.command_id,
                        CommandState.FAILED,
                        f"not confirmed in {self.config.confirm_within_s:g} s ({why})",
                    )
                )
                self._failed.add(j.command.device_id)
        if settled:
            self.journal.settle(settled, now)
            checkpoint("agent-confirmed")

    # --- restart
    async def recover(self) -> None:
        """Reconcile the journal's open commands with what their devices show (see the module docstring)."""
        open_commands = self._open_commands()
        if not open_commands:
            return
        readings = await self.read(sorted({j.command.device_id for j in open_commands}))
        desired = self._desired()
        now = self.clock.now()
        delivered: list[CommandOutcome] = []
        resend: list[Command] = []
        superseded: list[tuple[str, CommandState, str]] = []
        for j in open_commands:
            reading = readings.get(j.command.device_id)
            wanted = desired.get(j.command.device_id, (RUNNING, None))[0]
            still_wanted = wanted == (CURTAILED if j.command.action is Action.SLEEP else RUNNING)
            if reading is not None and shows(j.command.action, reading, final=False):
                if j.state is not CommandState.ACKED:
                    delivered.append(
                        CommandOutcome(
                            j.command.command_id,
                            j.command.device_id,
                            True,
                            "recovered after a restart: telemetry shows it arrived",
                        )
                    )
            elif still_wanted and (reading is None or reading.status is not DeviceStatus.UNAVAILABLE):
                resend.append(j.command)
            elif still_wanted:
                continue  # unreachable now: the confirmation fails it in time, or it answers later
            else:
                superseded.append(
                    (j.command.command_id, CommandState.SUPERSEDED, "a later decision replaced it")
                )
        if delivered:
            self.journal.mark_answered(delivered, now)
        if superseded:
            self.journal.settle(superseded, now)
        self.journal.audit(
            now, "recovered", delivered=len(delivered), resent=len(resend), superseded=len(superseded)
        )
        self.echo(
            f"journal: {len(open_commands)} open commands from before the restart: {len(delivered)} delivered, "
            f"{len(resend)} sent again, {len(superseded)} superseded"
        )
        if resend and not self.dry_run:
            await self._send(resend, now)

    def device_states(self, readings: dict[str, DeviceReading]) -> dict[str, str]:
        """confirmed, drifted, unavailable, restore-failed, failed or pending, per device."""
        open_devices = {j.command.device_id for j in self._open_commands()}
        out: dict[str, str] = {}
        for device_id, (state, _) in self._desired().items():
            reading = readings.get(device_id)
            if reading is None or reading.status is DeviceStatus.UNAVAILABLE:
                out[device_id] = "unavailable" + (
                    f" ({reading.reason})" if reading and reading.reason else ""
                )
            elif device_id in open_devices:
                out[device_id] = "pending"
            elif device_id in self._failed:
                out[device_id] = "restore-failed" if state == RUNNING else "failed"
            elif (state == CURTAILED) == (reading.status is DeviceStatus.CURTAILED):
                out[device_id] = "confirmed"
            else:
                out[device_id] = "drifted"
        return out


def _stamp(at_s: float) -> str:
    return dt.datetime.fromtimestamp(at_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
