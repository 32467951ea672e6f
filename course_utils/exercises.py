"""Student release and grading of the exercise notebooks.

Instructor notebooks hold each answer between ``### BEGIN SOLUTION`` and ``### END SOLUTION``.
:func:`build_release` turns them into student notebooks: each block becomes ``# YOUR CODE HERE``
and ``raise NotImplementedError("Exercise N.k: ...")`` at the block's indentation, outputs and
execution counts are cleared, metadata that could carry answers is dropped, and a leak scan proves
that no solution line survives anywhere in the result. :func:`grade_notebook` executes a student's
notebook in a fresh kernel and reports each exercise as passed, failed or not attempted.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_HEADING = re.compile(r"^#{1,6}\s*Exercise\s+(\d+\.\d+)\s*[·:—–-]?\s*(.*)$", re.M)  # a markdown heading
_TRIVIAL = re.compile(r"^(return|pass|else:|try:|finally:|\W*|return \w+|\w+|[\w.]+\(\))$")
SKIP_TAG = "raises-exception"  # JupyterLab and nbclient run on past a failing cell with this tag
KEEP_CELL_METADATA = ("tags",)
KEEP_NOTEBOOK_METADATA = ("kernelspec", "language_info")
STUDENT_MODE_LINE = ("from course_utils.exercises import student_mode; student_mode()  "
                     "# an unfinished exercise skips the cells that need it")


class ReleaseError(ValueError):
    """Malformed solution markers, or a solution line found in the release."""


@dataclass(frozen=True)
class Exercise:
    number: str  # "4.1"
    title: str


def exercises_in(nb) -> list[Exercise]:
    """The exercises a notebook announces in markdown headings ("### Exercise N.k · title"), in order."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for m in _HEADING.finditer(cell.source):
                if m.group(1) not in {e.number for e in found}:
                    found.append(Exercise(m.group(1), m.group(2).strip(" #*")))
    return found


def _solution_blocks(cell, where: str) -> list[tuple[int, int]]:
    """(begin, end) line indices of each solution block of a code cell; malformed markers raise."""
    blocks, start = [], None
    for i, line in enumerate(cell.source.splitlines()):
        if line.strip() == BEGIN:
            if start is not None:
                raise ReleaseError(f"{where}, line {i + 1}: nested {BEGIN} (the block opened at line {start + 1} is not closed)")
            start = i
        elif line.strip() == END:
            if start is None:
                raise ReleaseError(f"{where}, line {i + 1}: {END} without a {BEGIN}")
            blocks.append((start, i))
            start = None
    if start is not None:
        raise ReleaseError(f"{where}, line {start + 1}: {BEGIN} is never closed")
    return blocks


def release_notebook(nb, name: str = "notebook") -> tuple[nbformat.NotebookNode, list[str]]:
    """The student version of ``nb`` and the solution lines it removed."""
    out = copy.deepcopy(nb)
    out.metadata = {k: v for k, v in nb.metadata.items() if k in KEEP_NOTEBOOK_METADATA}
    removed: list[str] = []
    current = None  # the exercise announced by the latest markdown heading
    first_code, after_exercise = True, False
    for index, cell in enumerate(out.cells):
        where = f"{name}, cell {index + 1}"
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEEP_CELL_METADATA}
        cell.pop("attachments", None) if cell.cell_type == "code" else None
        if cell.cell_type != "code":
            if BEGIN in cell.source or END in cell.source:
                raise ReleaseError(f"{where}: solution marker outside a code cell ({cell.cell_type})")
            headings = _HEADING.findall(cell.source)
            if headings:
                current = Exercise(headings[-1][0], headings[-1][1].strip(" #*"))
            continue
        cell.outputs, cell.execution_count = [], None
        blocks = _solution_blocks(cell, where)
        if blocks:
            if current is None:
                raise ReleaseError(f"{where}: solution block with no 'Exercise N.k' heading above it")
            lines = cell.source.splitlines()
            for begin, end in reversed(blocks):
                indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
                removed += lines[begin + 1:end]
                message = f"Exercise {current.number}: {current.title}" if current.title else f"Exercise {current.number}"
                lines[begin:end + 1] = [f"{indent}# YOUR CODE HERE",
                                        f"{indent}raise NotImplementedError({json.dumps(message, ensure_ascii=False)})"]
            cell.source = "\n".join(lines)
            after_exercise = True
        elif after_exercise:
            tags = list(cell.metadata.get("tags", []))
            cell.metadata["tags"] = tags + [SKIP_TAG] if SKIP_TAG not in tags else tags
        if first_code:
            first_code = False
            if exercises_in(nb):
                cell.source = cell.source.rstrip("\n") + "\n" + STUDENT_MODE_LINE
    return out, removed


def _significant(line: str) -> bool:
    s = line.strip()
    return bool(s) and not s.startswith("#") and not _TRIVIAL.match(s)


def leak_scan(instructor, release, removed: list[str]) -> list[str]:
    """Solution lines that appear anywhere in the release: sources, outputs, attachments, metadata.

    Lines that the instructor notebook also shows outside its solution blocks are public, not leaks.
    """
    public = set()
    for cell in instructor.cells:
        lines = cell.source.splitlines()
        inside = False
        for line in lines:
            if line.strip() in (BEGIN, END):
                inside = line.strip() == BEGIN
            elif not inside:
                public.add(line.strip())
    text = json.dumps(release, ensure_ascii=False)  # every source, output, attachment and metadata value
    leaks = []
    for line in dict.fromkeys(removed):
        s = line.strip()
        if _significant(s) and s not in public and json.dumps(s, ensure_ascii=False)[1:-1] in text:
            leaks.append(s)
    return leaks


def build_release(src: Path | str, out: Path | str) -> list[Path]:
    """Write the student version of every notebook in ``src`` to ``out``; raise on markers or leaks."""
    src, out = Path(src), Path(out)
    paths = sorted(src.glob("*.ipynb")) if src.is_dir() else [src]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        student, removed = release_notebook(nb, path.name)
        leaks = leak_scan(nb, student, removed)
        if leaks:
            raise ReleaseError(f"{path.name}: solution lines found in the release: {leaks}")
        nbformat.write(student, out / path.name)
        written.append(out / path.name)
    return written


# ---------------------------------------------------------------- in the student's kernel

_skipped: list[str] = []


def student_mode() -> None:
    """Let a notebook run on past an unfinished exercise.

    A cell that calls an exercise still raising ``NotImplementedError`` prints one line saying
    which exercise it needs, instead of a traceback. Once a cell was skipped, a later error (a
    variable or a logged value that the skipped cell would have made) is reported in one line that
    says so. Before any skip, errors show their full traceback as usual.
    """
    try:
        ip = get_ipython()  # noqa: F821 (defined inside IPython only)
    except NameError:
        return

    def handler(shell, etype, value, tb, tb_offset=None):
        if etype is NotImplementedError and str(value).startswith("Exercise"):
            _skipped.append(str(value).split(":")[0])
            print(f"⏭ Skipped: this cell needs {value}, which is not done yet. The notebook continues.")
            return None
        if _skipped:
            print(f"⏭ Skipped: {etype.__name__}: {value}. Most likely a consequence of a cell skipped above "
                  f"(needs {', '.join(dict.fromkeys(_skipped))}); once that is done, run the notebook from the top.")
            return None
        return shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)

    ip.set_custom_exc((Exception,), handler)


# ---------------------------------------------------------------- grading

_REPORT = ("import json as _json\nfrom course_utils.checks import RESULTS as _R\n"
           "print('COURSE-RESULTS ' + _json.dumps({k: [v.status, v.message] for k, v in _R.items()}))")


@dataclass(frozen=True)
class Grade:
    exercise: str
    status: str  # passed / failed / not attempted / not run
    message: str = ""


def grade_notebook(path: Path | str, timeout: int = 600, *, keep=None) -> list[Grade]:
    """Execute a (student's) notebook in a fresh kernel and grade each exercise it announces.

    ``keep``, a list, receives the executed notebook (for inspection).
    """
    from nbclient import NotebookClient
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    expected = exercises_in(nb)
    for cell in nb.cells:  # a failing cell must not stop grading of the rest
        if cell.cell_type == "code":
            tags = cell.metadata.setdefault("tags", [])
            if SKIP_TAG not in tags:
                tags.append(SKIP_TAG)
    nb.cells.append(nbformat.v4.new_code_cell(_REPORT))
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    if keep is not None:
        keep.append(nb)
    results = {}
    for out in nb.cells[-1].outputs:
        for line in out.get("text", "").splitlines():
            if line.startswith("COURSE-RESULTS "):
                results = json.loads(line[len("COURSE-RESULTS "):])
    return [Grade(e.number, *results.get(e.number, ("not run", "its self-check cell did not run")))
            for e in expected]


def format_grades(name: str, grades: list[Grade]) -> str:
    lines = [f"{name}", f"  {'exercise':<9} {'result':<14} message"]
    for g in grades:
        lines.append(f"  {g.exercise:<9} {g.status:<14} {g.message}")
    if not grades:
        lines.append("  (no exercises)")
    return "\n".join(lines)
