"""Grade a whole class: a folder of many students' submissions, in parallel and sandboxed, into a gradebook.

``python -m course_utils grade-class DIR --out GRADES``. DIR holds the class in either layout:

- one folder per student, the notebooks anywhere below it (GitHub Classroom; nbgrader's
  ``submitted/STUDENT/ASSIGNMENT/``): the folder's name is the student;
- a flat folder of files whose names carry the student, as an LMS downloads them (:data:`LAYOUTS`:
  Canvas, Moodle, Blackboard; ``--pattern`` gives a regular expression for any other, with a group
  ``student``).

Each submission is matched to its course notebook by content (:meth:`course_utils.course.Course.match`);
where one student has two copies of a notebook, the newest counts (the LMS's resubmission number first,
then the file's modification time) and ``results.jsonl`` records the one ignored. Each submission runs in
its own worker process and kernel (one thread, a time limit per cell), in a bubblewrap sandbox
(:mod:`course_utils.sandbox`) where available. Results are cached in ``GRADES/.cache`` under a hash of
the submission's content, the course and the grading options: a rerun grades only what changed, and a
course change regrades everyone. Written to GRADES: ``gradebook.csv``, ``results.jsonl``,
``feedback/STUDENT/NOTEBOOK.html`` and ``summary.html``.
"""
from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .course import Course, notebooks_in
from .execute import CELL_TIMEOUT
from .outcome import FAILED, PASSED

PACKAGE_DIR = Path(__file__).resolve().parent
CACHE = ".cache"
IGNORED = "ignored"
# Flat layouts: the file names LMSs give the submissions they download. ``student`` names the student,
# ``file`` is the student's own file name, ``copy`` a resubmission's number, ``late`` marks late work.
LAYOUTS = {
    "canvas": r"^(?P<student>[^_]+)_(?:(?P<late>late)_)?(?P<id>\d+)_(?P<submission>\d+)_(?P<file>.+?)(?:-(?P<copy>\d+))?\.ipynb$",
    "moodle": r"^(?P<student>.+?)_(?P<id>\d+)_assignsubmission_file_(?P<file>.+)\.ipynb$",
    "blackboard": r"^(?P<assignment>.+?)_(?P<student>[^_]+)_attempt_(?P<copy>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)_(?P<file>.+)\.ipynb$",
}


class ClassError(ValueError):
    """The class cannot be graded at all (no such folder, a bad pattern, GRADES inside DIR)."""


@dataclass
class SubmittedFile:
    student: str
    path: Path
    name: str  # the student's own file name (the LMS's prefix removed): what matching by name sees
    copy: str = ""  # an LMS's resubmission number or attempt time ("" for the first)
    late: bool = False
    lms_id: str = ""  # the student's id in the LMS, where the file name carries one (Canvas's user id)

    def order(self) -> tuple:
        """Sorts the copies of one notebook oldest first: by the LMS's resubmission number (or attempt
        time), then by modification time."""
        number = int(self.copy) if self.copy.isdigit() else 0
        return (number, "" if self.copy.isdigit() else self.copy, self.path.stat().st_mtime)


@dataclass
class Row:
    student: str
    notebook: str
    exercise: str
    status: str
    message: str
    file: str = ""
    late: bool = False
    lms_id: str = ""


def _hidden(path: Path, top: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(top).parts)


def _notebooks_below(folder: Path) -> list[Path]:
    """Every notebook below ``folder`` but checkpoints, hidden folders and a release's ``NAME.new.ipynb``."""
    return sorted(p for p in folder.rglob("*.ipynb") if p.is_file() and not _hidden(p, folder)
                  and not p.name.endswith(".new.ipynb"))


def discover(folder: Path, pattern: str | None = None) -> tuple[list[str], list[SubmittedFile], list[Row]]:
    """The students of ``folder``, their files, and rows for files that belong to no student."""
    if not folder.is_dir():
        raise ClassError(f"{folder}: no such folder")
    try:
        patterns = [re.compile(pattern, re.I)] if pattern else [re.compile(p, re.I) for p in LAYOUTS.values()]
    except re.error as e:
        raise ClassError(f"--pattern {pattern!r}: not a regular expression ({e})") from None
    if pattern and "student" not in patterns[0].groupindex:
        raise ClassError(f"--pattern {pattern!r}: it needs a group (?P<student>...) naming the student")
    students, files, stray = set(), [], []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            students.add(entry.name)
            files += [SubmittedFile(entry.name, p, p.name) for p in _notebooks_below(entry)]
        elif entry.suffix == ".ipynb":
            m = next((m for m in (p.match(entry.name) for p in patterns) if m), None)
            if m is None:
                stray.append(Row("", "", "", IGNORED, "whose file this is cannot be told from its name "
                                 "(give --pattern with a group (?P<student>...))", entry.name))
                continue
            groups = m.groupdict()
            own = groups.get("file") or entry.name
            students.add(groups["student"])
            files.append(SubmittedFile(groups["student"], entry, own if own.endswith(".ipynb") else own + ".ipynb",
                                       groups.get("copy") or "", bool(groups.get("late")), groups.get("id") or ""))
    return sorted(students), files, stray


_NOTEBOOK_LINE = re.compile(r"""^NOTEBOOK\s*=\s*["']([^"']+)["']""", re.M)


def course_hash(course: Course, options: dict, notebook: str) -> str:
    """What a grade of course notebook ``notebook`` depends on besides the submission: the package
    (grader, student mode, helpers, and the checks of that notebook, not of the others), its instructor
    notebook and the grading options. Any change to them regrades every submission of it."""
    h = hashlib.sha256(json.dumps([notebook, options], sort_keys=True).encode())
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        text = path.read_bytes()
        if path.parent.name == "checks" and path.name.startswith("nb"):
            owner = _NOTEBOOK_LINE.search(text.decode("utf-8", "replace"))
            if owner is None or owner.group(1) != notebook:
                continue
        h.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0" + text)
    model = course.notebooks[notebook]
    h.update(f"{model.name}:{','.join(model.numbers)}".encode())
    source = course.folder / model.name
    if source.is_file():
        h.update(source.read_bytes())
    return h.hexdigest()


@dataclass
class Job:
    key: str
    notebook: str  # course id
    path: Path  # the submission file
    code_cells: int


@dataclass
class Plan:
    students: list[str]
    course: Course
    chosen: dict[tuple[str, str], SubmittedFile] = field(default_factory=dict)  # (student, course id) -> file
    keys: dict[tuple[str, str], str] = field(default_factory=dict)  # -> cache key
    broken: dict[tuple[str, str], str] = field(default_factory=dict)  # -> why it cannot be graded
    rows: list[Row] = field(default_factory=list)  # ignored copies and stray files
    jobs: dict[str, Job] = field(default_factory=dict)  # key -> job (one per distinct content)


def plan(folder: Path, course: Course, options: dict, pattern: str | None = None) -> Plan:
    """Which file of each student counts for each course notebook, and what must be graded."""
    import nbformat

    from .grading import GradingError, read_submission

    students, files, stray = discover(folder, pattern)
    result = Plan(students, course, rows=list(stray))
    found: dict[tuple[str, str], list[tuple[SubmittedFile, object, str]]] = {}
    for f in files:
        try:
            nb, why = read_submission(f.path), ""
        except GradingError as e:
            nb, why = nbformat.v4.new_notebook(), str(e).replace(str(f.path), f.name, 1)
        model = course.match(nb, Path(f.name))
        if model is None:
            result.rows.append(Row(f.student, "", "", IGNORED, why or "not a notebook of this course",
                                   str(f.path.relative_to(folder)), f.late))
            continue
        if not model.exercises:
            continue
        found.setdefault((f.student, model.id), []).append((f, nb, why))
    digests = {cid: course_hash(course, options, cid) for cid in {cid for _, cid in found}}
    for (student, cid), candidates in found.items():
        candidates.sort(key=lambda c: c[0].order())
        f, nb, why = candidates[-1]
        result.chosen[(student, cid)] = f
        for older, _, _ in candidates[:-1]:
            result.rows.append(Row(student, course.notebooks[cid].name, "", IGNORED,
                                   f"an older copy: {f.path.relative_to(folder)} counts",
                                   str(older.path.relative_to(folder)), older.late))
        if why:
            result.broken[(student, cid)] = why
            continue
        key = hashlib.sha256(digests[cid].encode() + f.path.read_bytes()).hexdigest()
        result.keys[(student, cid)] = key
        result.jobs.setdefault(key, Job(key, cid, f.path, sum(c.cell_type == "code" for c in nb.cells)))
    return result


# ---------------------------------------------------------------- one submission, in a worker process

def grade_job(spec: dict) -> dict:
    """Grade one submission (``spec`` from :func:`_run_job`) and return its results; the worker's body."""
    from .execute import IPCKernelManager, export_html
    from .grading import Submission, grade_notebook, instructor_course, read_submission

    course = instructor_course(spec["instructor"])
    model = course.notebooks[spec["notebook"]]
    work = Path(spec["work"])
    path = work / model.name
    submission = Submission(path, read_submission(path), model)
    if spec["sandbox"]:
        from .sandbox import Sandbox, SandboxKernelManager
        km = SandboxKernelManager()
        km.sandbox = Sandbox(work, slot=spec["slot"], memory=spec["memory"], processes=spec["processes"])
        km.sandbox.prepare()
    else:
        km = IPCKernelManager()
    kept: list = []
    grades = grade_notebook(submission, timeout=spec["timeout"], keep=kept, km=km)
    results = [{"exercise": g.exercise, "status": g.status, "message": g.message} for g in grades]
    if kept:
        import nbformat
        nb = kept[0]
        lines = ["## Your grade", "", "| exercise | result | message |", "|---|---|---|"]
        lines += [f"| {g.exercise} | {g.status} | {g.message.replace('|', '/')} |" for g in grades]
        nb.cells.insert(0, nbformat.v4.new_markdown_cell("\n".join(lines)))
        from .outputs import drop_progress_bars
        drop_progress_bars(nb)
        export_html(nb, Path(spec["feedback"]))
    return {"results": results}


def worker_main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    out = grade_job(spec)
    tmp = Path(spec["result"]).with_suffix(".part")
    tmp.write_text(json.dumps(out))
    tmp.replace(spec["result"])
    return 0


# ---------------------------------------------------------------- the class

@dataclass
class Options:
    jobs: int = os.cpu_count() or 1
    timeout: int = CELL_TIMEOUT
    sandbox: bool = True
    memory: int = 0  # bytes; 0: the sandbox's default
    processes: int = 0
    instructor: str | None = None
    pattern: str | None = None
    progress: bool = True
    notebooks: list[str] | None = None  # course ids, or their leading numbers: grade only these


def _run_job(job: Job, cache: Path, options: Options, slot: int) -> dict:
    """Grade ``job`` in a worker process; its results (cached unless the grader itself failed)."""
    from .sandbox import MEMORY, PROCESSES
    scratch = Path(tempfile.mkdtemp(prefix="course-grade-"))
    try:
        work = scratch / "work"
        work.mkdir()
        name = options_course(options).notebooks[job.notebook].name
        shutil.copy(job.path, work / name)
        spec = {"instructor": options.instructor, "notebook": job.notebook, "work": str(work),
                "timeout": options.timeout, "sandbox": options.sandbox, "slot": slot,
                "memory": options.memory or MEMORY, "processes": options.processes or PROCESSES,
                "result": str(scratch / "result.json"), "feedback": str(scratch / "feedback.html")}
        (scratch / "job.json").write_text(json.dumps(spec))
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   COURSE_RUNS_DIR=str(work / "runs"))
        env.pop("JPY_PARENT_PID", None)
        limit = options.timeout * (job.code_cells + 2) + 120
        try:
            proc = subprocess.run([sys.executable, "-m", "course_utils", "grade-worker", str(scratch / "job.json")],
                                  capture_output=True, text=True, env=env, timeout=limit, cwd=scratch)
            why = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        except subprocess.TimeoutExpired:
            why = f"grading took longer than {limit} s"
        result = scratch / "result.json"
        if not result.exists():
            return {"error": f"the grader failed on this submission ({why[:200]})"}
        out = json.loads(result.read_text())
        if (scratch / "feedback.html").exists():
            shutil.copy(scratch / "feedback.html", cache / f"{job.key}.html")
        tmp = cache / f"{job.key}.part"
        tmp.write_text(json.dumps(out))
        tmp.replace(cache / f"{job.key}.json")
        return out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


_COURSES: dict = {}


def options_course(options: Options) -> Course:
    """The course to grade against: the instructor's, limited to ``options.notebooks``."""
    from .grading import GradingError, instructor_course
    key = (options.instructor, tuple(options.notebooks or ()))
    if key not in _COURSES:
        course = instructor_course(options.instructor)
        if options.notebooks:
            wanted = {}
            for name in options.notebooks:
                hits = [cid for cid in course.notebooks if cid == name or cid.split("_")[0] == name]
                if not hits:
                    raise GradingError(f"--notebooks {name}: no course notebook is called so "
                                       f"(the course has {', '.join(course.notebooks)})")
                wanted.update({cid: course.notebooks[cid] for cid in hits})
            course = Course(course.folder, wanted)
        _COURSES[key] = course
    return _COURSES[key]


@dataclass
class Graded:
    rows: list[Row]
    graded: int  # submissions graded in this run (the rest came from the cache)
    seconds: float


def grade_class(folder: Path | str, out: Path | str, options: Options, log=print) -> Graded:
    """Grade every student of ``folder`` into ``out`` (see the module's docstring)."""
    from .grading import NOT_SUBMITTED, GradingError

    start = time.perf_counter()
    folder, out = Path(folder).resolve(), Path(out).resolve()
    if out == folder or folder in out.parents:
        raise ClassError(f"--out {out} lies inside the submissions folder {folder}: name a folder outside it")
    try:
        course = options_course(options)
    except GradingError as e:
        raise ClassError(str(e)) from None
    if options.sandbox:
        from .sandbox import unavailable
        why = unavailable()
        if why:
            log(f"note: no sandbox: {why}; the submissions run with your rights (--no-sandbox says so quietly)")
            options.sandbox = False
    p = plan(folder, course, {"timeout": options.timeout, "memory": options.memory, "processes": options.processes},
             options.pattern)
    cache = out / CACHE
    cache.mkdir(parents=True, exist_ok=True)
    todo = [j for j in p.jobs.values() if not (cache / f"{j.key}.json").exists()]
    results: dict[str, dict] = {}
    for key in p.jobs:
        if (cache / f"{key}.json").exists():
            results[key] = json.loads((cache / f"{key}.json").read_text())
    waiting = {s: {p.keys[k] for k in p.keys if k[0] == s} - set(results) for s in p.students}
    log(f"{len(p.students)} students, {len(p.jobs)} distinct submissions: {len(todo)} to grade, "
        f"{len(p.jobs) - len(todo)} already graded ({options.jobs} at a time"
        f"{', sandboxed' if options.sandbox else ', not sandboxed'})")
    bar = None
    if options.progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(p.students), unit="student", desc="grading", file=sys.stderr,
                   initial=sum(not w for w in waiting.values()))
    failures = sum(r["status"] != PASSED for res in results.values() for r in res.get("results", []))
    slots: queue.Queue = queue.Queue()
    for i in range(max(1, options.jobs)):
        slots.put(i)

    def run(job: Job) -> dict:
        slot = slots.get()
        try:
            return _run_job(job, cache, options, slot)
        finally:
            slots.put(slot)

    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        futures = {pool.submit(run, job): job for job in sorted(todo, key=lambda j: -j.code_cells)}
        for future in as_completed(futures):
            job = futures[future]
            try:
                results[job.key] = future.result()
            except Exception as e:  # never stops the rest of the class
                results[job.key] = {"error": f"the grader failed on this submission ({type(e).__name__}: {e})"}
            res = results[job.key]
            failures += sum(r["status"] != PASSED for r in res.get("results", [])) or ("error" in res)
            done = 0
            for s, keys in waiting.items():
                if keys and keys <= set(results):
                    keys.clear()
                    done += 1
            if bar is not None:
                bar.set_postfix(failed=failures)
                bar.update(done)
    if bar is not None:
        bar.close()

    rows = list(p.rows)
    feedback = out / "feedback"
    for student in p.students:
        for cid, model in course.notebooks.items():
            if not model.exercises:
                continue
            f = p.chosen.get((student, cid))
            if f is None:
                rows += [Row(student, model.name, n, FAILED, f"{NOT_SUBMITTED}: no notebook {model.name} (or a copy of it)")
                         for n in model.numbers]
                continue
            file = str(f.path.relative_to(folder))
            if (student, cid) in p.broken:
                rows += [Row(student, model.name, n, FAILED, p.broken[(student, cid)], file, f.late, f.lms_id)
                         for n in model.numbers]
                continue
            key = p.keys[(student, cid)]
            res = results.get(key, {"error": "not graded"})
            by_number = {r["exercise"]: r for r in res.get("results", [])}
            for n in model.numbers:
                r = by_number.get(n, {"status": FAILED, "message": res.get("error", "no result")})
                rows.append(Row(student, model.name, n, r["status"], r["message"], file, f.late, f.lms_id))
            page = cache / f"{key}.html"
            if page.exists():
                dest = feedback / _safe(student) / f"{Path(model.name).stem}.html"
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(page, dest)
    write_outputs(out, course, p.students, rows)
    return Graded(rows, len(todo), time.perf_counter() - start)


def _safe(name: str) -> str:
    return re.sub(r"[^\w.@-]+", "_", name) or "_"


def exercise_columns(course: Course) -> list[str]:
    return [e.number for _, e in course.exercises]


def write_outputs(out: Path, course: Course, students: list[str], rows: list[Row]) -> None:
    """gradebook.csv, results.jsonl and summary.html from ``rows``."""
    columns = exercise_columns(course)
    graded = [r for r in rows if r.status != IGNORED]
    points = {(r.student, r.exercise): int(r.status == PASSED) for r in graded}
    with open(out / "gradebook.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student", *columns, "total"])
        for s in students:
            marks = [points.get((s, n), 0) for n in columns]
            w.writerow([s, *marks, sum(marks)])
    with open(out / "results.jsonl", "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
    (out / "summary.html").write_text(summary_html(columns, students, graded), encoding="utf-8")


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def summary_html(columns: list[str], students: list[str], rows: list[Row]) -> str:
    """The instructor's page: each exercise's pass rate as a bar, and the most frequent failure messages."""
    n = max(1, len(students))
    passed = Counter(r.exercise for r in rows if r.status == PASSED)
    failed: Counter = Counter()
    example: dict = {}
    for r in rows:  # one mistake, one line: messages that differ only in their numbers count together
        if r.status != PASSED:
            key = (r.exercise, _NUMBER.sub("#", r.message))
            failed[key] += 1
            example.setdefault(key, r.message)
    esc = html.escape
    bars = "".join(
        f'<tr><th scope="row">{esc(c)}</th><td><div class="bar" style="width:{100 * passed[c] / n:.0f}%"></div></td>'
        f"<td>{100 * passed[c] / n:.0f} % ({passed[c]} of {len(students)})</td></tr>" for c in columns)
    common = "".join(f"<tr><td>{esc(key[0])}</td><td>{count} ({100 * count / n:.0f} %)</td><td>{esc(example[key])}</td></tr>"
                     for key, count in failed.most_common(15))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Class summary</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#111}}
table{{border-collapse:collapse;width:100%;margin-bottom:2em}}th,td{{text-align:left;padding:.3em .6em;border-bottom:1px solid #ccc}}
td:nth-child(2){{width:50%}}.bar{{background:#0072B2;height:1em}}</style></head>
<body><h1>Class summary</h1><p>{len(students)} students.</p>
<h2>Pass rate of each exercise</h2>
<table><thead><tr><th scope="col">exercise</th><th scope="col">pass rate</th><th scope="col">students who passed</th></tr></thead>
<tbody>{bars}</tbody></table>
<h2>Most frequent failure messages</h2>
<table><thead><tr><th scope="col">exercise</th><th scope="col">students</th><th scope="col">message</th></tr></thead>
<tbody>{common}</tbody></table></body></html>
"""
