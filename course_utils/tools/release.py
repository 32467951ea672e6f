"""Student release: instructor notebooks in, student notebooks out, nothing of an answer left.

:func:`build_release` reads each notebook's course model (:mod:`course_utils.tools.course`, which checks
its exercises and markers), replaces every solution block by ``# YOUR CODE HERE`` and ``raise
NotImplementedError("Exercise N.k: ...")`` at the block's indentation, clears outputs, execution
counts and metadata that could carry answers, and writes where the kernel will see them what the
model says: the student-mode line in the first code cell, ``#| needs: N.k`` as the first line of
every cell that needs an exercise, and a line in each Checks cell that requires every exercise. It
then scans every exercise's solution against all released notebooks and the ``course_utils``
sources (:func:`leak_scan`). It never writes into its source folder and never replaces a notebook
the student has changed since it was released.
"""
from __future__ import annotations

import copy
import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .course import (KEY, MODEL_FILE, NEEDS_LINE, SKIP_TAG, STUB_COMMENT, Course, CourseError, Exercise, course_from_json,
                     notebooks_in, read_model, read_notebook)
from . import transforms as T
from .injected import CHECKS_LINE, STUDENT_MODE_LINE
from .publish import Publication, checkout_version, publish, release_record

from ..settings import PACKAGE_DIR
LEAK_SHARE = 0.5  # an exercise leaks when this share of its secret solution lines appears elsewhere
LINE_SIMILARITY = 0.8  # a solution line "appears" in a line sharing this share of its tokens, in order
_TRIVIAL = re.compile(r"^(return|pass|else:|try:|finally:|\W*|return \w+|\w+|[\w.]+\(\)|[\w.]+ = [\w.]+)$")
_TOKEN = re.compile(r"\w+|[^\w\s]")

RELEASE_KEY = "course_release"  # notebook metadata: {"sha256": hash of the released cell sources}


@dataclass
class SolutionLine:
    exercise: str
    notebook: str
    cell: int  # 1-based, among all cells
    line: int  # 1-based, within the cell
    text: str


@dataclass
class Released:
    """One notebook's release: the student notebook and the solution lines taken out of it."""
    name: str
    notebook: nbformat.NotebookNode
    solutions: list[SolutionLine] = field(default_factory=list)
    public: set[str] = field(default_factory=set)  # normalized lines the instructor notebook shows anyway


@dataclass(frozen=True)
class Written:
    path: Path
    action: str  # "written", "updated", "unchanged", "kept" (student's changes kept; new version beside it)
    new_version: Path | None = None


def _norm(line: str) -> str:
    return " ".join(line.split())


def _significant(line: str) -> bool:
    s = _norm(line)
    return bool(s) and not s.startswith("#") and not _TRIVIAL.match(s)


def stub_source(lines: list[str], blocks, exercise: Exercise) -> list[str]:
    """``lines`` with each solution block replaced by the exercise's two stub lines."""
    lines = list(lines)
    for begin, end in reversed(blocks):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        lines[begin:end + 1] = [f"{indent}{STUB_COMMENT}",
                                f"{indent}raise NotImplementedError({json.dumps(exercise.stub_message, ensure_ascii=False)})"]
    return lines


def _release_steps(model) -> list:
    """The chain of :mod:`.transforms` that makes a student notebook (the solutions are stubbed first,
    by :func:`release_notebook`, which also collects the lines it removed)."""
    numbers = ", ".join(json.dumps(n) for n in model.numbers)
    first = T.first_code_cell(model)
    return [
        T.keep_notebook_metadata,
        T.keep_cell_metadata(nbval_tags=True),
        T.fold_going_further,
        T.clear_outputs,
        T.tag_raises_exception,
        T.prepend_lines(lambda m: {i: NEEDS_LINE + ", ".join(n) for i, n in m.needs.items()}),
        # no Checks cell may pass while an exercise does not
        T.prepend_lines(lambda m: {i: CHECKS_LINE.format(numbers=numbers) for i in m.checks} if m.exercises else {}),
        T.append_lines(lambda m: {first: STUDENT_MODE_LINE} if m.exercises and first is not None else {}),
    ]


def release_notebook(nb, name: str = "notebook") -> Released:
    """The student version of ``nb`` and the solution lines it removed (the model validated first)."""
    model = read_model(nb, name)
    out = copy.deepcopy(nb)
    released = Released(name, out)
    for exercise in model.exercises:  # the solutions become stubs
        cell = out.cells[exercise.solution]
        lines = cell.source.splitlines()
        blocks = model.solution_blocks(exercise)
        for begin, end in blocks:
            released.solutions += [SolutionLine(exercise.number, name, exercise.solution + 1, i + 1, lines[i])
                                   for i in range(begin + 1, end)]
        cell.source = "\n".join(stub_source(lines, blocks, exercise))
    T.apply(out, model, _release_steps(model))
    solutions = {e.solution: e for e in model.exercises}
    for index, cell in enumerate(nb.cells):  # what the instructor notebook shows outside solutions
        lines = cell.source.splitlines()
        inside = set()
        if index in solutions:
            for begin, end in model.solution_blocks(solutions[index]):
                inside |= set(range(begin, end + 1))
        released.public |= {_norm(line) for i, line in enumerate(lines) if i not in inside}
    return released


# ---------------------------------------------------------------- the leak scan

def _strings(node):
    """Every string anywhere in a notebook node: sources, outputs, attachments, metadata."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


@dataclass(frozen=True)
class _Target:
    where: str  # "06_x.ipynb, cell 4, line 23" or "course_utils/checks/nb04.py, line 312"
    text: str
    tokens: tuple


def _targets_in_notebook(name: str, nb) -> list[_Target]:
    out = []
    for index, cell in enumerate(nb.cells, start=1):
        for n, line in enumerate(cell.source.splitlines(), start=1):
            out.append(_Target(f"{name}, cell {index}, line {n}", _norm(line), tuple(_TOKEN.findall(line))))
        rest = {k: v for k, v in cell.items() if k != "source"}
        for text in _strings(rest):
            for line in text.splitlines():
                out.append(_Target(f"{name}, cell {index} (outputs/metadata)", _norm(line), tuple(_TOKEN.findall(line))))
    for text in _strings(dict(nb.metadata)):
        for line in text.splitlines():
            out.append(_Target(f"{name}, notebook metadata", _norm(line), tuple(_TOKEN.findall(line))))
    return out


def _targets_in_package(package_dir: Path) -> list[_Target]:
    out = []
    for path in sorted(package_dir.rglob("*.py")):
        rel = f"{package_dir.name}/{path.relative_to(package_dir).as_posix()}"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            out.append(_Target(f"{rel}, line {n}", _norm(line), tuple(_TOKEN.findall(line))))
    return out


def _appears(line: str, tokens: tuple, target: _Target) -> bool:
    if line in target.text:
        return True
    if len(tokens) < 4 or len(set(tokens) - set(target.tokens)) > (1 - LINE_SIMILARITY) * len(set(tokens)) + 1:
        return False  # too few tokens in common for the (slower) ordered comparison to succeed
    matcher = difflib.SequenceMatcher(None, tokens, target.tokens, autojunk=False)
    return sum(b.size for b in matcher.get_matching_blocks()) >= LINE_SIMILARITY * len(tokens)


def leak_scan(releases: list[Released], package_dir: Path | None = PACKAGE_DIR) -> list[str]:
    """Where solutions show up outside their exercise; one message per leak (empty: no leak).

    - In an exercise's own notebook, any non-trivial solution line that the instructor notebook does
      not show outside its solution blocks is a leak wherever it appears in the release (sources,
      outputs, attachments, metadata).
    - Across all released notebooks and the ``course_utils`` sources, an exercise leaks when at least
      :data:`LEAK_SHARE` of those lines appear there (the same line, or one sharing most of its tokens
      in order: ``range(4)`` for ``range(n)`` still counts).
    """
    own = {r.name: _targets_in_notebook(r.name, r.notebook) for r in releases}
    package = _targets_in_package(package_dir) if package_dir is not None else []
    messages = []
    by_exercise: dict[tuple[str, str], list[SolutionLine]] = {}
    publics = {r.name: [_Target("", line, tuple(_TOKEN.findall(line))) for line in r.public] for r in releases}
    for r in releases:
        for s in r.solutions:
            by_exercise.setdefault((r.name, s.exercise), []).append(s)
    for (name, number), lines in by_exercise.items():
        secret = [s for s in lines if _significant(s.text)
                  and not any(_appears(_norm(s.text), tuple(_TOKEN.findall(s.text)), t) for t in publics[name])]
        if not secret:
            continue
        found = {}
        for s in secret:
            text, tokens = _norm(s.text), tuple(_TOKEN.findall(s.text))
            for t in own[name]:
                if text in t.text:
                    messages.append(f"{t.where}: line {s.line} of Exercise {number}'s solution ({name}, cell "
                                    f"{s.cell}) is in the release: {text!r}")
                    break
            for t in [t for other, ts in own.items() if other != name for t in ts] + package:
                if _appears(text, tokens, t):
                    found[s.line] = (t, text)
                    break
        if len(found) >= LEAK_SHARE * len(secret):
            places = "; ".join(f"{t.where} ({text!r})" for t, text in found.values())
            messages.append(f"Exercise {number} ({name}): {len(found)} of its {len(secret)} solution lines appear "
                            f"outside it: {places}")
    return messages


# ---------------------------------------------------------------- writing the release

def source_hash(nb) -> str:
    """sha256 of a notebook's cell types and sources: what the student edits."""
    cells = [[c.cell_type, c.source] for c in nb.cells]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def _notebooks(sources: list[Path]) -> list[Path]:
    paths = []
    for src in sources:
        if not src.exists():
            raise CourseError(f"{src}: no such file or folder")
        if src.is_dir():
            found = notebooks_in(src)
            if not found:
                raise CourseError(f"{src}: no notebooks (*.ipynb) in this folder")
            paths += found
        elif src.suffix != ".ipynb":
            raise CourseError(f"{src}: not a notebook (.ipynb)")
        else:
            paths.append(src)
    return paths


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _write(student, dest: Path) -> Written:
    student.metadata[RELEASE_KEY] = {**student.metadata.get(RELEASE_KEY, {}), "sha256": source_hash(student)}
    if dest.exists():
        try:
            existing = nbformat.read(dest, as_version=4)
            unchanged = existing.metadata.get(RELEASE_KEY, {}).get("sha256") == source_hash(existing)
            same = source_hash(existing) == source_hash(student)
        except Exception:  # unreadable: whatever it is, it is not ours to replace
            unchanged = same = False
        if same and unchanged:
            return Written(dest, "unchanged")
        if not unchanged:
            beside = dest.with_name(dest.name[: -len(".ipynb")] + ".new.ipynb")
            nbformat.write(student, beside)
            return Written(dest, "kept", beside)
        nbformat.write(student, dest)
        return Written(dest, "updated")
    nbformat.write(student, dest)
    return Written(dest, "written")


def build_release(sources, out: Path | str, package_dir: Path | None = PACKAGE_DIR,
                  publication: Publication | None = None) -> list[Written]:
    """Release the notebooks ``sources`` (folders or .ipynb files) into the folder ``out``.

    Raises :class:`CourseError` (nothing written) for a missing source, an ``out`` that is a file
    or lies in a source folder, a malformed exercise, or a leak. A student notebook changed since
    it was released is kept; the new version is written beside it as ``NAME.new.ipynb``. With a
    ``publication`` (``--colab``), each notebook gets the set-up cell and the badges (:mod:`.publish`). The
    version the release was built from is recorded in each notebook's metadata and in ``course.json``.
    """
    sources = [Path(s) for s in ([sources] if isinstance(sources, (str, Path)) else sources)]
    out = Path(out)
    paths = _notebooks(sources)
    if out.exists() and not out.is_dir():
        raise CourseError(f"--out {out}: is a file, not a folder")
    for folder in {p.parent for p in paths}:
        if _inside(out, folder):
            raise CourseError(f"--out {out}: lies in the source folder {folder}; the release would replace the "
                               "solutions. Choose a folder outside it (e.g. student/)")
    releases = []
    for path in paths:
        try:
            nb = read_notebook(path)
        except Exception as e:
            raise CourseError(f"{path}: not a readable notebook ({type(e).__name__})") from None
        releases.append(release_notebook(nb, path.name))
    leaks = leak_scan(releases, package_dir)
    if leaks:
        raise CourseError(f"solution lines found outside their exercise ({len(leaks)}):\n  " + "\n  ".join(leaks))
    record = release_record(publication, checkout_version())
    for r in releases:
        if publication is not None:
            publish(r.notebook, r.name, publication)
        r.notebook.metadata[RELEASE_KEY] = dict(record)
    out.mkdir(parents=True, exist_ok=True)
    written = [_write(r.notebook, out / r.name) for r in releases]
    _write_model(out, [read_model(read_notebook(p), p.name) for p in paths], record)
    return written


def _write_model(out: Path, models, record: dict | None = None) -> None:
    """The course model of the released notebooks (:data:`MODEL_FILE`), what a repository made from the
    release grades against; notebooks released earlier into ``out`` and not now keep their entries."""
    notebooks = {}
    if (out / MODEL_FILE).is_file():
        try:
            notebooks = dict(course_from_json(out / MODEL_FILE).notebooks)
        except CourseError:
            notebooks = {}
    notebooks.update({m.id: m for m in models})
    ordered = dict(sorted(notebooks.items(), key=lambda item: item[1].name))
    text = Course(out, ordered).to_json()
    if record:  # which release this is (course_from_json reads the notebooks only)
        text = json.dumps({**json.loads(text), "release": record}, indent=1, ensure_ascii=False) + "\n"
    (out / MODEL_FILE).write_text(text, encoding="utf-8")
