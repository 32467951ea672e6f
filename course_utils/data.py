"""Fashion-MNIST: find it, verify it, prepare it, load it as tensors.

The prepared copy lives in ``<data root>/FashionMNIST/raw/`` as the four decompressed IDX files,
the layout ``torchvision.datasets.FashionMNIST(root=<data root>, download=False)`` reads too.
Every file is verified by the SHA-256 of its decompressed bytes before it is used, so a
re-compressed copy (such as Debian's) is accepted and a corrupt or truncated one never is.

Sources, tried in order for each file that is missing or fails verification:

1. the prepared folder itself (already there and verified: nothing to do);
2. a local folder of ``.gz`` files, by default Debian's package ``dataset-fashion-mnist``
   (``/usr/share/datasets/fashion-mnist/``);
3. a download from torchvision's mirrors.
"""
from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

log = logging.getLogger(__name__)

CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
# Used when torchvision cannot be imported; torchvision's own list wins when it can.
FALLBACK_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
DATA_DIR_ENV = "COURSE_DATA_DIR"

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
        return 4 + 4 * len(self.shape) + int(np.prod(self.shape))


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


@dataclass(frozen=True)
class FileReport:
    """What preparation did for one file: ``action`` is 'verified' or 'prepared'."""

    name: str
    action: str
    source: str
    problems: tuple[str, ...] = ()  # what was wrong on the way (a corrupt copy replaced, a failed source)


def data_root() -> Path:
    """The folder holding ``FashionMNIST/``: ``$COURSE_DATA_DIR``, else the repository's ``data/``."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").is_file():
        return repo / "data"
    return Path.cwd() / "data"


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
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if size != spec.nbytes:
        return f"{size:,} bytes, expected {spec.nbytes:,} (truncated or wrong file)"
    if _sha256(path) != spec.sha256:
        return "SHA-256 mismatch (corrupted)"
    return None


def _write_verified(dest: Path, chunks: Iterable[bytes], spec: IdxFile) -> None:
    """Write ``chunks`` to a temporary file beside ``dest``, verify, then rename it into place.

    Raises ValueError (leaving ``dest`` untouched) when the bytes are not ``spec``'s.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                h.update(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size != spec.nbytes:
            raise ValueError(f"decompressed to {size:,} bytes, expected {spec.nbytes:,}")
        if h.hexdigest() != spec.sha256:
            raise ValueError("SHA-256 of the decompressed bytes does not match")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


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


def prepare_fashion_mnist(
    root: Path | str | None = None,
    *,
    local_dirs: Sequence[Path | str] | None = None,
    mirrors: Sequence[str] | None = None,
    download: bool = True,
    files: Sequence[IdxFile] = FASHION_MNIST_FILES,
    timeout: float = 30.0,
) -> list[FileReport]:
    """Make sure every file of ``files`` sits verified in ``raw_dir(root)``.

    Args:
        root: data root (default :func:`data_root`).
        local_dirs: folders to copy from, holding ``name.gz`` or ``name`` (default: Debian's package folder).
        mirrors: base URLs to download from (default: torchvision's mirrors).
        download: allow the download source.
        files: the files and their checksums (default: Fashion-MNIST's four).
        timeout: seconds before a download attempt is abandoned.

    Returns:
        one :class:`FileReport` per file.

    Raises:
        DataUnavailableError: a file could not be had from any source; the message lists what each
            source said and the three ways to get the data.
    """
    target = raw_dir(root)
    local_dirs = [Path(d) for d in (local_dirs if local_dirs is not None else [DEBIAN_DIR])]
    reports = []
    for spec in files:
        dest = target / spec.name
        problem = verify_file(dest, spec)
        if problem is None:
            reports.append(FileReport(spec.name, "verified", str(dest)))
            continue
        problems = [] if problem == "missing" else [f"{dest}: {problem}; replacing it"]
        if problems:
            log.warning(problems[0])
        attempts = [(str(d / spec.name), lambda d=d: _from_local(d, spec, dest)) for d in local_dirs
                    if d.resolve() != target.resolve()]
        if download:
            if mirrors is None:  # resolved only when needed: importing torchvision takes seconds
                mirrors = default_mirrors()
            attempts += [(m.rstrip("/") + f"/{spec.name}.gz", lambda m=m: _from_mirror(m, spec, dest, timeout))
                         for m in mirrors]
        for source, attempt in attempts:
            try:
                attempt()
            except FileNotFoundError:
                problems.append(f"{source}[.gz]: not found")
            except (ValueError, OSError, urllib.error.URLError) as e:
                problems.append(f"{source}: {e}")
                log.warning("%s: %s", source, e)
            else:
                reports.append(FileReport(spec.name, "prepared", source, tuple(problems)))
                log.info("prepared %s from %s", spec.name, source)
                break
        else:
            raise DataUnavailableError(_unavailable_message(spec, target, problems, download))
    return reports


def _unavailable_message(spec: IdxFile, target: Path, problems: list[str], download: bool) -> str:
    tried = "\n".join(f"  - {p}" for p in problems) or "  - (no source configured)"
    return (
        f"Fashion-MNIST file {spec.name} is not available in verified form.\n"
        f"Tried:\n{tried}\n"
        "Get the data in one of three ways, then run `make data` (or `python -m course_utils data`):\n"
        f"  1. copy the four decompressed IDX files into {target}/ ;\n"
        f"  2. install Debian/Ubuntu's package: sudo apt-get install dataset-fashion-mnist "
        f"(files in {DEBIAN_DIR}/) ;\n"
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
    data = Path(path).read_bytes()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != _IDX_DTYPE_CODE:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    if len(data) != header + int(np.prod(shape)):
        raise ValueError(f"{path}: {len(data):,} bytes do not match shape {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_fashion_mnist(train: bool = True, root: Path | str | None = None,
                       download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split as tensors, preparing and verifying the files first.

    Returns:
        images: uint8 tensor (N, 28, 28), N = 60,000 (train) or 10,000 (test);
        labels: int64 tensor (N,) with values 0..9 indexing :data:`CLASS_NAMES`.
    """
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
    images, labels = load_fashion_mnist(train, root, download)
    return torch.utils.data.TensorDataset(images.float().div_(255), labels)
