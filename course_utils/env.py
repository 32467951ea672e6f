"""Environment report (the lecture's check script, done properly) and device choice.

The report runs on a bare Python (standard library only), since that is when it is needed most:
torch is imported only to describe the device, and ``packaging`` (for version ranges) is used when
it is there, with a small comparison of release numbers when it is not. A package counts as
present only when it imports; one that is installed but fails to import is reported with its error.
"""
from __future__ import annotations

import importlib
import importlib.util
import importlib.metadata as md
import platform
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

from .settings import checkout_file, runtime

if TYPE_CHECKING:
    import torch

DISTRIBUTION = "course-utils"
# Where a conda-forge package is named differently from its PyPI distribution.
CONDA_NAMES = {"torch": "pytorch"}
# Where the module a distribution installs is not found from its name (see _module_for).
IMPORT_NAMES = {"scikit-learn": "sklearn", "pillow": "PIL", "pyyaml": "yaml"}


@dataclass(frozen=True)
class Requirement:
    """One declared requirement: a distribution name and its version range, e.g. ('torch', '>=2.2,<3')."""

    name: str
    specifier: str = ""

    @classmethod
    def parse(cls, line: str) -> tuple["Requirement", bool]:
        """Parse a PEP 508 line such as ``'nbval<1,>=0.11; extra == "dev"'``.

        Returns:
            (requirement, optional): optional is True when the line belongs to an extra.
        """
        try:
            from packaging.requirements import Requirement as PackagingRequirement
        except ImportError:
            requirement, _, marker = line.partition(";")
            m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*\(?([^)]*)\)?\s*$", requirement)
            if m is None:
                raise ValueError(f"cannot read requirement {line!r}")
            return cls(m.group(1), m.group(2).replace(" ", "")), "extra" in marker
        req = PackagingRequirement(line)
        return cls(req.name, str(req.specifier)), req.marker is not None and "extra" in str(req.marker)


@dataclass(frozen=True)
class PackageStatus:
    """One requirement checked against what is installed and importable."""

    name: str
    specifier: str  # e.g. ">=2.2,<3"
    installed: str | None  # None when not installed
    optional: bool  # True for development extras (tests), False for what the notebooks need
    import_error: str | None = None  # why an installed package fails to import

    @property
    def ok(self) -> bool:
        return self.installed is not None and self.import_error is None and \
            version_in_range(self.installed, self.specifier)

    @property
    def problem(self) -> str | None:
        """What is wrong, in words, or None."""
        if self.installed is None:
            return "not installed"
        if self.import_error is not None:
            return f"{self.installed} is installed but does not import: {self.import_error}"
        if not version_in_range(self.installed, self.specifier):
            return f"{self.installed} is outside {self.specifier}"
        return None

    @property
    def pip_hint(self) -> str:
        return f'pip install "{self.name}{self.specifier}"'

    @property
    def conda_hint(self) -> str:
        return f'conda install -c conda-forge "{CONDA_NAMES.get(self.name, self.name)}{self.specifier}"'


@dataclass(frozen=True)
class DeviceInfo:
    """The accelerator torch can use: kind is 'cuda', 'mps' or 'cpu' ('unknown' without torch)."""

    kind: str
    detail: str


@dataclass
class EnvironmentReport:
    python: str
    platform: str
    packages: list[PackageStatus]
    device: DeviceInfo
    data: dict[str, str | None] = field(default_factory=dict)  # file -> None (verified) or problem
    runtime: str = "local"  # where the kernel runs (course_utils.settings.runtime)
    checkout: bool = True  # a course checkout (make works) rather than an installed course

    @property
    def missing(self) -> list[PackageStatus]:
        """Required (non-optional) packages that are absent, broken or outside their range."""
        return [p for p in self.packages if not p.ok and not p.optional]

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def data_ok(self) -> bool:
        return bool(self.data) and all(v is None for v in self.data.values())

    def format(self) -> str:
        where = "a course checkout" if self.checkout else "the course installed as a package"
        lines = [f"Python: {self.python}", f"Platform: {self.platform}", f"Runtime: {self.runtime}, {where}", ""]
        for p in self.packages:
            tag = " (optional)" if p.optional else ""
            if p.ok:
                lines.append(f"✓ {p.name}{tag}: {p.installed}  (needs {p.specifier})")
            else:
                lines.append(f"✗ {p.name}{tag}: {p.problem}")
                lines.append(f"    pip:   {p.pip_hint}")
                lines.append(f"    conda: {p.conda_hint}")
        lines += ["", f"Device: {self.device.kind} ({self.device.detail})"]
        if self.data_ok:
            lines.append("Fashion-MNIST: present and verified")
        else:
            bad = ", ".join(f"{k}: {v}" for k, v in self.data.items() if v is not None)
            how = ("run `make data`" if self.checkout else
                   "notebook 05 prepares it on first use (load_fashion_mnist), from the download mirrors")
            lines.append(f"Fashion-MNIST: not ready ({bad}); {how}")
        lines.append("")
        lines.append("All requirements met." if self.ok else
                     f"{len(self.missing)} requirement(s) missing: " + ", ".join(p.name for p in self.missing))
        return "\n".join(lines)


def _release(version: str) -> tuple[int, ...]:
    """The release numbers of a version: '2.5.1+cpu' -> (2, 5, 1), '1.26.0rc1' -> (1, 26, 0)."""
    m = re.match(r"\s*v?(\d+(?:\.\d+)*)", version)
    if m is None:
        raise ValueError(f"cannot read version {version!r}")
    return tuple(int(x) for x in m.group(1).split("."))


def _compare(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = max(len(a), len(b))
    a, b = a + (0,) * (n - len(a)), b + (0,) * (n - len(b))
    return (a > b) - (a < b)


def _fallback_in_range(version: str, specifier: str) -> bool:
    """Release-number comparison for when ``packaging`` is missing (pre-releases count as releases)."""
    v = _release(version)
    for clause in filter(None, specifier.split(",")):
        m = re.match(r"\s*(~=|===|==|!=|<=|>=|<|>)\s*(\S+)", clause)
        if m is None:
            return False
        op, target = m.groups()
        if op in ("==", "!=", "===") and target.endswith(".*"):
            t = _release(target[:-2])
            equal = v[:len(t)] == t
        else:
            t = _release(target)
            equal = _compare(v, t) == 0
        c = _compare(v, t)
        ok = {"==": equal, "===": equal, "!=": not equal, "<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0,
              "~=": c >= 0 and v[:max(len(t) - 1, 1)] == t[:max(len(t) - 1, 1)]}[op]
        if not ok:
            return False
    return True


def version_in_range(version: str, specifier: str) -> bool:
    """Whether ``version`` (e.g. '2.5.1') satisfies ``specifier`` (e.g. '>=2.2,<3'); False if unreadable."""
    try:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet
        from packaging.version import InvalidVersion, Version
    except ImportError:
        try:
            return _fallback_in_range(version, specifier)
        except ValueError:
            return False
    try:
        return Version(version) in SpecifierSet(specifier)
    except (InvalidVersion, InvalidSpecifier):
        return False


def requirements() -> list[tuple[Requirement, bool]]:
    """The package's declared requirements as (requirement, optional) pairs.

    Read from the installed package's metadata, which pip builds from ``pyproject.toml``;
    falls back to ``pyproject.toml`` itself when running from a source tree that is not installed.
    """
    try:
        lines = md.requires(DISTRIBUTION) or []
    except md.PackageNotFoundError:
        lines = _requirements_from_pyproject()
    parsed = [Requirement.parse(line) for line in lines]
    # an extra that names another extra of the course (tools = course-utils[lab] + ...) is not a package to check
    return [(r, optional) for r, optional in parsed if _normalize(r.name) != _normalize(DISTRIBUTION)]


_OPERATOR_ORDER = {">=": 0, ">": 0, "~=": 0, "==": 1, "===": 1, "<": 2, "<=": 2, "!=": 3}


def format_specifier(req) -> str:
    """The requirement's version range with lower bounds first, e.g. '>=2.2,<3'.

    ``req`` is a :class:`Requirement` or a ``packaging`` Requirement.
    """
    clauses = [c.strip() for c in str(req.specifier).split(",") if c.strip()]

    def key(clause: str) -> tuple[int, str]:
        op = re.match(r"(~=|===|==|!=|<=|>=|<|>)?", clause).group(1) or ""
        return _OPERATOR_ORDER.get(op, 4), clause[len(op):]
    return ",".join(sorted(clauses, key=key))


def _requirements_from_pyproject() -> list[str]:
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    extras = [f'{r}; extra == "{name}"' for name, reqs in project.get("optional-dependencies", {}).items()
              for r in reqs]
    return list(project["dependencies"]) + extras


def _installed_version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _module_for(name: str) -> str:
    """The top-level module a distribution installs (e.g. 'scikit-learn' -> 'sklearn'), from that
    distribution's own top_level.txt or file list (not a scan of every installed package, which takes
    most of a second in a full environment)."""
    key = _normalize(name)
    if key in IMPORT_NAMES:
        return IMPORT_NAMES[key]
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        return name.replace("-", "_")
    listed = (dist.read_text("top_level.txt") or "").split()
    if not listed:  # no top_level.txt (most wheels built by newer tools): the file list's first parts
        record = (dist.read_text("RECORD") or "").splitlines()  # path,hash,size per line
        listed = {first.removesuffix(".py") for first in (re.split(r"[/,]", line, 1)[0] for line in record)
                  if first and not first.endswith((".dist-info", ".data", ".pth")) and first != ".."}
    modules = sorted(m for m in listed if not m.startswith("_") and m.isidentifier())
    for module in modules:
        if _normalize(module) == key:
            return module
    return modules[0] if modules else name.replace("-", "_")


def import_error(name: str) -> str | None:
    """Import the module distribution ``name`` provides; None when it imports, else the error in one line."""
    module = _module_for(name)
    try:
        importlib.import_module(module)
    except (Exception, SystemExit) as e:  # any failure means "not usable", whatever its type
        text = str(e).strip().splitlines()
        return f"{type(e).__name__}: {text[0] if text else ''}".rstrip(": ")
    return None


def find_error(name: str) -> str | None:
    """Whether the module distribution ``name`` provides can be found, without importing it; None when it
    can, else why not in one line. For the extras' tools (JupyterLab, nbconvert ...), which run beside
    the kernel and are never imported into it: importing jupyterlab alone takes over 3 s."""
    module = _module_for(name)
    try:
        found = importlib.util.find_spec(module) is not None
    except (Exception, SystemExit) as e:
        return f"{type(e).__name__}: {e}"
    return None if found else f"ModuleNotFoundError: no module named {module!r}"


def check_packages(reqs: Iterable[tuple[object, bool]] | None = None,
                   version_of: Callable[[str], str | None] | None = None,
                   error_of: Callable[[str], str | None] | None = None) -> list[PackageStatus]:
    """Compare each requirement with what is installed and check that it imports.

    Args:
        reqs: (requirement, optional) pairs, a requirement having ``name`` and ``specifier``
            (default: :func:`requirements`).
        version_of: name -> installed version, None if absent (default: the installed metadata).
        error_of: name -> why it fails to import, None if it imports (default: :func:`import_error` for
            what the notebooks import, :func:`find_error` for the optional extras' tools; asked only for
            installed packages).

    Returns:
        one :class:`PackageStatus` per requirement, in order.
    """
    reqs = requirements() if reqs is None else reqs
    version_of = version_of or _installed_version
    out = []
    for r, optional in reqs:
        installed = version_of(r.name)
        check = error_of or (find_error if optional else import_error)
        err = check(r.name) if installed is not None else None
        out.append(PackageStatus(r.name, format_specifier(r), installed, optional, err))
    return out


def device_info() -> DeviceInfo:
    """Which accelerator torch sees, with the details the lecture's check prints."""
    try:
        import torch
    except Exception as e:  # missing or broken: the report says so instead of failing
        return DeviceInfo("unknown", f"torch does not import: {type(e).__name__}: {e}")
    if torch.cuda.is_available():
        return DeviceInfo("cuda", f"CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return DeviceInfo("mps", "Apple Metal Performance Shaders")
    return DeviceInfo("cpu", f"no GPU; {torch.get_num_threads()} CPU threads")


def pick_device() -> torch.device:
    """The best available device: CUDA, then Apple MPS, then the CPU."""
    import torch
    return torch.device(device_info().kind)


def environment_report(check_data: bool = True) -> EnvironmentReport:
    """Python, platform, each requirement against its range (and whether it imports), the torch device, the data."""
    data = {}
    if check_data:
        from .data import fashion_mnist_status
        data = fashion_mnist_status()
    return EnvironmentReport(
        python=sys.version.split()[0],
        platform=platform.platform(),
        packages=check_packages(),
        device=device_info(),
        data=data,
        runtime=runtime(),
        checkout=checkout_file("pyproject.toml") is not None,
    )
