"""A real one-node Slurm cluster on 127.0.0.1 for tests: munged, slurmctld and slurmd in a temp dir.

Everything lives in one temporary directory: a fresh munge key and a munged on its own socket,
``slurm.conf`` and ``gres.conf``, state and spool directories, logs and pid files. The daemons
run in the foreground (``-D``/``-F``) as child processes of the test session, on free ports on
127.0.0.1; nothing touches the system's own Slurm or munge configuration.

The node ``localhost`` (address 127.0.0.1) has 16 CPUs and 8 GPUs as GRES without devices
(``gres.conf``: ``Name=gpu Count=8``, ``AutoDetect=off``; no ``File=``, so Slurm schedules and
accounts for them but binds no device files). Two partitions:

- ``preemptible`` (PriorityTier=1, PreemptMode=REQUEUE): training jobs and rentals;
- ``protected`` (PriorityTier=10, PreemptMode=OFF): inference.

Every command is bounded in time; :meth:`SlurmCluster.stop` cancels leftover jobs, stops the
daemons (SIGTERM, then SIGKILL after a bounded wait) and removes nothing it did not create.
Install the packages with ``scripts/install-slurm.sh`` (Debian: slurmctld slurmd slurm-client
munge, Slurm 22.05).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "scancel", "sinfo")
INSTALL_HINT = "run 'scripts/install-slurm.sh' (as root: apt-get install slurmctld slurmd slurm-client munge)"
GPUS = 8
CPUS = 16
COMMAND_TIMEOUT_S = 10.0
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def missing_programs() -> list[str]:
    """The Slurm and munge programs not found (on PATH or in /usr/sbin)."""
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin"
    return [p for p in (*DAEMONS, *CLIENTS) if shutil.which(p, path=path) is None]


def _program(name: str) -> str:
    found = shutil.which(name, path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin")
    if found is None:
        raise FileNotFoundError(f"{name} not found; {INSTALL_HINT}")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SLURM_CONF = """\
ClusterName=pftest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser={user}
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={root}/ctld-state
SlurmdSpoolDir={root}/slurmd-spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1,sched_min_interval=100000
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
JobRequeue=1
ReturnToService=2
SlurmdParameters=config_overrides
MessageTimeout=3
SlurmctldTimeout=10
SlurmdTimeout=30
InactiveLimit=0
KillWait=2
MinJobAge=300
MailProg=/bin/true
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost CPUs={cpus} Gres=gpu:{gpus} State=UNKNOWN
PartitionName=preemptible Nodes=localhost Default=YES MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=REQUEUE
PartitionName=protected Nodes=localhost MaxTime=INFINITE State=UP PriorityTier=10 PreemptMode=OFF
"""

GRES_CONF = """\
AutoDetect=off
NodeName=localhost Name=gpu File={root}/dev/nvidia[0-{last}]
"""


@dataclass
class SlurmCluster:
    """One running test cluster; create with :func:`start_cluster`, end with :meth:`stop`."""

    root: Path
    conf_path: Path
    ctld_port: int
    slurmd_port: int
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started_in_s: float = 0.0
    """Wall time from the first daemon's start to an idle node [s]."""

    # --- commands -------------------------------------------------------------------------------

    def run(
        self, *args: str, timeout_s: float = COMMAND_TIMEOUT_S, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a Slurm client command against this cluster, bounded by ``timeout_s`` [s]."""
        done = subprocess.run(
            [_program(args[0]), *args[1:]],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
        return done

    def sbatch(self, script: str, *, partition: str, gpus: int, name: str) -> int:
        """Submit ``script`` (a shell script's text) as a batch job; returns its job id."""
        path = self.root / "jobs" / f"{name}.sh"
        path.parent.mkdir(exist_ok=True)
        path.write_text(script)
        done = self.run(
            "sbatch",
            "--parsable",
            f"--partition={partition}",
            f"--gres=gpu:{gpus}",
            f"--job-name={name}",
            "--requeue",
            "--ntasks=1",
            "--cpus-per-task=1",
            f"--output={self.root / 'jobs' / (name + '-%j.out')}",
            f"--chdir={self.root / 'jobs'}",
            str(path),
        )
        return int(done.stdout.strip().split(";")[0])

    def job_field(self, job_id: int, name: str) -> str:
        """One ``Key=Value`` field of ``scontrol show job`` ('' when absent)."""
        out = self.run("scontrol", "-o", "show", "job", str(job_id)).stdout
        for token in out.split():
            key, _, value = token.partition("=")
            if key == name:
                return value
        return ""

    def wait_for(self, what: str, predicate: object, *, timeout_s: float, poll_s: float = 0.2) -> float:
        """Poll ``predicate()`` until true; the seconds it took; AssertionError after ``timeout_s``."""
        assert callable(predicate)
        start = time.monotonic()
        while True:
            if predicate():
                return time.monotonic() - start
            if time.monotonic() - start > timeout_s:
                queue = self.run("squeue", "-t", "all", "-o", "%i %P %j %T %r %b %S", check=False)
                raise AssertionError(
                    f"timed out after {timeout_s} s waiting for {what}; squeue:\n{queue.stdout}{queue.stderr}"
                )
            time.sleep(poll_s)

    def node_idle(self) -> bool:
        done = self.run("sinfo", "-h", "-n", "localhost", "-o", "%T", timeout_s=5.0, check=False)
        return done.returncode == 0 and done.stdout.strip() in {"idle", "mixed", "allocated"}

    def controller_up(self) -> bool:
        done = self.run("scontrol", "ping", timeout_s=5.0, check=False)
        return done.returncode == 0 and "UP" in done.stdout

    # --- daemons --------------------------------------------------------------------------------

    def _spawn(self, name: str, argv: Sequence[str]) -> None:
        log = open(self.root / f"{name}.stdout", "ab")  # noqa: SIM115 - owned by the child
        self.procs[name] = subprocess.Popen(
            list(argv), env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def _check_alive(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited {proc.returncode}:\n{self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 30) -> str:
        text = ""
        for suffix in (".log", ".stdout"):
            path = self.root / f"{name}{suffix}"
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text

    def start_munge(self) -> None:
        sock = self.root / "munge" / "munge.socket"
        self._spawn(
            "munged",
            [
                _program("munged"),
                "--foreground",
                "--force",
                f"--socket={sock}",
                f"--key-file={self.root / 'munge' / 'munge.key'}",
                f"--log-file={self.root / 'munged.log'}",
                f"--pid-file={self.root / 'munge' / 'munged.pid'}",
                f"--seed-file={self.root / 'munge' / 'munged.seed'}",
            ],
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not sock.exists():
            self._check_alive("munged")
            if time.monotonic() > deadline:
                raise RuntimeError(f"munged did not create {sock} in {START_TIMEOUT_S} s")
            time.sleep(0.05)

    def start_controller(self, *, wait: bool = True) -> None:
        """Start slurmctld (recovering saved state) and wait until it answers ``scontrol ping``."""
        self._spawn("slurmctld", [_program("slurmctld"), "-D", "-f", str(self.conf_path)])
        if wait:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not self.controller_up():
                self._check_alive("slurmctld")
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"slurmctld not up in {START_TIMEOUT_S} s:\n{self.log_tail('slurmctld')}"
                    )
                time.sleep(0.1)

    def stop_controller(self) -> None:
        """Stop slurmctld (SIGTERM; it saves its state), bounded."""
        self._stop("slurmctld")

    def start_node(self) -> None:
        """Start slurmd for node ``localhost`` and wait until the node is idle."""
        self._spawn("slurmd", [_program("slurmd"), "-D", "-N", "localhost", "-f", str(self.conf_path)])
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.node_idle():
            self._check_alive("slurmd")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"node not idle in {START_TIMEOUT_S} s:\n{self.log_tail('slurmd')}{self.log_tail('slurmctld')}"
                )
            time.sleep(0.1)

    def _stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_TIMEOUT_S)

    def cancel_all(self) -> None:
        """Cancel every job of this cluster and wait (bounded) until none is left running."""
        if "slurmctld" not in self.procs:
            return
        self.run("scancel", "--full", "--quiet", "--user=root", check=False)
        self.run("scancel", "--quiet", "--user=root", check=False)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            done = self.run("squeue", "-h", "-o", "%i", check=False)
            if done.returncode != 0 or not done.stdout.strip():
                return
            time.sleep(0.2)

    def stop(self) -> None:
        """Cancel leftover jobs, stop slurmd, slurmctld and munged; kill job processes left over."""
        try:
            self.cancel_all()
        finally:
            for name in ("slurmd", "slurmctld", "munged"):
                self._stop(name)
            self._kill_strays()

    def _kill_strays(self) -> None:
        """SIGKILL any process left with this cluster's ``SLURM_CONF`` (slurmstepd, job scripts)."""
        marker = f"SLURM_CONF={self.conf_path}\0".encode()
        for pid_dir in Path("/proc").iterdir():
            if not pid_dir.name.isdigit() or int(pid_dir.name) == os.getpid():
                continue
            try:
                environ = (pid_dir / "environ").read_bytes()
            except OSError:
                continue
            if marker in environ + b"\0":
                with contextlib.suppress(OSError):
                    os.kill(int(pid_dir.name), signal.SIGKILL)


def _fake_gpu_devices(dev: Path) -> None:
    """``dev/nvidia0..7``: character devices 1:3 (what /dev/null is), so slurmd's gres/gpu plugin
    accepts them (it requires ``File=`` for GPUs and checks for a device node; with
    ``TaskPlugin=task/none`` nothing ever opens them). Without CAP_MKNOD: plain files (slurmd logs
    an error per file but still counts them)."""
    dev.mkdir(exist_ok=True)
    for index in range(GPUS):
        path = dev / f"nvidia{index}"
        try:
            os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            path.touch()


def start_cluster(root: Path | None = None) -> SlurmCluster:
    """Write the configuration in ``root`` (a new temp dir when None) and start the cluster."""
    missing = missing_programs()
    if missing:
        raise FileNotFoundError(f"not installed: {', '.join(missing)}; {INSTALL_HINT}")
    root = Path(tempfile.mkdtemp(prefix="pf-slurm-")) if root is None else root
    os.chmod(root, 0o755)
    for sub in ("munge", "ctld-state", "slurmd-spool", "jobs"):
        (root / sub).mkdir(mode=0o700 if sub == "munge" else 0o755, exist_ok=True)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    ctld_port, slurmd_port = _free_port(), _free_port()
    while slurmd_port == ctld_port:
        slurmd_port = _free_port()
    conf = root / "slurm.conf"
    import pwd

    conf.write_text(
        SLURM_CONF.format(
            root=root,
            ctld_port=ctld_port,
            slurmd_port=slurmd_port,
            munge_socket=root / "munge" / "munge.socket",
            user=pwd.getpwuid(os.getuid()).pw_name,
            cpus=CPUS,
            gpus=GPUS,
        )
    )
    _fake_gpu_devices(root / "dev")
    (root / "gres.conf").write_text(GRES_CONF.format(root=root, last=GPUS - 1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM")}
    env["SLURM_CONF"] = str(conf)
    env["PATH"] = env.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
    cluster = SlurmCluster(root, conf, ctld_port, slurmd_port, env)
    start = time.monotonic()
    try:
        cluster.start_munge()
        cluster.start_controller()
        cluster.start_node()
    except BaseException:
        cluster.stop()
        raise
    cluster.started_in_s = time.monotonic() - start
    return cluster
