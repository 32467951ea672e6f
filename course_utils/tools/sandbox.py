"""A sandbox for a grading kernel: bubblewrap (``bwrap``) on Linux.

The grader stays outside; only the kernel that runs a submission's code is inside, and sees:
- the system read-only (``/usr``, ``/etc``), the Python environment read-only;
- of the course repository only ``course_utils/`` and the prepared data, read-only;
- its own copy of the submission, writable (its ``runs/`` and ``build/`` land there);
- the folder of its own IPC sockets, writable (how the grader talks to it);
- a private ``/tmp``, no network, its own process namespace (it cannot see or signal the grader),
  a new session (no terminal to write into);
- limits on its address space and on the number of processes of its user.

Run as root, the kernel also gets an unprivileged uid of its own (one per concurrent job, so one
submission's fork bomb does not use up another's process limit): root keeps its capabilities in
bwrap and is exempt from ``RLIMIT_NPROC``. Each running grader takes a block of uids of its own
(:func:`uid_base`), so two graders on one machine (two shards of a class on one node) never share one.
Run as another user, bwrap's user namespace applies.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from traitlets import Unicode, default

from .execute import IPCKernelManager

from ..settings import (DATA_DIR_ENV, PACKAGE_DIR, RUNS_DIR_ENV, SANDBOX_MEMORY as MEMORY, SANDBOX_PROCESSES as PROCESSES,
                        THREAD_VARS, data_root)

FIRST_UID = 61000  # a kernel run by root gets its grader's block's first uid + its job's slot
UIDS_PER_GRADER = 256  # the block of one grader: at most this many jobs at once
BLOCKS = 64  # graders at once on one machine (uids FIRST_UID to FIRST_UID + 16383)
_held: list = []  # the open lock files of this process's blocks: released when it exits


def _lock_dir() -> Path:
    for folder in (Path("/run/lock"), Path(tempfile.gettempdir())):
        if folder.is_dir() and os.access(folder, os.W_OK):
            return folder
    return Path(tempfile.gettempdir())


def uid_base(jobs: int) -> int:
    """The first uid of a block no other grader on this machine holds, for ``jobs`` concurrent kernels.

    A block is held by an exclusive lock on its file in ``/run/lock/course-grade-uids/`` for as long as
    this process lives; the operating system releases it when the process ends, however it ends.
    """
    import fcntl
    if jobs > UIDS_PER_GRADER:
        raise ValueError(f"--jobs {jobs}: a sandboxed grader runs at most {UIDS_PER_GRADER} kernels at once")
    folder = _lock_dir() / "course-grade-uids"
    folder.mkdir(mode=0o700, exist_ok=True)
    for block in range(BLOCKS):
        fh = open(folder / f"{block}.lock", "a")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            continue
        _held.append(fh)
        return FIRST_UID + block * UIDS_PER_GRADER
    raise RuntimeError(f"{BLOCKS} graders already run on this machine (uid blocks in {folder} all held)")


def unavailable() -> str | None:
    """None where the sandbox works here; else why not, in one line."""
    if not sys.platform.startswith("linux"):
        return "the sandbox needs Linux with bubblewrap"
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is missing: it drops root before the kernel starts"
    # what every sandbox mounts: a container that masks /proc lets bwrap start but not mount a new /proc
    probe = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--unshare-net",
                            "--unshare-pid", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"bubblewrap cannot start a sandbox here ({why})"
    return None


@dataclass
class Sandbox:
    work: Path  # the submission's own folder: the kernel's working directory, writable
    slot: int = 0  # which concurrent job this is (gives root's kernels distinct uids)
    memory: int = MEMORY
    processes: int = PROCESSES
    uid_base: int | None = None  # as root: the first uid of this grader's block (uid_base()); FIRST_UID if None
    # the package and the data folder, wherever COURSE_DATA_DIR puts it (the kernel gets the same variable)
    readonly: list[Path] = field(default_factory=lambda: [p for p in (PACKAGE_DIR, data_root()) if p.exists()])

    @property
    def uid(self) -> int | None:
        return (self.uid_base or FIRST_UID) + self.slot if os.geteuid() == 0 else None

    def prepare(self, *writable: Path) -> None:
        """Make the kernel's home (with matplotlib's font cache, so no kernel rebuilds it) and give the
        kernel's user its folders (as root: chown; otherwise they are already the user's)."""
        home = self.work / ".home" / "matplotlib"
        if not home.exists():
            home.mkdir(parents=True)
            try:
                import matplotlib
                for cache in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
                    shutil.copy(cache, home / cache.name)
            except Exception:  # no cache to share: the kernel builds its own
                pass
        if self.uid is None:
            return
        for top in (self.work, *writable):
            for root, dirs, files in os.walk(top):
                for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                    os.chown(name, self.uid, self.uid)

    def unreadable(self) -> list[Path]:
        """The read-only folders the kernel's own uid (as root: its block's + slot) could not enter or read:
        they need the permission bits for others (a shared data folder is 0755)."""
        if self.uid is None:
            return []
        return [p for p in self.readonly if p.is_dir() and (p.stat().st_mode & 0o005) != 0o005]

    def environment(self) -> dict[str, str]:
        home = self.work / ".home"
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home),
               "MPLCONFIGDIR": str(home / "matplotlib"), RUNS_DIR_ENV: str(self.work / "runs"),
               DATA_DIR_ENV: str(data_root()),
               "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
        env.update({v: "1" for v in THREAD_VARS})
        return env

    def wrap(self, cmd: list[str], ipc_dir: Path) -> list[str]:
        """``cmd`` (the kernel's command line) run inside the sandbox."""
        args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid",
                "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        for top in ("/usr", "/etc"):
            args += ["--ro-bind", top, top]
        for link in ("/bin", "/lib", "/lib64", "/sbin"):
            if os.path.islink(link):
                args += ["--symlink", os.readlink(link), link]
            elif os.path.isdir(link):
                args += ["--ro-bind", link, link]
        # /tmp first: a bind below it (a checkout in /tmp) must land on the private /tmp, not under it
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        made = {"/", "/usr", "/etc", "/tmp"}
        for env_dir in sorted({sys.prefix, sys.base_prefix, sys.exec_prefix}):
            if not env_dir.startswith("/usr/"):
                for parent in reversed(Path(env_dir).parents):
                    if str(parent) not in made:
                        args += ["--perms", "0755", "--dir", str(parent)]
                        made.add(str(parent))
                args += ["--ro-bind", env_dir, env_dir]
        mounts = [("--ro-bind", str(p)) for p in self.readonly] + [("--bind", str(ipc_dir)), ("--bind", str(self.work))]
        for _, path in mounts:  # the folders above a mount point, traversable by the kernel's user
            for parent in reversed(Path(path).parents):
                if str(parent) not in made:
                    args += ["--perms", "0755", "--dir", str(parent)]
                    made.add(str(parent))
        for kind, path in mounts:
            args += [kind, path, path]
        args += ["--chdir", str(self.work), "--clearenv"]
        for name, value in self.environment().items():
            args += ["--setenv", name, value]
        limits = ["prlimit", f"--as={self.memory}", f"--nproc={self.processes}", "--core=0", "--"]
        drop = [] if self.uid is None else ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                                            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        return args + ["--"] + limits + drop + cmd


class SandboxKernelManager(IPCKernelManager):
    """A kernel manager whose kernel runs in :attr:`sandbox` (set it before starting the kernel).
    Interrupts go as messages: a signal cannot reach a kernel in its own session."""

    sandbox: Sandbox | None = None
    interrupt_mode = Unicode("message")

    @default("kernel_name")
    def _kernel_name_default(self) -> str:
        return "python3"

    def format_kernel_cmd(self, extra_arguments=None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        cmd = [sys.executable if c in ("python", "python3") else c for c in cmd]
        ipc_dir = Path(self.connection_file).parent
        self.sandbox.prepare(ipc_dir)
        return self.sandbox.wrap(cmd, ipc_dir)

    @property
    def kernel_spec(self):
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec
