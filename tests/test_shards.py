"""A class graded in shards and merged (course_utils/tools/shards.py): which student is in which shard,
K and N from the engines, the CPUs a grader may use, manifests, and a merge equal byte for byte to
one machine's files; what a merge refuses; --only regrades one student."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_grade_class import TINY, gradebook, needs_sandbox, tiny_course, write  # noqa: F401 (a fixture)

from course_utils.tools.gradeclass import ClassError, Options, Row, grade_class, write_outputs
from course_utils.tools.shards import (ShardError, available_cpus, merge_grades, parse_shard, read_manifest,
                                       shard_of, write_manifest)

REPO = Path(__file__).resolve().parents[1]
FILES = ("gradebook.csv", "results.jsonl", "summary.html")
NAMES = [f"student{i:03d}" for i in range(200)] + ["Zoë Ångström", "o'brien", "x"]


# ---------------------------------------------------------------- which shard, on every machine

@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
def test_every_student_is_in_exactly_one_shard_and_shards_are_even(count):
    shards = [shard_of(s, count) for s in NAMES]
    assert all(0 <= k < count for k in shards)
    sizes = [shards.count(k) for k in range(count)]
    mean = len(NAMES) / count  # a hash spreads names like a fair die: each shard within 4 sd of the mean
    assert all(abs(size - mean) <= 4 * (mean * (1 - 1 / count)) ** 0.5 for size in sizes), sizes


def test_the_shard_does_not_depend_on_the_process():
    """Python's own hash() changes with PYTHONHASHSEED; the shard must not (every task computes it)."""
    code = "from course_utils.tools.shards import shard_of; print([shard_of(s, 5) for s in %r])" % (NAMES[:40],)
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env=dict(os.environ, PYTHONHASHSEED=seed)).stdout for seed in ("1", "2")}
    assert seen == {str([shard_of(s, 5) for s in NAMES[:40]]) + "\n"}


def test_explicit_shards_and_their_mistakes():
    assert parse_shard("0/1") == (0, 1) and parse_shard("3/4") == (3, 4)
    for bad, says in [("4/4", "0 to 3"), ("1-4", "K/N"), ("a/b", "K/N"), ("0/0", "0 to 0"), ("", "K/N")]:
        with pytest.raises(ShardError, match=says):
            parse_shard(bad)


def test_auto_reads_a_slurm_array_that_need_not_start_at_zero():
    env = {"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "3", "SLURM_ARRAY_TASK_STEP": "2",
           "SLURM_ARRAY_TASK_COUNT": "4"}  # --array=3-9:2: tasks 3, 5, 7, 9
    assert parse_shard("auto", environ=env) == (2, 4)
    assert parse_shard("auto", environ=dict(env, SLURM_ARRAY_TASK_ID="3")) == (0, 4)
    with pytest.raises(ShardError, match="multiple of STEP"):
        parse_shard("auto", environ=dict(env, SLURM_ARRAY_TASK_ID="4"))
    with pytest.raises(ShardError, match="disagrees"):
        parse_shard("auto", 5, environ=env)


def test_auto_reads_a_kubernetes_indexed_job_with_its_count():
    assert parse_shard("auto", 6, environ={"JOB_COMPLETION_INDEX": "5"}) == (5, 6)
    with pytest.raises(ShardError, match="--shard-count"):
        parse_shard("auto", environ={"JOB_COMPLETION_INDEX": "0"})
    with pytest.raises(ShardError, match="outside"):
        parse_shard("auto", 2, environ={"JOB_COMPLETION_INDEX": "2"})
    with pytest.raises(ShardError, match="neither a Slurm"):
        parse_shard("auto", 2, environ={})


def test_jobs_default_to_the_cpus_this_process_may_use():
    assert available_cpus({"SLURM_CPUS_PER_TASK": "3"}) == 3
    assert available_cpus({}) <= len(os.sched_getaffinity(0))
    one = subprocess.run(["taskset", "-c", "0", sys.executable, "-c",
                          "from course_utils.tools.shards import available_cpus; print(available_cpus({}))"],
                         capture_output=True, text=True, check=True).stdout
    assert one.strip() == "1"  # pinned to one core: one job, whatever the machine has


# ---------------------------------------------------------------- merging: what it refuses

def _part(folder: Path, index: int, count: int, students: list[str], course="c1", options=None,
          exercises=("1.2",)) -> Path:
    folder.mkdir(parents=True)
    rows = [Row(s, "99_tiny.ipynb", e, "passed", "ok") for s in students for e in exercises]
    write_outputs(folder, list(exercises), students, rows, [])
    write_manifest(folder, course=course, options=options or {"timeout": 60, "sandbox": True}, shard=(index, count),
                   students=students, exercises=list(exercises))
    return folder


def test_a_merge_names_a_missing_shard(tmp_path):
    parts = [_part(tmp_path / f"p{k}", k, 4, [f"s{k}"]) for k in (0, 1, 3)]
    with pytest.raises(ShardError, match=r"shard 2/4 missing \(given: 0/4, 1/4, 3/4\)"):
        merge_grades(parts, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_merge_refuses_parts_whose_manifests_disagree(tmp_path):
    a = _part(tmp_path / "a", 0, 2, ["ann"])
    b = _part(tmp_path / "b", 1, 2, ["bo"], options={"timeout": 300, "sandbox": True})
    with pytest.raises(ShardError, match=r"b cannot be merged with .*a: the grading options differ: timeout 60 against 300"):
        merge_grades([a, b], tmp_path / "out")
    c = _part(tmp_path / "c", 1, 2, ["bo"], course="c2")
    with pytest.raises(ShardError, match="the course differs"):
        merge_grades([a, c], tmp_path / "out")
    d = _part(tmp_path / "d", 1, 3, ["bo"])
    with pytest.raises(ShardError, match="different splits"):
        merge_grades([a, d], tmp_path / "out")


def test_a_merge_names_a_shard_given_twice_and_a_student_graded_in_two(tmp_path):
    a = _part(tmp_path / "a", 0, 2, ["ann"])
    a2 = _part(tmp_path / "a2", 0, 2, ["ann"])
    b = _part(tmp_path / "b", 1, 2, ["ann", "bo"])
    with pytest.raises(ShardError, match="shard 0/2 is given twice"):
        merge_grades([a, a2, b], tmp_path / "out")
    with pytest.raises(ShardError, match="student 'ann' was graded in two parts"):
        merge_grades([a, b], tmp_path / "out")
    with pytest.raises(ShardError, match="no manifest.json"):
        merge_grades([a, tmp_path], tmp_path / "out")


# ---------------------------------------------------------------- merging: equal to one machine

def _tiny_class(root: Path) -> Path:
    """Seven students of the tiny course: right answers, stubs-like wrong ones, a stray file, a copy."""
    wrong = json.loads(json.dumps(TINY))
    for cell in wrong["cells"]:
        if "def bias_variance" in "".join(cell["source"]):
            cell["source"] = "def bias_variance(preds, truth_values):\n    return 0.0, 0.0\n"
    import nbformat
    wrong = nbformat.from_dict(wrong)
    cls = root / "class"
    for i, student in enumerate(["ann", "bo", "cy", "dee", "eli", "fox", "gil"]):
        write(cls / student / "99_tiny.ipynb", TINY if i % 3 else wrong, when=i)
    write(cls / "bo" / "old" / "99_tiny.ipynb", wrong, when=-100)  # an older copy: reported as ignored
    write(cls / "stray.ipynb", TINY)  # belongs to no student: reported once, by shard 0
    return cls


@pytest.mark.notebook
def test_shards_merged_equal_one_machine_byte_for_byte_and_only_regrades_one(tmp_path, tiny_course):
    cls = _tiny_class(tmp_path)
    options = dict(jobs=2, timeout=60, instructor=str(tiny_course), progress=False, sandbox=False)
    one = tmp_path / "one"
    grade_class(cls, one, Options(**options), log=lambda line: None)
    parts = []
    for k in range(3):  # one shard may be empty: 7 students over 3 shards
        parts.append(tmp_path / f"part{k}")
        grade_class(cls, parts[-1], Options(**options, shard=(k, 3)), log=lambda line: None)
        assert read_manifest(parts[-1])["shard"] == {"index": k, "count": 3}
    merged = tmp_path / "merged"
    merge_grades(list(reversed(parts)), merged)  # the order of the parts does not matter
    for name in FILES:
        assert (merged / name).read_bytes() == (one / name).read_bytes(), name
    assert sorted(p.name for p in (merged / "feedback").iterdir()) == sorted(p.name for p in (one / "feedback").iterdir())
    strays = [json.loads(line) for line in (merged / "results.jsonl").read_text().splitlines()]
    assert [r["file"] for r in strays if "ignored" in r] == ["stray.ipynb", "bo/old/99_tiny.ipynb"]  # no student first

    # a late change of one student: --only regrades that student alone, in the part and in the merge
    late = next(s for s in ("ann", "cy", "dee", "gil") if gradebook(one)[s]["1.2"] == 0)
    write(cls / late / "99_tiny.ipynb", TINY, when=50)
    k = shard_of(late, 3)
    lines = []
    graded = grade_class(cls, parts[k], Options(**options, only=[late]), log=lines.append)
    assert graded.graded == 1 and f"in shard {k}/3" in lines[0]
    merge_grades(parts, merged)
    again = tmp_path / "again"
    grade_class(cls, again, Options(**options), log=lambda line: None)
    for name in FILES:
        assert (merged / name).read_bytes() == (again / name).read_bytes(), name
    assert gradebook(merged)[late]["1.2"] == 1
    # --only into the whole-class folder, too
    assert grade_class(cls, one, Options(**options, only=[late]), log=lambda line: None).graded == 1
    assert (one / "gradebook.csv").read_bytes() == (again / "gradebook.csv").read_bytes()

    with pytest.raises(ClassError, match="no such student"):
        grade_class(cls, one, Options(**options, only=["nobody"]), log=lambda line: None)
    other = next(s for s in ("ann", "bo", "cy", "dee", "eli", "fox", "gil") if shard_of(s, 3) != 0)
    with pytest.raises(ClassError, match=f"the student is in shard {shard_of(other, 3)}/3"):
        grade_class(cls, parts[0], Options(**options, only=[other]), log=lambda line: None)
    with pytest.raises(ClassError, match="the grading options differ: timeout 60 against 61"):
        grade_class(cls, one, Options(**dict(options, timeout=61), only=[late]), log=lambda line: None)


def test_a_shard_without_the_sandbox_is_an_error_unless_asked(tmp_path, tiny_course, monkeypatch):
    import course_utils.tools.sandbox as sandbox
    monkeypatch.setattr(sandbox, "unavailable", lambda: "bubblewrap is not installed")
    write(tmp_path / "class" / "ann" / "99_tiny.ipynb", TINY)
    options = dict(jobs=1, timeout=60, instructor=str(tiny_course), progress=False)
    with pytest.raises(ClassError, match="no sandbox: bubblewrap is not installed. A shard grades only in the sandbox"):
        grade_class(tmp_path / "class", tmp_path / "part", Options(**options, shard=(0, 2)), log=lambda line: None)


def test_merge_grades_on_the_command_line_says_what_is_wrong(tmp_path):
    parts = [_part(tmp_path / f"p{k}", k, 3, [f"s{k}"]) for k in (0, 2)]
    proc = subprocess.run([sys.executable, "-m", "course_utils", "merge-grades", *map(str, parts), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.strip() == "error: shard 1/3 missing (given: 0/3, 2/3)"
    proc = subprocess.run([sys.executable, "-m", "course_utils", "grade-class", str(tmp_path), "--out",
                           str(tmp_path / "g"), "--shard", "auto"], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "JOB_COMPLETION"))})
    assert proc.returncode == 1 and "neither a Slurm array task" in proc.stderr


@needs_sandbox
def test_two_graders_on_one_machine_take_different_uid_blocks():
    """Each grader's kernels get uids of their own block, held while the grader lives."""
    if os.geteuid() != 0:
        pytest.skip("uids are given to kernels only when grading as root")
    code = ("import time; from course_utils.tools.sandbox import uid_base; print(uid_base(2), flush=True); "
            "time.sleep(30)")
    first = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        held = int(first.stdout.readline())
        mine = subprocess.run([sys.executable, "-c", code.replace("time.sleep(30)", "")],
                              capture_output=True, text=True, check=True).stdout
        assert int(mine) != held and abs(int(mine) - held) >= 256
    finally:
        first.kill()
        first.wait()
    after = subprocess.run([sys.executable, "-c", code.replace("time.sleep(30)", "")],
                           capture_output=True, text=True, check=True).stdout
    assert int(after) <= held  # released when its grader ended, however it ended
