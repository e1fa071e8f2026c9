"""End to end, a whole day: the agent replays a day of ERCOT prices for the hybrid site (two ASIC
fleets and a GPU hall with a one-day training job; rolling with the persistence forecast) on a
fast clock, against emulated stock S19j Pros found and commanded through pyasic and a real Slurm
job. Interval by interval, the decisions are the backtest's and the miners' telemetry shows what
the previous interval asked; at the end of each stretch the backtest runs the training job, Slurm
runs it, and at the end of each stretch it does not, the job was signalled to checkpoint, then
requeued and held (its GPUs free). Needs the real one-node Slurm cluster (tests/slurm_cluster.py);
skips with the install command when Slurm is not installed."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import numpy as np

from powerfirst.backtest.runner import prepare_backtest, run_strategy
from powerfirst.live.devices import DeviceStatus
from powerfirst.live.emulator import Fleet, FleetConfig
from powerfirst.live.journal import Journal
from powerfirst.live.setup import miner_driver, replay_setup
from powerfirst.live.slurm import SlurmDriver
from powerfirst.policies.registry import load_site, parse_site
from powerfirst.site.schema import Site

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "west-texas-hybrid.yaml"
DAY = "2023-08-10"
SPEED = 1800.0
"""Agent seconds per real second: a 15-minute interval lasts 0.5 s, the day 48 s; a released Slurm
job starts within about 3 s, inside each 12-interval stretch the job runs; the emulated miners'
physics run at the same speed."""
NETS = {"s19jpro": "127.25.1.0/29", "s19xp-hydro": "127.25.2.0/29"}
PER_FLEET = 6

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
    data["live"] = {
        "fleets": {name: {"addresses": [net], "timeout_s": 2.0} for name, net in NETS.items()},
        "slurm": {"slurm_conf": str(slurm_conf), "checkpoint_grace_s": 60.0},
    }
    return parse_site(data, source="hybrid site with a one-day training job")


def _stretches(on: np.ndarray) -> list[tuple[int, int, bool]]:
    """(first, end, running) of each run of equal decisions."""
    edges = [0, *(np.flatnonzero(np.diff(on.astype(int))) + 1).tolist(), len(on)]
    return [(a, b, bool(on[a])) for a, b in itertools.pairwise(edges)]


def test_a_day_through_emulated_miners_and_a_real_slurm_job_as_the_backtest_decides(
    slurm_cluster: Any, tmp_path: Path
) -> None:
    site = hybrid_site(slurm_cluster.conf_path)
    assert site.live is not None
    result = run_strategy(prepare_backtest(site, DAY, DAY), "rolling").run
    training = result.schedule.training_gpus[0] > 0
    stretches = _stretches(training)
    assert [s[2] for s in stretches][:4] == [False, True, False, True]  # the day switches the job

    job_id = slurm_cluster.sbatch(JOB_SCRIPT, partition="preemptible", gpus=4, name="finetune-x")
    jobs_dir = slurm_cluster.root / "jobs"
    slurm_cluster.wait_for(
        "the job started", lambda: (jobs_dir / f"started-{job_id}-0").exists(), timeout_s=20
    )
    device = f"slurm-job:{job_id}"
    seen: list[DeviceStatus | None] = []
    try:
        setup = replay_setup(site, "rolling", DAY, DAY, speed=SPEED)
        miners = miner_driver(site.live)
        jobs = SlurmDriver(
            slurm_conf=slurm_cluster.conf_path,
            env=slurm_cluster.env,
            preemptible_partitions=("preemptible",),
            release_start_delay_s=2.0,
            command_timeout_s=5.0,
        )

        async def go():  # type: ignore[no-untyped-def]
            configs = [FleetConfig(count=PER_FLEET, addresses=net, time_scale=SPEED) for net in NETS.values()]
            async with Fleet(configs[0]), Fleet(configs[1]):
                agent = setup.agent(
                    site.live, Journal(tmp_path / "j.sqlite"), miners, echo=lambda line: None, jobs_driver=jobs,
                    on_step=lambda record: seen.append(_status(agent.job_readings, device)),
                )  # fmt: skip
                await agent.run(setup.start_s, setup.end_s)
                final = _status(await agent.jobs.read() if agent.jobs else {}, device)
                assert miners is not None
                await miners.close()
                return agent, final

        agent, final = asyncio.run(go())
    finally:
        slurm_cluster.cancel_all()
    # the agent decided what the backtest decided, every interval
    np.testing.assert_allclose(np.array([r.power_mw for r in agent.records]).T, result.power_mw, atol=1e-6)
    np.testing.assert_array_equal(np.array([g[0] for g in agent.training_gpus]) > 0, training)
    # the miners: telemetry at each interval's start shows what the previous interval asked
    assert len(agent.devices) == 2 * PER_FLEET
    assert any(r.running != agent.records[0].running for r in agent.records)  # the fleets did switch
    for before, after in zip(agent.records, agent.records[1:], strict=False):
        assert after.observed_running == before.running, (after.step, after.late_s)
    # the Slurm job: at the end of each stretch it is in the state the stretch decided
    for first, end, running in stretches:
        state = seen[end] if end < len(seen) else final
        assert state is (DeviceStatus.RUNNING if running else DeviceStatus.CURTAILED), (
            first,
            end,
            running,
            state,
        )
    assert (jobs_dir / f"ckpt-{job_id}-0").exists()  # it was asked to checkpoint before its first requeue
    assert (jobs_dir / f"started-{job_id}-1").exists()  # and ran again after the release
    assert agent.journal.counts_by_state().get("failed", 0) == 0


def _status(readings: dict[str, Any], device: str) -> DeviceStatus | None:
    reading = readings.get(device)
    return None if reading is None else reading.status
