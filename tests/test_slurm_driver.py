"""SlurmDriver against a real Slurm 22.05 (munged, slurmctld, slurmd on 127.0.0.1; tests/slurm_cluster.py).

A training job (4 GPUs) and a rental (2 GPUs) run in the ``preemptible`` partition, an inference job
(2 GPUs) in ``protected``: all 8 fake GPUs of the node are taken. Shedding 6 GPUs signals both
preemptible jobs to checkpoint (their checkpoint files appear), requeues and holds them after a
grace period (the node's own count of GPUs in use drops to the inference job's 2), leaves the
inference job untouched, and releasing them runs them again. A controller that is down makes every
reading UNAVAILABLE (one that hangs, within the command timeout); after it restarts the driver
works again. The plan's rule is tested on its own.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from powerfirst.errors import ConfigError, DataError, PolicyError
from powerfirst.live.devices import Action, Command, DeviceStatus
from powerfirst.live.slurm import SlurmDriver, SlurmJob, plan_gpu_shed
from powerfirst.live.slurm_jobs import parse_squeue_json

JOB_SCRIPT = r"""#!/bin/bash
# A GPU job: marks each start, and on SIGUSR1 writes "{on_signal}-<job id>-<restart>" and carries on.
tag="$SLURM_JOB_ID-${{SLURM_RESTART_COUNT:-0}}"
step=0
trap 'echo "step $step" > "{on_signal}-$tag"' USR1
touch "started-$tag"
while true; do step=$((step + 1)); sleep 0.5 & wait $!; done
"""
GRACE_S = 1.0
"""Checkpoint grace before the requeue in these tests [s] (minutes on a real site)."""


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def job(
    job_id: int, gpus: int, *, started_s: float = 0.0, protected: bool = False, state: str = "RUNNING"
) -> SlurmJob:
    return SlurmJob(job_id, f"j{job_id}", "protected" if protected else "preemptible", state, "None",
                    gpus, gpus if state == "RUNNING" else 0, started_s, 0, False, protected)  # fmt: skip


# --- the shed rule, on its own -------------------------------------------------------------------


def test_plan_prefers_one_job_that_covers_the_target_with_least_excess() -> None:
    jobs = [job(1, 8), job(2, 2), job(3, 4), job(4, 2, protected=True)]
    assert [j.job_id for j in plan_gpu_shed(jobs, 2).jobs] == [2]
    assert [j.job_id for j in plan_gpu_shed(jobs, 3).jobs] == [3]
    plan = plan_gpu_shed(jobs, 10)
    assert [j.job_id for j in plan.jobs] == [1, 2]
    assert (plan.gpus_freed, plan.shortfall_gpus) == (10, 0)


def test_plan_never_takes_protected_or_idle_jobs_and_reports_the_shortfall() -> None:
    jobs = [job(1, 4, protected=True), job(2, 2), job(3, 2, state="PENDING")]
    plan = plan_gpu_shed(jobs, 6)
    assert [j.job_id for j in plan.jobs] == [2]
    assert (plan.gpus_freed, plan.shortfall_gpus) == (2, 4)
    assert plan_gpu_shed(jobs, 0).jobs == ()


def test_plan_ties_go_to_the_job_started_last() -> None:
    jobs = [job(1, 2, started_s=100.0), job(2, 2, started_s=300.0), job(3, 2, started_s=200.0)]
    assert [j.job_id for j in plan_gpu_shed(jobs, 4).jobs] == [2, 3]


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_plan_rejects_a_target_that_is_not_a_whole_number(bad: Any) -> None:
    with pytest.raises(PolicyError, match="gpus_to_free"):
        plan_gpu_shed([], bad)


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("command_timeout_s", 0.0, "command_timeout_s = 0.0 s: must be > 0"),
        ("gpu_power_w", -1.0, "gpu_power_w = -1.0 W: must be >= 0"),
        ("release_start_delay_s", 1.0, "release_start_delay_s = 1.0 s: must be within 2 s to 86400 s"),
        ("checkpoint_signal", "USR1; rm", "checkpoint_signal = 'USR1; rm'"),
    ],
)
def test_driver_options_out_of_range_are_named(option: str, value: Any, expected: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(expected)):
        SlurmDriver(**{option: value})


def test_squeue_output_that_is_not_json_is_a_data_error() -> None:
    with pytest.raises(DataError, match="squeue --json: not JSON"):
        parse_squeue_json("slurm_load_jobs error: Unable to contact slurm controller", {"protected"})
    with pytest.raises(DataError, match="job #0 unreadable"):
        parse_squeue_json('{"jobs": [{"name": "no id"}], "errors": []}', {"protected"})


# --- against the real cluster ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def driver(slurm_cluster: Any) -> SlurmDriver:
    return SlurmDriver(slurm_conf=slurm_cluster.conf_path, env=slurm_cluster.env, command_timeout_s=5.0)


@pytest.fixture(scope="module")
def workload(slurm_cluster: Any) -> Iterator[dict[str, int]]:
    """Training (4 GPUs) and rental (2) in ``preemptible``, inference (2) in ``protected``, running."""
    ids = {
        "training": slurm_cluster.sbatch(JOB_SCRIPT.format(on_signal="ckpt"), partition="preemptible", gpus=4, name="training"),
        "rental": slurm_cluster.sbatch(JOB_SCRIPT.format(on_signal="ckpt"), partition="preemptible", gpus=2, name="rental"),
        "inference": slurm_cluster.sbatch(JOB_SCRIPT.format(on_signal="signalled"), partition="protected", gpus=2, name="inference"),
    }  # fmt: skip
    jobs_dir = slurm_cluster.root / "jobs"
    slurm_cluster.wait_for(
        "all three jobs started",
        lambda: all((jobs_dir / f"started-{i}-0").exists() for i in ids.values()),
        timeout_s=20,
    )
    yield ids
    slurm_cluster.cancel_all()


def gpus_in_use(cluster: Any) -> int:
    """The node's own count of allocated GPUs (``sinfo`` GresUsed, e.g. ``gpu:2(IDX:6-7)``)."""
    out = cluster.run("sinfo", "-h", "-N", "-n", "localhost", "-O", "GresUsed:60").stdout.split()
    return int(out[0].split(":")[1].split("(")[0])  # one line per partition: the same node


def test_discover_lists_jobs_with_their_gpus_and_protection(
    driver: SlurmDriver, workload: dict[str, int]
) -> None:
    devices = {d.device_id: d for d in run(driver.discover())}
    for name, gpus, protected in (("training", 4, False), ("rental", 2, False), ("inference", 2, True)):
        info = devices[f"slurm-job:{workload[name]}"]
        assert (info.model, info.gpus, info.protected, info.kind) == (name, gpus, protected, "gpu_job")
        assert info.nominal_power_w == gpus * 700.0
    readings = run(driver.read_all([f"slurm-job:{i}" for i in workload.values()]))
    assert {r.status for r in readings.values()} == {DeviceStatus.RUNNING}


def test_unknown_malformed_and_unsupported_are_refused(driver: SlurmDriver, workload: dict[str, int]) -> None:
    reading = run(driver.read("slurm-job:999999"))
    assert reading.status is DeviceStatus.UNAVAILABLE
    assert "unknown job 999999" in reading.reason
    assert "not slurm-job:<job id>" in run(driver.read("gpu:0")).reason
    outcome = run(driver.send(Command("c1", "slurm-job:999999", Action.REQUEUE)))
    assert not outcome.accepted and "unknown job" in outcome.message
    inference = f"slurm-job:{workload['inference']}"
    for action in (Action.CHECKPOINT, Action.REQUEUE):
        refused = run(driver.send(Command("c2", inference, action)))
        assert not refused.accepted and "protected partition 'protected'" in refused.message
    limit = run(driver.send(Command("c3", inference, Action.SET_POWER_LIMIT, power_limit_w=300.0)))
    assert not limit.accepted and "set_power_limit" in limit.message
    assert run(driver.read(inference)).status is DeviceStatus.RUNNING


def test_shed_checkpoints_requeues_and_releases_preemptible_jobs_only(
    slurm_cluster: Any, driver: SlurmDriver, workload: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    jobs_dir = slurm_cluster.root / "jobs"
    assert gpus_in_use(slurm_cluster) == 8
    plan = run(driver.plan_shed(6))
    shed = [j.job_id for j in plan.jobs]
    assert shed == [workload["training"], workload["rental"]] and plan.gpus_freed == 6
    inference = f"slurm-job:{workload['inference']}"
    inference_before = run(driver.read(inference)).extra

    start = time.monotonic()
    outcomes = run(driver.send_all(Command(f"ck{i}", f"slurm-job:{i}", Action.CHECKPOINT) for i in shed))
    assert all(o.accepted for o in outcomes), outcomes
    slurm_cluster.wait_for(
        "checkpoint files", lambda: all((jobs_dir / f"ckpt-{i}-0").exists() for i in shed), timeout_s=10
    )
    assert {r.status for r in run(driver.read_all([f"slurm-job:{i}" for i in shed])).values()} == {
        DeviceStatus.RUNNING
    }, "a checkpoint signal must not stop the job"
    time.sleep(GRACE_S)
    requeued_at = time.monotonic()
    outcomes = run(driver.send_all(Command(f"rq{i}", f"slurm-job:{i}", Action.REQUEUE) for i in shed))
    assert all(o.accepted for o in outcomes), outcomes
    slurm_cluster.wait_for("GPUs released", lambda: gpus_in_use(slurm_cluster) == 2, timeout_s=60, poll_s=0.1)
    released_at = time.monotonic()

    # The node frees the GPUs when the job's processes are gone; the job then shows COMPLETING
    # (TRANSITIONING) until its epilog is done, and PENDING held (CURTAILED) after.
    def shed_statuses() -> set[DeviceStatus]:
        return {r.status for r in run(driver.read_all([f"slurm-job:{i}" for i in shed])).values()}

    slurm_cluster.wait_for("held jobs", lambda: shed_statuses() == {DeviceStatus.CURTAILED}, timeout_s=20)
    curtailed_at = time.monotonic()
    readings = run(driver.read_all([f"slurm-job:{i}" for i in shed]))
    assert {r.extra["held"] for r in readings.values()} == {"true"}
    assert {r.extra["gpus_allocated"] for r in readings.values()} == {"0"}
    again = run(driver.send(Command("rq-again", f"slurm-job:{shed[0]}", Action.REQUEUE)))
    assert again.accepted and "already held" in again.message
    refused = run(driver.send(Command("ck-held", f"slurm-job:{shed[0]}", Action.CHECKPOINT)))
    assert not refused.accepted and "not RUNNING" in refused.message

    after = run(driver.read(inference))
    assert after.status is DeviceStatus.RUNNING
    assert after.extra["restart_count"] == inference_before["restart_count"] == "0"
    assert not list(jobs_dir.glob("signalled-*")), "the protected job was signalled"

    fraction = (8 - gpus_in_use(slurm_cluster)) / plan.gpus_freed
    with capsys.disabled():
        print(
            f"\nGPU shed: {fraction:.0%} of {plan.gpus_freed} GPUs released within 60 s; "
            f"{released_at - start:.2f} s from checkpoint signal (grace {GRACE_S} s), "
            f"{released_at - requeued_at:.2f} s from requeue; jobs read as curtailed "
            f"{curtailed_at - requeued_at:.2f} s after the requeue"
        )
    assert fraction == 1.0

    outcomes = run(driver.send_all(Command(f"rl{i}", f"slurm-job:{i}", Action.RELEASE) for i in shed))
    assert all(o.accepted for o in outcomes), outcomes
    waiting = run(driver.read_all([f"slurm-job:{i}" for i in shed]))  # begin time 3 s ahead
    assert {(r.status, r.extra["held"]) for r in waiting.values()} == {(DeviceStatus.TRANSITIONING, "false")}
    # Power goes away again before the rental starts: holding a pending job needs no requeue.
    rental = f"slurm-job:{shed[1]}"
    assert run(driver.send(Command("rq-pending", rental, Action.REQUEUE))).accepted
    assert run(driver.read(rental)).status is DeviceStatus.CURTAILED
    assert run(driver.send(Command("rl-pending", rental, Action.RELEASE))).accepted
    slurm_cluster.wait_for(
        "released jobs running again",
        lambda: all((jobs_dir / f"started-{i}-1").exists() for i in shed),
        timeout_s=20,
    )
    readings = run(driver.read_all([f"slurm-job:{i}" for i in shed]))
    assert {r.status for r in readings.values()} == {DeviceStatus.RUNNING}
    assert gpus_in_use(slurm_cluster) == 8
    again = run(driver.send(Command("rl-again", f"slurm-job:{shed[0]}", Action.RELEASE)))
    assert again.accepted and "already released" in again.message


def test_a_controller_that_hangs_is_unavailable_within_the_command_timeout(
    slurm_cluster: Any, workload: dict[str, int]
) -> None:
    impatient = SlurmDriver(slurm_conf=slurm_cluster.conf_path, env=slurm_cluster.env, command_timeout_s=1.0)
    inference = f"slurm-job:{workload['inference']}"
    controller = slurm_cluster.procs["slurmctld"]
    controller.send_signal(signal.SIGSTOP)  # accepts connections, answers nothing
    try:
        start = time.monotonic()
        reading = run(impatient.read(inference))
        took_s = time.monotonic() - start
    finally:
        controller.send_signal(signal.SIGCONT)
    assert reading.status is DeviceStatus.UNAVAILABLE
    assert "no answer within 1.0 s" in reading.reason
    assert 1.0 <= took_s < 2.5
    assert run(impatient.read(inference)).status is DeviceStatus.RUNNING


def test_controller_down_is_unavailable_and_the_driver_recovers(
    slurm_cluster: Any, driver: SlurmDriver, workload: dict[str, int]
) -> None:
    inference = f"slurm-job:{workload['inference']}"
    slurm_cluster.stop_controller()
    try:
        start = time.monotonic()
        reading = run(driver.read(inference))
        took_s = time.monotonic() - start
        assert reading.status is DeviceStatus.UNAVAILABLE
        assert reading.reason.startswith("squeue --json"), reading.reason
        assert "slurm_load_jobs" in reading.reason
        assert took_s < driver.command_timeout_s + 2.0
        assert run(driver.discover()) == []
        outcome = run(driver.send(Command("c9", f"slurm-job:{workload['training']}", Action.CHECKPOINT)))
        assert not outcome.accepted and "squeue" in outcome.message
    finally:
        slurm_cluster.start_controller()
    slurm_cluster.wait_for(
        "the driver reads the job again",
        lambda: run(driver.read(inference)).status is DeviceStatus.RUNNING,
        timeout_s=20,
    )
    assert {d.device_id for d in run(driver.discover())} == {f"slurm-job:{i}" for i in workload.values()}


def test_named_preemptible_partitions_are_an_allow_list() -> None:
    text = json.dumps(
        {
            "jobs": [
                {"job_id": 1, "job_state": "RUNNING", "name": "train", "partition": "preemptible"},
                {"job_id": 2, "job_state": "RUNNING", "name": "debug", "partition": "debug"},
                {"job_id": 3, "job_state": "RUNNING", "name": "serve", "partition": "protected"},
            ],
            "errors": [],
        }
    )
    open_list = {j.name: j.protected for j in parse_squeue_json(text, {"protected"})}
    assert open_list == {"train": False, "debug": False, "serve": True}
    allow = {j.name: j.protected for j in parse_squeue_json(text, {"protected"}, {"preemptible"})}
    assert allow == {"train": False, "debug": True, "serve": True}
