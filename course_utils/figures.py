"""Figures with a text description: shown as the image's alt text and as a visible caption.

Every figure of the course is shown with :func:`show_figure`::

    fig, ax = plt.subplots()
    ax.plot(steps, losses, label="training loss")
    ax.set(xlabel="step", ylabel="loss", title="Training loss")
    ax.legend()
    show_figure(fig, describe_axes(ax, ranges=False) + " The loss falls fastest in the first 20 steps.")

:func:`show_figure` displays two outputs: the PNG, whose output metadata carries the description
(``{"image/png": {"alt": ...}}``; the course's HTML export writes it into ``<img alt>``), and the
description again as a visible caption right below the figure, so that every reader sees it, in
JupyterLab too (JupyterLab 4 does not read image metadata for alt text). It closes the figure, so
the inline backend does not show it a second time.

The caption is a text output that nbval compares with a fresh run: it must not depend on
floating-point rounding. Describe the claim ("the loss falls below 0.1"), print rounded values
that are stable, or pass ``ranges=False`` to :func:`describe_axes` where the data come from
training or random draws (and then tag the cell ``nbval-ignore-output`` if a number must stay).

The ``describe_*`` functions write the descriptive part (kind of plot, axes and their ranges,
series or classes) from a matplotlib figure or from the data a course helper plots; the author
adds the one thing to see.
"""
from __future__ import annotations

import base64
import html
import io
import re
from typing import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

CAPTION_CLASS = "course-figure-caption"

_TEX = {r"\alpha": "α", r"\beta": "β", r"\gamma": "γ", r"\delta": "δ", r"\epsilon": "ε", r"\eta": "η",
        r"\theta": "θ", r"\lambda": "λ", r"\mu": "μ", r"\sigma": "σ", r"\tau": "τ", r"\phi": "φ",
        r"\omega": "ω", r"\times": "×", r"\cdot": "·", r"\leq": "≤", r"\geq": "≥", r"\infty": "∞",
        r"\ell": "ℓ", r"\hat": "", r"\mathbf": "", r"\mathrm": "", r"\,": " "}


def plain_text(text: str) -> str:
    """Matplotlib mathtext (``$x_1$``, ``$\\eta$``) as plain text a screen reader reads: ``x_1``, ``η``."""
    def math(m: re.Match) -> str:
        s = m.group(1)
        for tex, char in sorted(_TEX.items(), key=lambda kv: -len(kv[0])):
            s = s.replace(tex, char)
        s = re.sub(r"\\([A-Za-z]+)", r"\1", s)
        return s.replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", re.sub(r"\$([^$]*)\$", math, text)).strip()


def _num(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant digits, without trailing zeros or a negative zero."""
    if not np.isfinite(x):
        return str(x)
    s = f"{float(x):.{digits}g}"
    if "e" in s:
        mantissa, exp = s.split("e")
        s = f"{mantissa}e{int(exp)}"
    return "0" if s in ("-0", "0") else s


def _join(items: Sequence[str]) -> str:
    items = [i for i in items if i]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def _kinds(ax: Axes) -> list[str]:
    """The kinds of marks on ``ax``: line plot, scatter plot, bar chart, image, filled contours, contour lines."""
    from matplotlib.artist import Artist
    from matplotlib.collections import PathCollection, PolyCollection, QuadMesh
    from matplotlib.patches import Rectangle

    from .plotting import contour_sets

    kinds = []
    contours = contour_sets(ax)
    # before matplotlib 3.8 a contour set is not an artist but adds one PathCollection per level
    parts = {id(c) for c in contours} | {id(m) for c in contours if not isinstance(c, Artist) for m in c.collections}
    if any(c.filled for c in contours):
        kinds.append("shaded contours")
    if any(not c.filled for c in contours):
        kinds.append("contour lines")
    if any(isinstance(c, PathCollection) and id(c) not in parts for c in ax.collections):
        kinds.append("scatter plot")
    if any(isinstance(c, QuadMesh) for c in ax.collections) or ax.images:
        kinds.append("image" if ax.images and not ax.get_xlabel() and not ax.get_ylabel() else "heat map")
    if any(isinstance(c, PolyCollection) for c in ax.collections):
        kinds.append("shaded band")
    if [p for p in ax.patches if isinstance(p, Rectangle) and p.get_height() != 0]:
        kinds.append("bar chart")
    lines = [line for line in ax.lines if len(np.atleast_1d(line.get_xdata())) > 1]
    if lines:
        kinds.insert(0, "line plot" if len(lines) == 1 else f"line plot of {len(lines)} lines")
    return kinds


def _axis(ax: Axes, which: str, ranges: bool, digits: int) -> str:
    label = plain_text(ax.get_xlabel() if which == "x" else ax.get_ylabel())
    scale = ax.get_xscale() if which == "x" else ax.get_yscale()
    text = f"{which} axis" + (f" {label}" if label else "")
    if scale != "linear":
        text += f" ({scale} scale)"
    if ranges:  # the data's range, or the limits the author set
        auto = ax.get_autoscalex_on() if which == "x" else ax.get_autoscaley_on()
        data = ax.dataLim.intervalx if which == "x" else ax.dataLim.intervaly
        lo, hi = data if auto and np.all(np.isfinite(data)) else (ax.get_xlim() if which == "x" else ax.get_ylim())
        text += f" from {_num(lo, digits)} to {_num(hi, digits)}"
    return text


def legend_entries(ax: Axes) -> list[str]:
    """The texts of ``ax``'s legend (or of a legend its twin axes carries), in order."""
    legend = ax.get_legend()
    if legend is None:
        for other in ax.figure.axes:
            if other is not ax and other.bbox.bounds == ax.bbox.bounds and other.get_legend() is not None:
                legend = other.get_legend()
                break
    return [plain_text(t.get_text()) for t in legend.get_texts()] if legend is not None else []


def _twins(ax: Axes) -> list[Axes]:
    return [o for o in ax.figure.axes if o is not ax and o.bbox.bounds == ax.bbox.bounds]


def describe_axes(ax: Axes, *, ranges: bool = True, digits: int = 2) -> str:
    """One sentence on what ``ax`` shows, read from the axes: title, kind of plot, axes (labels,
    scale, and with ``ranges`` their limits to ``digits`` significant digits), legend entries and
    a colour bar.

    Example: ``'Training curves: line plot of 2 lines; x axis epoch from 1 to 10, y axis loss
    from 0.2 to 0.9; legend: training loss, validation loss.'``

    Limits come from the data: pass ``ranges=False`` when the data come from training or random
    draws (the caption is compared by nbval and must not change with rounding).
    """
    title = plain_text(ax.get_title())
    kinds = _kinds(ax)
    parts = [_join(kinds) or "empty axes"]
    if kinds:
        axes_text = [_axis(ax, "x", ranges, digits), _axis(ax, "y", ranges, digits)]
        for twin in _twins(ax):
            if twin.get_ylabel() and twin.lines:
                axes_text.append("right " + _axis(twin, "y", ranges, digits))
        parts.append(", ".join(axes_text))
    entries = legend_entries(ax)
    if entries:
        parts.append("legend: " + ", ".join(entries))
    for bar_ax in ax.figure.axes:
        cbar = getattr(bar_ax, "_colorbar", None)
        if cbar is not None and ax in _colorbar_parents(cbar):
            label = plain_text(bar_ax.get_ylabel() or bar_ax.get_xlabel())
            text = "colour scale" + (f" {label}" if label else "")
            if ranges:
                text += f" from {_num(cbar.vmin, digits)} to {_num(cbar.vmax, digits)}"
            parts.append(text)
    sentence = "; ".join(parts)
    return f"{title}: {sentence}." if title else sentence[0].upper() + sentence[1:] + "."


def _colorbar_parents(cbar) -> list[Axes]:
    mappable = getattr(cbar, "mappable", None)
    parent = getattr(mappable, "axes", None)
    return [parent] if parent is not None else []


def _is_data_axes(ax: Axes) -> bool:
    return getattr(ax, "_colorbar", None) is None and (ax.axison or bool(ax.images))


def describe_figure(fig: Figure, *, ranges: bool = True, digits: int = 2) -> str:
    """What ``fig`` shows: its suptitle, then :func:`describe_axes` for each panel (twin axes and
    colour bars go with their panel). A grid of more than four image panels without axes (an image
    grid) is summed up as one: how many images and their titles."""
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    panels, seen = [], set()
    for ax in fig.axes:
        if id(ax) in seen or not _is_data_axes(ax):
            continue
        seen.update(id(t) for t in _twins(ax))
        seen.add(id(ax))
        panels.append(ax)
    head = f"{plain_text(suptitle)}. " if suptitle else ""
    images = [ax for ax in panels if ax.images and not ax.axison]
    if len(images) > 4 and len(images) == len(panels):
        titles = [plain_text(ax.get_title()) for ax in images]
        named = f": {', '.join(t for t in titles if t)}" if any(titles) else ""
        return f"{head}A grid of {len(images)} images{named}."
    if len(panels) == 1:
        return head + describe_axes(panels[0], ranges=ranges, digits=digits)
    body = " ".join(f"Panel {i} ({_position(i, len(panels))}): {describe_axes(ax, ranges=ranges, digits=digits)}"
                    for i, ax in enumerate(panels, start=1))
    return f"{head}{len(panels)} panels. {body}"


def _position(i: int, n: int) -> str:
    return {1: "left", n: "right"}.get(i, "middle") if n <= 3 else f"{i} of {n}"


# Descriptions from the data the course's plotting helpers draw.

def describe_decision_boundary(y: np.ndarray, *, title: str = "", model: str = "the model") -> str:
    """For :func:`course_utils.plotting.plot_decision_boundary`: what the shading, the line and the
    points mean, with the number of points per class (exact integers, safe for nbval)."""
    y = np.asarray(y)
    counts = [int((y == k).sum()) for k in (0, 1)]
    head = f"{plain_text(title)}: " if title else ""
    return (f"{head}decision boundary of {model} in the plane (x_1, x_2): shading from red (class 0) to blue "
            f"(class 1) is P(class 1), the black line is where it equals 0.5; dots are the {counts[0]} points "
            f"of class 0 (vermillion) and {counts[1]} of class 1 (blue).")


def describe_training_curves(history: Mapping[str, Sequence[float]], *, xlabel: str = "epoch",
                             title: str = "Training curves", trend: bool = True) -> str:
    """For :func:`course_utils.plotting.plot_training_curves`: the series, their length, and with
    ``trend`` whether each one rose or fell from its first to its last value (a claim, not a
    rounded number)."""
    parts = []
    for name, values in history.items():
        values = np.asarray(values, dtype=float)
        text = f"{name} over {len(values)} {xlabel}s"
        if trend and len(values) > 1:
            text += " (" + ("falls" if values[-1] < values[0] else "rises" if values[-1] > values[0]
                            else "stays level") + ")"
        parts.append(text)
    losses = [k for k in history if "loss" in k]
    axes = "losses on the left axis" + (", accuracies on the right axis" if len(losses) < len(history) else "")
    return f"{plain_text(title)}: line plot, {axes}: {_join(parts)}."


def describe_image_grid(labels: Sequence[int], class_names: Sequence[str], *, title: str = "",
                        predictions: Sequence[int] | None = None) -> str:
    """For :func:`course_utils.plotting.image_grid`: how many images, of which classes, and with
    predictions how many are wrong."""
    names = [class_names[int(k)] for k in labels]
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    head = f"{plain_text(title)}: " if title else ""
    text = f"{head}a grid of {len(names)} grayscale images; true classes: " + \
        ", ".join(f"{n} ({c})" if c > 1 else n for n, c in counts.items())
    if predictions is not None:
        wrong = sum(int(p) != int(t) for p, t in zip(predictions, labels))
        text += f"; each titled with its prediction, {wrong} of {len(names)} wrong (titles in red)"
    return text + "."


def describe_confusion_matrix(cm: np.ndarray, class_names: Sequence[str], *, top: int = 1) -> str:
    """For :func:`course_utils.plotting.plot_confusion_matrix`: the classes, the share on the
    diagonal (to whole percent), and the ``top`` largest confusions with their counts.

    Counts from a trained model change with the platform: use it in a cell tagged
    ``nbval-ignore-output``, or describe the claim instead."""
    cm = np.asarray(cm)
    off = cm.astype(float).copy()
    np.fill_diagonal(off, -1)
    order = np.argsort(off, axis=None)[::-1][:top]
    confusions = [f"{class_names[i]} taken for {class_names[j]} ({int(cm[i, j])} times)"
                  for i, j in (np.unravel_index(k, cm.shape) for k in order) if cm[i, j] > 0]
    share = np.trace(cm) / max(cm.sum(), 1)
    text = (f"Confusion matrix of {len(class_names)} classes (rows: true class, columns: predicted class, "
            f"darker blue for larger counts, counts written in each cell); {share:.0%} of the "
            f"{int(cm.sum())} examples lie on the diagonal")
    return text + ("; largest confusion: " + "; ".join(confusions) if confusions else "") + "."


def describe_animation(anim) -> str:
    """For :class:`course_utils.animation.TrainingAnimation`: what the player shows."""
    labels = getattr(anim, "axis_labels", {})
    metrics = labels.get("metrics", ("step", "metrics"))
    return (f"{plain_text(anim.title)}: an animation of {len(anim.frames)} frames, from {metrics[0]} "
            f"{anim.steps[0]} to {anim.steps[-1]}. Left: the decision boundary over the data points; right: "
            f"{plain_text(metrics[1])} against {metrics[0]} so far.")


# Showing a figure with its description.

def figure_png(fig: Figure) -> bytes:
    """``fig`` as PNG bytes, as the inline backend renders it (tight bounding box, figure dpi)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", facecolor="white")
    return buf.getvalue()


# How big a figure's text looks where students read it. JupyterLab shows a PNG at its pixel size in CSS
# pixels (96 to the inch), shrunk to fit the output area; in its default layout (file browser open) that
# area is 975 px wide in a 1,440 x 900 window (848 px at 1,280 x 800; measured in Chromium).
CSS_DPI = 96
OUTPUT_WIDTH_PX = 975
SMALLEST_TEXT_PT = 9  # no text in a figure below this at display size


def png_width(png: bytes) -> int:
    """The width in pixels of a PNG, from its header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return int.from_bytes(png[16:20], "big")


def text_sizes(fig: Figure) -> list[tuple[float, str]]:
    """(size in points, text) of every visible, non-empty text of ``fig``: titles, labels, tick labels,
    legends, colour bars and annotations. Tick labels exist once the figure is drawn (:func:`figure_png`
    draws it)."""
    from matplotlib.text import Text
    return [(t.get_fontsize(), t.get_text()) for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and t.figure is not None]


def displayed_text_pt(fig: Figure, width_px: int, *, shown_px: float | None = None) -> float:
    """The smallest text of ``fig`` in points as it appears on screen, for the figure rendered ``width_px``
    wide at its dpi and shown ``shown_px`` wide (default: JupyterLab's, its pixel size up to
    :data:`OUTPUT_WIDTH_PX`)."""
    sizes = [size for size, _ in text_sizes(fig)]
    if not sizes:
        return float("inf")
    shown = min(width_px, OUTPUT_WIDTH_PX) if shown_px is None else shown_px
    return min(sizes) * fig.dpi / CSS_DPI * shown / width_px


def figure_outputs(fig: Figure, description: str) -> list[tuple[dict, dict]]:
    """The two (data, metadata) bundles :func:`show_figure` displays: the image and its caption. The
    image's metadata also records its smallest text as displayed (``"course": {"smallest_text_pt": ...}``),
    which the course's tests hold to at least :data:`SMALLEST_TEXT_PT`."""
    description = " ".join(str(description).split())
    if not description:
        raise ValueError("a figure needs a description: what is plotted and the one thing to see")
    alt = plain_text(description)
    raw = figure_png(fig)
    smallest = displayed_text_pt(fig, png_width(raw))
    png = base64.b64encode(raw).decode("ascii")
    n_axes = len([ax for ax in fig.axes if _is_data_axes(ax)])
    image = ({"image/png": png, "text/plain": f"<Figure with {n_axes} Axes>"},
             {"image/png": {"alt": alt}, "course": {"smallest_text_pt": round(min(smallest, 99.0), 1)}})
    caption = ({"text/html": f'<p class="{CAPTION_CLASS}"><strong>Figure.</strong> {html.escape(description)}</p>',
                "text/plain": f"Figure. {description}"}, {})
    return [image, caption]


def show_figure(fig: Figure, description: str) -> None:
    """Display ``fig`` with ``description`` as its alt text and as a caption below it, then close it.

    description: what is plotted and the one thing to see, in plain sentences. It is compared by
    nbval: no number that depends on rounding (see the module docstring). Mathtext such as
    ``$x_1$`` is typeset in the caption and read as ``x_1`` in the alt text.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    try:
        for data, metadata in figure_outputs(fig, description):
            display(data, metadata=metadata, raw=True)
    finally:
        plt.close(fig)
