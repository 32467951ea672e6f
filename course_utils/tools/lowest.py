"""The lowest versions that ``pyproject.toml`` declares, as a pip constraints file (``make test-lowest``).

Every lower bound ``>=X`` (or ``~=X``) of ``[project].dependencies`` and of the ``lab`` and ``tools``
extras (what the course promises to run with) becomes ``==X``, so that a second
environment holds exactly the oldest versions the ranges promise and the notebooks' tests say
whether the promise holds. The lines of the ``dev`` extra (pytest, nbval, ...) keep their ranges:
they test the course, they are not what it promises. ``pyproject.toml`` stays the one source.

Standard library only: it runs before the environment it describes exists.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$")
_CLAUSE = re.compile(r"(~=|===|==|!=|<=|>=|<|>)\s*(\S+)$")


def lowest_pin(line: str) -> str:
    """``'numpy>=1.24,<3'`` -> ``'numpy==1.24'``; an environment marker (after ``;``) is kept.

    Raises ValueError for a line without a lower bound to pin (none, or only an exclusive ``>``).
    """
    requirement, _, marker = line.partition(";")
    m = _NAME.match(requirement)
    if m is None:
        raise ValueError(f"cannot read requirement {line!r}")
    name, spec = m.group(1), m.group(2).strip().strip("()")
    lower = []
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        c = _CLAUSE.match(clause)
        if c is None:
            raise ValueError(f"cannot read {clause!r} in requirement {line!r}")
        if c.group(1) in (">=", "~=", "==", "==="):
            lower.append(c.group(2))
    if len(lower) != 1 or "*" in lower[0]:
        raise ValueError(f"{line!r} needs exactly one lower bound (>=X) for its lowest version to be tested")
    return f"{name}=={lower[0]}" + (f"; {marker.strip()}" if marker.strip() else "")


def lowest_python(pyproject: Path = PYPROJECT) -> str:
    """The oldest Python that ``requires-python`` admits, e.g. ``'3.11'``."""
    spec = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["requires-python"]
    m = re.search(r">=\s*(\d+\.\d+)", spec)
    if m is None:
        raise ValueError(f"requires-python {spec!r} has no lower bound (>=X.Y)")
    return m.group(1)


PROMISED_EXTRAS = ("lab", "tools")  # with [project].dependencies: what the course promises to run with


def _own(line: str, project: dict) -> bool:
    """Whether ``line`` names this project itself (an extra that includes another: ``course-utils[lab]``)."""
    m = _NAME.match(line)
    return m is not None and m.group(1).lower().replace("_", "-") == project["name"].lower().replace("_", "-")


def constraints(pyproject: Path = PYPROJECT) -> str:
    """The constraints file: the dependencies and promised extras at their lower bounds, then the dev
    tools' ranges."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    lines = [f"# Generated from {pyproject.name} by `python -m course_utils lowest-constraints`; do not edit.",
             f"# [project].dependencies and the extras {', '.join(PROMISED_EXTRAS)} at their lower bounds "
             f"(Python {lowest_python(pyproject)}):"]
    promised = list(project["dependencies"]) + [line for e in PROMISED_EXTRAS for line in extras.get(e, [])]
    lines += [lowest_pin(line) for line in promised if not _own(line, project)]
    lines.append("# the dev extra keeps its ranges (test tools, not part of what the course promises):")
    lines += [line for line in extras.get("dev", []) if not _own(line, project)]
    return "\n".join(lines) + "\n"
