"""Environment report (the lecture's check script, done properly) and device choice."""
from __future__ import annotations

import importlib.metadata as md
import platform
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

DISTRIBUTION = "course-utils"
# Where a conda-forge package is named differently from its PyPI distribution.
CONDA_NAMES = {"torch": "pytorch"}


@dataclass(frozen=True)
class PackageStatus:
    """One requirement checked against what is installed."""

    name: str
    specifier: str  # e.g. ">=2.2,<3"
    installed: str | None  # None when not installed
    optional: bool  # True for development extras (tests), False for what the notebooks need

    @property
    def ok(self) -> bool:
        if self.installed is None:
            return False
        try:
            return Version(self.installed) in Requirement(f"{self.name}{self.specifier}").specifier
        except InvalidVersion:
            return False

    @property
    def pip_hint(self) -> str:
        return f'pip install "{self.name}{self.specifier}"'

    @property
    def conda_hint(self) -> str:
        return f'conda install -c conda-forge "{CONDA_NAMES.get(self.name, self.name)}{self.specifier}"'


@dataclass(frozen=True)
class DeviceInfo:
    """The accelerator torch can use: kind is 'cuda', 'mps' or 'cpu'."""

    kind: str
    detail: str


@dataclass
class EnvironmentReport:
    python: str
    platform: str
    packages: list[PackageStatus]
    device: DeviceInfo
    data: dict[str, str | None] = field(default_factory=dict)  # file -> None (verified) or problem

    @property
    def missing(self) -> list[PackageStatus]:
        """Required (non-optional) packages that are absent or outside their range."""
        return [p for p in self.packages if not p.ok and not p.optional]

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def data_ok(self) -> bool:
        return bool(self.data) and all(v is None for v in self.data.values())

    def format(self) -> str:
        lines = [f"Python: {self.python}", f"Platform: {self.platform}", ""]
        for p in self.packages:
            tag = " (dev)" if p.optional else ""
            if p.ok:
                lines.append(f"✓ {p.name}{tag}: {p.installed}  (needs {p.specifier})")
            else:
                found = "not installed" if p.installed is None else f"{p.installed} is outside {p.specifier}"
                lines.append(f"✗ {p.name}{tag}: {found}")
                lines.append(f"    pip:   {p.pip_hint}")
                lines.append(f"    conda: {p.conda_hint}")
        lines += ["", f"Device: {self.device.kind} ({self.device.detail})"]
        if self.data_ok:
            lines.append("Fashion-MNIST: present and verified")
        else:
            bad = ", ".join(f"{k}: {v}" for k, v in self.data.items() if v is not None)
            lines.append(f"Fashion-MNIST: not ready ({bad}); run `make data`")
        lines.append("")
        lines.append("All requirements met." if self.ok else
                     f"{len(self.missing)} requirement(s) missing: " + ", ".join(p.name for p in self.missing))
        return "\n".join(lines)


def requirements() -> list[tuple[Requirement, bool]]:
    """The package's declared requirements as (requirement, optional) pairs.

    Read from the installed package's metadata, which pip builds from ``pyproject.toml``;
    falls back to ``pyproject.toml`` itself when running from a source tree that is not installed.
    """
    try:
        lines = md.requires(DISTRIBUTION) or []
    except md.PackageNotFoundError:
        lines = _requirements_from_pyproject()
    out = []
    for line in lines:
        req = Requirement(line)
        optional = req.marker is not None and "extra" in str(req.marker)
        req.marker = None
        out.append((req, optional))
    return out


_OPERATOR_ORDER = {">=": 0, ">": 0, "~=": 0, "==": 1, "===": 1, "<": 2, "<=": 2, "!=": 3}


def format_specifier(req: Requirement) -> str:
    """The requirement's version range with lower bounds first, e.g. '>=2.2,<3'."""
    return ",".join(str(s) for s in sorted(req.specifier, key=lambda s: (_OPERATOR_ORDER.get(s.operator, 4),
                                                                         s.version)))


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


def check_packages(reqs: Iterable[tuple[Requirement, bool]] | None = None,
                   version_of: Callable[[str], str | None] | None = None) -> list[PackageStatus]:
    """Compare each requirement with the installed version (``version_of(name)``, None if absent)."""
    reqs = requirements() if reqs is None else reqs
    version_of = version_of or _installed_version
    return [PackageStatus(r.name, format_specifier(r), version_of(r.name), optional) for r, optional in reqs]


def device_info() -> DeviceInfo:
    """Which accelerator torch sees, with the details the lecture's check prints."""
    if torch.cuda.is_available():
        return DeviceInfo("cuda", f"CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return DeviceInfo("mps", "Apple Metal Performance Shaders")
    return DeviceInfo("cpu", f"no GPU; {torch.get_num_threads()} CPU threads")


def pick_device() -> torch.device:
    """The best available device: CUDA, then Apple MPS, then the CPU."""
    return torch.device(device_info().kind)


def environment_report(check_data: bool = True) -> EnvironmentReport:
    """Python, platform, each requirement against its range, the torch device, and the data."""
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
    )
