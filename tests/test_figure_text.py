"""No text in a figure below 9 pt where students read it (course_utils.figures: JupyterLab shows a PNG at its
pixel size, 96 to the inch, shrunk to the output area's 975 px). Every figure a notebook shows records its
smallest text as displayed; the tests read it from the committed notebooks and check the measure itself."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils.figures import (OUTPUT_WIDTH_PX, SMALLEST_TEXT_PT, displayed_text_pt, figure_outputs, figure_png,
                                  png_width)
from course_utils.plotting import image_grid, plot_confusion_matrix, use_course_style

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def figures_of(path: Path):
    """(cell index, smallest text pt or None) of each PNG a committed notebook shows."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            if "image/png" in out.get("data", {}):
                yield index, out.get("metadata", {}).get("course", {}).get("smallest_text_pt")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_of_a_notebook_shows_its_text_at_9_pt_or_more(path):
    shown = list(figures_of(path))
    unmeasured = [i for i, pt in shown if pt is None]
    assert not unmeasured, f"figures shown without show_figure (no measure of their text) in cells {unmeasured}"
    small = [f"cell {i}: {pt} pt" for i, pt in shown if pt < SMALLEST_TEXT_PT]
    assert not small, f"figure text below {SMALLEST_TEXT_PT} pt at display size: {small}"


@pytest.fixture
def course_style():
    with plt.rc_context():
        use_course_style()
        yield


def measured(fig) -> float:
    return figure_outputs(fig, "a figure")[0][1]["course"]["smallest_text_pt"]


def test_the_course_style_gives_readable_text_and_a_small_label_is_caught(course_style):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0], label="line")
    ax.set(xlabel="x", ylabel="y", title="A line")
    ax.legend()
    assert measured(fig) >= SMALLEST_TEXT_PT
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    ax.text(0.5, 0.5, "tiny", fontsize=7)
    assert measured(fig) == pytest.approx(7 * 80 / 96, abs=0.05), "7 pt at 80 dpi shows as 5.8 pt"


def test_a_figure_wider_than_the_output_area_shrinks_its_text(course_style):
    fig, ax = plt.subplots(figsize=(16, 3))
    ax.plot([0, 1])
    width = png_width(figure_png(fig))
    assert width > OUTPUT_WIDTH_PX
    assert displayed_text_pt(fig, width) == pytest.approx(11 * 80 / 96 * OUTPUT_WIDTH_PX / width)
    assert measured(fig) < SMALLEST_TEXT_PT
    plt.close("all")


def test_the_course_plots_of_images_and_confusion_matrices_are_readable(course_style):
    rng = np.random.default_rng(0)
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    labels = rng.integers(0, 10, 16)
    grid = image_grid(rng.random((16, 28, 28)), labels, names, predictions=(labels + 1) % 10, title="Mistakes")
    assert measured(grid) >= SMALLEST_TEXT_PT
    fig, ax = plt.subplots(figsize=(7, 6))
    plot_confusion_matrix(rng.integers(0, 1000, (10, 10)), names, ax)
    assert measured(fig) >= SMALLEST_TEXT_PT


def test_the_training_animation_is_readable_in_its_player():
    from test_animation import sklearn_recording

    from course_utils.animation import animate_training
    with plt.rc_context():
        use_course_style()
        anim = animate_training(sklearn_recording(steps=6), unit="epoch")
    assert SMALLEST_TEXT_PT <= anim.smallest_text_pt < float("inf")
