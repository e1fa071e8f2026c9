"""How fast the agent frees a GPU hall's power through Slurm: the published bar for GPU flexibility
is 25 % of the hall's power within a minute.

On a real one-node Slurm 22.05 cluster (slurmctld, slurmd and munge on 127.0.0.1, started here from
``tests/slurm_cluster.py``; 8 fake GPUs): three preemptible training jobs (4 + 2 + 1 GPUs) and one
protected inference job (1 GPU) run. The agent's job path (:class:`powerfirst.live.gpu_jobs.JobReconciler`
with the :class:`~powerfirst.live.slurm.SlurmDriver`: journal, CHECKPOINT, REQUEUE after the
checkpoint grace) is told at t = 0 that no training job may run. Reported, per checkpoint grace:
the time until the first and the last job's GPUs are released (Slurm's own count of GPUs in use),
the share of the hall's GPUs freed within 60 s, and that the protected job ran throughout. GPU power
is taken as proportional to GPUs in use (a held job's GPUs idle).

    .venv/bin/python benchmarks/bench_gpu_shed.py [--grace 0 10 30] [--write BENCHMARKS.md]

Needs root and Slurm (``scripts/install-slurm.sh``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

SECTION = "gpu-shed"
JOB_SCRIPT = r"""#!/bin/bash
trap 'echo checkpoint > "ckpt-$SLURM_JOB_ID"' USR1
touch "started-$SLURM_JOB_ID-${SLURM_RESTART_COUNT:-0}"
while true; do sleep 0.5 & wait $!; done
"""
TRAINING = {"train-a": 4, "train-b": 2, "train-c": 1}


def gpus_in_use(cluster: object) -> int:
    out = cluster.run("sinfo", "-h", "-N", "-n", "localhost", "-O", "GresUsed:60").stdout.split()  # type: ignore[attr-defined]
    return int(out[0].split(":")[1].split("(")[0])


async def shed_once(cluster: object, grace_s: float, journal_dir: Path) -> dict[str, float | bool]:
    from powerfirst.live.clock import WallClock
    from powerfirst.live.gpu_jobs import JobReconciler
    from powerfirst.live.journal import Journal
    from powerfirst.live.slurm import SlurmDriver

    ids = {
        name: cluster.sbatch(JOB_SCRIPT, partition="preemptible", gpus=n, name=name)
        for name, n in TRAINING.items()
    }  # type: ignore[attr-defined]
    serve = cluster.sbatch(JOB_SCRIPT, partition="protected", gpus=1, name="inference")  # type: ignore[attr-defined]
    jobs_dir = cluster.root / "jobs"  # type: ignore[attr-defined]
    cluster.wait_for(
        "all started",
        lambda: all((jobs_dir / f"started-{i}-0").exists() for i in [*ids.values(), serve]),
        timeout_s=30,
    )  # type: ignore[attr-defined]
    total = 8
    before = gpus_in_use(cluster)
    driver = SlurmDriver(
        slurm_conf=cluster.conf_path, env=cluster.env, preemptible_partitions=("preemptible",)
    )  # type: ignore[attr-defined]
    clock = WallClock()
    journal = Journal(journal_dir / f"journal-{grace_s:g}.sqlite")
    jobs = JobReconciler(
        journal, driver, clock, checkpoint_grace_s=grace_s, max_changes_per_hour=4, echo=lambda s: None
    )
    await jobs.discover(list(TRAINING))
    started = time.perf_counter()
    await jobs.command(dict.fromkeys(TRAINING, False), clock.now(), "benchmark: shed the training jobs")
    first = last = None
    freed_60 = 0
    while time.perf_counter() - started < max(90.0, grace_s + 30.0):
        await jobs.tick(clock.now())
        used = gpus_in_use(cluster)
        elapsed = time.perf_counter() - started
        if used < before and first is None:
            first = elapsed
        if used <= before - sum(TRAINING.values()):
            last = elapsed
            if elapsed <= 60.0:
                freed_60 = before - used
            break
        if elapsed <= 60.0:
            freed_60 = before - used
        await asyncio.sleep(0.1)
    protected_running = cluster.job_field(serve, "JobState") == "RUNNING"  # type: ignore[attr-defined]
    journal.close()
    await driver.close()
    cluster.cancel_all()  # type: ignore[attr-defined]
    await asyncio.sleep(1.0)
    return {
        "grace_s": grace_s,
        "first_s": first if first is not None else float("nan"),
        "last_s": last if last is not None else float("nan"),
        "freed_60_pct": 100.0 * freed_60 / total,
        "protected_running": protected_running,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--grace", type=float, nargs="+", default=[0.0, 10.0, 30.0], help="checkpoint grace [s]"
    )
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    from bench_dispatch import cpu_model, publish_text, ram_gib
    from slurm_cluster import start_cluster

    cluster = start_cluster()
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for grace in args.grace:
                rows.append(asyncio.run(shed_once(cluster, grace, Path(tmp))))
    finally:
        cluster.stop()
    ram = ram_gib()
    lines = [
        "## GPU hall shed through Slurm (issue 12)",
        "",
        f"- machine: {cpu_model()}, {platform.machine()}, {ram:.0f} GiB RAM, {os.cpu_count()} cores"
        if ram
        else "",
        f"- Slurm 22.05 (Debian), one node on 127.0.0.1, 8 fake GPUs; run {dt.date.today().isoformat()}",
        "- command: `python benchmarks/bench_gpu_shed.py --write BENCHMARKS.md`",
        "- three preemptible training jobs (4 + 2 + 1 GPUs) and a protected inference job (1 GPU); at t = 0 the "
        "agent's job path is told no training may run: CHECKPOINT (USR1) to each, REQUEUE (requeue-hold) once the "
        "grace has passed. Times from the instruction to Slurm's own count of GPUs in use dropping. The bar: 25 % "
        "of the hall's power within a minute (GPU power taken as proportional to GPUs in use).",
        "",
        "| checkpoint grace s | first GPUs freed s | all 7 training GPUs freed s | hall GPUs freed within 60 s | bar (25 % in 60 s) | protected job kept running |",
        "|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        ok = "met" if r["freed_60_pct"] >= 25.0 else "missed"
        lines.append(
            f"| {r['grace_s']:g} | {r['first_s']:.2f} | {r['last_s']:.2f} | {r['freed_60_pct']:.1f} % | {ok} | "
            f"{'yes' if r['protected_running'] else 'NO'} |"
        )
    publish_text("\n".join(line for line in lines if line is not None), args.write, SECTION)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
