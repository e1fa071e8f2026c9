"""Slurm jobs as the agent sees them: parsed from ``squeue --json``, mapped to device states, and
chosen for a GPU shed.

Slurm 22.05's ``squeue --json`` (OpenAPI v0.0.38) lists every job the controller still knows
(``-j`` and the other filters are ignored with ``--json``); a job's GPUs are in ``gres_detail``
while it runs (``gpu:2(IDX:0-1)``) and in ``tres_per_node`` / ``tres_per_job`` as requested
(``gres:gpu:2``; ``gres/gpu:2`` in later versions).

State mapping (:func:`job_status`), by what the job's GPUs draw:

- RUNNING, SUSPENDED → RUNNING (a suspended job keeps its GPUs and most of their power);
- PENDING and held (``JobHeldUser``/``JobHeldAdmin``, requeued in held state, priority 0) →
  CURTAILED: its GPUs are free;
- PENDING and not held (released, waiting for its begin time or resources), and COMPLETING,
  CONFIGURING, REQUEUED, REQUEUE_HOLD, REQUEUE_FED, RESIZING, SIGNALING, STAGE_OUT →
  TRANSITIONING;
- ended (COMPLETED, CANCELLED, FAILED, …) → UNAVAILABLE: nothing left to command.

Shed rule (:func:`plan_gpu_shed`): only running jobs outside the protected partitions, holding at
least one GPU. While GPUs remain to be freed: if one candidate alone frees the rest, take the
smallest such job (fewest GPUs freed beyond the target); otherwise take the job with the most GPUs
(fewest jobs interrupted). Ties go to the job started most recently (least progress lost should its
checkpoint fail), then to the lower job id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from powerfirst.errors import DataError, PolicyError
from powerfirst.live.devices import DeviceStatus

__all__ = [
    "HELD_REASONS",
    "GpuShedPlan",
    "SlurmJob",
    "job_status",
    "parse_squeue_json",
    "plan_gpu_shed",
]

HELD_REASONS = frozenset({"JobHeldUser", "JobHeldAdmin", "job_requeued_in_held_state"})
"""``state_reason`` values of a held job."""

_RUNNING = frozenset({"RUNNING", "SUSPENDED"})
_TRANSITIONING = frozenset(
    {
        "COMPLETING",
        "CONFIGURING",
        "REQUEUED",
        "REQUEUE_HOLD",
        "REQUEUE_FED",
        "RESIZING",
        "SIGNALING",
        "STAGE_OUT",
    }
)
_GRES_DETAIL = re.compile(r"^gpu(?::[^:(]+)?:(\d+)")
_TRES_GPU = re.compile(r"gres[:/]gpu(?::[^:,=]+)?[:=](\d+)")


@dataclass(frozen=True)
class SlurmJob:
    """One job the controller knows, as far as the agent needs it."""

    job_id: int
    name: str
    partition: str
    state: str
    """Slurm's base job state, e.g. ``RUNNING``, ``PENDING``, ``COMPLETING``."""
    reason: str
    """Slurm's ``state_reason`` (``None`` when there is none), e.g. ``JobHeldUser``."""
    gpus: int
    """GPUs it holds while running, or requests while pending."""
    gpus_allocated: int
    """GPUs allocated to it now (0 while pending)."""
    start_time_s: float | None
    """When it (last) started [s since the epoch, UTC]; None if it has not started."""
    restart_count: int
    held: bool
    protected: bool
    """In a protected partition: the agent never curtails it."""

    @property
    def device_id(self) -> str:
        """The device id of this job: ``slurm-job:<id>``."""
        return f"slurm-job:{self.job_id}"


def _gpus_allocated(job: dict[str, Any]) -> int:
    total = 0
    for entry in job.get("gres_detail") or []:
        match = _GRES_DETAIL.match(str(entry))
        if match:
            total += int(match.group(1))
    return total


def _gpus_requested(job: dict[str, Any]) -> int:
    per_node = _TRES_GPU.search(str(job.get("tres_per_node") or ""))
    if per_node:
        nodes = job.get("node_count")
        return int(per_node.group(1)) * (nodes if isinstance(nodes, int) and nodes > 0 else 1)
    for key in ("tres_per_job", "tres_alloc_str", "tres_req_str"):
        match = _TRES_GPU.search(str(job.get(key) or ""))
        if match:
            return int(match.group(1))
    return 0


def _one_job(
    job: dict[str, Any], protected_partitions: Collection[str], preemptible_partitions: Collection[str] | None
) -> SlurmJob:
    state = str(job["job_state"]).split(",")[0].upper()
    reason = str(job.get("state_reason") or "None")
    allocated = _gpus_allocated(job)
    start = job.get("start_time")
    started = state in _RUNNING or state in _TRANSITIONING
    return SlurmJob(
        job_id=int(job["job_id"]),
        name=str(job.get("name") or ""),
        partition=str(job.get("partition") or ""),
        state=state,
        reason=reason,
        gpus=max(allocated, _gpus_requested(job)),
        gpus_allocated=allocated,
        start_time_s=float(start) if started and isinstance(start, int | float) and start > 0 else None,
        restart_count=int(job.get("restart_cnt") or 0),
        held=state == "PENDING" and (reason in HELD_REASONS or job.get("priority") == 0),
        protected=_protected(str(job.get("partition") or ""), protected_partitions, preemptible_partitions),
    )


def _protected(
    partition: str, protected_partitions: Collection[str], preemptible_partitions: Collection[str] | None
) -> bool:
    """Never curtailed: in a protected partition or, when preemptible partitions are named (an
    allow-list), in any partition not named preemptible."""
    if partition in protected_partitions:
        return True
    return preemptible_partitions is not None and partition not in preemptible_partitions


def parse_squeue_json(
    text: str, protected_partitions: Collection[str], preemptible_partitions: Collection[str] | None = None
) -> list[SlurmJob]:
    """The jobs in ``squeue --json`` output; DataError naming what is wrong when it cannot be read."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"squeue --json: not JSON ({exc.msg} at character {exc.pos})") from exc
    if not isinstance(document, dict) or not isinstance(document.get("jobs"), list):
        raise DataError("squeue --json: no 'jobs' list in its output")
    errors = document.get("errors") or []
    if errors:
        said = "; ".join(
            f"{e.get('source', '?')}: {e.get('description', '')} ({e.get('error', '')})"
            if isinstance(e, dict)
            else str(e)
            for e in errors
        )
        raise DataError(f"squeue --json reported errors (controller down?): {said}")
    jobs: list[SlurmJob] = []
    for index, job in enumerate(document["jobs"]):
        try:
            jobs.append(_one_job(job, protected_partitions, preemptible_partitions))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"squeue --json: job #{index} unreadable ({type(exc).__name__}: {exc})") from exc
    return jobs


def job_status(job: SlurmJob) -> tuple[DeviceStatus, str]:
    """The device status a job's state maps to, and the reason when UNAVAILABLE (module docs)."""
    if job.state in _RUNNING:
        return DeviceStatus.RUNNING, ""
    if job.state == "PENDING":
        return (DeviceStatus.CURTAILED if job.held else DeviceStatus.TRANSITIONING), ""
    if job.state in _TRANSITIONING:
        return DeviceStatus.TRANSITIONING, ""
    return DeviceStatus.UNAVAILABLE, f"job {job.job_id} has ended ({job.state}, reason {job.reason})"


@dataclass(frozen=True)
class GpuShedPlan:
    """The jobs to checkpoint and requeue to free ``gpus_requested`` GPUs."""

    jobs: tuple[SlurmJob, ...]
    gpus_requested: int
    gpus_freed: int
    """GPUs the chosen jobs hold (≥ ``gpus_requested`` unless short)."""
    shortfall_gpus: int
    """GPUs that cannot be freed: only protected or non-running jobs hold them (0 when met)."""


def _recency(job: SlurmJob) -> float:
    return -(job.start_time_s or 0.0)


def plan_gpu_shed(jobs: Sequence[SlurmJob], gpus_to_free: int) -> GpuShedPlan:
    """Choose preemptible running jobs that free at least ``gpus_to_free`` GPUs (rule: module docs).

    Protected jobs are never chosen; when the preemptible ones hold too few GPUs, all of them are
    chosen and ``shortfall_gpus`` says how many GPUs remain.
    """
    if isinstance(gpus_to_free, bool) or not isinstance(gpus_to_free, int) or gpus_to_free < 0:
        raise PolicyError(f"gpus_to_free = {gpus_to_free!r} GPUs: must be a whole number >= 0")
    candidates = [j for j in jobs if j.state == "RUNNING" and not j.protected and j.gpus_allocated > 0]
    chosen: list[SlurmJob] = []
    remaining = gpus_to_free
    while remaining > 0 and candidates:
        covering = [j for j in candidates if j.gpus_allocated >= remaining]
        if covering:
            pick = min(covering, key=lambda j: (j.gpus_allocated, _recency(j), j.job_id))
        else:
            pick = min(candidates, key=lambda j: (-j.gpus_allocated, _recency(j), j.job_id))
        chosen.append(pick)
        candidates.remove(pick)
        remaining -= pick.gpus_allocated
    freed = sum(j.gpus_allocated for j in chosen)
    return GpuShedPlan(tuple(chosen), gpus_to_free, freed, max(0, gpus_to_free - freed))
