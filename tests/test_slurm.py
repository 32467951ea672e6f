"""The Slurm template (examples/slurm/) on a real Slurm: a private one-node cluster (tests/slurm_cluster.py)
runs grade-class.sbatch as an array of 4 on the synthetic class, then merge.sbatch as a job that depends
on it; the merged files equal byte for byte a one-machine run of the same class.

Not in the default run (`make test-slurm`, or COURSE_SLURM=1): it needs root, slurm-wlm and munge.
Where those are missing or Slurm does not start it is skipped with the reason, unless
COURSE_REQUIRE_SLURM=1 (CI) makes that a failure.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from slurm_cluster import SlurmCluster, SlurmUnavailable, missing
from synthetic_class import GRADED
from test_grade_class import expected_gradebook, gradebook, synthetic  # noqa: F401 (a fixture)

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "examples" / "slurm" / "grade-class.sbatch"
MERGE = REPO / "examples" / "slurm" / "merge.sbatch"
FILES = ("gradebook.csv", "results.jsonl", "summary.html")
TASKS = 4
TIMEOUT = 600  # seconds for the array and the merge together (about 1 to 2 minutes on 2 cores)

pytestmark = [pytest.mark.slurm, pytest.mark.notebook]


def unavailable(why: str):
    if os.environ.get("COURSE_REQUIRE_SLURM") == "1":
        pytest.fail(f"COURSE_REQUIRE_SLURM=1, but {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="module")
def slurm():
    """A private Slurm, started before the class is graded on one machine (a Slurm that cannot start
    says so at once)."""
    why = missing()
    if why:
        unavailable(f"no Slurm here: {why}")
    cluster = SlurmCluster()
    try:
        cluster.__enter__()
    except SlurmUnavailable as e:
        unavailable(f"the private Slurm did not start: {e}")
    try:
        yield cluster
    finally:
        cluster.__exit__(None, None, None)


def logs(folder: Path) -> str:
    return "\n".join(f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-15:])
                     for p in sorted(folder.glob("*.out")))


def test_a_slurm_array_grades_the_class_as_one_machine_does(slurm, synthetic, tmp_path):
    root, folder, one_machine, _, _ = synthetic
    parts, grades = tmp_path / "parts", tmp_path / "grades"
    env = slurm.env(COURSE_DIR=str(REPO), PYTHON=sys.executable, CLASS=str(folder), PARTS=str(parts),
                    GRADES=str(grades))
    # the template's CPUs, memory and time are a cluster's; this node has os.cpu_count() CPUs and 2 GB
    array = slurm.run(["sbatch", "--parsable", f"--array=0-{TASKS - 1}", "--cpus-per-task=1", "--mem=400M",
                       str(TEMPLATE), "--notebooks", *GRADED, "--timeout", "300"],
                      env=env, cwd=tmp_path).stdout.strip().split(";")[0]
    merge = slurm.run(["sbatch", "--parsable", f"--dependency=afterok:{array}", "--kill-on-invalid-dep=yes",
                       "--mem=400M", str(MERGE)], env=env, cwd=tmp_path).stdout.strip().split(";")[0]
    states = slurm.wait([array, merge], timeout=TIMEOUT)
    expected = {**{f"{array}_{k}": ("COMPLETED", "0:0") for k in range(TASKS)}, merge: ("COMPLETED", "0:0")}
    assert states == expected, f"jobs ended as {states}\n{logs(tmp_path)}\n{slurm.logs()}"

    for k in range(TASKS):  # --array=0-3: task k is shard k of 4
        manifest = json.loads((parts / f"shard-{k}" / "manifest.json").read_text())
        assert manifest["shard"] == {"index": k, "count": TASKS}
    assert sorted(p.name for p in parts.iterdir()) == [f"shard-{k}" for k in range(TASKS)]
    for name in FILES:
        assert (grades / name).read_bytes() == (one_machine / name).read_bytes(), name
    assert gradebook(grades) == expected_gradebook()
    students = sorted(p.name for p in (one_machine / "feedback").iterdir())
    assert sorted(p.name for p in (grades / "feedback").iterdir()) == students
