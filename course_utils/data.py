"""Fashion-MNIST: find it, verify it, prepare it, load it as tensors.

The prepared copy lives in ``<data root>/FashionMNIST/raw/`` as the four decompressed IDX files,
the layout ``torchvision.datasets.FashionMNIST(root=<data root>, download=False)`` reads too.
Every file is verified by the SHA-256 of its decompressed bytes before it is used, so a
re-compressed copy (such as Debian's) is accepted and a corrupt or truncated one never is.

Sources, tried in order for each file that is missing or fails verification:

1. the prepared folder itself (already there and verified: nothing to do);
2. a local folder of ``.gz`` files, by default Debian's package ``dataset-fashion-mnist``
   (``/usr/share/datasets/fashion-mnist/``);
3. a download from torchvision's mirrors;
4. only when asked (``install_package=True``, as ``python -m course_utils data`` does) and only after
   the download has failed: installing Debian's package with ``apt-get``, where that needs no
   password (running as root, or ``sudo -n`` allowed), then source 2 again.

Prepared files get the permissions the process umask gives (a shared ``COURSE_DATA_DIR`` stays
readable by others). Files are written to a ``.part`` file beside their final name and renamed into
place once verified; ``.part`` files an interrupted run left behind are removed by the next run.
Runs that prepare the same folder at once take turns (a lock file, ``.prepare.lock``).

Importing this module needs only the standard library; NumPy and torch are imported when data is loaded.
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import logging
import math
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from .settings import DATA_DIR_ENV, data_root  # noqa: F401  (data_root is part of this module's interface)
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

if TYPE_CHECKING:
    import numpy as np
    import torch

log = logging.getLogger(__name__)

CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")  # where the package puts its files (tests point it elsewhere)
DEBIAN_PACKAGE = "dataset-fashion-mnist"
# What a user without password-free apt-get is told to run.
APT_COMMAND = f"sudo apt-get update && sudo apt-get install {DEBIAN_PACKAGE}"
# Used when torchvision cannot be imported; torchvision's own list wins when it can.
FALLBACK_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
LOCK_NAME = ".prepare.lock"
STALE_PART_SECONDS = 3600  # without file locks (Windows), a .part file this old is taken as abandoned

_IDX_DTYPE_CODE = 0x08  # unsigned byte, the only element type Fashion-MNIST uses


@dataclass(frozen=True)
class IdxFile:
    """One IDX file of a data set: its name (without ``.gz``), decompressed SHA-256 and shape."""

    name: str
    sha256: str
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        """Size of the decompressed file: 4-byte magic, 4 bytes per dimension, one byte per item."""
        return 4 + 4 * len(self.shape) + math.prod(self.shape)


# SHA-256 of the decompressed originals. Their MD5s equal the published ones
# (train-images f4a8712d..., train-labels 9018921c..., t10k-images 8181f547..., t10k-labels 15d48437...).
FASHION_MNIST_FILES: tuple[IdxFile, ...] = (
    IdxFile("train-images-idx3-ubyte",
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", (60000, 28, 28)),
    IdxFile("train-labels-idx1-ubyte",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", (60000,)),
    IdxFile("t10k-images-idx3-ubyte",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", (10000, 28, 28)),
    IdxFile("t10k-labels-idx1-ubyte",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", (10000,)),
)


class DataUnavailableError(RuntimeError):
    """No source could provide a verified copy of a data file."""


class DataWriteError(DataUnavailableError):
    """The prepared folder (or a file in it) cannot be written; the message names the path."""

    def __init__(self, path: Path | str, error: OSError):
        reason = error.strerror or str(error)
        super().__init__(f"cannot write {path}: {reason} (make it writable, or choose another folder "
                         f"with {DATA_DIR_ENV} or --root)")
        self.path = Path(path)


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Turn an OSError raised while writing ``path`` into a :class:`DataWriteError` naming it."""
    try:
        yield
    except OSError as e:
        raise DataWriteError(path, e) from e


@dataclass(frozen=True)
class FileReport:
    """What preparation did for one file: ``action`` is 'verified' or 'prepared'."""

    name: str
    action: str
    source: str
    problems: tuple[str, ...] = ()  # what was wrong on the way (a corrupt copy replaced, a failed source)


def raw_dir(root: Path | str | None = None) -> Path:
    """``<root>/FashionMNIST/raw``, where the verified decompressed files live."""
    return Path(root if root is not None else data_root()) / "FashionMNIST" / "raw"


def default_mirrors() -> tuple[str, ...]:
    """torchvision's download mirrors for Fashion-MNIST (each ends with '/')."""
    try:
        from torchvision.datasets import FashionMNIST
        return tuple(FashionMNIST.mirrors)
    except Exception:  # torchvision missing or its layout changed: the known mirror still works
        return FALLBACK_MIRRORS


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_file(path: Path | str, spec: IdxFile) -> str | None:
    """Return None when ``path`` holds exactly ``spec``'s bytes, else what is wrong, in words."""
    path = Path(path)
    try:
        if not path.is_file():
            return "missing"
        size = path.stat().st_size
        if size != spec.nbytes:
            return f"{size:,} bytes, expected {spec.nbytes:,} (truncated or wrong file)"
        if _sha256(path) != spec.sha256:
            return "SHA-256 mismatch (corrupted)"
    except OSError as e:  # e.g. another user's file without read permission
        return f"cannot be read ({e.strerror or e})"
    return None


def _umask() -> int:
    """The process umask (read without changing it where the system allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # the portable way: set and restore
    os.umask(mask)
    return mask


def _write_verified(dest: Path, chunks: Iterable[bytes], spec: IdxFile) -> None:
    """Write ``chunks`` to a ``.part`` file beside ``dest``, verify, then rename it into place.

    The file gets the permissions a plain ``open()`` would give (0666 less the umask).

    Raises:
        ValueError: the bytes are not ``spec``'s (``dest`` is left untouched).
        DataWriteError: the folder or the file cannot be written (full disk, no permission).
        Errors of the source (``OSError``, ``HTTPException``) while reading ``chunks``, as raised.
    """
    with _writing(dest.parent):
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                with _writing(tmp):
                    out.write(chunk)
                h.update(chunk)
                size += len(chunk)
            with _writing(tmp):
                out.flush()
                os.fsync(out.fileno())
        if size != spec.nbytes:
            raise ValueError(f"decompressed to {size:,} bytes, expected {spec.nbytes:,}")
        if h.hexdigest() != spec.sha256:
            raise ValueError("SHA-256 of the decompressed bytes does not match")
        with _writing(dest):
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600: readable by its owner only
            os.replace(tmp, dest)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _prepare_lock(folder: Path, blocking: bool = True) -> Iterator[bool]:
    """Hold ``folder/.prepare.lock`` exclusively; yields False when ``blocking`` is off and another
    run holds it. Where ``fcntl`` is missing (Windows) nothing is locked and it yields True.

    Raises DataWriteError when the lock file cannot be created.
    """
    try:
        import fcntl
    except ImportError:
        yield True
        return
    path = folder / LOCK_NAME
    with _writing(path):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except PermissionError:
            fd = os.open(path, os.O_RDONLY)  # flock needs no write access to the file itself
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            acquired = True
        except BlockingIOError:
            acquired = False
        yield acquired
    finally:
        os.close(fd)


def _stale_parts(folder: Path) -> list[Path]:
    """``.part`` files in ``folder`` (every one is stale while this process holds the lock)."""
    try:
        return sorted(folder.glob(".*.part")) if folder.is_dir() else []
    except OSError:
        return []


def _remove_stale_parts(folder: Path) -> list[Path]:
    """Delete the ``.part`` files interrupted runs left; call only while holding the lock.

    Without file locks (Windows) only files untouched for :data:`STALE_PART_SECONDS` go.
    Returns the files removed.
    """
    try:
        import fcntl  # noqa: F401  (present: the lock excludes every live writer)
        min_age = 0.0
    except ImportError:
        min_age = STALE_PART_SECONDS
    removed = []
    for part in _stale_parts(folder):
        with contextlib.suppress(OSError):
            if time.time() - part.stat().st_mtime >= min_age:
                part.unlink()
                removed.append(part)
    if removed:
        log.info("removed %d unfinished file(s) an interrupted run left in %s", len(removed), folder)
    return removed


def _gunzip_chunks(stream) -> Iterable[bytes]:
    """Decompress a gzip byte stream chunk by chunk; a truncated or damaged stream raises ValueError."""
    try:
        with gzip.GzipFile(fileobj=stream) as gz:
            yield from iter(lambda: gz.read(1 << 20), b"")
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"not a complete gzip file ({e})") from e


def _from_local(folder: Path, spec: IdxFile, dest: Path) -> None:
    """Copy ``spec`` from ``folder``, where it may be gzipped (``name.gz``) or not (``name``)."""
    gz, plain = folder / f"{spec.name}.gz", folder / spec.name
    if gz.is_file():
        with open(gz, "rb") as f:
            _write_verified(dest, _gunzip_chunks(f), spec)
    elif plain.is_file():
        with open(plain, "rb") as f:
            _write_verified(dest, iter(lambda: f.read(1 << 20), b""), spec)
    else:
        raise FileNotFoundError(f"{gz} not found")


def _from_mirror(mirror: str, spec: IdxFile, dest: Path, timeout: float) -> None:
    url = mirror.rstrip("/") + f"/{spec.name}.gz"
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        _write_verified(dest, _gunzip_chunks(resp), spec)


# --- the last resort: Debian's package, installed with apt-get where no password is needed ---

def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def apt_prefix() -> list[str] | None:
    """How this process can run ``apt-get`` without a password.

    Returns:
        ``[]`` when running as root, ``["sudo", "-n"]`` where ``sudo -n true`` succeeds, and None
        where apt-get is missing or would need a password.
    """
    if shutil.which("apt-get") is None:
        return None
    if _is_root():
        return []
    if shutil.which("sudo") is None:
        return None
    try:
        ok = subprocess.run(["sudo", "-n", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return None
    return ["sudo", "-n"] if ok else None


def _last_line(proc: subprocess.CompletedProcess) -> str:
    lines = (proc.stderr or proc.stdout or "").strip().splitlines()
    return lines[-1].strip() if lines else f"exit code {proc.returncode}"


def install_debian_package(prefix: Sequence[str], timeout: float = 900) -> None:
    """Run ``apt-get update`` then ``apt-get install -y dataset-fashion-mnist`` (output captured).

    A failed update is tolerated (the package lists may already be there); a failed install is not.

    Args:
        prefix: from :func:`apt_prefix`: ``[]`` as root, ``["sudo", "-n"]`` otherwise.
        timeout: seconds allowed for each command.

    Raises:
        DataUnavailableError: the install failed; the message says how, in one line.
    """
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    update_problem = ""
    for args in (["update"], ["install", "-y", DEBIAN_PACKAGE]):
        cmd = [*prefix, "apt-get", *args]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                                  stdin=subprocess.DEVNULL)
            problem = "" if proc.returncode == 0 else _last_line(proc)
        except subprocess.TimeoutExpired:
            problem = f"no result within {timeout:.0f} s"
        except OSError as e:
            problem = str(e)
        if problem and args[0] == "update":
            update_problem = f" (after `{' '.join(cmd)}` failed: {problem})"
        elif problem:
            raise DataUnavailableError(f"`{' '.join(cmd)}` failed: {problem}{update_problem}")


def prepare_fashion_mnist(
    root: Path | str | None = None,
    *,
    local_dirs: Sequence[Path | str] | None = None,
    mirrors: Sequence[str] | None = None,
    download: bool = True,
    files: Sequence[IdxFile] = FASHION_MNIST_FILES,
    timeout: float = 30.0,
    install_package: bool = False,
) -> list[FileReport]:
    """Make sure every file of ``files`` sits verified in ``raw_dir(root)``.

    Args:
        root: data root (default :func:`data_root`).
        local_dirs: folders to copy from, holding ``name.gz`` or ``name`` (default: Debian's package folder).
        mirrors: base URLs to download from (default: torchvision's mirrors).
        download: allow the download source.
        files: the files and their checksums (default: Fashion-MNIST's four).
        timeout: seconds before a download attempt is abandoned.
        install_package: as the last resort, once the download has failed (so never with
            ``download=False``), install Debian's package where apt-get needs no password (saying so
            in a warning) and copy from it.

    Returns:
        one :class:`FileReport` per file.

    Raises:
        DataWriteError: the prepared folder cannot be written; the one-line message names the path.
        DataUnavailableError: a file could not be had from any source; the message lists what each
            source said and the three ways to get the data (with the exact apt-get command).
    """
    target = raw_dir(root)
    status = {spec.name: verify_file(target / spec.name, spec) for spec in files}
    if all(problem is None for problem in status.values()):
        _tidy_quietly(target)
        return [FileReport(spec.name, "verified", str(target / spec.name)) for spec in files]
    with _writing(target):
        target.mkdir(parents=True, exist_ok=True)
    sources = _Sources([Path(d) for d in (local_dirs if local_dirs is not None else [DEBIAN_DIR])],
                       mirrors, download, timeout, install_package)
    with _prepare_lock(target):
        _remove_stale_parts(target)
        return [_prepare_one(spec, target, sources) for spec in files]


def _tidy_quietly(target: Path) -> None:
    """Remove stale ``.part`` files when the folder allows it and no other run is preparing it."""
    if not _stale_parts(target):
        return
    try:
        with _prepare_lock(target, blocking=False) as acquired:
            if acquired:
                _remove_stale_parts(target)
    except DataWriteError:  # a read-only shared folder: nothing to tidy that we may touch
        pass


@dataclass
class _Sources:
    """Where :func:`prepare_fashion_mnist` looks, and whether the apt-get last resort was used."""

    local_dirs: list[Path]
    mirrors: Sequence[str] | None
    download: bool
    timeout: float
    install_package: bool
    apt_tried: bool = False
    unreachable: set[str] = field(default_factory=set)  # mirrors that did not answer: not asked again

    def attempts(self, spec: IdxFile, dest: Path) -> list[tuple[str, Callable[[], None]]]:
        out = [(str(d / spec.name), lambda d=d: _from_local(d, spec, dest)) for d in self.local_dirs
               if d.resolve() != dest.parent.resolve()]
        if self.download:
            if self.mirrors is None:  # resolved only when needed: importing torchvision takes seconds
                self.mirrors = default_mirrors()
            out += [(m.rstrip("/") + f"/{spec.name}.gz", lambda m=m: self.download_from(m, spec, dest))
                    for m in self.mirrors]
        return out

    def download_from(self, mirror: str, spec: IdxFile, dest: Path) -> None:
        """Download from ``mirror``, unless it did not answer for an earlier file (offline: one wait, not four)."""
        if mirror in self.unreachable:
            raise ConnectionError("not tried: the mirror did not answer for an earlier file")
        try:
            _from_mirror(mirror, spec, dest, self.timeout)
        except urllib.error.HTTPError:  # it answered
            raise
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            self.unreachable.add(mirror)
            raise

    def install(self, problems: list[str]) -> bool:
        """The last resort, once per run: True when Debian's package was installed just now."""
        if not (self.install_package and self.download) or self.apt_tried:
            return False
        self.apt_tried = True
        if shutil.which("apt-get") is None:
            return False
        prefix = apt_prefix()
        if prefix is None:
            problems.append(f"apt-get: not run (it needs a password here); run: {APT_COMMAND}")
            return False
        command = " ".join([*prefix, "apt-get", "install", "-y", DEBIAN_PACKAGE])
        log.warning("the download failed and %s is missing: installing Debian's package (%s)",
                    DEBIAN_DIR, command)
        try:
            install_debian_package(prefix)
        except DataUnavailableError as e:
            problems.append(f"apt-get: {e}")
            return False
        if DEBIAN_DIR not in self.local_dirs:
            self.local_dirs.append(DEBIAN_DIR)
        return True


def _prepare_one(spec: IdxFile, target: Path, sources: _Sources) -> FileReport:
    """Verify ``spec`` in ``target`` or fetch it from the first source that gives verified bytes."""
    dest = target / spec.name
    problem = verify_file(dest, spec)  # again: a run we waited for may have prepared it
    if problem is None:
        return FileReport(spec.name, "verified", str(dest))
    problems = [] if problem == "missing" else [f"{dest}: {problem}; replacing it"]
    if problems:
        log.warning(problems[0])
    for source, attempt in sources.attempts(spec, dest):
        if _attempt(source, attempt, problems):
            return FileReport(spec.name, "prepared", source, tuple(problems))
    if sources.install(problems):
        source = str(DEBIAN_DIR / spec.name)
        if _attempt(source, lambda: _from_local(DEBIAN_DIR, spec, dest), problems):
            return FileReport(spec.name, "prepared", source, tuple(problems))
    raise DataUnavailableError(_unavailable_message(spec, target, problems, sources.download))


def _attempt(source: str, attempt: Callable[[], None], problems: list[str]) -> bool:
    """Run one source; on failure add what went wrong to ``problems``. A DataWriteError passes through."""
    try:
        attempt()
    except FileNotFoundError:
        problems.append(f"{source}[.gz]: not found")
    except (ValueError, OSError, http.client.HTTPException) as e:
        problems.append(f"{source}: {e}")
        log.warning("%s: %s", source, e)
    else:
        log.info("prepared %s from %s", source.rsplit("/", 1)[-1], source)
        return True
    return False


def _unavailable_message(spec: IdxFile, target: Path, problems: list[str], download: bool) -> str:
    tried = "\n".join(f"  - {p}" for p in problems) or "  - (no source configured)"
    return (
        f"Fashion-MNIST file {spec.name} is not available in verified form.\n"
        f"Tried:\n{tried}\n"
        "Get the data in one of three ways, then run `make data` (or `python -m course_utils data`):\n"
        f"  1. copy the four decompressed IDX files into {target}/ ;\n"
        f"  2. install Debian/Ubuntu's package: {APT_COMMAND} (files in {DEBIAN_DIR}/) ;\n"
        "  3. allow the download from torchvision's mirrors (needs network"
        + ("" if download else "; it was switched off")
        + ")."
    )


def fashion_mnist_status(root: Path | str | None = None,
                         files: Sequence[IdxFile] = FASHION_MNIST_FILES) -> dict[str, str | None]:
    """Check the prepared folder without changing anything: file name -> None (verified) or the problem."""
    target = raw_dir(root)
    return {spec.name: verify_file(target / spec.name, spec) for spec in files}


def read_idx(path: Path | str) -> np.ndarray:
    """Read an (uncompressed) IDX file of unsigned bytes into an array of its stored shape."""
    import numpy as np

    data = Path(path).read_bytes()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != _IDX_DTYPE_CODE:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    if len(data) != header + math.prod(shape):
        raise ValueError(f"{path}: {len(data):,} bytes do not match shape {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_fashion_mnist(train: bool = True, root: Path | str | None = None,
                       download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split as tensors, preparing and verifying the files first.

    Returns:
        images: uint8 tensor (N, 28, 28), N = 60,000 (train) or 10,000 (test);
        labels: int64 tensor (N,) with values 0..9 indexing :data:`CLASS_NAMES`.
    """
    import numpy as np
    import torch

    prefix = "train" if train else "t10k"
    specs = [s for s in FASHION_MNIST_FILES if s.name.startswith(prefix)]
    prepare_fashion_mnist(root, files=specs, download=download)
    folder = raw_dir(root)
    images = read_idx(folder / f"{prefix}-images-idx3-ubyte")
    labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def fashion_mnist_dataset(train: bool = True, root: Path | str | None = None,
                          download: bool = True) -> torch.utils.data.TensorDataset:
    """A split as a ready ``TensorDataset``: float32 images (N, 28, 28) scaled to [0, 1], int64 labels.

    The same values ``torchvision.transforms.ToTensor()`` gives, computed once for the whole split,
    so a DataLoader over it does no per-image decoding.
    """
    import torch.utils.data

    images, labels = load_fashion_mnist(train, root, download)
    return torch.utils.data.TensorDataset(images.float().div_(255), labels)
