"""GPU jobs through Slurm's own commands: one device per job, ``slurm-job:<id>``.

Training jobs and rentals run in preemptible partitions, inference in protected ones. A suspended
Slurm job keeps its GPUs (and most of their power), so to shed GPU load the agent

1. sends CHECKPOINT: ``scancel --signal=USR1 --full <id>`` (every process of the job gets it;
   the job must trap it, write a checkpoint and keep running — an untrapped USR1 ends a process;
   ``signal_batch_only`` signals only the batch shell),
2. after a grace period sends REQUEUE: ``scontrol requeuehold <id>`` (the job is killed, its GPUs
   are freed, and it waits pending and held),
3. when power returns sends RELEASE: ``scontrol update JobId=<id> StartTime=now+<d>`` then
   ``scontrol release <id>``. Slurm gives a requeued job a begin time about two minutes ahead;
   the update brings it to ``release_start_delay_s`` (d, default 3 s) from now. Not to now: a
   slurmd refuses to launch a batch job within the second its previous run was killed ("Job
   credential revoked"), and the job then *fails* and leaves the queue — seen in the tests when
   a release followed a requeue within a second.

The driver talks to the controller only through the client commands (``squeue --json``,
``scancel``, ``scontrol``), each run with :func:`asyncio.create_subprocess_exec` and bounded by
``command_timeout_s``; the cluster is chosen by ``slurm_conf`` (exported as ``SLURM_CONF``). It
never curtails a job in a protected partition: CHECKPOINT and REQUEUE of one are refused. A
controller that does not answer makes every reading UNAVAILABLE with the command's error; an
unknown job id is UNAVAILABLE with "unknown job". Repeats are harmless (a REQUEUE of a held job
and a RELEASE of a running one are accepted as already done; a REQUEUE of a released job still
waiting to start holds it). Which jobs to shed: :func:`plan_gpu_shed`; the agent sequences the
commands (and journals them) itself.

Power is not measured by Slurm here: ``DeviceReading.power_w`` is None; ``nominal_power_w`` of a
job is its GPUs × ``gpu_power_w``.
"""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from powerfirst.errors import ConfigError, DataError
from powerfirst.live.devices import (
    Action,
    Command,
    CommandOutcome,
    DeviceDriver,
    DeviceInfo,
    DeviceReading,
    DeviceStatus,
)
from powerfirst.live.slurm_jobs import GpuShedPlan, SlurmJob, job_status, parse_squeue_json, plan_gpu_shed

__all__ = [
    "DEVICE_PREFIX",
    "GpuShedPlan",
    "SlurmDriver",
    "SlurmJob",
    "SlurmUnavailableError",
    "plan_gpu_shed",
]

DEVICE_PREFIX = "slurm-job:"


@dataclass(frozen=True)
class _Result:
    """A finished (or timed-out) command: ``returncode`` None when it could not run or timed out."""

    returncode: int | None
    stdout: str
    error: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _unknown(job_id: int) -> str:
    return f"unknown job {job_id}: the controller does not know it (never existed, or ended and purged)"


class SlurmUnavailableError(DataError):
    """The controller did not answer ``squeue`` (down, unreachable, or a command timed out)."""


class SlurmDriver(DeviceDriver):
    """Slurm batch jobs as devices (module docs); one controller, chosen by ``slurm_conf``."""

    kind = "gpu_job"
    max_concurrency = 8

    def __init__(
        self,
        *,
        slurm_conf: Path | str | None = None,
        protected_partitions: Collection[str] = ("protected",),
        preemptible_partitions: Collection[str] | None = None,
        checkpoint_signal: str = "USR1",
        signal_batch_only: bool = False,
        command_timeout_s: float = 10.0,
        gpu_power_w: float = 700.0,
        release_start_delay_s: float = 3.0,
        bin_dir: Path | str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """``preemptible_partitions``: when given, only jobs in these partitions may be shed (an
        allow-list: a job in any other partition counts as protected); ``signal_batch_only``: signal only the batch shell (``--batch``) rather than every
        process of the job (``--full``); ``gpu_power_w``: working power per GPU [W], for
        ``nominal_power_w``; ``release_start_delay_s``: a released job's earliest start, from
        the release [s] (at least 2, module docs); ``bin_dir``: where the client commands are (None: on PATH);
        ``env``: the commands' environment (None: this process's)."""
        if not command_timeout_s > 0:
            raise ConfigError(f"command_timeout_s = {command_timeout_s} s: must be > 0")
        if not gpu_power_w >= 0:
            raise ConfigError(f"gpu_power_w = {gpu_power_w} W: must be >= 0")
        if not 2.0 <= release_start_delay_s <= 86_400.0:
            raise ConfigError(
                f"release_start_delay_s = {release_start_delay_s} s: must be within 2 s to 86400 s "
                "(a job relaunched within the second it was killed fails)"
            )
        self.release_start_delay_s = release_start_delay_s
        if not checkpoint_signal or not checkpoint_signal.replace("SIG", "").isalnum():
            raise ConfigError(f"checkpoint_signal = {checkpoint_signal!r}: must be a signal name like USR1")
        self.protected_partitions = frozenset(protected_partitions)
        self.preemptible_partitions = (
            None if preemptible_partitions is None else frozenset(preemptible_partitions)
        )
        self.checkpoint_signal = checkpoint_signal
        self.signal_scope = "--batch" if signal_batch_only else "--full"
        self.command_timeout_s = float(command_timeout_s)
        self.gpu_power_w = float(gpu_power_w)
        self.bin_dir = Path(bin_dir) if bin_dir is not None else None
        base = dict(os.environ if env is None else env)
        if slurm_conf is not None:
            base["SLURM_CONF"] = str(slurm_conf)
        self.env = base

    # --- commands ---------------------------------------------------------------------------------

    def _program(self, name: str) -> str | None:
        if self.bin_dir is not None:
            path = self.bin_dir / name
            return str(path) if path.exists() else None
        return shutil.which(name, path=self.env.get("PATH"))

    async def _run(self, name: str, *args: str) -> _Result:
        """Run one client command, bounded by ``command_timeout_s``; never raises."""
        start = time.monotonic()
        program = self._program(name)
        if program is None:
            where = self.bin_dir or "PATH"
            return _Result(None, "", f"{name} not found in {where} (install slurm-client)", 0.0)
        try:
            proc = await asyncio.create_subprocess_exec(
                program,
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self.env,
            )
        except OSError as exc:
            return _Result(None, "", f"{name} could not start: {exc}", time.monotonic() - start)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.command_timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return _Result(
                None,
                "",
                f"{name} {' '.join(args)}: no answer within {self.command_timeout_s} s",
                time.monotonic() - start,
            )
        error = err.decode(errors="replace").strip()
        if proc.returncode != 0 and not error:
            error = f"{name} exited {proc.returncode}"
        return _Result(proc.returncode, out.decode(errors="replace"), error, time.monotonic() - start)

    async def jobs(self) -> list[SlurmJob]:
        """Every job the controller knows now; SlurmUnavailableError when it does not answer."""
        result = await self._run("squeue", "--json")
        if not result.ok:
            raise SlurmUnavailableError(f"squeue --json failed: {result.error}")
        return parse_squeue_json(result.stdout, self.protected_partitions, self.preemptible_partitions)

    async def plan_shed(self, gpus_to_free: int) -> GpuShedPlan:
        """:func:`plan_gpu_shed` over the jobs running now."""
        return plan_gpu_shed(await self.jobs(), gpus_to_free)

    # --- the device interface -------------------------------------------------------------------

    def _info(self, job: SlurmJob) -> DeviceInfo:
        return DeviceInfo(
            device_id=job.device_id,
            kind=self.kind,
            model=job.name,
            firmware=f"slurm partition {job.partition}",
            nominal_power_w=job.gpus * self.gpu_power_w,
            gpus=job.gpus,
            protected=job.protected,
        )

    async def discover(self) -> list[DeviceInfo]:
        """Jobs that run, are held, or are on their way (ended ones are left out); [] when the
        controller does not answer."""
        try:
            jobs = await self.jobs()
        except DataError:
            return []
        return [self._info(j) for j in jobs if job_status(j)[0] is not DeviceStatus.UNAVAILABLE]

    @staticmethod
    def _job_id(device_id: str) -> int | None:
        if not device_id.startswith(DEVICE_PREFIX):
            return None
        text = device_id[len(DEVICE_PREFIX) :]
        return int(text) if text.isdigit() else None

    async def _find(self, job_id: int) -> SlurmJob | str:
        """The job, or why it cannot be had (controller down, unknown job)."""
        try:
            jobs = await self.jobs()
        except DataError as exc:
            return str(exc)
        for job in jobs:
            if job.job_id == job_id:
                return job
        return _unknown(job_id)

    async def send(self, command: Command) -> CommandOutcome:
        """CHECKPOINT, REQUEUE or RELEASE one job (module docs); other actions are refused."""
        start = time.monotonic()

        def outcome(accepted: bool, message: str) -> CommandOutcome:
            return CommandOutcome(
                command.command_id, command.device_id, accepted, message, time.monotonic() - start
            )

        job_id = self._job_id(command.device_id)
        if job_id is None:
            return outcome(False, f"device_id {command.device_id!r} is not {DEVICE_PREFIX}<job id>")
        if command.action not in (Action.CHECKPOINT, Action.REQUEUE, Action.RELEASE):
            return outcome(
                False,
                f"action {command.action.value!r} is not one the Slurm driver does (checkpoint, requeue, release)",
            )
        job = await self._find(job_id)
        if isinstance(job, str):
            return outcome(False, job)
        if job.protected and command.action is not Action.RELEASE:
            return outcome(
                False, f"job {job_id} is in protected partition {job.partition!r}: never curtailed"
            )
        steps = self._steps(command.action, job)
        if isinstance(steps, tuple):
            return outcome(*steps)
        for step in steps:
            result = await self._run(*step)
            if not result.ok:
                return outcome(False, f"{' '.join(step)}: {result.error}")
        return outcome(True, f"{command.action.value} sent to job {job_id} ({job.state})")

    def _steps(self, action: Action, job: SlurmJob) -> list[tuple[str, ...]] | tuple[bool, str]:
        """The commands that carry out ``action`` on ``job``, or the outcome when none is needed
        or possible. Repeats are harmless: requeueing a held job or releasing a running one is
        accepted as already done (the agent resends after a restart)."""
        job_id = str(job.job_id)
        if action is Action.CHECKPOINT:
            if job.state != "RUNNING":
                return False, f"job {job_id} is {job.state}, not RUNNING: nothing to checkpoint"
            return [("scancel", f"--signal={self.checkpoint_signal}", self.signal_scope, job_id)]
        if action is Action.REQUEUE:
            if job.held:
                return True, f"job {job_id} is already held ({job.reason})"
            if job.state == "PENDING":
                return [("scontrol", "hold", job_id)]
            return [("scontrol", "requeuehold", job_id)]
        if job.state in ("RUNNING", "SUSPENDED") or (job.state == "PENDING" and not job.held):
            return True, f"job {job_id} is already released ({job.state})"
        start = f"StartTime=now+{math.ceil(self.release_start_delay_s)}"
        return [("scontrol", "update", f"JobId={job_id}", start), ("scontrol", "release", job_id)]

    async def read_all(self, device_ids: Sequence[str]) -> dict[str, DeviceReading]:
        """Many jobs from one ``squeue --json`` call (not one call per job)."""
        observed = time.time()
        try:
            jobs = {j.job_id: j for j in await self.jobs()}
        except DataError as exc:
            down = str(exc)
            return {d: DeviceReading(d, DeviceStatus.UNAVAILABLE, observed, reason=down) for d in device_ids}
        readings: dict[str, DeviceReading] = {}
        for device_id in device_ids:
            job_id = self._job_id(device_id)
            job = jobs.get(job_id) if job_id is not None else None
            readings[device_id] = (
                self._reading(device_id, job, observed)
                if job is not None
                else await self.read(device_id)
                if job_id is None
                else DeviceReading(device_id, DeviceStatus.UNAVAILABLE, observed, reason=_unknown(job_id))
            )
        return readings

    async def read(self, device_id: str) -> DeviceReading:
        """The job's state mapped to a device status (:func:`job_status`); UNAVAILABLE with a reason
        for a malformed id, an unknown or ended job, or a controller that does not answer."""
        job_id = self._job_id(device_id)
        if job_id is None:
            return DeviceReading(
                device_id,
                DeviceStatus.UNAVAILABLE,
                time.time(),
                reason=f"device_id {device_id!r} is not {DEVICE_PREFIX}<job id>",
            )
        job = await self._find(job_id)
        observed = time.time()
        if isinstance(job, str):
            return DeviceReading(device_id, DeviceStatus.UNAVAILABLE, observed, reason=job)
        return self._reading(device_id, job, observed)

    @staticmethod
    def _reading(device_id: str, job: SlurmJob, observed: float) -> DeviceReading:
        status, reason = job_status(job)
        return DeviceReading(
            device_id,
            status,
            observed,
            reason=reason,
            extra={
                "job_state": job.state,
                "reason": job.reason,
                "partition": job.partition,
                "gpus": str(job.gpus),
                "gpus_allocated": str(job.gpus_allocated),
                "restart_count": str(job.restart_count),
                "held": str(job.held).lower(),
            },
        )
