"""A class graded in parts, on whatever engine fans them out, and merged exactly.

``grade-class DIR --out PART --shard K/N`` grades the students whose stable hash falls in shard K
(0 to N-1) of N; ``--shard auto`` reads K and N from a Slurm job array or a Kubernetes Indexed Job.
Every grade-class output folder holds ``manifest.json``: the course's hash, the options that change a
grade, which shard it is and its students. ``merge-grades PART... --out GRADES`` checks that the
manifests agree and that every shard is there once, then writes the gradebook, results, summary and
feedback of the whole class: the gradebook, ``results.jsonl`` and the summary are byte for byte what
one machine writes for the same class. The canonical order of both is student (sorted by name), course
notebook (course order), exercise; files that belong to no student are reported by shard 0 only.

No broker and no shared state: the engine (Slurm, a GitHub Actions matrix, a Kubernetes Job) runs the
parts, and the parts meet only in the merge. Templates: ``examples/``; docs/teaching.md.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from pathlib import Path

MANIFEST = "manifest.json"
FORMAT = 1


class ShardError(ValueError):
    """A shard cannot be chosen, or parts cannot be merged: says which and why, in one line."""


def shard_of(student: str, count: int) -> int:
    """The shard (0 to count-1) of ``student``: a hash of the name, the same on every machine and Python."""
    return int.from_bytes(hashlib.sha256(student.encode("utf-8")).digest()[:8], "big") % count


def parse_shard(text: str, count: int | None = None, environ=os.environ) -> tuple[int, int]:
    """``"K/N"`` -> (K, N); ``"auto"`` -> from the engine (:func:`engine_shard`)."""
    if text == "auto":
        return engine_shard(count, environ)
    k, sep, n = text.partition("/")
    if not sep or not k.strip().isdigit() or not n.strip().isdigit():
        raise ShardError(f"--shard {text!r}: give K/N (shard K of N, K from 0 to N-1) or auto")
    k, n = int(k), int(n)
    if n < 1 or not 0 <= k < n:
        raise ShardError(f"--shard {text}: K counts from 0 to N-1 (here 0 to {max(n, 1) - 1})")
    return k, n


def engine_shard(count: int | None = None, environ=os.environ) -> tuple[int, int]:
    """(K, N) of this task in a Slurm job array or a Kubernetes Indexed Job.

    Slurm: K = (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP and
    N = SLURM_ARRAY_TASK_COUNT (an array need not start at 0 nor step by 1). Kubernetes:
    K = JOB_COMPLETION_INDEX, N = ``count`` (``--shard-count``, the Job's ``completions``).
    """
    if "SLURM_ARRAY_TASK_ID" in environ:
        try:
            task = int(environ["SLURM_ARRAY_TASK_ID"])
            low = int(environ.get("SLURM_ARRAY_TASK_MIN", "0"))
            step = int(environ.get("SLURM_ARRAY_TASK_STEP", "1")) or 1
            n = int(environ["SLURM_ARRAY_TASK_COUNT"])
        except (KeyError, ValueError) as e:
            raise ShardError(f"--shard auto: Slurm's array variables are incomplete or not numbers ({e})") from None
        if (task - low) % step:
            raise ShardError(f"--shard auto: SLURM_ARRAY_TASK_ID {task} is not MIN {low} plus a multiple of STEP {step}; "
                             "an array with a list of ids (--array=1,5,9) needs an explicit --shard K/N")
        k = (task - low) // step
        if count is not None and count != n:
            raise ShardError(f"--shard-count {count} disagrees with SLURM_ARRAY_TASK_COUNT {n}")
        if not 0 <= k < n:
            raise ShardError(f"--shard auto: task {task} is not one of the array's {n} tasks")
        return k, n
    if "JOB_COMPLETION_INDEX" in environ:
        if count is None:
            raise ShardError("--shard auto in a Kubernetes Indexed Job needs --shard-count N (the Job's completions)")
        k = int(environ["JOB_COMPLETION_INDEX"])
        if not 0 <= k < count:
            raise ShardError(f"--shard auto: JOB_COMPLETION_INDEX {k} is outside 0 to {count - 1} (--shard-count {count})")
        return k, count
    raise ShardError("--shard auto: neither a Slurm array task (SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job "
                     "(JOB_COMPLETION_INDEX) is running this; give --shard K/N")


def available_cpus(environ=os.environ) -> int:
    """The CPUs this process may use: Slurm's SLURM_CPUS_PER_TASK, else its CPU affinity, limited by
    a cgroup CPU quota (a container's --cpus, a Kubernetes limit); never the machine's core count alone."""
    if environ.get("SLURM_CPUS_PER_TASK", "").isdigit():
        return max(1, int(environ["SLURM_CPUS_PER_TASK"]))
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    for quota_file in (Path("/sys/fs/cgroup/cpu.max"),):  # cgroup v2; v1's cpu.cfs_quota_us below
        try:
            quota, period = quota_file.read_text().split()[:2]
            if quota != "max":
                cpus = min(cpus, math.ceil(int(quota) / int(period)))
        except (OSError, ValueError):
            pass
    try:
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        if quota > 0:
            cpus = min(cpus, math.ceil(quota / period))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


# ---------------------------------------------------------------- manifests

def write_manifest(out: Path, *, course: str, options: dict, shard: tuple[int, int] | None,
                   students: list[str], exercises: list[str]) -> None:
    data = {"format": FORMAT, "course": course, "options": options,
            "shard": None if shard is None else {"index": shard[0], "count": shard[1]},
            "students": students, "exercises": exercises}
    tmp = out / (MANIFEST + ".part")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(out / MANIFEST)


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ShardError(f"{folder}: no {MANIFEST}; not a folder that grade-class wrote") from None
    except (OSError, ValueError) as e:
        raise ShardError(f"{path}: unreadable ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ShardError(f"{path}: not a manifest this version of the course reads (format {FORMAT})")
    return data


def disagreement(a: dict, b: dict) -> str:
    """Why two manifests cannot be merged ("" if they can): the course, or the options that differ."""
    if a["course"] != b["course"]:
        return "the course differs (another version of the notebooks, checks or package)"
    keys = sorted(k for k in set(a["options"]) | set(b["options"]) if a["options"].get(k) != b["options"].get(k))
    if keys:
        return "the grading options differ: " + ", ".join(
            f"{k} {a['options'].get(k)!r} against {b['options'].get(k)!r}" for k in keys)
    if a["exercises"] != b["exercises"]:
        return "the exercises differ"
    return ""


# ---------------------------------------------------------------- rows on disk

def read_results(folder: Path):
    """The rows and the ignored-file records of a grade-class output folder's ``results.jsonl``."""
    from .gradeclass import Ignored, Row
    rows, ignored = [], []
    path = Path(folder) / "results.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ShardError(f"{path}: unreadable ({e.strerror})") from None
    for number, line in enumerate(lines, 1):
        try:
            d = json.loads(line)
            if "ignored" in d:
                ignored.append(Ignored(d["student"], d["file"], d["ignored"], d.get("late", False)))
            else:
                rows.append(Row(**d))
        except (ValueError, TypeError, KeyError) as e:
            raise ShardError(f"{path}, line {number}: not a result ({e})") from None
    return rows, ignored


def in_student_order(students: list[str], rows: list) -> list:
    """``rows`` in the canonical order: by student (``students``' order), each student's rows in the
    order they were written (course notebook, exercise)."""
    place = {s: i for i, s in enumerate(students)}
    return sorted(rows, key=lambda r: place[r.student])  # stable: keeps each student's own order


def merge_grades(parts: list[Path | str], out: Path | str) -> dict:
    """Merge shard folders into ``out`` (see the module's docstring); returns the merged manifest."""
    from .gradeclass import write_outputs
    parts = [Path(p) for p in parts]
    out = Path(out)
    if not parts:
        raise ShardError("merge-grades: name the parts to merge")
    manifests = [read_manifest(p) for p in parts]
    first = manifests[0]
    for part, m in zip(parts[1:], manifests[1:]):
        why = disagreement(first, m)
        if why:
            raise ShardError(f"{part} cannot be merged with {parts[0]}: {why}")
    if any(m["shard"] is None for m in manifests):
        whole = [str(p) for p, m in zip(parts, manifests) if m["shard"] is None]
        if len(parts) > 1:
            raise ShardError(f"{', '.join(whole)}: graded without --shard (a whole class), not a part to merge")
    count = first["shard"]["count"] if first["shard"] else 1
    holder: dict[int, Path] = {}
    for part, m in zip(parts, manifests):
        if m["shard"] is None:
            continue
        if m["shard"]["count"] != count:
            raise ShardError(f"{part} is shard {m['shard']['index']} of {m['shard']['count']}, "
                             f"{parts[0]} one of {count}: the parts come from different splits")
        k = m["shard"]["index"]
        if k in holder:
            raise ShardError(f"shard {k}/{count} is given twice: {holder[k]} and {part}")
        holder[k] = part
    missing = sorted(set(range(count)) - set(holder)) if first["shard"] else []
    if missing:
        raise ShardError(f"shard{'s' if len(missing) > 1 else ''} {', '.join(f'{k}/{count}' for k in missing)} "
                         f"missing (given: {', '.join(f'{k}/{count}' for k in sorted(holder)) or 'none'})")
    owner: dict[str, Path] = {}
    for part, m in zip(parts, manifests):
        for s in m["students"]:
            if s in owner:
                raise ShardError(f"student {s!r} was graded in two parts: {owner[s]} and {part}")
            owner[s] = part
    students = sorted(owner)
    rows, ignored = [], []
    for part in parts:
        r, i = read_results(part)
        rows += r
        ignored += i
    out.mkdir(parents=True, exist_ok=True)
    if (out / "feedback").exists():
        shutil.rmtree(out / "feedback")
    for part in parts:
        if (part / "feedback").is_dir():
            shutil.copytree(part / "feedback", out / "feedback", dirs_exist_ok=True)
    write_outputs(out, first["exercises"], students, in_student_order(students, rows), ignored)
    write_manifest(out, course=first["course"], options=first["options"], shard=None, students=students,
                   exercises=first["exercises"])
    return read_manifest(out)
