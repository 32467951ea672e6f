"""Grading: execute a submitted notebook in a fresh kernel, probe each answer, and judge it here.

What a submission owes comes from the instructor's course model (:mod:`course_utils.tools.course`: the
repository's ``notebooks/`` or ``--instructor DIR``), never from the submission: its metadata only
says which course notebook it is (:meth:`~course_utils.tools.course.Course.match`), so a copy renamed by
Colab, a browser or an LMS is graded as the notebook it is, and one with its headings or metadata
of exercises deleted still owes every exercise.

The verdict is given in this process, never in the submission's kernel (docs/architecture.md):

1. the notebook runs as the student's Run All would (every cell, even after an error), for the
   feedback page; what it prints about its own checks counts for nothing;
2. one last cell (:func:`course_utils.tools.injected.probe_cell`) asks the kernel to run each exercise's
   probe on the answer the model names, with a seed drawn here from a secret and the submission's
   content (:func:`seed_for`), and publish the probes' plain data;
3. each exercise's judge (:func:`course_utils.checks.core.judge_data`) rebuilds the inputs from the seed,
   computes the reference, scans the submitted solution for the shortcuts the exercise bans, and gives
   the :class:`CheckResult`.

Like any autograder, grading executes the submission's code with the grader's rights: grade untrusted
work in the sandbox (:mod:`.sandbox`), which keeps a submission away from the machine.
"""
from __future__ import annotations

import ast
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..outcome import FAILED, NOT_ATTEMPTED, CheckResult
from ..settings import CELL_TIMEOUT, GRADING_SECRET_ENV, REPO_DIR
from .course import MODEL_FILE, Course, CourseNotebook, Exercise, cell_meta, course_from_json, load_course
from .execute import execute
from .injected import PROBE_MIME, probe_cell, prologue

INSTRUCTOR_DIR = REPO_DIR / "notebooks"  # present in the course repository
NOT_SUBMITTED = "not submitted"


def secret_path() -> Path:
    """Where the grading secret is kept when ``$COURSE_GRADING_SECRET`` is not set: the user's own
    configuration folder, outside every repository and every sandbox."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "course-utils" / "grading-secret"


def grading_secret() -> bytes:
    """The key of the seeds a grader draws: ``$COURSE_GRADING_SECRET``, else :func:`secret_path`
    (made on first use, readable by its owner only). Graders that must agree (shards of one class)
    share it through the variable."""
    value = os.environ.get(GRADING_SECRET_ENV)
    if value:
        return value.encode()
    path = secret_path()
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    return path.read_bytes().strip()


def secret_id(secret: bytes) -> str:
    """A public name of a secret (in manifests and cache keys): it changes when the secret does and
    tells nothing of it."""
    return hashlib.sha256(b"course-utils grading secret\0" + secret).hexdigest()[:16]


def seed_for(secret: bytes, content: bytes, exercise: str) -> int:
    """The seed of ``exercise``'s probe for a submission of ``content``: a keyed hash, so the same
    file is always graded with the same inputs, and no one without the secret knows them beforehand."""
    digest = hmac.new(secret, hashlib.sha256(content).digest() + exercise.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # 63 bits


class GradingError(ValueError):
    """A submission that cannot be graded at all: missing, not a notebook, truncated, not of the course."""


def read_submission(path: Path | str) -> nbformat.NotebookNode:
    """The notebook at ``path``; :class:`GradingError` with a one-line reason if there is none."""
    path = Path(path)
    if not path.exists():
        raise GradingError(f"{path}: no such file")
    if path.is_dir():
        raise GradingError(f"{path}: is a folder, not a notebook")
    from nbformat.reader import NotJSONError
    try:
        nb = nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, UnicodeDecodeError, NotJSONError):
        raise GradingError(f"{path}: not a notebook (not JSON; truncated, or a text file?)") from None
    except Exception as e:  # nbformat's own reading errors
        raise GradingError(f"{path}: not a notebook ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None
    if not isinstance(nb.get("cells"), list):
        raise GradingError(f"{path}: not a notebook (no cells)")
    return nb


RELEASED_MODEL = REPO_DIR / "student" / MODEL_FILE  # in a repository made from the student release


def instructor_course(folder: Path | str | None = None) -> Course:
    """The course a submission is graded against: the instructor notebooks in ``folder`` (default: the
    repository's ``notebooks/``). Where the default folder is absent (a repository made from the
    student release), the model the release wrote beside the student notebooks (:data:`MODEL_FILE`)."""
    if folder is not None and not Path(folder).is_dir():
        raise GradingError(f"--instructor {folder}: no such folder")
    if folder is not None or INSTRUCTOR_DIR.is_dir():
        return load_course(folder or INSTRUCTOR_DIR)
    if RELEASED_MODEL.is_file():
        return course_from_json(RELEASED_MODEL)
    raise GradingError(f"no course to grade against: neither {INSTRUCTOR_DIR} nor {RELEASED_MODEL} exists "
                       "(give --instructor DIR, the folder of the instructor notebooks)")


@dataclass
class Submission:
    path: Path
    notebook: nbformat.NotebookNode
    owes: CourseNotebook  # the instructor's model of the course notebook it is


@dataclass(frozen=True)
class Verdict:
    """One exercise's grade and the seed its probe ran with (recorded, so a grade can be reproduced)."""
    result: CheckResult
    seed: int | None


def match_submission(path: Path | str, course: Course) -> Submission:
    """Read ``path`` and find which course notebook it is; :class:`GradingError` if it is none."""
    nb = read_submission(path)
    owes = course.match(nb, path)
    if owes is None:
        raise GradingError(f"{path}: not a notebook of this course (no course id in its metadata, and its file "
                           f"name matches none of {', '.join(m.name for m in course.notebooks.values())})")
    return Submission(Path(path), nb, owes)


def _defines(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def answer_sources(nb, exercise: Exercise) -> list[str]:
    """The submitted code of ``exercise``'s answer: its solution cell (by the course metadata the
    submission kept) and every code cell that defines the answer's name at its top level."""
    return [c.source for c in nb.cells if c.cell_type == "code"
            and ((cell_meta(c).get("exercise") == exercise.number and cell_meta(c).get("part") == "solution")
                 or exercise.defines in _defines(c.source))]


def grade_notebook(submission: Submission, timeout: int = CELL_TIMEOUT, *, keep: list | None = None,
                   km=None, secret: bytes | None = None) -> list[Verdict]:
    """Execute the submission in a fresh kernel (every cell runs, even after an error), probe each
    exercise its course notebook owes, and judge the probes' data in this process.

    keep: a list that receives the submission as it ran (outputs, errors, messages), without the
    grader's own cells: what the student's Run All shows, every cell run.
    km: the kernel manager to run it with (:class:`course_utils.tools.sandbox.SandboxKernelManager`).
    secret: the key of the probes' seeds (default :func:`grading_secret`).
    """
    from ..checks import all_checks
    from ..checks.core import judge_data
    nb = submission.notebook
    model = submission.owes
    if not model.exercises:
        return []
    secret = grading_secret() if secret is None else secret
    content = submission.path.read_bytes()
    seeds = {e.number: seed_for(secret, content, e.number) for e in model.exercises}
    sources = {e.number: answer_sources(nb, e) for e in model.exercises}
    token = secrets.token_hex(16)
    nb.cells.insert(0, nbformat.v4.new_code_cell(prologue()))
    nb.cells.append(nbformat.v4.new_code_cell(probe_cell({e.number: (e.defines, seeds[e.number]) for e in model.exercises},
                                                         token)))
    run = execute(nb, submission.path.parent, timeout=timeout, allow_errors=True, km=km)
    probe = nb.cells.pop()
    del nb.cells[0]  # the grader's prologue, which took execution count 1: the cells count from 1, as in Run All
    for cell in nb.cells:
        if cell.cell_type == "code" and isinstance(cell.get("execution_count"), int):
            cell.execution_count -= 1
    if keep is not None:
        keep.append(nb)
    published = [out["data"][PROBE_MIME] for out in probe.get("outputs", [])
                 if isinstance(out.get("data"), dict) and PROBE_MIME in out["data"]]
    data = next((d["probes"] for d in published if isinstance(d, dict) and d.get("token") == token
                 and isinstance(d.get("probes"), dict)), None)
    if data is None:
        error = next((f"{o.get('ename')}: {o.get('evalue')}" for o in probe.get("outputs", [])
                      if o.get("output_type") == "error"), "")
        why = (f"the notebook stopped ({run.error})" if run.stopped
               else f"the grader's probe of the answers failed ({error or 'it published nothing'})")
        return [Verdict(CheckResult(e.number, FAILED, f"its answer could not be checked: {why}"), seeds[e.number])
                for e in model.exercises]
    checks = all_checks()
    verdicts = []
    for e in model.exercises:
        text = data.get(e.number)
        if not isinstance(text, str):
            result = CheckResult(e.number, FAILED, "its answer could not be checked: the probe returned no data for it")
        else:
            result = judge_data(checks[e.number], text, seeds[e.number], sources[e.number])
            if result.status == NOT_ATTEMPTED and text == '{"not_attempted": true}' and not sources[e.number]:
                result = CheckResult(e.number, NOT_ATTEMPTED, f"no `{e.defines}` is defined once the notebook ran "
                                     "(its cell is missing, or it raised before defining it)")
        verdicts.append(Verdict(result, seeds[e.number]))
    return verdicts


def write_executed(nb, path: Path) -> Path:
    """Save a notebook kept by :func:`grade_notebook` (progress-bar frames dropped) at ``path``."""
    from .outputs import drop_progress_bars
    drop_progress_bars(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


HEADER = ("notebook", "exercise", "result", "message")


def format_row(notebook: str, exercise: str, status: str, message: str, width: int = 32) -> str:
    """One line of the grade table (the header is the same call with :data:`HEADER`)."""
    return f"{notebook:<{width}} {exercise:<8} {status:<14} {message}".rstrip()
