"""pyproject.toml and environment.yml must name the same packages with ranges that overlap."""
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PIP = {"pytorch": "torch"}
CONDA_ONLY = {"python", "pip"}


def pyproject_requirements() -> dict[str, SpecifierSet]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    reqs = [Requirement(line) for line in lines]
    return {r.name.lower(): r.specifier for r in reqs if r.name.lower() != project["name"]}  # not course-utils[lab]


def conda_requirements(text: str) -> dict[str, SpecifierSet]:
    env = yaml.safe_load(text)
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):  # the pip: section, its own lines are PEP 508 already
            lines = [line.split("#")[0].strip() for line in dep.get("pip", [])]
            for req in (Requirement(line) for line in lines if line and not line.startswith("-")):
                out[req.name.lower()] = req.specifier
            continue
        req = Requirement(dep.replace(" ", ""))
        if req.name in CONDA_ONLY:
            continue
        out[CONDA_TO_PIP.get(req.name, req.name).lower()] = req.specifier
    return out


def overlap(a: SpecifierSet, b: SpecifierSet) -> Version | None:
    """A version both ranges admit, or None.

    An intersection of ranges is itself a range; when it is not empty it holds one of its
    bounds, or a version just above an exclusive lower bound, so those candidates suffice.
    """
    candidates = {Version("0")}
    for spec in [*a, *b]:
        v = Version(spec.version.replace(".*", ""))
        candidates |= {v, Version(f"{v.base_version}.0.0.1")}
    both = a & b
    for v in sorted(candidates):
        if both.contains(v, prereleases=False):
            return v
    return None


def compare(pip_reqs, conda_reqs) -> list[str]:
    problems = []
    for name in sorted(set(pip_reqs) | set(conda_reqs)):
        if name not in conda_reqs:
            problems.append(f"{name} is in pyproject.toml but not in environment.yml")
        elif name not in pip_reqs:
            problems.append(f"{name} is in environment.yml but not in pyproject.toml")
        elif overlap(pip_reqs[name], conda_reqs[name]) is None:
            problems.append(f"{name}: {pip_reqs[name]} (pyproject) excludes {conda_reqs[name]} (environment.yml)")
    return problems


def test_pyproject_and_environment_yml_agree():
    conda = conda_requirements((ROOT / "environment.yml").read_text())
    assert compare(pyproject_requirements(), conda) == []


def test_environment_yml_installs_course_utils():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lines = [line.split("#")[0].strip() for d in env["dependencies"] if isinstance(d, dict) and "pip" in d
                 for line in d["pip"]]
    assert "-e ." in pip_lines, f"environment.yml's pip section should install this folder (-e .): {pip_lines}"
    # what "-e ." installs from this folder: the project whose packages are course_utils and its two sides
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["setuptools"]["packages"]
    assert {"course_utils", "course_utils.checks", "course_utils.tools"} <= set(packages), packages
    assert all((ROOT / p.replace(".", "/") / "__init__.py").is_file() for p in packages), packages


@pytest.mark.parametrize("conda_line, problem", [
    ("numpy<1.20", "numpy: >=1.24,<3 (pyproject) excludes <1.20 (environment.yml)"),
    ("numpy>=3", "numpy: >=1.24,<3 (pyproject) excludes >=3 (environment.yml)"),
    ("numpy==1.23.5", "numpy: >=1.24,<3 (pyproject) excludes ==1.23.5 (environment.yml)"),
])
def test_disjoint_bounds_are_reported(conda_line, problem):
    pip = {"numpy": SpecifierSet(">=1.24,<3")}
    conda = conda_requirements(f"dependencies:\n  - {conda_line}\n")
    found = compare(pip, conda)
    assert len(found) == 1 and found[0].replace("<3,>=1.24", ">=1.24,<3") == problem


def test_overlapping_bounds_pass():
    pip = {"numpy": SpecifierSet(">=1.24,<3")}
    for line in ("numpy>=2.0", "numpy>1.26", "numpy<=1.24", "numpy", "numpy==2.1.*"):
        assert compare(pip, conda_requirements(f"dependencies:\n  - {line}\n")) == [], line


def test_missing_package_is_reported():
    pip = {"numpy": SpecifierSet(">=1.24"), "tqdm": SpecifierSet(">=4")}
    conda = conda_requirements("dependencies:\n  - numpy\n  - nbval\n")
    assert compare(pip, conda) == ["nbval is in environment.yml but not in pyproject.toml",
                                   "tqdm is in pyproject.toml but not in environment.yml"]
