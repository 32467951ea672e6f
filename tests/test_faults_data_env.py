"""Fault injection for `course_utils data` and `course_utils env` (issue 17's data and env cases,
issue 12's offline last resort). Each bad case asserts exit code 1, a one-line message and no
traceback; apt-get and sudo are fake executables on a PATH of their own, and Debian's package
folder is a temporary one, so no test changes the system."""
from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from course_utils import data, env
from course_utils.__main__ import main
from course_utils.data import (APT_COMMAND, FASHION_MNIST_FILES, DataUnavailableError, DataWriteError,
                               fashion_mnist_status, prepare_fashion_mnist, raw_dir)

REPO = Path(__file__).resolve().parents[1]


def prepare_tiny(ds, **kw):
    kw.setdefault("local_dirs", [ds["gz_dir"]])
    kw.setdefault("download", False)
    return prepare_fashion_mnist(ds["root"], files=ds["specs"], **kw)


def parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.part"))


def one_error_line(text: str) -> str:
    """The single line a failed command printed on stderr (fails if there are more, or a traceback)."""
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert lines[0].startswith("error: "), text
    return lines[0]


# --- data: files written with the umask, so a shared COURSE_DATA_DIR is readable by others ---

@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077], ids=oct)
def test_fault_prepared_files_get_the_umask_not_0600(tiny_dataset, umask):
    old = os.umask(umask)
    try:
        prepare_tiny(tiny_dataset)
    finally:
        os.umask(old)
    for spec in tiny_dataset["specs"]:
        mode = stat.S_IMODE((raw_dir(tiny_dataset["root"]) / spec.name).stat().st_mode)
        assert mode == 0o666 & ~umask, (spec.name, oct(mode))


def test_fault_shared_folder_prepared_by_another_user_is_readable(tiny_dataset):
    """Group and others can read what a umask-022 user prepared (the 0600 files were unreadable)."""
    old = os.umask(0o022)
    try:
        prepare_tiny(tiny_dataset)
    finally:
        os.umask(old)
    for spec in tiny_dataset["specs"]:
        mode = (raw_dir(tiny_dataset["root"]) / spec.name).stat().st_mode
        assert mode & stat.S_IRGRP and mode & stat.S_IROTH


def test_fault_unreadable_prepared_file_is_a_status_not_a_traceback(tiny_dataset, monkeypatch):
    prepare_tiny(tiny_dataset)
    spec = tiny_dataset["specs"][0]
    blocked = raw_dir(tiny_dataset["root"]) / spec.name
    real = data._sha256

    def sha256(path):
        if Path(path) == blocked:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(data, "_sha256", sha256)
    status = fashion_mnist_status(tiny_dataset["root"], tiny_dataset["specs"])
    assert status[spec.name] == "cannot be read (Permission denied)"
    report = env.EnvironmentReport("3.11", "test", [], env.DeviceInfo("cpu", "x"), status)
    assert "tiny-images-idx3-ubyte: cannot be read (Permission denied)); run `make data`" in report.format()


def test_fault_read_only_shared_folder_with_verified_files_needs_no_write(tiny_dataset, monkeypatch):
    """Another user's prepared folder: everything verified, nothing may be written, a stale .part of theirs."""
    prepare_tiny(tiny_dataset)
    stale = leave_part(raw_dir(tiny_dataset["root"]), "theirs")

    def refuse(*args, **kw):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(data.tempfile, "mkstemp", refuse)
    monkeypatch.setattr(data.os, "open", refuse)  # the lock file cannot be created either
    reports = prepare_tiny(tiny_dataset)
    assert [r.action for r in reports] == ["verified", "verified"]
    assert stale.exists()  # not ours to remove, and no error about it


# --- data: write errors are named as write errors, with the path ---

def test_fault_data_root_is_a_file_is_a_write_error(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    proc = subprocess.run([sys.executable, "-m", "course_utils", "data", "--root", str(not_a_folder), "--no-download"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    line = one_error_line(proc.stderr)
    assert f"cannot write {raw_dir(not_a_folder)}: Not a directory" in line
    assert "not found" not in line and "apt-get" not in line


def test_fault_folder_without_write_permission_is_a_write_error(tmp_path, monkeypatch, capsys):
    """The tests may run as root, who may write anywhere: the refusal is injected where files are created."""
    monkeypatch.setattr(data, "DEBIAN_DIR", raw_dir())  # an installed source: the old message said to install it

    def refuse(*args, dir=None, **kw):
        raise PermissionError(errno.EACCES, "Permission denied", str(dir))
    monkeypatch.setattr(data.tempfile, "mkstemp", refuse)
    assert main(["data", "--root", str(tmp_path), "--no-download"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"cannot write {raw_dir(tmp_path)}: Permission denied" in line
    assert "not found" not in line and "apt-get" not in line and "three ways" not in line
    assert not any(raw_dir(tmp_path).glob("*-ubyte"))


def test_fault_full_disk_is_a_write_error_and_leaves_nothing(tiny_dataset, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(data.os, "fsync", full)
    with pytest.raises(DataWriteError) as err:
        prepare_tiny(tiny_dataset)
    msg = str(err.value)
    assert "\n" not in msg and "No space left on device" in msg
    assert str(raw_dir(tiny_dataset["root"])) in msg and ".part" in msg
    assert parts(tiny_dataset["root"]) == []
    assert not (raw_dir(tiny_dataset["root"]) / tiny_dataset["specs"][0].name).exists()


def test_fault_write_error_stops_before_trying_other_sources(tiny_dataset, http_server, monkeypatch):
    """A folder that cannot be written is not a missing source: no download is attempted."""
    def refuse(*args, dir=None, **kw):
        raise PermissionError(errno.EACCES, "Permission denied", str(dir))
    monkeypatch.setattr(data.tempfile, "mkstemp", refuse)
    with pytest.raises(DataWriteError):
        prepare_tiny(tiny_dataset, download=True, mirrors=[http_server["url"] + "/m/"])
    assert http_server["hits"] == []


# --- data: .part files of interrupted runs are removed by the next run ---

def leave_part(folder: Path, name: str, size: int = 1000) -> Path:
    """What a run killed while writing ``name`` leaves behind."""
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{name}.k3j_9x2a.part"
    part.write_bytes(b"\0" * size)
    return part


def test_fault_interrupted_run_leaves_part_file_next_run_removes_it(tiny_dataset):
    target = raw_dir(tiny_dataset["root"])
    spec = tiny_dataset["specs"][0]
    leave_part(target, spec.name)
    reports = prepare_tiny(tiny_dataset)
    assert [r.action for r in reports] == ["prepared", "prepared"]
    assert parts(tiny_dataset["root"]) == []


def test_fault_part_file_is_removed_even_when_every_file_is_verified(tiny_dataset):
    prepare_tiny(tiny_dataset)
    target = raw_dir(tiny_dataset["root"])
    leave_part(target, tiny_dataset["specs"][1].name)
    reports = prepare_tiny(tiny_dataset)
    assert [r.action for r in reports] == ["verified", "verified"]
    assert parts(tiny_dataset["root"]) == []


def test_fault_part_file_of_a_live_run_is_kept_and_runs_take_turns(tiny_dataset):
    """A second run does not delete what a running one is writing: it waits for the lock, then tidies."""
    target = raw_dir(tiny_dataset["root"])
    target.mkdir(parents=True)
    done = []
    with data._prepare_lock(target) as held:  # a run that is writing right now
        assert held
        live = leave_part(target, tiny_dataset["specs"][0].name)
        worker = threading.Thread(target=lambda: done.append(prepare_tiny(tiny_dataset)))
        worker.start()
        time.sleep(0.5)
        assert worker.is_alive() and live.exists() and not done
        data._tidy_quietly(target)  # the quick tidy of a verified folder does not wait, and keeps it
        assert live.exists()
    worker.join(timeout=30)
    assert [r.action for r in done[0]] == ["prepared", "prepared"]
    assert parts(tiny_dataset["root"]) == []


# --- the last resort: apt-get, simulated ---

# Each fake records its command line in state/calls.jsonl and reads the test's wishes from state/config.json.
FAKE_PRELUDE = """\
#!{python}
import json, os, shutil, sys
from pathlib import Path
state = Path({state!r})
with open(state / "calls.jsonl", "a") as f:
    f.write(json.dumps([{name!r}, *sys.argv[1:]]) + "\\n")
cfg = json.loads((state / "config.json").read_text())
args = sys.argv[1:]
"""

FAKE_APT = FAKE_PRELUDE + """\
if args[:1] == ["update"]:
    if cfg.get("update_fails"):
        print("E: Failed to fetch http://deb.debian.org/debian/dists/stable/InRelease", file=sys.stderr)
        sys.exit(100)
    print("Reading package lists... Done")
    sys.exit(0)
if args[:1] == ["install"]:
    if cfg.get("install_fails"):
        print("E: Unable to locate package dataset-fashion-mnist", file=sys.stderr)
        sys.exit(100)
    dest = Path(cfg["debian_dir"])
    dest.mkdir(parents=True, exist_ok=True)
    for f in Path(cfg["package"]).iterdir():
        shutil.copy(f, dest / f.name)
    print("Setting up dataset-fashion-mnist ...")
    sys.exit(0)
sys.exit(1)
"""

FAKE_SUDO = FAKE_PRELUDE + """\
if args[:1] != ["-n"] or not cfg.get("sudo_without_password"):
    print("sudo: a password is required", file=sys.stderr)
    sys.exit(1)
if args[1:] == ["true"]:
    sys.exit(0)
os.execvp(args[1], args[1:])  # the fake apt-get: PATH holds nothing else
"""


class FakeApt:
    """apt-get and sudo as executables in a folder that is the whole PATH; Debian's package
    folder is a temporary one that 'apt-get install' fills from ``package``."""

    def __init__(self, tmp: Path, package: Path):
        self.bin, self.state, self.debian_dir = tmp / "bin", tmp / "state", tmp / "usr-share-datasets-fashion-mnist"
        self.bin.mkdir(parents=True)
        self.state.mkdir()
        self.config = {"debian_dir": str(self.debian_dir), "package": str(package)}
        self.configure()
        for name, text in (("apt-get", FAKE_APT), ("sudo", FAKE_SUDO)):
            path = self.bin / name
            path.write_text(text.format(python=sys.executable, state=str(self.state), name=name))
            path.chmod(0o755)

    def configure(self, **options) -> None:
        self.config.update(options)
        (self.state / "config.json").write_text(json.dumps(self.config))

    @property
    def calls(self) -> list[list[str]]:
        log = self.state / "calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def fake_apt(tmp_path, monkeypatch, tiny_dataset):
    """Root (unless a test says otherwise), no prepared data, no package installed, apt-get faked."""
    fake = FakeApt(tmp_path / "apt", tiny_dataset["gz_dir"])
    monkeypatch.setenv("PATH", str(fake.bin))
    monkeypatch.setattr(data, "DEBIAN_DIR", fake.debian_dir)
    monkeypatch.setattr(data, "_is_root", lambda: True)
    assert shutil.which("apt-get") == str(fake.bin / "apt-get")  # never the real one
    return fake


@pytest.fixture
def refused_url(free_port):
    """A mirror on a local port where nothing listens: the download fails at once, as offline."""
    return f"http://127.0.0.1:{free_port()}/mirror/"


def prepare_offline(ds, url, **kw):
    kw.setdefault("install_package", True)
    return prepare_fashion_mnist(ds["root"], files=ds["specs"], mirrors=[url], download=True, **kw)


def test_offline_last_resort_installs_the_package_as_root_after_the_download_failed(
        tiny_dataset, fake_apt, refused_url, caplog):
    caplog.set_level(logging.INFO, logger="course_utils.data")
    reports = prepare_offline(tiny_dataset, refused_url)
    assert [r.action for r in reports] == ["prepared", "prepared"]
    assert all(r.source.startswith(str(fake_apt.debian_dir)) for r in reports)
    assert fake_apt.calls == [["apt-get", "update"], ["apt-get", "install", "-y", "dataset-fashion-mnist"]]
    messages = [r.getMessage() for r in caplog.records]
    said = [i for i, m in enumerate(messages) if "installing Debian's package" in m]
    assert len(said) == 1 and "\n" not in messages[said[0]]
    assert "apt-get install -y dataset-fashion-mnist" in messages[said[0]]
    refused = [i for i, m in enumerate(messages) if refused_url in m]
    assert refused and refused[0] < said[0]  # only after the download has failed
    assert reports[0].problems and refused_url in reports[0].problems[-1]


def test_offline_last_resort_uses_sudo_without_password(tiny_dataset, fake_apt, refused_url, monkeypatch):
    monkeypatch.setattr(data, "_is_root", lambda: False)
    fake_apt.configure(sudo_without_password=True)
    prepare_offline(tiny_dataset, refused_url)
    assert fake_apt.calls == [["sudo", "-n", "true"],
                              ["sudo", "-n", "apt-get", "update"], ["apt-get", "update"],
                              ["sudo", "-n", "apt-get", "install", "-y", "dataset-fashion-mnist"],
                              ["apt-get", "install", "-y", "dataset-fashion-mnist"]]
    assert fashion_mnist_status(tiny_dataset["root"], tiny_dataset["specs"]) == {
        s.name: None for s in tiny_dataset["specs"]}


def test_offline_sudo_needing_a_password_runs_nothing_and_prints_the_command(
        tiny_dataset, fake_apt, refused_url, monkeypatch):
    monkeypatch.setattr(data, "_is_root", lambda: False)
    with pytest.raises(DataUnavailableError) as err:
        prepare_offline(tiny_dataset, refused_url)
    assert fake_apt.calls == [["sudo", "-n", "true"]]
    msg = str(err.value)
    assert f"run: {APT_COMMAND}" in msg and "needs a password" in msg
    assert APT_COMMAND == "sudo apt-get update && sudo apt-get install dataset-fashion-mnist"
    assert not fake_apt.debian_dir.exists()


def test_offline_failed_install_is_reported_in_one_line(tiny_dataset, fake_apt, refused_url):
    fake_apt.configure(update_fails=True, install_fails=True)
    with pytest.raises(DataUnavailableError) as err:
        prepare_offline(tiny_dataset, refused_url)
    line = next(line for line in str(err.value).splitlines() if "apt-get:" in line)
    assert "`apt-get install -y dataset-fashion-mnist` failed: E: Unable to locate package" in line
    assert "`apt-get update` failed: E: Failed to fetch" in line
    assert APT_COMMAND in str(err.value)


def test_offline_failed_update_alone_does_not_stop_the_install(tiny_dataset, fake_apt, refused_url):
    fake_apt.configure(update_fails=True)
    reports = prepare_offline(tiny_dataset, refused_url)
    assert [r.action for r in reports] == ["prepared", "prepared"]


def test_networked_machine_never_reaches_apt_get(tiny_dataset, fake_apt, http_server):
    for spec in tiny_dataset["specs"]:
        http_server["routes"][f"/mirror/{spec.name}.gz"] = tiny_dataset["gz"][spec.name]
    reports = prepare_offline(tiny_dataset, http_server["url"] + "/mirror/")
    assert all(r.source.startswith("http://127.0.0.1:") for r in reports)
    assert fake_apt.calls == []


def test_installed_package_is_used_before_any_download_or_apt_get(tiny_dataset, fake_apt, http_server):
    shutil.copytree(tiny_dataset["gz_dir"], fake_apt.debian_dir)
    reports = prepare_offline(tiny_dataset, http_server["url"] + "/mirror/")
    assert all(r.source.startswith(str(fake_apt.debian_dir)) for r in reports)
    assert http_server["hits"] == [] and fake_apt.calls == []


def test_no_download_and_library_calls_never_run_apt_get(tiny_dataset, fake_apt, refused_url):
    with pytest.raises(DataUnavailableError):
        prepare_offline(tiny_dataset, refused_url, install_package=False)  # what notebooks call
    with pytest.raises(DataUnavailableError):
        prepare_fashion_mnist(tiny_dataset["root"], files=tiny_dataset["specs"], download=False,
                              install_package=True)
    assert fake_apt.calls == []


def test_machine_without_apt_get_gets_the_three_ways(tiny_dataset, fake_apt, refused_url):
    (fake_apt.bin / "apt-get").unlink()
    with pytest.raises(DataUnavailableError) as err:
        prepare_offline(tiny_dataset, refused_url)
    assert "Get the data in one of three ways" in str(err.value) and APT_COMMAND in str(err.value)
    assert "apt-get:" not in str(err.value)  # nothing about passwords on a machine without apt-get
    assert fake_apt.calls == []


def test_mirror_that_did_not_answer_is_waited_for_once_not_once_per_file(tiny_dataset, http_server, monkeypatch):
    for spec in tiny_dataset["specs"]:
        http_server["routes"][f"/b/{spec.name}.gz"] = tiny_dataset["gz"][spec.name]
    dead, live = "http://dead.invalid/", http_server["url"] + "/b/"
    real, calls = data._from_mirror, []

    def from_mirror(mirror, spec, dest, timeout):
        calls.append(mirror)
        if mirror == dead:
            raise data.urllib.error.URLError(TimeoutError("timed out"))
        return real(mirror, spec, dest, timeout)
    monkeypatch.setattr(data, "_from_mirror", from_mirror)
    reports = prepare_fashion_mnist(tiny_dataset["root"], files=tiny_dataset["specs"], local_dirs=[],
                                    mirrors=[dead, live], download=True)
    assert calls == [dead, live, live]
    assert "timed out" in reports[0].problems[0] and "did not answer for an earlier file" in reports[1].problems[0]


CLI = """\
import sys
from pathlib import Path
import course_utils.data as data
from course_utils.__main__ import main
data.DEBIAN_DIR = Path({debian!r})
data._is_root = lambda: {root}
data.default_mirrors = lambda: ({url!r},)
sys.exit(main(["data", "--root", {data_root!r}]))
"""


def run_cli_offline(fake: FakeApt, url: str, data_root: Path, root: bool) -> subprocess.CompletedProcess:
    """`python -m course_utils data` on an offline machine with no data, as a separate process."""
    script = CLI.format(debian=str(fake.debian_dir), root=root, url=url, data_root=str(data_root))
    env_vars = {**os.environ, "PATH": str(fake.bin), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env_vars, capture_output=True,
                          text=True, timeout=300)


def test_offline_cli_installs_says_so_in_one_line_and_continues(tmp_path, free_port):
    fake = FakeApt(tmp_path / "apt", raw_dir())  # the package's files: the verified Fashion-MNIST
    proc = run_cli_offline(fake, f"http://127.0.0.1:{free_port()}/", tmp_path / "data", root=True)
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stderr.splitlines() if "installing Debian's package" in line]
    assert said == [f"WARNING: the download failed and {fake.debian_dir} is missing: installing Debian's "
                    "package (apt-get install -y dataset-fashion-mnist)"]
    assert "Traceback" not in proc.stderr
    assert fake.calls == [["apt-get", "update"], ["apt-get", "install", "-y", "dataset-fashion-mnist"]]
    assert proc.stdout.count(" prepared ") == 4 and "Fashion-MNIST ready" in proc.stdout
    assert fashion_mnist_status(tmp_path / "data") == {s.name: None for s in FASHION_MNIST_FILES}


def test_offline_cli_without_rights_exits_1_with_the_exact_command(tmp_path, free_port):
    fake = FakeApt(tmp_path / "apt", raw_dir())
    proc = run_cli_offline(fake, f"http://127.0.0.1:{free_port()}/", tmp_path / "data", root=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"run: {APT_COMMAND}" in proc.stderr
    assert fake.calls == [["sudo", "-n", "true"]]
    assert not fake.debian_dir.exists()


# --- env: runs on a bare Python and counts only packages that import ---

def bare_python(tmp_path: Path) -> Path:
    """A virtual environment with the standard library only (no pip, no NumPy, no torch)."""
    base = Path(getattr(sys, "_base_executable", sys.executable))
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True, timeout=120)
    return tmp_path / "bare" / "bin" / "python"


def run_env(python: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess:
    env_vars = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    if extra_path is not None:
        env_vars["PYTHONPATH"] = str(extra_path)
    return subprocess.run([str(python), "-m", "course_utils", "env"], cwd=REPO, env=env_vars,
                          capture_output=True, text=True, timeout=300)


def test_fault_env_on_a_bare_python_reports_what_is_missing(tmp_path):
    python = bare_python(tmp_path)
    assert subprocess.run([str(python), "-c", "import numpy"], capture_output=True).returncode != 0
    proc = run_env(python)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for name in ("numpy", "torch", "packaging", "tqdm"):
        assert f"✗ {name}: not installed" in proc.stdout
    assert 'pip install "torch>=2.2,<3"' in proc.stdout
    assert "Device: unknown (torch does not import: ModuleNotFoundError" in proc.stdout
    assert "requirement(s) missing: numpy, torch" in proc.stdout


def write_broken_distribution(folder: Path, module: str, version: str, error: str) -> None:
    """An installed distribution (metadata and all) whose module raises on import."""
    (folder / module).mkdir(parents=True)
    (folder / module / "__init__.py").write_text(f"raise ImportError({error!r})\n")
    info = folder / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: {version}\n")
    (info / "RECORD").write_text(f"{module}/__init__.py,,\n")
    (info / "top_level.txt").write_text(f"{module}\n")


def test_fault_installed_but_broken_package_is_not_counted_present(tmp_path):
    python = bare_python(tmp_path)
    broken = tmp_path / "site"
    write_broken_distribution(broken, "numpy", "2.1.0", "libopenblas.so.0: cannot open shared object file")
    proc = run_env(python, broken)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    assert ("✗ numpy: 2.1.0 is installed but does not import: ImportError: libopenblas.so.0: cannot open "
            "shared object file") in proc.stdout
    assert "✓ numpy" not in proc.stdout


def test_fault_broken_package_in_process_report(tmp_path, monkeypatch):
    write_broken_distribution(tmp_path, "brokenpkg", "1.0", "DLL load failed")
    monkeypatch.syspath_prepend(str(tmp_path))
    [status] = env.check_packages([(env.Requirement("brokenpkg", ">=0.5"), False)])
    assert status.installed == "1.0" and not status.ok
    assert status.problem == "1.0 is installed but does not import: ImportError: DLL load failed"
    report = env.EnvironmentReport("3.11", "test", [status], env.DeviceInfo("cpu", "x"))
    assert not report.ok and "1 requirement(s) missing: brokenpkg" in report.format()


def test_import_course_utils_needs_only_the_standard_library():
    code = "import sys, course_utils; print(sorted(m for m in ('numpy', 'torch') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr


def test_every_name_the_notebooks_import_from_course_utils_resolves():
    import re

    import course_utils
    names = set()
    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            for m in re.finditer(r"^from course_utils import ([\w, ]+)$", "".join(cell["source"]), re.M):
                names |= {n.strip() for n in m.group(1).split(",")}
    assert {"set_all_seeds", "pick_device", "CLASS_NAMES", "load_fashion_mnist"} <= names
    for name in sorted(names | set(course_utils.__all__)):
        assert getattr(course_utils, name) is not None, name
    with pytest.raises(AttributeError):
        course_utils.no_such_helper


def test_version_ranges_without_packaging():
    cases = [("2.5.1+cpu", ">=2.2,<3", True), ("3.0", ">=2.2,<3", False), ("1.19.5", ">=1.24,<3", False),
             ("1.64.1", "==1.64.1", True), ("1.64.2", "==1.64.1", False), ("2.3.4", "~=2.2", True),
             ("3.0", "~=2.2", False), ("1.4.9", "~=1.4.5", True), ("1.5.0", "~=1.4.5", False),
             ("2.0", "!=2.0", False), ("0.11.0", ">=0.11,<1", True), ("7.4", "==7.*", True)]
    for version, spec, expected in cases:
        assert env._fallback_in_range(version, spec) is expected, (version, spec)
        assert env.version_in_range(version, spec) is expected, (version, spec)
    req, optional = env.Requirement.parse('nbval<1,>=0.11; extra == "dev"')
    assert (req.name, env.format_specifier(req), optional) == ("nbval", ">=0.11,<1", True)
