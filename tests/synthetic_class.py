"""A synthetic class of eight students on notebooks 01 and 03, made from the student release and the
wrong-answer bank (tests/wrong_answers.py), for the grade-class tests and benchmarks/bench_grading.py.

It holds correct answers, wrong answers and stubs; a renamed copy ("Copy of ...") and LMS-prefixed
files; a truncated file; a missing notebook; a late resubmission beside the older copy it replaces;
and two hostile submissions: one tries to read other students' work and the instructor's notebooks,
write into the grades and another student's folder, open a network connection, allocate 20 GB and
kill the grader; the other runs a fork bomb.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
from wrong_answers import RIGHT, WRONG

from course_notebooks import fill

from course_utils.tools.release import build_release

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("01_learning_definitions.ipynb", "03_curse_of_dimensionality.ipynb")
GRADED = [name.split("_")[0] for name in NOTEBOOKS]  # grade-class --notebooks: only these are graded
EXERCISES = ("1.1", "1.2", "3.1", "3.2")
RIGHT_ANSWERS = {n: RIGHT[n][0] for n in EXERCISES}
LEAKED, BLOCKED = "LEAKED", "BLOCKED"

# student -> exercise -> 1 for a pass: what grade-class must find, in both layouts
EXPECTED = {
    "ada": {"1.1": 1, "1.2": 1, "3.1": 1, "3.2": 1},  # everything right
    "ben": {"1.1": 0, "1.2": 1, "3.1": 1, "3.2": 1},  # 1.1 steps uphill
    "cy": {"1.1": 0, "1.2": 0, "3.1": 0, "3.2": 0},  # the release as it came (stubs)
    "dee": {"1.1": 1, "1.2": 1, "3.1": 0, "3.2": 0},  # 01 renamed by Colab, 03 missing
    "eve": {"1.1": 1, "1.2": 1, "3.1": 0, "3.2": 0},  # 03 truncated
    "fay": {"1.1": 1, "1.2": 1, "3.1": 1, "3.2": 0},  # 01 resubmitted late (the older copy was wrong); 3.2 wrong
    "gus": {"1.1": 0, "1.2": 0, "3.1": 1, "3.2": 1},  # hostile, right answers; 01 missing
    "hal": {"1.1": 0, "1.2": 0, "3.1": 0, "3.2": 0},  # a fork bomb in 03, otherwise stubs; 01 stubs
}


ATTEMPTS = {  # what the hostile submission tries -> the code that tries it (targets filled in)
    "to read another student's submission": "open({other!r}).read()",
    "to list the instructor notebooks": "_listing({instructor!r})",
    "to write into the grades": "open(os.path.join({grades!r}, 'hacked.txt'), 'w').write('x')",
    "to write into another student's folder": "open(os.path.join({other_folder!r}, 'hacked.txt'), 'w').write('x')",
    "to open a network connection": "socket.create_connection(('1.1.1.1', 80), timeout=5)",
    "to allocate 20 GB": "bytearray(20 * 2**30)",
    "to kill the grader": "os.kill({grader_pid}, 9)",
}


def _attacks(targets: dict[str, str]) -> str:
    """A cell that tries to get out of its sandbox and prints BLOCKED or LEAKED for each attempt."""
    lines = ["import os, socket",
             "def _listing(path):",
             "    if not os.listdir(path):",
             "        raise FileNotFoundError(path)",
             "def _attempt(what, action):",
             "    try:",
             "        action()",
             "    except BaseException as e:",
             f"        print({BLOCKED!r}, what, type(e).__name__)",
             "    else:",
             f"        print({LEAKED!r}, what)"]
    lines += [f"_attempt({what!r}, lambda: {code.format(**targets)})" for what, code in ATTEMPTS.items()]
    return "\n".join(lines) + "\n"


FORK_BOMB = "import os\nwhile True:\n    os.fork()"


def _released(root: Path) -> Path:
    out = root / "release"
    if not out.exists():
        build_release([REPO / "notebooks" / n for n in NOTEBOOKS], out)
    return out


def _notebook(release: Path, name: str, answers: dict[str, str], first: list[str] = ()) -> nbformat.NotebookNode:
    nb = nbformat.read(release / name, as_version=4)
    fill(nb, answers)
    for i, source in enumerate(first):  # after the first code cell (the imports)
        nb.cells.insert(2 + i, nbformat.v4.new_code_cell(source, id=f"added-{i}"))  # fixed ids: same bytes in every layout
    return nb


def build_class(root: Path, layout: str, grades: Path, grader_pid: int | None = None) -> Path:
    """Write the class under ``root`` in ``layout`` ("folders" or "canvas") and return its folder.
    ``grades`` is where it will be graded into and ``grader_pid`` the grading process (the hostile
    submission aims at both)."""
    release = _released(root)
    folder = root / layout
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    one, three = NOTEBOOKS
    right = RIGHT_ANSWERS
    ids = {s: 1001 + i for i, s in enumerate(EXPECTED)}

    def place(student: str, name: str, nb, when: int, copy: int = 0, late: bool = False, below: str = "") -> Path:
        if layout == "folders":
            stem = Path(name).stem
            path = folder / student / below / (f"{stem} ({copy}).ipynb" if copy else name)
        else:  # Canvas: name_[LATE_]userid_submissionid_file[-N].ipynb
            stem = Path(name).stem + (f"-{copy}" if copy else "")
            path = folder / f"{student}_{'LATE_' if late else ''}{ids[student]}_{5000 + when}_{stem}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(nb, (bytes, str)):
            path.write_bytes(nb if isinstance(nb, bytes) else nb.encode())
        else:
            nbformat.write(nb, path)
        os.utime(path, (1_800_000_000 + when, 1_800_000_000 + when))
        return path

    ada_01 = place("ada", one, _notebook(release, one, right), 1)
    place("ada", three, _notebook(release, three, right), 1)
    place("ben", one, _notebook(release, one, {**right, "1.1": WRONG["1.1"][0]}), 2)
    place("ben", three, _notebook(release, three, right), 2)
    place("cy", one, _notebook(release, one, {}), 3)
    place("cy", three, _notebook(release, three, {}), 3)
    place("dee", f"Copy of {one}", _notebook(release, one, right), 4)
    place("eve", one, _notebook(release, one, right), 5)
    place("eve", three, (release / three).read_bytes()[:4000], 5)
    place("fay", one, _notebook(release, one, {**right, "1.2": WRONG["1.2"][0]}), 6)
    place("fay", one, _notebook(release, one, right), 16, copy=1, late=True)
    place("fay", three, _notebook(release, three, {**right, "3.2": WRONG["3.2"][0]}), 6)
    other_folder = folder / "ada" if layout == "folders" else folder
    targets = {"other": str(ada_01), "instructor": str(REPO / "notebooks"), "grades": str(grades),
               "other_folder": str(other_folder), "grader_pid": grader_pid or os.getpid()}
    place("gus", three, _notebook(release, three, right, [_attacks(targets)]), 7, below="work/unit1")
    place("hal", one, _notebook(release, one, {}), 8)
    place("hal", three, _notebook(release, three, {}, [FORK_BOMB]), 8)
    return folder
