"""The portability rule for stored outputs (README, "Outputs that hold on every machine").

nbval compares each notebook's stored text outputs with a fresh run on whatever machine runs the
tests. A compared output must therefore not depend on floating-point rounding: numbers at machine
precision are printed as the claim they support ("agree to < 1e-12"), and cells that print results
of training or random search are excluded from comparison with the cell tag ``nbval-ignore-output``
while their claims are asserted with a tolerance. The reason for each excluded cell is in its own
metadata (``"course": {"ignore_output": "..."}``), which the course model requires with the tag;
this module audits the reasons and every compared output.
"""
from __future__ import annotations

import configparser
import re
from pathlib import Path

import nbformat
import pytest

from course_utils.tools.course import EXCLUDING_TAGS, load_course

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
COURSE = load_course(REPO / "notebooks")  # each excluded cell's reason lives on the cell (course metadata)

# Printed lines that name a trained model's score but stay compared: the lecture prints them, and
# the notebook asserts them exactly (they are what the lecture promises a student will see).
LECTURE_LINES = {"Training accuracy: 0.979", "Test accuracy: 0.950",
                 "Train accuracy: 0.990", "Test accuracy: 0.995"}

# Small numbers that are true values, not rounding residue, by notebook: a text on the line, and why.
TRUE_SMALL_VALUES = {
    "03_curse_of_dimensionality.ipynb": {
        "ball / cube": "the ball's share of the cube's volume, from lgamma: 2e-14 at d = 30 is the lesson",
    },
}

# A float in scientific notation; below 1e-10 it is rounding residue, not a result.
SCIENTIFIC = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?[eE]([-+]?\d+)")
# A trained model's measurement printed with two or more decimals.
METRIC = re.compile(r"\b(loss|accuracy|acc|error|mse|silhouette|gap)\b[^\n]*?\d\.\d{2,}", re.I)


def sanitize(text: str) -> str:
    """Apply tests/nbval_sanitize.cfg as nbval does before it compares."""
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "tests" / "nbval_sanitize.cfg")
    for section in cfg.sections():
        text = re.sub(cfg[section]["regex"], cfg[section]["replace"], text)
    return text


def compared_text(cell) -> str:
    """The text nbval compares for a cell: stdout streams and text/plain results (stderr is not compared)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream" and out.name == "stdout":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data") and "text/plain" in out.get("data", {}):
            if not {"image/png", "text/html"} & set(out.data):  # figures and HTML are not text results
                parts.append(out.data["text/plain"])
    return sanitize("".join(parts))


def first_line(cell) -> str:
    return cell.source.split("\n", 1)[0]


def excluded(cell) -> bool:
    return bool(set(EXCLUDING_TAGS) & set(cell.metadata.get("tags", [])))


def problems_in_compared_output(text: str, true_small: dict[str, str] | None = None) -> list[str]:
    """Why a compared output may differ on another machine: rounding residue, or a training metric.
    Lines holding a key of true_small may print small numbers (they are values, not residue)."""
    found = []
    for line in text.splitlines():
        if line.strip() in LECTURE_LINES:
            continue
        small_ok = any(key in line for key in (true_small or {}))
        for m in SCIENTIFIC.finditer(line):
            value = float(m.group(0))
            is_bound = line[:m.start()].rstrip().endswith(("<", "<=", "≤"))  # a claim: "agree to < 1e-12"
            if value != 0 and abs(value) < 1e-10 and not is_bound and not small_ok:
                found.append(f"rounding residue {m.group(0)!r} in {line.strip()!r}")
        if METRIC.search(line):
            found.append(f"training metric in {line.strip()!r}")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_excluded_cell_says_why_on_the_cell(path):
    """The model (load_course, above) refuses a tag without a reason and a reason without the tag;
    here: each reason says what varies, in words, and every excluded cell is one the model lists."""
    model = COURSE.notebooks[path.stem]
    tagged = [i for i, c in enumerate(model.notebook.cells) if c.cell_type == "code" and excluded(c)]
    assert tagged == sorted(model.ignored)
    for index, reason in model.ignored.items():
        assert len(reason.split()) >= 2, f"{model.where(index)}: say what varies and where the claim is asserted, not {reason!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_comment_markers_in_sources(path):
    """Students read the source: exclusion is a cell tag, never a comment."""
    nb = nbformat.read(path, as_version=4)
    marked = [first_line(c) for c in nb.cells if c.cell_type == "code" and "NBVAL_" in c.source]
    assert not marked, marked


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_compared_outputs_do_not_depend_on_rounding(path):
    nb = nbformat.read(path, as_version=4)
    found = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and not excluded(cell):
            problems = problems_in_compared_output(compared_text(cell), TRUE_SMALL_VALUES.get(path.name))
            if problems:
                found[first_line(cell)] = problems
    assert not found, f"compared outputs that would differ on another machine: {found}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_progress_bar_frames_stored(path):
    """tqdm's intermediate frames are noise in the committed file; students see live bars in Jupyter."""
    nb = nbformat.read(path, as_version=4)
    frames = [first_line(c) for c in nb.cells if c.cell_type == "code"
              for out in c.get("outputs", []) if out.output_type == "stream" and "it/s]" in out.text]
    assert not frames, f"progress-bar frames stored in cells: {sorted(set(frames))}"


@pytest.mark.parametrize("text, expected", [
    ("sgd: largest difference from torch 3.3e-16", "rounding residue"),
    ("condition number 6.4e+18; residual 2.0e-11", "rounding residue"),
    ("epoch 1: train loss 0.59, validation accuracy 0.83", "training metric"),
    ("width 8: mean squared error 2.78e-04", "training metric"),
    ("  5-NN accuracy 0.84", "training metric"),
])
def test_audit_catches_rounding_dependent_output(text, expected):
    problems = problems_in_compared_output(text)
    assert problems and all(expected in p for p in problems[:1]), problems


@pytest.mark.parametrize("text", [
    "Training accuracy: 0.979",
    "conv: naive = vectorized to < 1e-12: True",
    "After conv: (1, 16, 30, 30)",
    "d= 100: 0.994079 in outer shell",
    "epochs logged: [1, 2, 3, 4]",
])
def test_audit_accepts_stable_output(text):
    assert problems_in_compared_output(text) == []


def test_true_small_values_are_named_per_line():
    line = "d=30: ball / cube = 2.041e-14"
    assert problems_in_compared_output(line) and not problems_in_compared_output(line, {"ball / cube": "why"})


def test_sanitize_applies_the_nbval_file():
    assert sanitize("trained in 6.5 s at 0x7f3a2b1c4d5e") == "trained in DURATION at 0xADDRESS"
