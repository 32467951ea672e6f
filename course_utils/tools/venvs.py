"""Share installed packages between the repository's virtual environments by hard links.

``make test-light`` builds two more environments beside ``.venv`` (the kernel side alone, and a
student's set-up). PyTorch with the libraries it requires takes about 5 GB in each; on a machine with a
small disk three copies do not fit. Before pip installs anything into a new environment,
``python -m course_utils share-packages --into VENV torch torchvision`` (run with ``.venv``'s Python)
hard-links the files of those distributions and of everything they require from this environment into
VENV's site-packages. pip then finds them installed, at the versions ``.venv`` resolved, and installs
the rest as it would on any machine. A hard link takes no space, and pip never writes into an installed
file (an upgrade removes it and writes a new one), so the environments stay independent.

Files outside site-packages (console scripts, whose first line names this environment's Python) are
not linked. Where a link cannot be made (another file system, another Python version), nothing is
shared and pip installs copies, as it would without this step.
"""
from __future__ import annotations

import importlib.metadata as md
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

from packaging.requirements import Requirement


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_closure(names: list[str]) -> dict[str, md.Distribution]:
    """The installed distributions ``names`` need, themselves included, following extras and markers."""
    found: dict[str, md.Distribution] = {}
    seen: set[tuple[str, tuple[str, ...]]] = set()
    todo = [(n, ()) for n in names]
    while todo:
        name, extras = todo.pop()
        if (_key(name), extras) in seen:
            continue
        seen.add((_key(name), extras))
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        found.setdefault(_key(name), dist)
        for line in dist.requires or []:
            req = Requirement(line)
            wanted = req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("", *extras))
            if wanted:
                todo.append((req.name, tuple(sorted(req.extras))))
    return found


def _target_site(venv: Path) -> tuple[Path, str]:
    """VENV's site-packages and its Python's major.minor, asked of VENV's own Python."""
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import sys, sysconfig; print(sysconfig.get_path('purelib')); print('%d.%d' % sys.version_info[:2])"],
        check=True, capture_output=True, text=True).stdout.split("\n")
    return Path(out[0]), out[1]


def share_packages(names: list[str], venv: Path) -> tuple[int, int, str]:
    """Hard-link ``names`` and their requirements into ``venv``: (distributions, files linked, reason).

    A distribution already in VENV is left as it is. ``reason`` is empty when the links were made, and
    otherwise says why nothing was shared.
    """
    target, version = _target_site(venv)
    here = "%d.%d" % sys.version_info[:2]
    if version != here:
        return 0, 0, f"{venv} runs Python {version}, this environment {here}"
    source = Path(sysconfig.get_path("purelib")).resolve()
    present = {_key(p.name.split("-", 1)[0]) for p in target.glob("*.dist-info")}
    dists = [d for k, d in requirement_closure(names).items() if k not in present]
    linked = 0
    for dist in dists:
        for f in dist.files or []:
            path = Path(dist.locate_file(f)).resolve()
            if not path.is_relative_to(source) or not path.is_file():
                continue  # a console script or a file outside site-packages
            dest = target / path.relative_to(source)
            if dest.exists():
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, dest)
            except OSError as e:
                return len(dists), linked, f"cannot link {path} to {dest}: {e.strerror}"
            linked += 1
    return len(dists), linked, ""
