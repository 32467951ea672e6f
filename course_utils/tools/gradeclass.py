"""Grading, one path for a class and for one student: plan, run, rows.

``python -m course_utils grade-class DIR --out GRADES`` grades a class; ``python -m course_utils check
FILES...`` is a class of one (the same planner, runner, rows and messages; it prints the table instead
of writing the files). DIR holds the class in either layout:

- one folder per student, the notebooks anywhere below it (GitHub Classroom; nbgrader's
  ``submitted/STUDENT/ASSIGNMENT/``): the folder's name is the student;
- a flat folder of files whose names carry the student, as an LMS downloads them (:data:`LAYOUTS`:
  Canvas, Moodle, Blackboard; ``--pattern`` gives a regular expression for any other, with a group
  ``student``).

Each submission is matched to its course notebook by content (:meth:`course_utils.tools.course.Course.match`);
where one student has two copies of a notebook, the newest counts (the LMS's resubmission number first,
then the file's modification time) and the other is reported as ignored. Each submission runs in its
own worker process and kernel (one thread, a time limit per cell), in a bubblewrap sandbox
(:mod:`course_utils.tools.sandbox`) where available, and is judged in the worker, outside the kernel
(:mod:`course_utils.tools.grading`). Results are cached in ``GRADES/.cache`` under a hash of the
submission's content, the course, the grading options and the secret's id: a rerun grades only what
changed. Written to GRADES: ``gradebook.csv``, ``results.jsonl``, ``feedback/STUDENT/NOTEBOOK.html``
and ``summary.html``.
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
from typing import Callable

from ..outcome import FAILED, PASSED, CheckResult
from ..settings import CELL_TIMEOUT, GRADING_SECRET_ENV, PACKAGE_DIR, RUNS_DIR_ENV, THREAD_VARS
from .course import Course, CourseNotebook, Exercise

CACHE = ".cache"
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
    shown: str = ""  # how messages and results name the file (relative to the class folder)

    def order(self) -> tuple:
        """Sorts the copies of one notebook oldest first: by the LMS's resubmission number (or attempt
        time), then by modification time."""
        number = int(self.copy) if self.copy.isdigit() else 0
        return (number, "" if self.copy.isdigit() else self.copy, self.path.stat().st_mtime)


@dataclass
class Row:
    """One exercise of one student: a :class:`CheckResult` with where it came from."""
    student: str
    notebook: str
    exercise: str
    status: str
    message: str
    file: str = ""
    late: bool = False
    lms_id: str = ""
    seed: int | None = None  # the seed its probe ran with (None: no probe ran)

    @property
    def result(self) -> CheckResult:
        return CheckResult(self.exercise, self.status, self.message)


@dataclass
class Ignored:
    """A file that counts for no grade: an older copy, a notebook of no course, one whose student is unknown."""
    student: str
    file: str
    reason: str
    late: bool = False


def _hidden(path: Path, top: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(top).parts)


def _notebooks_below(folder: Path) -> list[Path]:
    """Every notebook below ``folder`` but checkpoints, hidden folders and a release's ``NAME.new.ipynb``."""
    return sorted(p for p in folder.rglob("*.ipynb") if p.is_file() and not _hidden(p, folder)
                  and not p.name.endswith(".new.ipynb"))


def discover(folder: Path, pattern: str | None = None) -> tuple[list[str], list[SubmittedFile], list[Ignored]]:
    """The students of ``folder``, their files, and the files that belong to no student."""
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
            files += [SubmittedFile(entry.name, p, p.name, shown=p.relative_to(folder).as_posix())
                      for p in _notebooks_below(entry)]
        elif entry.suffix == ".ipynb":
            m = next((m for m in (p.match(entry.name) for p in patterns) if m), None)
            if m is None:
                stray.append(Ignored("", entry.name, "whose file this is cannot be told from its name "
                                     "(give --pattern with a group (?P<student>...))"))
                continue
            groups = m.groupdict()
            own = groups.get("file") or entry.name
            students.add(groups["student"])
            files.append(SubmittedFile(groups["student"], entry, own if own.endswith(".ipynb") else own + ".ipynb",
                                       groups.get("copy") or "", bool(groups.get("late")), groups.get("id") or "",
                                       entry.name))
    return sorted(students), files, stray


def course_hash(course: Course, options: dict, notebook: str) -> str:
    """What a grade of course notebook ``notebook`` depends on besides the submission: the package
    (grader, student mode, helpers, and the checks of that notebook, not of the others), its model,
    its instructor notebook and the grading options. Any change to them regrades every submission of it."""
    from ..checks import module_notebooks
    from ..settings import PACKAGE_DIR as INSTALLED
    # the checks modules of other notebooks, by their place in the package (checks/nb03.py)
    others = {path.relative_to(INSTALLED).as_posix() for path, owner in module_notebooks().items() if owner != notebook}
    h = hashlib.sha256(json.dumps([notebook, options], sort_keys=True).encode())
    for path in sorted(PACKAGE_DIR.rglob("*")):
        name = path.relative_to(PACKAGE_DIR).as_posix()
        if not path.is_file() or "__pycache__" in path.parts or name in others:
            continue
        h.update(name.encode() + b"\0" + path.read_bytes())
    model = course.notebooks[notebook]
    h.update(json.dumps([model.name, [[e.number, e.defines] for e in model.exercises]]).encode())
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
    ignored: list[Ignored] = field(default_factory=list)  # older copies, stray files
    jobs: dict[str, Job] = field(default_factory=dict)  # key -> job (one per distinct content)


def plan_files(students: list[str], files: list[SubmittedFile], course: Course, options: dict,
               ignored: list[Ignored] = ()) -> Plan:
    """Which file of each student counts for each course notebook, and what must be graded."""
    import nbformat

    from .grading import GradingError, read_submission

    result = Plan(students, course, ignored=list(ignored))
    found: dict[tuple[str, str], list[tuple[SubmittedFile, object, str]]] = {}
    for f in files:
        try:
            nb, why = read_submission(f.path), ""
        except GradingError as e:
            nb, why = nbformat.v4.new_notebook(), str(e).replace(str(f.path), f.name, 1)
        model = course.match(nb, Path(f.name))
        if model is None:
            result.ignored.append(Ignored(f.student, f.shown, why or "not a notebook of this course", f.late))
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
            result.ignored.append(Ignored(student, older.shown, f"an older copy of {course.notebooks[cid].name}: "
                                          f"{f.shown} counts", older.late))
        if why:
            result.broken[(student, cid)] = why
            continue
        key = hashlib.sha256(digests[cid].encode() + f.path.read_bytes()).hexdigest()
        result.keys[(student, cid)] = key
        result.jobs.setdefault(key, Job(key, cid, f.path, sum(c.cell_type == "code" for c in nb.cells)))
    return result


def plan(folder: Path, course: Course, options: dict, pattern: str | None = None,
         keep: Callable[[str], bool] | None = None, strays: bool = True) -> Plan:
    """The plan of a class folder (:func:`discover`, then :func:`plan_files`): of the students ``keep``
    accepts (all by default), with the files that belong to no student where ``strays``."""
    students, files, stray = discover(folder, pattern)
    if keep is not None:
        students = [s for s in students if keep(s)]
        files = [f for f in files if keep(f.student)]
    return plan_files(students, files, course, options, stray if strays else [])


# ---------------------------------------------------------------- one submission, in a worker

def _model_spec(model: CourseNotebook) -> dict:
    return {"id": model.id, "name": model.name, "exercises": [[e.number, e.title, e.defines] for e in model.exercises]}


def _model_from_spec(spec: dict) -> CourseNotebook:
    return CourseNotebook(spec["id"], spec["name"], None, [Exercise(n, t, -1, -1, -1, d) for n, t, d in spec["exercises"]])


def grade_job(spec: dict) -> dict:
    """Grade one submission (``spec`` from :func:`_run_job`) and return its results; the worker's body.
    The course comes from the parent in ``spec``, not from the instructor notebooks."""
    from .execute import IPCKernelManager, export_html
    from .grading import Submission, grade_notebook, read_submission, write_executed

    model = _model_from_spec(spec["model"])
    work = Path(spec["work"])
    path = work / spec["file"]
    submission = Submission(path, read_submission(path), model)
    if spec["sandbox"]:
        from .sandbox import Sandbox, SandboxKernelManager
        km = SandboxKernelManager()
        km.sandbox = Sandbox(work, slot=spec["slot"], memory=spec["memory"], processes=spec["processes"],
                             uid_base=spec.get("uid_base"))
        km.sandbox.prepare()
    else:
        km = IPCKernelManager()
    kept: list = []
    verdicts = grade_notebook(submission, timeout=spec["timeout"], keep=kept, km=km,
                              secret=bytes.fromhex(spec["secret"]))
    results = [dict(v.result.to_dict(), seed=v.seed) for v in verdicts]
    if kept:
        import nbformat
        nb = kept[0]
        if spec.get("executed"):  # as the student's Run All shows it: without the grade table below
            import copy
            write_executed(copy.deepcopy(nb), Path(spec["executed"]))
        lines = ["## Your grade", "", "| exercise | result | message |", "|---|---|---|"]
        lines += [f"| {v.result.exercise} | {v.result.status} | {v.result.message.replace('|', '/')} |" for v in verdicts]
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


# ---------------------------------------------------------------- the runner

def _cpus() -> int:
    from .shards import available_cpus
    return available_cpus()


@dataclass
class Options:
    jobs: int = field(default_factory=_cpus)  # the CPUs this process may use (tools/shards.available_cpus)
    timeout: int = CELL_TIMEOUT
    sandbox: bool = True
    memory: int = 0  # bytes; 0: the sandbox's default
    processes: int = 0
    instructor: str | None = None
    pattern: str | None = None
    progress: bool = True
    notebooks: list[str] | None = None  # course ids, or their leading numbers: grade only these
    secret: bytes | None = None  # the key of the probes' seeds (default: grading.grading_secret())
    inline: bool = False  # grade in this process rather than a worker process each (check, unsandboxed)
    shard: tuple[int, int] | None = None  # (K, N): grade only the students of shard K of N (tools/shards.py)
    only: list[str] | None = None  # regrade only these students into an existing output folder
    uid_base: int | None = None  # as root: the first uid of this grader's block (sandbox.uid_base)

    def grade_options(self) -> dict:
        """The options that change a grade (the cache key; a shard's manifest)."""
        from .grading import grading_secret, secret_id
        if self.secret is None:
            self.secret = grading_secret()
        return {"timeout": self.timeout, "memory": self.memory, "processes": self.processes,
                "secret": secret_id(self.secret)}

    def manifest_options(self, course: Course) -> dict:
        """What a part's manifest records of the options: those that change a grade, and those that
        decide which files count (the notebooks graded, the file-name pattern, the sandbox)."""
        return dict(self.grade_options(), notebooks=list(course.notebooks), pattern=self.pattern, sandbox=self.sandbox)


def _run_job(job: Job, model: CourseNotebook, cache: Path, options: Options, slot: int,
             executed: Path | None = None) -> dict:
    """Grade ``job`` in a worker process; its results (cached unless the grader itself failed)."""
    from .sandbox import MEMORY, PROCESSES
    scratch = Path(tempfile.mkdtemp(prefix="course-grade-"))
    try:
        if options.inline:  # the student's own Run All: in the notebook's own folder (its build/ and runs/ there)
            work, file = job.path.parent, job.path.name
        else:  # a copy of its own: a submission never writes into the class folder, nor sees another's work
            work, file = scratch / "work", model.name
            work.mkdir()
            shutil.copy(job.path, work / file)
        spec = {"model": _model_spec(model), "work": str(work), "file": file, "secret": options.secret.hex(),
                "timeout": options.timeout, "sandbox": options.sandbox, "slot": slot, "uid_base": options.uid_base,
                "memory": options.memory or MEMORY, "processes": options.processes or PROCESSES,
                "result": str(scratch / "result.json"), "feedback": str(scratch / "feedback.html"),
                "executed": str(scratch / "executed.ipynb") if executed is not None else None}
        (scratch / "job.json").write_text(json.dumps(spec))
        env = dict(os.environ, **{v: "1" for v in THREAD_VARS}, **{RUNS_DIR_ENV: str(work / "runs")})
        env.pop("JPY_PARENT_PID", None)
        env.pop(GRADING_SECRET_ENV, None)  # the worker reads it from its spec; a kernel it starts never sees it
        limit = options.timeout * (job.code_cells + 3) + 120
        if options.inline:  # a class of one, unsandboxed: this process is the worker (the kernel is its own)
            try:
                worker_main(str(scratch / "job.json"))
                why = ""
            except Exception as e:
                why = f"{type(e).__name__}: {e}"
        else:
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
        if executed is not None and (scratch / "executed.ipynb").exists():
            try:  # a copy for the student; it never changes the grade (the caller says if it is missing)
                executed.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(scratch / "executed.ipynb", executed)
            except OSError:
                pass
        tmp = cache / f"{job.key}.part"
        tmp.write_text(json.dumps(out))
        tmp.replace(cache / f"{job.key}.json")
        return out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_plan(p: Plan, cache: Path, options: Options, log: Callable[[str], None] = print,
             executed: dict[str, Path] | None = None, force: bool = False) -> tuple[dict[str, dict], int]:
    """Grade every job of ``p`` not in ``cache`` (every job where ``force``; ``options.jobs`` at a time,
    with a progress bar); {key: results} of every job, and how many were graded now. executed: {key:
    where to write the notebook as it ran}."""
    cache.mkdir(parents=True, exist_ok=True)
    executed = executed or {}
    fresh = set(executed) | (set(p.jobs) if force else set())
    todo = [j for j in p.jobs.values() if not (cache / f"{j.key}.json").exists() or j.key in fresh]
    results: dict[str, dict] = {}
    for key in p.jobs:
        if (cache / f"{key}.json").exists() and key not in fresh:
            results[key] = json.loads((cache / f"{key}.json").read_text())
    waiting = {s: {p.keys[k] for k in p.keys if k[0] == s} - set(results) for s in p.students}
    bar = None
    if options.progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(p.students), unit="student" if len(p.students) > 1 else "notebook",
                   desc="grading", file=sys.stderr, initial=sum(not w for w in waiting.values()))
        if len(p.students) == 1:  # a class of one: progress by notebook
            bar.total, bar.n = len(p.jobs), len(p.jobs) - len(todo)
            bar.refresh()
    failures = sum(r["status"] != PASSED for res in results.values() for r in res.get("results", []))
    slots: queue.Queue = queue.Queue()
    for i in range(max(1, options.jobs)):
        slots.put(i)

    def run(job: Job) -> dict:
        slot = slots.get()
        try:
            return _run_job(job, p.course.notebooks[job.notebook], cache, options, slot, executed.get(job.key))
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
            done = 1 if len(p.students) == 1 else 0
            for s, keys in waiting.items():
                if keys and keys <= set(results):
                    keys.clear()
                    done += 0 if len(p.students) == 1 else 1
            if bar is not None:
                bar.set_postfix(failed=failures)
                bar.update(done)
    if bar is not None:
        bar.close()
    return results, len(todo)


def rows_of(p: Plan, results: dict[str, dict], whole_course: bool = True) -> list[Row]:
    """The graded rows of every student, in the canonical order: student, notebook (course order),
    exercise. whole_course: a notebook a student did not submit is a failed row for each exercise."""
    from .grading import NOT_SUBMITTED
    rows = []
    for student in p.students:
        for cid, model in p.course.notebooks.items():
            if not model.exercises:
                continue
            f = p.chosen.get((student, cid))
            if f is None:
                if whole_course:
                    rows += [Row(student, model.name, n, FAILED, f"{NOT_SUBMITTED}: no notebook {model.name} "
                                 "(or a copy of it) was found") for n in model.numbers]
                continue
            if (student, cid) in p.broken:
                rows += [Row(student, model.name, n, FAILED, p.broken[(student, cid)], f.shown, f.late, f.lms_id)
                         for n in model.numbers]
                continue
            res = results.get(p.keys[(student, cid)], {"error": "not graded"})
            by_number = {}
            for r in res.get("results", []):
                try:
                    by_number[r["exercise"]] = (CheckResult.from_dict(r), r.get("seed"))
                except (ValueError, KeyError, TypeError):
                    continue
            for n in model.numbers:
                result, seed = by_number.get(n, (CheckResult(n, FAILED, res.get("error", "no result")), None))
                rows.append(Row(student, model.name, n, result.status, result.message, f.shown, f.late, f.lms_id, seed))
    return rows


# ---------------------------------------------------------------- the class

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
    ignored: list[Ignored] = field(default_factory=list)


def _sandbox_or_say(options: Options, log) -> None:
    if options.sandbox:
        from .sandbox import unavailable, uid_base
        why = unavailable()
        if why and options.shard is not None:  # a part graded on a machine nobody watches: never silently open
            raise ClassError(f"no sandbox: {why}. A shard grades only in the sandbox: make it work on this "
                             "machine (examples/README.md says how on each engine) or pass --no-sandbox")
        if why:
            log(f"note: no sandbox: {why}; the submissions run with your rights (--no-sandbox says so quietly)")
            options.sandbox = False
            return
        if options.uid_base is None:
            options.uid_base = uid_base(options.jobs)
        from .sandbox import Sandbox
        for folder in Sandbox(Path(tempfile.gettempdir())).unreadable():
            log(f"note: {folder} is not readable by the sandboxed kernels' own user: give it the permissions "
                "for others (chmod o+rx), or notebooks that read it fail")


def grade_class(folder: Path | str, out: Path | str, options: Options, log=print) -> Graded:
    """Grade every student of ``folder`` into ``out`` (see the module's docstring)."""
    from .grading import GradingError

    start = time.perf_counter()
    folder, out = Path(folder).resolve(), Path(out).resolve()
    if out == folder or folder in out.parents:
        raise ClassError(f"--out {out} lies inside the submissions folder {folder}: name a folder outside it")
    try:
        course = options_course(options)
    except GradingError as e:
        raise ClassError(str(e)) from None
    from .shards import ShardError, read_manifest, read_results, in_student_order, shard_of, write_manifest

    previous = None
    if options.only:  # into an existing folder: its manifest says which course, options and shard it holds
        try:
            previous = read_manifest(out)
        except ShardError as e:
            raise ClassError(f"--only regrades into a folder grade-class wrote before: {e}") from None
        saved = previous["shard"] and (previous["shard"]["index"], previous["shard"]["count"])
        if options.shard is not None and tuple(options.shard) != saved:
            raise ClassError(f"--shard {options.shard[0]}/{options.shard[1]} but {out} holds "
                             + (f"shard {saved[0]}/{saved[1]}" if saved else "a whole class"))
        options.shard = saved or None
    _sandbox_or_say(options, log)
    shard = options.shard
    keep = None if shard is None else (lambda s: shard_of(s, shard[1]) == shard[0])
    if options.only:
        known = set(discover(folder, options.pattern)[0])
        for s in options.only:
            if s not in known:
                raise ClassError(f"--only {s}: no such student in {folder}")
            if keep is not None and not keep(s):
                raise ClassError(f"--only {s}: the student is in shard {shard_of(s, shard[1])}/{shard[1]}, "
                                 f"not in this part's {shard[0]}/{shard[1]}")
        keep = set(options.only).__contains__
    manifest = {"course": manifest_course(course), "options": options.manifest_options(course),
                "exercises": exercise_columns(course)}
    if previous is not None:
        from .shards import disagreement
        why = disagreement(previous, manifest)
        if why:
            raise ClassError(f"--only cannot regrade into {out}: {why}; grade the whole class (or part) again")
    p = plan(folder, course, options.grade_options(), options.pattern, keep,
             strays=not options.only and (shard is None or shard[0] == 0))  # strays: reported by shard 0 only
    cache = out / CACHE
    cache.mkdir(parents=True, exist_ok=True)
    fresh = len(p.jobs) if options.only else sum(not (cache / f"{k}.json").exists() for k in p.jobs)
    where = "" if shard is None else f" in shard {shard[0]}/{shard[1]}"
    log(f"{_count(len(p.students), 'student')}{where}, {_count(len(p.jobs), 'distinct submission')}: {fresh} to grade, "
        f"{len(p.jobs) - fresh} already graded ({options.jobs} at a time"
        f"{', sandboxed' + _uids(options) if options.sandbox else ', not sandboxed'})")
    results, graded = run_plan(p, cache, options, log, force=bool(options.only))
    rows = rows_of(p, results)
    students, ignored = p.students, p.ignored
    feedback = out / "feedback"
    if previous is not None:  # the others as they were graded; these students' rows and pages replaced
        try:
            old_rows, old_ignored = read_results(out)
        except ShardError as e:
            raise ClassError(str(e)) from None
        students = sorted(set(previous["students"]) | set(options.only))
        rows = in_student_order(students, [r for r in old_rows if r.student not in options.only] + rows)
        ignored = [i for i in old_ignored if i.student not in options.only] + ignored
        for s in options.only:
            shutil.rmtree(feedback / _safe(s), ignore_errors=True)
    for (student, cid), key in p.keys.items():
        page = cache / f"{key}.html"
        if page.exists():
            dest = feedback / _safe(student) / f"{Path(course.notebooks[cid].name).stem}.html"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(page, dest)
    write_outputs(out, manifest["exercises"], students, rows, ignored)
    write_manifest(out, shard=shard, students=students, **manifest)
    return Graded(rows, graded, time.perf_counter() - start, ignored)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _uids(options: Options) -> str:
    """The uids this grader's sandboxed kernels run as (root only: one block per grader, sandbox.uid_base)."""
    if os.geteuid() != 0 or options.uid_base is None:
        return ""
    return f" as uids {options.uid_base}-{options.uid_base + options.jobs - 1}"


def manifest_course(course: Course) -> str:
    """The course's hash in a manifest: of every graded notebook's :func:`course_hash`, options aside."""
    h = hashlib.sha256()
    for cid in course.notebooks:
        h.update(cid.encode() + b"\0" + course_hash(course, {}, cid).encode())
    return h.hexdigest()


def grade_files(files: list[SubmittedFile], course: Course, options: Options, *, whole_course: bool,
                executed: Path | None = None, log=print) -> tuple[list[Row], list[Ignored]]:
    """A class of one (``check``): the rows of ``files``, all one student's, graded like a class's."""
    _sandbox_or_say(options, log)
    p = plan_files([""], files, course, options.grade_options())
    where = {}
    if executed is not None:
        where = {p.keys[k]: executed / f.path.name for k, f in p.chosen.items() if k in p.keys}
    with tempfile.TemporaryDirectory(prefix="course-check-") as cache:
        results, _ = run_plan(p, Path(cache), options, log, where)
    return rows_of(p, results, whole_course), p.ignored


def _safe(name: str) -> str:
    return re.sub(r"[^\w.@-]+", "_", name) or "_"


def exercise_columns(course: Course) -> list[str]:
    return [e.number for _, e in course.exercises]


def write_outputs(out: Path, columns: list[str], students: list[str], rows: list[Row],
                  ignored: list[Ignored] = ()) -> None:
    """gradebook.csv, results.jsonl and summary.html from ``rows`` in the canonical order (student,
    notebook, exercise) and the exercise ``columns`` (and the ignored files, once each, sorted, after
    the graded rows in results.jsonl)."""
    points = {(r.student, r.exercise): int(r.status == PASSED) for r in rows}
    with open(out / "gradebook.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student", *columns, "total"])
        for s in students:
            marks = [points.get((s, n), 0) for n in columns]
            w.writerow([s, *marks, sum(marks)])
    with open(out / "results.jsonl", "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
        for i in sorted(ignored, key=lambda i: (i.student, i.file)):
            fh.write(json.dumps({"student": i.student, "file": i.file, "ignored": i.reason, "late": i.late},
                                ensure_ascii=False) + "\n")
    (out / "summary.html").write_text(summary_html(columns, students, rows), encoding="utf-8")


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
