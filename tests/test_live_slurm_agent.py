"""The agent drives a real Slurm job as the plant decides a training job's GPUs, replaying a day
of the hybrid site (rolling, persistence forecast) on a fast clock: each stretch of intervals the
backtest runs the job, Slurm runs it; each stretch it does not, the job was signalled to
checkpoint, then requeued and held (its GPUs free). Needs the real one-node Slurm cluster
(tests/slurm_cluster.py); skips with the install command when Slurm is not installed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np

from powerfirst.backtest.runner import prepare_backtest, run_strategy
from powerfirst.live.devices import DeviceStatus
from powerfirst.live.journal import Journal
from powerfirst.live.setup import replay_setup
from powerfirst.live.slurm import SlurmDriver
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.site.schema import Site

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "west-texas-hybrid.yaml"
DAY = "2023-08-10"
INTERVALS = 21
"""Replayed: off 4 intervals, on 12, off 4 (and the first of the next stretch)."""
SPEED = 900.0
"""Agent seconds per real second: a 15-minute interval lasts 1 s; a released job starts within about 3 s, well inside a 12-interval stretch."""

JOB_SCRIPT = r"""#!/bin/bash
tag="$SLURM_JOB_ID-${SLURM_RESTART_COUNT:-0}"
trap 'echo checkpoint > "ckpt-$tag"' USR1
touch "started-$tag"
while true; do sleep 0.5 & wait $!; done
"""


def hybrid_site(slurm_conf: Path) -> Site:
    data = load_site(EXAMPLE).model_dump(exclude_none=True)
    data["gpu_hall"]["training_jobs"] = [
        {
            "name": "finetune-x",
            "gpu_hours": 6000,
            "release": "2023-08-10T00:00:00-05:00",
            "deadline": "2023-08-11T00:00:00-05:00",
            "value_usd": 100000,
            "min_gpus": 256,
            "max_gpus": 1024,
            "checkpoint_interval_min": 30,
            "restart_time_min": 10,
        }
    ]
    data["strategies"] = {"rolling": {"forecast": "persistence"}}
    data["live"] = {"slurm": {"slurm_conf": str(slurm_conf), "checkpoint_grace_s": 60.0}}
    return parse_site(data, source="hybrid site with a one-day training job")


def test_the_agent_runs_and_stops_a_slurm_job_as_the_backtest_decides(
    slurm_cluster: Any, tmp_path: Path
) -> None:
    site = hybrid_site(slurm_cluster.conf_path)
    assert site.live is not None
    decided = run_strategy(prepare_backtest(site, DAY, DAY), "rolling").run.schedule.training_gpus[0] > 0
    expected = decided[:INTERVALS]
    assert expected.tolist() == [False] * 4 + [True] * 12 + [False] * 4 + [True]  # the day's shape

    job_id = slurm_cluster.sbatch(JOB_SCRIPT, partition="preemptible", gpus=4, name="finetune-x")
    jobs_dir = slurm_cluster.root / "jobs"
    slurm_cluster.wait_for(
        "the job started", lambda: (jobs_dir / f"started-{job_id}-0").exists(), timeout_s=20
    )
    try:
        setup = replay_setup(site, "rolling", DAY, DAY, speed=SPEED)
        seen: list[DeviceStatus | None] = []
        driver = SlurmDriver(
            slurm_conf=slurm_cluster.conf_path,
            env=slurm_cluster.env,
            preemptible_partitions=("preemptible",),
            release_start_delay_s=2.0,
            command_timeout_s=5.0,
        )
        agent = setup.agent(
            site.live, Journal(tmp_path / "j.sqlite"), None, echo=lambda line: None, jobs_driver=driver,
            on_step=lambda record: seen.append(_status(agent.job_readings, f"slurm-job:{job_id}")),
        )  # fmt: skip

        async def go() -> None:
            await agent.run(setup.start_s, setup.start_s + INTERVALS * 900)
            await asyncio.sleep(0)

        asyncio.run(go())
    finally:
        slurm_cluster.cancel_all()
    gpus = np.array([g[0] for g in agent.training_gpus])
    np.testing.assert_array_equal(gpus > 0, expected)  # the agent decided what the backtest decided
    # telemetry at the start of each stretch's following interval shows what the stretch decided
    assert seen[4] is DeviceStatus.CURTAILED  # checkpointed, requeued and held
    assert seen[16] is DeviceStatus.RUNNING  # released: running again
    assert seen[20] is DeviceStatus.CURTAILED
    assert (jobs_dir / f"ckpt-{job_id}-0").exists()  # the first run got its checkpoint signal
    assert (jobs_dir / f"started-{job_id}-1").exists()  # and ran again after the release
    actions = [d.get("command_id", "").rsplit("/", 1)[-1] for _, _, d in agent.journal.audit_log("sent")]
    assert (
        actions.count("checkpoint") == 2 and actions.count("requeue") == 2 and actions.count("release") == 2
    )
    assert agent.journal.counts_by_state().get("failed", 0) == 0


def _status(readings: dict[str, Any], device: str) -> DeviceStatus | None:
    reading = readings.get(device)
    return None if reading is None else reading.status
