"""A grade cannot be forged from inside the submission's kernel: wrong answers plus a trick still grade
as failed, under `check` and under `grade-class`. The verdict comes from the probes' data judged in
the grader's own process (course_utils.tools.grading), never from what the kernel reports.

One course notebook per forgery, each with one exercise answered wrong and the trick in its last cell;
one student submits all four (`check` grades them in one run, `grade-class` two at a time)."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_notebooks import check, code, make_nb, md, solution, statement

from course_utils.tools.gradeclass import Options, grade_class

pytestmark = pytest.mark.notebook  # starts Jupyter kernels

REPO = Path(__file__).resolve().parents[1]

# name: (exercise, title, imports, wrong answer, check call, trick). Each answer is plausible and wrong,
# or (4.3) right by the library the exercise bans.
FORGERIES = {
    # one line recording a pass, with the outcome module's own API
    "record": ("1.2", "Bias and variance", "import numpy as np\nfrom course_utils.checks import check_bias_variance",
               "def bias_variance(preds, truth_values):\n    ### BEGIN SOLUTION\n"
               "    bias2 = np.mean((preds.mean(axis=0) - truth_values) ** 2)\n"
               "    return float(bias2), float(np.mean(preds.var(axis=1)))\n    ### END SOLUTION",
               "check_bias_variance(bias_variance)",
               "from course_utils.outcome import record, CheckResult\nrecord(CheckResult('1.2', 'passed'))"),
    # NumPy's comparisons made always true, then the check called again
    "numpy": ("3.2", "Relative contrast", "import numpy as np\nfrom course_utils.checks import check_relative_contrast",
              "def relative_contrast(X):\n    ### BEGIN SOLUTION\n"
              "    d = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)[np.triu_indices(len(X), 1)]\n"
              "    return float((d.max() - d.min()) / d.min())\n    ### END SOLUTION",
              "check_relative_contrast(relative_contrast)",
              "numpy = np\nnumpy.allclose = lambda *a, **k: True\nnumpy.isclose = lambda *a, **k: numpy.True_\n"
              "numpy.array_equal = lambda *a, **k: True\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
              "check_relative_contrast(relative_contrast, raise_on_fail=False)"),
    # the check function redefined to print a pass, also in the package
    "redefine": ("6.2", "Per-class accuracy", "import numpy as np\nfrom course_utils.checks import check_per_class_accuracy",
                 "def per_class_accuracy(predictions, labels, n_classes):\n    ### BEGIN SOLUTION\n"
                 "    cm = np.zeros((n_classes, n_classes))\n    np.add.at(cm, (labels, predictions), 1)\n"
                 "    return np.diag(cm) / cm.sum(axis=0)\n    ### END SOLUTION",
                 "check_per_class_accuracy(per_class_accuracy)",
                 "import course_utils.checks as C\n"
                 "def check_per_class_accuracy(*a, **k):\n    print('✓ Exercise 6.2: passed')\n"
                 "C.check_per_class_accuracy = check_per_class_accuracy\ncheck_per_class_accuracy(per_class_accuracy)"),
    # the in-kernel ban of 4.3 patched away; the answer calls torch.nn.functional.conv2d
    "unban": ("4.3", "Convolution", "import numpy as np\nimport torch\nimport torch.nn.functional as F\n"
              "from course_utils.checks import check_conv2d_forward",
              "def conv2d_forward(x, w, b, stride=1, pad=0):\n    ### BEGIN SOLUTION\n"
              "    return F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=stride, padding=pad).numpy()\n"
              "    ### END SOLUTION",
              "check_conv2d_forward(conv2d_forward)",
              "import contextlib, course_utils.checks.nb04 as m\nm.without = lambda *a, **k: contextlib.nullcontext()\n"
              "check_conv2d_forward(conv2d_forward)"),
}
RIGHT_62 = FORGERIES["redefine"][3].replace("cm.sum(axis=0)", "cm.sum(axis=1)")


def notebook(name: str, answer: str | None = None, trick: str = "") -> nbformat.NotebookNode:
    number, title, imports, wrong, call, _ = FORGERIES[name]
    return make_nb(md(f"# {name}"), code(imports), statement(number, title), solution(number, answer or wrong),
                   check(number, call), *([code(trick)] if trick else []), id=f"98_{name}")


def as_submitted(nb):
    """A student's file: no solution markers."""
    for cell in nb.cells:
        cell.source = "\n".join(line for line in cell.source.splitlines() if "### " not in line)
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The instructor notebooks and one student's submission of all four, each with its trick."""
    root = tmp_path_factory.mktemp("forgery")
    (root / "instructor").mkdir()
    (root / "class" / "mallory").mkdir(parents=True)
    for name, (*_, trick) in FORGERIES.items():
        nbformat.write(notebook(name), root / "instructor" / f"98_{name}.ipynb")
        nbformat.write(as_submitted(notebook(name, trick=trick)), root / "class" / "mallory" / f"98_{name}.ipynb")
    return root


def test_check_gives_no_forged_grade(course):
    proc = subprocess.run([sys.executable, "-m", "course_utils", "check", str(course / "class" / "mallory"),
                           "--instructor", str(course / "instructor")], capture_output=True, text=True, cwd=REPO,
                          timeout=600)
    rows = {line.split()[1]: line for line in proc.stdout.splitlines()[1:]}
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert {n: r.split()[2] for n, r in rows.items()} == {"1.2": "failed", "3.2": "failed", "6.2": "failed",
                                                          "4.3": "failed"}, proc.stdout + proc.stderr
    assert "spread across test inputs" in rows["1.2"] and "squared distances" in rows["3.2"]
    assert "precision" in rows["6.2"] and "without torch.nn.functional" in rows["4.3"]


def test_grade_class_gives_no_forged_grade(course, tmp_path):
    graded = grade_class(course / "class", tmp_path / "grades", Options(jobs=2, timeout=300, progress=False,
                                                                         instructor=str(course / "instructor")),
                         log=lambda line: None)
    with open(tmp_path / "grades" / "gradebook.csv", newline="") as fh:
        book = next(csv.DictReader(fh))
    assert book == {"student": "mallory", "1.2": "0", "3.2": "0", "4.3": "0", "6.2": "0", "total": "0"}, book
    rows = {r["exercise"]: r for r in map(json.loads, (tmp_path / "grades" / "results.jsonl").read_text().splitlines())}
    assert all(isinstance(r["seed"], int) and r["status"] == "failed" for r in rows.values()), rows
    assert "precision" in rows["6.2"]["message"] and "without torch.nn.functional" in rows["4.3"]["message"]
    assert graded.graded == len(FORGERIES)


def test_a_right_answer_passes_and_regrading_gives_the_same_grade_and_seed(course, tmp_path):
    (tmp_path / "class" / "ann").mkdir(parents=True)
    nbformat.write(as_submitted(notebook("redefine", answer=RIGHT_62)), tmp_path / "class" / "ann" / "98_redefine.ipynb")
    options = dict(jobs=1, timeout=300, progress=False, instructor=str(course / "instructor"), notebooks=["98_redefine"],
                   secret=b"k" * 32)
    for out in ("a", "b"):  # two graders from an empty cache each, with the same secret
        grade_class(tmp_path / "class", tmp_path / out, Options(**options), log=lambda line: None)
    first, second = ((tmp_path / out / "results.jsonl").read_text() for out in "ab")
    assert first == second
    rows = {r["exercise"]: r for r in map(json.loads, first.splitlines())}
    assert rows["6.2"]["status"] == "passed"
