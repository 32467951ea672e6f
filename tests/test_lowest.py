"""course_utils.tools.lowest: the constraints of `make test-lowest`, generated from pyproject.toml."""
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from course_utils.tools.lowest import PYPROJECT, constraints, lowest_pin, lowest_python

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("line, pin", [
    ("numpy>=1.24,<3", "numpy==1.24"),
    ("pillow>=9.5", "pillow==9.5"),
    ("nbval<1,>=0.11", "nbval==0.11"),
    ("torch >= 2.2, < 3", "torch==2.2"),
    ("scipy~=1.10", "scipy==1.10"),
    ("jupyterlab[extra]>=4.0,<5", "jupyterlab==4.0"),
    ("numpy>=2.1,<3; python_version >= '3.13'", "numpy==2.1; python_version >= '3.13'"),
])
def test_each_lower_bound_becomes_a_pin(line, pin):
    assert lowest_pin(line) == pin


@pytest.mark.parametrize("line", ["numpy", "numpy<3", "numpy>1.24", "numpy>=1.24,>=1.25", "numpy==1.*"])
def test_a_range_without_one_lower_bound_is_an_error(line):
    with pytest.raises(ValueError, match="lower bound"):
        lowest_pin(line)


def test_every_dependency_is_pinned_at_its_lower_bound():
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    text = constraints()
    pins = {Requirement(line).name: Requirement(line) for line in text.splitlines()
            if line and not line.startswith("#") and "==" in line}
    extras = project["optional-dependencies"]
    promised = project["dependencies"] + extras["lab"] + extras["tools"]  # what the course promises to run with
    for line in (line for line in promised if not line.startswith(project["name"])):
        declared = Requirement(line)
        (version,) = [s.version for s in pins[declared.name].specifier]
        lowest = [s.version for s in declared.specifier if s.operator == ">="]
        assert [version] == lowest and declared.specifier.contains(Version(version)), line
    assert "jupyterlab" in pins and "nbclient" in pins
    for line in extras["dev"]:  # the test tools keep their ranges; the extras it includes are pinned above
        assert line in text.splitlines() or line.startswith(project["name"]), line
    assert project["name"] not in text, "no line names the course itself"


def test_the_makefile_builds_it_on_the_oldest_python_requires_python_admits():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^LOWEST_PYTHON\s*\?=\s*(\S+)$", makefile, re.M).group(1) == f"python{lowest_python()}"


def test_the_command_needs_only_the_standard_library(tmp_path):
    out = tmp_path / "constraints.txt"
    code = ("import sys; from course_utils.__main__ import main; rc = main(['lowest-constraints', '--out', sys.argv[1]]); "
            "heavy = {'numpy', 'torch', 'packaging', 'nbformat'} & set(sys.modules); assert not heavy, heavy; sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, str(out)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == constraints()


def test_make_test_lowest_installs_with_the_generated_constraints():
    dry = subprocess.run(["make", "-n", "--no-print-directory", "-C", str(REPO), "test-lowest", "LOWEST=/nonexistent/lowest-env"],
                         capture_output=True, text=True).stdout
    assert "/nonexistent/lowest-env/bin/python -m course_utils lowest-constraints --out /nonexistent/lowest-env/constraints.txt" in dry
    assert "pip install" in dry and "-c /nonexistent/lowest-env/constraints.txt" in dry
    assert "/nonexistent/lowest-env/bin/python -m pytest" in dry and dry.rstrip().endswith("notebooks")
