"""WCAG 2.1 AA without a browser: colour-blind-safe palettes, the HTML template's contrast, the
figure-description helpers, and the notebooks' headings and figure descriptions.
(tests/browser/test_axe.py runs axe-core on the exported pages.)"""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import accessibility as a11y  # noqa: E402
from course_utils import figures  # noqa: E402
from course_utils.tools.execute import TEMPLATES, export_html  # noqa: E402
from course_utils.plotting import (BOUNDARY_CMAP, CATEGORY_COLORS, DIVERGING_CMAP, MAGNITUDE_CMAP,  # noqa: E402
                                   OKABE_ITO, POINT_COLORS, plot_decision_boundary, use_course_style)

from course_notebooks import code, make_nb, md  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# The smallest CAM02-UCS distance (ΔE') allowed between two category colours under deuteranopia,
# protanopia and tritanopia (severity 100). Measured: Okabe-Ito's worst pair is 11.0 (reddish purple
# and orange, tritanopia); matplotlib's tab10 reaches 1.6 (orange and green, protanopia), 4.3
# (deuteranopia) and 9.4 (tritanopia); a red/green pair 5.2 (deuteranopia). 10 keeps Okabe-Ito
# with a margin and rejects each of those.
MIN_CVD_DISTANCE = 10.0

colorspacious = pytest.importorskip("colorspacious", reason="colorspacious (dev extra) is not installed")


def worst(colors) -> tuple[str, float, tuple[str, str]]:
    d = a11y.cvd_distances(colors)
    kind = min(a11y.CVD_TYPES, key=lambda k: d[k][0])
    return kind, d[kind][0], d[kind][1]


@pytest.mark.parametrize("name,colors", [("the colour cycle (Okabe-Ito)", CATEGORY_COLORS),
                                         ("all eight Okabe-Ito colours", tuple(OKABE_ITO.values())),
                                         ("the two classes' points", POINT_COLORS)])
def test_category_colours_stay_apart_with_every_colour_vision_deficiency(name, colors):
    kind, distance, pair = worst(colors)
    assert distance >= MIN_CVD_DISTANCE, f"{name}: {pair} only {distance:.1f} apart with {kind} (CAM02-UCS)"


@pytest.mark.parametrize("colors,expected_kind", [
    ([matplotlib.colors.to_hex(c) for c in plt.get_cmap("tab10").colors], "protanomaly"),
    (["#d62728", "#2ca02c"], "deuteranomaly"),  # a red/green pair
])
def test_the_palette_check_rejects_palettes_that_are_not_colour_blind_safe(colors, expected_kind):
    kind, distance, _ = worst(colors)
    assert distance < MIN_CVD_DISTANCE and kind == expected_kind, (kind, distance)


def test_use_course_style_sets_the_safe_palette():
    with plt.rc_context():
        use_course_style()
        cycle = [matplotlib.colors.to_hex(c["color"]) for c in plt.rcParams["axes.prop_cycle"]]
        assert cycle == [c.lower() for c in CATEGORY_COLORS]
        assert plt.rcParams["image.cmap"] == MAGNITUDE_CMAP


@pytest.mark.parametrize("cmap", [MAGNITUDE_CMAP, "cividis"])
def test_magnitude_colormaps_rise_in_lightness(cmap):
    """A magnitude map must read as more or less in grey too: lightness rises monotonically."""
    assert np.all(np.diff(a11y.cmap_lightness(cmap)) > 0)


def test_jet_is_rejected_as_a_magnitude_map():
    assert not np.all(np.diff(a11y.cmap_lightness("jet")) > 0)


def mirrored_distance(cmap) -> float:
    """The smallest CVD distance between a diverging map's colours at t and 1 - t (t = 0 ... 0.4):
    a value and its opposite must not look alike."""
    colours = matplotlib.colormaps[cmap]
    return min(worst(colours([t, 1 - t])[:, :3])[1] for t in np.linspace(0, 0.4, 9))


@pytest.mark.parametrize("cmap", [BOUNDARY_CMAP, DIVERGING_CMAP])
def test_diverging_maps_tell_opposite_values_apart_and_are_lightest_in_the_middle(cmap):
    assert mirrored_distance(cmap) >= MIN_CVD_DISTANCE  # measured: 14.3 for RdBu (protanopia)
    lightness = a11y.cmap_lightness(cmap, 65)
    middle = len(lightness) // 2
    assert np.all(np.diff(lightness[:middle + 1]) > 0) and np.all(np.diff(lightness[middle:]) < 0)


def test_a_red_green_diverging_map_is_rejected():
    assert mirrored_distance("RdYlGn") < MIN_CVD_DISTANCE  # measured: 0.5


# The template's colours.

TEMPLATE = TEMPLATES / "course" / "index.html.j2"


def template_colours() -> dict[str, str]:
    css = re.search(r":root\s*\{(.*?)\}", TEMPLATE.read_text(), re.S).group(1)
    return dict(re.findall(r"(--jp-[\w-]+-color):\s*(#[0-9a-fA-F]{3,6})", css))


def lab_theme_colours() -> dict[str, str]:
    import nbconvert
    from jupyter_core.paths import jupyter_path
    for base in jupyter_path("nbconvert", "templates"):
        theme = Path(base) / "lab" / "static" / "theme-light.css"
        if theme.is_file():
            return dict(re.findall(r"(--jp-mirror-editor-[\w-]+-color):\s*(#[0-9a-fA-F]{3,6})\s*;", theme.read_text()))
    pytest.skip(f"nbconvert {nbconvert.__version__}'s lab theme not found")


CODE_BACKGROUND, PAGE = "#f5f5f5", "#ffffff"


def test_template_code_and_prompt_colours_have_aa_contrast():
    colours = template_colours()
    assert len(colours) >= 20, colours
    low = {name: round(a11y.contrast_ratio(c, CODE_BACKGROUND), 2) for name, c in colours.items()
           if a11y.contrast_ratio(c, CODE_BACKGROUND) < 4.5}
    assert low == {}, f"below 4.5:1 on the code background {CODE_BACKGROUND}: {low}"


def test_the_contrast_check_rejects_jupyterlab_s_own_code_colours():
    low = [n for n, c in lab_theme_colours().items() if a11y.contrast_ratio(c, CODE_BACKGROUND) < 4.5]
    assert "--jp-mirror-editor-number-color" in low and "--jp-mirror-editor-operator-color" in low, low


def test_contrast_ratio_matches_wcag_examples():
    assert a11y.contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert a11y.contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


# Describing and showing figures.

def test_describe_axes_reads_title_kind_axes_and_legend():
    fig, ax = plt.subplots()
    try:
        ax.plot([1, 2, 3, 4], [0.9, 0.5, 0.3, 0.25], label="training loss")
        ax.plot([1, 2, 3, 4], [1.0, 0.7, 0.6, 0.6], label="validation loss")
        ax.set(title="Loss per epoch", xlabel="epoch", ylabel="loss ($\\ell$)")
        ax.legend()
        assert figures.describe_axes(ax) == ("Loss per epoch: line plot of 2 lines; x axis epoch from 1 to 4, "
                                             "y axis loss (ℓ) from 0.25 to 1; legend: training loss, validation loss.")
        assert figures.describe_axes(ax, ranges=False) == ("Loss per epoch: line plot of 2 lines; x axis epoch, "
                                                           "y axis loss (ℓ); legend: training loss, validation loss.")
        ax.set_yscale("log")
        ax.set_xlim(0, 5)
        assert "x axis epoch from 0 to 5, y axis loss (ℓ) (log scale)" in figures.describe_axes(ax)
    finally:
        plt.close(fig)


def test_describe_figure_names_each_panel_and_the_colour_scale():
    fig, (a, b) = plt.subplots(1, 2)
    try:
        a.scatter([0, 1], [0, 1], label="data")
        a.set(title="Points", xlabel="$x_1$", ylabel="$x_2$")
        shown = b.imshow(np.arange(6.0).reshape(2, 3), vmin=0, vmax=5)
        fig.colorbar(shown, ax=b, label="value")
        b.set(title="A map", xlabel="column", ylabel="row")
        fig.suptitle("Two views")
        text = figures.describe_figure(fig)
        assert text.startswith("Two views. 2 panels. Panel 1 (left): Points: scatter plot; x axis x_1 from 0 to 1")
        assert "Panel 2 (right): A map: heat map;" in text and "colour scale value from 0 to 5" in text
    finally:
        plt.close(fig)


def test_a_decision_boundary_panel_is_described_as_contours_and_points_and_gets_its_key():
    # On every supported matplotlib: before 3.8 a contour set is not on the axes, only its levels are.
    from course_utils.plotting import add_boundary_key, contour_sets, plot_decision_boundary
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    y = np.array([0, 1, 1, 0])
    fig, ax = plt.subplots(layout="constrained")
    try:
        plot_decision_boundary(lambda pts: pts[:, 0], X, y, ax=ax, resolution=20)
        assert sorted(c.filled for c in contour_sets(ax)) == [False, True]
        assert figures.describe_axes(ax).startswith("Shaded contours, contour lines and scatter plot; x axis x_1")
        add_boundary_key(fig, ax)
        assert [a.get_ylabel() for a in fig.axes[1:]] == ["P(class 1), the shading"]
        assert [t.get_text() for t in fig.legends[0].get_texts()] == [
            "class 0", "class 1", "decision boundary (P = 0.5)"]
    finally:
        plt.close(fig)
    fig, ax = plt.subplots()
    try:
        ax.scatter(X[:, 0], X[:, 1])
        with pytest.raises(ValueError, match="no shaded contours"):
            add_boundary_key(fig, ax)
    finally:
        plt.close(fig)


def test_describe_figure_sums_up_an_image_grid():
    from course_utils.plotting import image_grid
    fig = image_grid(np.zeros((6, 4, 4)), [0, 1, 0, 1, 0, 1], ["cat", "dog"], n_cols=3, title="Six images")
    try:
        assert figures.describe_figure(fig) == "Six images. A grid of 6 images: cat, dog, cat, dog, cat, dog."
    finally:
        plt.close(fig)


def test_descriptions_from_the_helpers_data():
    y = np.array([0, 0, 1, 1, 1])
    assert "the 2 points of class 0 (vermillion) and 3 of class 1 (blue)" in figures.describe_decision_boundary(y)
    curves = figures.describe_training_curves({"train loss": [1.0, 0.5], "val accuracy": [0.5, 0.8]})
    assert curves == ("Training curves: line plot, losses on the left axis, accuracies on the right axis: "
                      "train loss over 2 epochs (falls) and val accuracy over 2 epochs (rises).")
    grid = figures.describe_image_grid([0, 1, 1], ["cat", "dog"], predictions=[0, 0, 1])
    assert grid == "a grid of 3 grayscale images; true classes: cat, dog (2); each titled with its prediction, " \
                   "1 of 3 wrong (titles in red)."
    cm = np.array([[8, 2], [0, 10]])
    assert "90% of the 20 examples lie on the diagonal; largest confusion: cat taken for dog (2 times)" in \
        figures.describe_confusion_matrix(cm, ["cat", "dog"])


def test_plain_text_turns_mathtext_into_readable_text():
    assert figures.plain_text("step size $\\eta$ and $x_1 \\times x_2$") == "step size η and x_1 × x_2"


def test_show_figure_displays_the_image_with_alt_then_a_caption_and_closes_the_figure(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda data, **kw: shown.append((data, kw)))
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    figures.show_figure(fig, "A falling line: $y = 1 - x$.")
    assert not plt.fignum_exists(fig.number), "the figure should be closed (no second copy from the inline backend)"
    (image, image_kw), (caption, caption_kw) = shown
    assert image["image/png"].startswith("iVBOR") and image_kw["raw"] is True
    assert image_kw["metadata"]["image/png"] == {"alt": "A falling line: y = 1 - x."}
    assert image_kw["metadata"]["course"]["smallest_text_pt"] > 0, "its text size as shown (tests/test_figure_text.py)"
    assert caption["text/html"] == '<p class="course-figure-caption"><strong>Figure.</strong> A falling line: $y = 1 - x$.</p>'
    assert caption["text/plain"] == "Figure. A falling line: $y = 1 - x$."


def test_show_figure_refuses_an_empty_description():
    fig = plt.figure()
    try:
        with pytest.raises(ValueError, match="needs a description"):
            figures.show_figure(fig, "  ")
    finally:
        plt.close(fig)


def figure_notebook(description: str | None):
    """A notebook with a title and one figure, shown with show_figure (or plainly, without a description)."""
    fig, ax = plt.subplots()
    plot_decision_boundary(lambda p: p[:, 0] > 0, np.array([[-1, 0], [1, 0]]), np.array([0, 1]), ax, resolution=20)
    if description is None:
        png = figures.figure_outputs(fig, "x")[0][0]["image/png"]
        outputs = [nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})]
    else:
        outputs = [nbformat.v4.new_output("display_data", data=d, metadata=m)
                   for d, m in figures.figure_outputs(fig, description)]
    plt.close(fig)
    nb = make_nb(md("# Title\n\n## Section"), code("show_figure(fig, ...)"))
    nb.cells[1].outputs = outputs
    return nb


def test_exported_html_carries_the_description_as_alt_and_caption(tmp_path):
    page = export_html(figure_notebook('A boundary at x_1 = 0 "between" the classes.'), tmp_path / "f.html").read_text()
    imgs = re.findall(r"<img\b[^>]*>", page)
    assert len(imgs) == 1 and 'A boundary at x_1 = 0 "between" the classes.' in imgs[0].replace("&quot;", '"'), imgs
    assert a11y.NBCONVERT_PLACEHOLDER not in page
    assert '<p class="course-figure-caption"><strong>Figure.</strong> A boundary at x_1 = 0' in page
    assert "AssistiveMML" in page and "text-decoration: underline" in page


def test_exported_html_of_a_figure_without_description_has_only_the_placeholder(tmp_path):
    page = export_html(figure_notebook(None), tmp_path / "f.html").read_text()
    assert a11y.NBCONVERT_PLACEHOLDER in page


def test_figure_problems_finds_a_figure_without_description():
    assert a11y.figure_problems(figure_notebook("A boundary.")) == []
    problems = a11y.figure_problems(figure_notebook(None))
    assert len(problems) == 1 and problems[0].startswith("cell 1: a figure without a description"), problems
    nb = figure_notebook("A boundary.")
    del nb.cells[1].outputs[1]  # the caption
    assert a11y.figure_problems(nb) == ["cell 1: a figure whose description is not shown as a caption"]


def test_heading_problems():
    good = make_nb(md("# T\n\n## A\n\n### a"), md("## B\n\n```\n# not a heading\n```"))
    assert a11y.heading_problems(good) == []
    bad = make_nb(md("## First"), md("# T"), md("#### deep"), md("# again"))
    assert a11y.heading_problems(bad) == [
        "2 level-1 headings (want exactly one, the title): cells [1, 3]",
        "cell 0: the first heading 'First' is level 2, not 1",
        "cell 2: heading 'deep' is level 4 right after level 1",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_headings_and_figure_descriptions(path):
    """Notebook content: one H1, no skipped heading level, every figure described (show_figure)."""
    problems = a11y.notebook_problems(nbformat.read(path, as_version=4))
    assert problems == [], f"{path.name}:\n  " + "\n  ".join(problems)
