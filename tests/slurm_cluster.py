"""A private one-node Slurm for the tests (tests/test_slurm.py): munged, slurmctld and slurmd started
in a temporary folder, with their own key, socket, ports, configuration, state and logs.

    with SlurmCluster() as cluster:
        job = cluster.run(["sbatch", "--parsable", "job.sbatch"]).stdout.strip()

The daemons keep their key, sockets, state, spool and logs in that folder and listen on free ports:
the machine's own Slurm and munge (if any) are neither used nor disturbed. On leaving, the jobs still
known to this cluster are cancelled and exactly the daemons it started are stopped (by their pids);
the folder is removed. A daemon that cannot start raises :class:`SlurmUnavailable`, naming the step
and the last lines of its log.

It needs root: slurmd starts each job as its user, and munged runs as the user ``munge`` (Debian:
``apt-get install slurm-wlm munge``).
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

COMMANDS = ("munged", "munge", "unmunge", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "scancel")


class SlurmUnavailable(RuntimeError):
    """Slurm cannot run here, or one of its steps failed: the step, why, and its log's last lines."""


def missing() -> str | None:
    """Why no private Slurm can start on this machine (None if it can be tried)."""
    absent = [c for c in COMMANDS if shutil.which(c) is None]
    if absent:
        return f"{', '.join(absent)} not installed (Debian/Ubuntu: apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "a private Slurm needs root (slurmd starts jobs as their user; munged runs as user munge)"
    try:
        pwd.getpwnam("munge")
    except KeyError:
        return "no user 'munge' (the munge package creates it)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:]) or f"({path} is empty)"


def _meminfo_mb() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return 2048


class SlurmCluster:
    """One node (this machine, ``os.cpu_count()`` CPUs) and one partition ``test``; see the module."""

    def __init__(self, memory_mb: int = 2048, start_timeout: float = 60):
        self.memory_mb = min(memory_mb, _meminfo_mb())
        self.start_timeout = start_timeout
        self.root: Path | None = None
        self.procs: dict[str, subprocess.Popen] = {}
        self.node = socket.gethostname().split(".")[0]
        self.cpus = os.cpu_count() or 1

    # ---------------------------------------------------------------- paths and environment

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def socket(self) -> Path:
        return self.root / "munge" / "munged.socket"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for Slurm's commands against this cluster (``SLURM_CONF`` set)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
        return dict(env, SLURM_CONF=str(self.conf), **extra)

    def run(self, args: list[str], check: bool = True, **kw) -> subprocess.CompletedProcess:
        """A Slurm command against this cluster; a failure (with ``check``) raises with its stderr."""
        kw.setdefault("env", self.env())
        proc = subprocess.run(args, capture_output=True, text=True, timeout=kw.pop("timeout", 60), **kw)
        if check and proc.returncode:
            raise SlurmUnavailable(f"{' '.join(args)} exited with {proc.returncode}: "
                                   f"{(proc.stderr or proc.stdout).strip()}")
        return proc

    def logs(self) -> str:
        """The last lines of every daemon's log, for a failure message."""
        return "\n".join(f"--- {name}.log\n{_tail(self.root / 'log' / f'{name}.log')}"
                         for name in ("munged", "slurmctld", "slurmd"))

    # ---------------------------------------------------------------- start

    def __enter__(self) -> SlurmCluster:
        why = missing()
        if why:
            raise SlurmUnavailable(why)
        self.root = Path(tempfile.mkdtemp(prefix="course-slurm-"))
        try:
            self.root.chmod(0o755)  # munged (user munge) reaches its folder below
            self._start_munged()
            self._write_conf()
            self._start("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)])
            self._wait("slurmctld", "it answered scontrol ping",
                       lambda: "UP" in self.run(["scontrol", "ping"], check=False).stdout)
            self._start("slurmd", ["slurmd", "-D", "-f", str(self.conf), "-N", self.node])
            self._wait("slurmd", f"sinfo showed node {self.node} idle", self._idle)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start_munged(self) -> None:
        munge = pwd.getpwnam("munge")
        folder = self.root / "munge"
        folder.mkdir(mode=0o755)
        os.chown(folder, munge.pw_uid, munge.pw_gid)
        key = folder / "munge.key"
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(1024))
        os.chown(key, munge.pw_uid, munge.pw_gid)
        (self.root / "log").mkdir(mode=0o755)
        log = self.root / "log" / "munged.log"
        log.touch(mode=0o600)
        os.chown(log, munge.pw_uid, munge.pw_gid)
        self._start("munged", ["munged", "-F", f"--socket={self.socket}", f"--key-file={key}",
                               f"--pid-file={folder / 'munged.pid'}", f"--log-file={log}",
                               f"--seed-file={folder / 'munged.seed'}", "--num-threads=2"],
                    user=munge.pw_uid, group=munge.pw_gid, extra_groups=[], cwd=str(folder))

        def credential_round_trip() -> bool:
            cred = subprocess.run(["munge", "-n", "-S", str(self.socket)], capture_output=True)
            return cred.returncode == 0 and subprocess.run(["unmunge", "-S", str(self.socket)], input=cred.stdout,
                                                           capture_output=True).returncode == 0
        self._wait("munged", "a credential went through munge and unmunge", credential_round_trip)

    def _write_conf(self) -> None:
        for sub in ("state", "spool", "run"):
            (self.root / sub).mkdir(mode=0o755)
        r = self.root
        self.conf.write_text("\n".join([
            "# a private one-node cluster for the course's tests (tests/slurm_cluster.py)",
            "ClusterName=coursetest",
            f"SlurmctldHost={self.node}(127.0.0.1)",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "SlurmUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.socket}",
            "MpiDefault=none",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "SchedulerType=sched/builtin",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "ReturnToService=2",
            "MinJobAge=3600",  # finished jobs stay visible to scontrol (there is no accounting database)
            "KillWait=5",
            "InactiveLimit=0",
            f"StateSaveLocation={r / 'state'}",
            f"SlurmdSpoolDir={r / 'spool'}",
            f"SlurmctldPidFile={r / 'run' / 'slurmctld.pid'}",
            f"SlurmdPidFile={r / 'run' / 'slurmd.pid'}",
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={r / 'log' / 'slurmd.log'}",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb} State=UNKNOWN",
            f"PartitionName=test Nodes={self.node} Default=YES MaxTime=INFINITE State=UP",
        ]) + "\n")

    def _start(self, name: str, args: list[str], **kw) -> None:
        out = open(self.root / "log" / f"{name}.out", "wb")
        try:
            self.procs[name] = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                                env=self.env(), **kw)
        except OSError as e:
            raise SlurmUnavailable(f"starting {name}: {e}") from None
        finally:
            out.close()

    def _wait(self, name: str, what: str, ready) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise SlurmUnavailable(f"starting {name}: it exited with code {proc.returncode} before {what}\n"
                                       f"{self._why(name)}")
            try:
                if ready():
                    return
            except (OSError, subprocess.SubprocessError, SlurmUnavailable):
                pass
            time.sleep(0.3)
        raise SlurmUnavailable(f"starting {name}: not ready within {self.start_timeout:.0f} s ({what} is awaited)\n"
                               f"{self._why(name)}")

    def _why(self, name: str) -> str:
        return (f"--- {name}'s output\n{_tail(self.root / 'log' / f'{name}.out')}\n"
                f"--- {name}.log\n{_tail(self.root / 'log' / f'{name}.log')}")

    def _idle(self) -> bool:
        states = self.run(["sinfo", "-h", "-N", "-o", "%T"], check=False).stdout.split()
        return bool(states) and all(s == "idle" for s in states)

    # ---------------------------------------------------------------- jobs

    def job_states(self, job: str) -> dict[str, tuple[str, str]]:
        """Each job (an array's tasks one by one: ``ID_K``) of ``job``: (state, exit code)."""
        out = self.run(["scontrol", "-o", "show", "job", job], check=False).stdout
        states = {}
        for line in out.splitlines():
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            name = fields.get("JobId", "")
            if "ArrayTaskId" in fields and fields.get("ArrayJobId"):
                name = f"{fields['ArrayJobId']}_{fields['ArrayTaskId']}"
            states[name] = (fields.get("JobState", "?"), fields.get("ExitCode", "?"))
        return states

    def wait(self, jobs: list[str], timeout: float) -> dict[str, tuple[str, str]]:
        """Wait until every job of ``jobs`` has ended (or ``timeout`` passed); their states."""
        ended = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
                 "DEADLINE", "PREEMPTED"}
        deadline = time.monotonic() + timeout
        while True:
            states = {}
            for job in jobs:
                states.update(self.job_states(job))
            if states and all(s in ended for s, _ in states.values()):
                return states
            if time.monotonic() > deadline:
                return states
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise SlurmUnavailable(f"{name} exited with {proc.returncode} while jobs ran\n{self._why(name)}")
            time.sleep(1)

    # ---------------------------------------------------------------- stop

    def __exit__(self, *exc) -> None:
        if self.root is None:
            return
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            def queued() -> list[str]:
                return self.run(["squeue", "-h", "-o", "%A"], check=False).stdout.split()
            left = queued()
            if left:  # a test that stopped early: no job of this cluster outlives it
                self.run(["scancel", *left], check=False)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and queued():
                    time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):  # the reverse of their start
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
