"""Student release: instructor notebooks in, student notebooks out, nothing of an answer left.

:func:`build_release` checks each notebook's exercise layout (:func:`check_layout`), replaces every
solution block by ``# YOUR CODE HERE`` and ``raise NotImplementedError("Exercise N.k: ...")`` at the
block's indentation, clears outputs, execution counts and metadata that could carry answers, adds
the student-mode line and a line in the Checks cell, and scans every exercise's solution against
all released notebooks and the ``course_utils`` sources (:func:`leak_scan`). It never writes into
its source folder and never replaces a notebook the student has changed since it was released.
"""
from __future__ import annotations

import ast
import copy
import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .exercises import (CHECKS_HEADING, CHECKS_LINE, KEEP_CELL_METADATA, KEEP_NOTEBOOK_METADATA, RELEASE_KEY,
                        SKIP_TAG, STUB_COMMENT, STUDENT_MODE_LINE, Exercise, ReleaseError, exercises_in, headings,
                        marker_lines, solution_blocks, stub_message)

PACKAGE_DIR = Path(__file__).resolve().parent
LEAK_SHARE = 0.5  # an exercise leaks when this share of its secret solution lines appears elsewhere
LINE_SIMILARITY = 0.8  # a solution line "appears" in a line sharing this share of its tokens, in order
_TRIVIAL = re.compile(r"^(return|pass|else:|try:|finally:|\W*|return \w+|\w+|[\w.]+\(\)|[\w.]+ = [\w.]+)$")
_TOKEN = re.compile(r"\w+|[^\w\s]")


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


def _check_names(nb) -> set[str]:
    """Names under which the notebook imports course_utils.checks functions or the module itself."""
    names = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_utils.checks"):
                names |= {a.asname or a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module == "course_utils":
                names |= {a.asname or a.name for a in node.names if a.name == "checks"}
            elif isinstance(node, ast.Import):
                names |= {a.asname for a in node.names if a.name.startswith("course_utils.checks") and a.asname}
                names |= {"course_utils" for a in node.names if a.name.startswith("course_utils.checks") and not a.asname}
    return names


def _calls_a_check(source: str, names: set[str]) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            while isinstance(f, ast.Attribute):
                f = f.value
            if isinstance(f, ast.Name) and f.id in names:
                return True
    return False


def check_layout(nb, name: str = "notebook") -> None:
    """Raise :class:`ReleaseError` unless each exercise heading is followed by exactly one solution
    cell and then a cell calling a ``course_utils.checks`` function, before the next exercise heading;
    and no solution block or marker-like line stands anywhere else."""
    check_names = _check_names(nb)
    current, heading_cell, solution_cell, check_cell = None, 0, None, None

    def close():
        if current is None:
            return
        where = f"{name}, cell {heading_cell} (Exercise {current.number})"
        if solution_cell is None:
            raise ReleaseError(f"{where}: no code cell with a {'### BEGIN SOLUTION'} block follows this heading")
        if check_cell is None:
            raise ReleaseError(f"{where}: no cell calling a course_utils.checks function follows the solution "
                               f"cell (cell {solution_cell})")

    for index, cell in enumerate(nb.cells, start=1):
        where = f"{name}, cell {index}"
        if cell.cell_type != "code":
            lines = marker_lines(cell.source)
            if lines:
                raise ReleaseError(f"{where}, line {lines[0]}: solution marker outside a code cell ({cell.cell_type})")
            found = headings(cell.source) if cell.cell_type == "markdown" else []
            if len(found) > 1:
                raise ReleaseError(f"{where}: {len(found)} exercise headings in one cell; give each its own cell")
            if found:
                close()
                current, heading_cell, solution_cell, check_cell = found[0], index, None, None
            continue
        if solution_blocks(cell.source, where):
            if current is None:
                raise ReleaseError(f"{where}: solution block with no 'Exercise N.k' heading above it")
            if solution_cell is not None:
                raise ReleaseError(f"{where}: a second solution cell for Exercise {current.number} (the first is "
                                   f"cell {solution_cell}); keep one solution cell per exercise (several blocks are fine)")
            solution_cell = index
        elif solution_cell is not None and check_cell is None and _calls_a_check(cell.source, check_names):
            check_cell = index
    close()


def _stub_source(lines: list[str], blocks, exercise: Exercise) -> list[str]:
    for begin, end in reversed(blocks):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        lines[begin:end + 1] = [f"{indent}{STUB_COMMENT}",
                                f"{indent}raise NotImplementedError({json.dumps(stub_message(exercise), ensure_ascii=False)})"]
    return lines


def release_notebook(nb, name: str = "notebook") -> Released:
    """The student version of ``nb`` and the solution lines it removed (layout checked first)."""
    check_layout(nb, name)
    out = copy.deepcopy(nb)
    out.metadata = {k: v for k, v in nb.metadata.items() if k in KEEP_NOTEBOOK_METADATA and k != RELEASE_KEY}
    released = Released(name, out)
    exercises = exercises_in(nb)
    current = None
    first_code, after_exercise = True, False
    checks_heading = False
    for index, cell in enumerate(out.cells, start=1):
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEEP_CELL_METADATA}
        if cell.cell_type != "code":
            found = headings(cell.source) if cell.cell_type == "markdown" else []
            current = found[-1] if found else current
            checks_heading = bool(CHECKS_HEADING.search(cell.source)) if cell.cell_type == "markdown" else checks_heading
            continue
        cell.outputs, cell.execution_count = [], None
        lines = cell.source.splitlines()
        blocks = solution_blocks(cell.source, f"{name}, cell {index}")
        if blocks:
            for begin, end in blocks:
                released.solutions += [SolutionLine(current.number, name, index, i + 1, lines[i])
                                       for i in range(begin + 1, end)]
            cell.source = "\n".join(_stub_source(lines, blocks, current))
            after_exercise = True
        else:
            if after_exercise and SKIP_TAG not in cell.metadata.get("tags", []):
                cell.metadata["tags"] = list(cell.metadata.get("tags", [])) + [SKIP_TAG]
        if exercises and first_code:
            cell.source = cell.source.rstrip("\n") + "\n" + STUDENT_MODE_LINE
        if exercises and checks_heading:  # no Checks cell may pass while an exercise does not
            line = CHECKS_LINE.format(numbers=", ".join(json.dumps(e.number) for e in exercises))
            cell.source = line + "\n" + cell.source  # first: an unfinished exercise is the cause to show
        first_code = False
    for index, cell in enumerate(nb.cells, start=1):  # what the instructor notebook shows outside solutions
        lines = cell.source.splitlines()
        inside = set()
        if cell.cell_type == "code":
            for begin, end in solution_blocks(cell.source, f"{name}, cell {index}"):
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
    where: str  # "06_x.ipynb, cell 4, line 23" or "course_utils/checks.py, line 312"
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
            raise ReleaseError(f"{src}: no such file or folder")
        if src.is_dir():
            found = sorted(src.glob("*.ipynb"))
            if not found:
                raise ReleaseError(f"{src}: no notebooks (*.ipynb) in this folder")
            paths += found
        elif src.suffix != ".ipynb":
            raise ReleaseError(f"{src}: not a notebook (.ipynb)")
        else:
            paths.append(src)
    return paths


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _write(student, dest: Path) -> Written:
    student.metadata[RELEASE_KEY] = {"sha256": source_hash(student)}
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


def build_release(sources, out: Path | str, package_dir: Path | None = PACKAGE_DIR) -> list[Written]:
    """Release the notebooks ``sources`` (folders or .ipynb files) into the folder ``out``.

    Raises :class:`ReleaseError` (nothing written) for a missing source, an ``out`` that is a file
    or lies in a source folder, a malformed exercise, or a leak. A student notebook changed since
    it was released is kept; the new version is written beside it as ``NAME.new.ipynb``.
    """
    sources = [Path(s) for s in ([sources] if isinstance(sources, (str, Path)) else sources)]
    out = Path(out)
    paths = _notebooks(sources)
    if out.exists() and not out.is_dir():
        raise ReleaseError(f"--out {out}: is a file, not a folder")
    for folder in {p.parent for p in paths}:
        if _inside(out, folder):
            raise ReleaseError(f"--out {out}: lies in the source folder {folder}; the release would replace the "
                               "solutions. Choose a folder outside it (e.g. student/)")
    releases = []
    for path in paths:
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as e:
            raise ReleaseError(f"{path}: not a readable notebook ({type(e).__name__})") from None
        releases.append(release_notebook(nb, path.name))
    leaks = leak_scan(releases, package_dir)
    if leaks:
        raise ReleaseError(f"solution lines found outside their exercise ({len(leaks)}):\n  " + "\n  ".join(leaks))
    out.mkdir(parents=True, exist_ok=True)
    return [_write(r.notebook, out / r.name) for r in releases]
