"""Figures the notebooks share: decision boundaries, training curves, image grids, confusion matrices."""
from __future__ import annotations

import sys
import weakref
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# Colour-blind-safe colours (tests/test_accessibility.py simulates the three colour-vision deficiencies):
# Okabe & Ito's palette for categories, viridis for magnitudes, a red-blue diverging map for signed values.
OKABE_ITO = {"blue": "#0072B2", "vermillion": "#D55E00", "bluish green": "#009E73", "reddish purple": "#CC79A7",
             "orange": "#E69F00", "sky blue": "#56B4E9", "yellow": "#F0E442", "black": "#000000"}
# the colour cycle C0, C1, ...: Okabe-Ito without yellow (1.3:1 against white, too faint for a line)
CATEGORY_COLORS = tuple(c for name, c in OKABE_ITO.items() if name != "yellow")
MAGNITUDE_CMAP = "viridis"
DIVERGING_CMAP = "RdBu_r"  # negative blue, positive red, white at zero
BOUNDARY_CMAP = "RdBu"  # P(class 1): red (class 0) to blue (class 1)
POINT_COLORS = (OKABE_ITO["vermillion"], OKABE_ITO["blue"])  # class 0, class 1


def use_course_style() -> None:
    """One look for every figure: readable sizes, light grid, no top/right spines, colour-blind-safe
    colours (Okabe-Ito as the colour cycle, viridis as the default colormap)."""
    plt.rcParams.update({
        "figure.figsize": (6.4, 4.0), "figure.dpi": 80, "axes.grid": True, "grid.alpha": 0.3,
        "axes.spines.top": False, "axes.spines.right": False, "font.size": 11, "axes.titlesize": 12,
        "axes.labelsize": 11, "legend.fontsize": 11, "legend.frameon": False,
        "axes.prop_cycle": plt.cycler(color=CATEGORY_COLORS), "image.cmap": MAGNITUDE_CMAP,
    })


def grid_for(X: np.ndarray, resolution: int = 150, margin: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """A (resolution, resolution) mesh covering 2-D points ``X`` (N, 2) plus a margin."""
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    return np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))


def class_one_score(model, points: np.ndarray) -> np.ndarray:
    """P(class 1) (or a score whose 0.5 level is the boundary) for points (M, 2), any kind of model.

    Accepts a scikit-learn classifier (``predict_proba`` or ``predict``), a torch module returning
    logits of shape (M, 2) or (M, 1), or a plain function of a (M, 2) array.
    """
    torch = sys.modules.get("torch")  # a torch module exists only once torch is imported: never import it here
    if torch is not None and isinstance(model, torch.nn.Module):
        with torch.no_grad():
            param = next(model.parameters(), None)
            dtype = param.dtype if param is not None else torch.float32
            device = param.device if param is not None else "cpu"
            out = model(torch.as_tensor(points, dtype=dtype, device=device)).cpu()
        return (torch.sigmoid(out[:, 0]) if out.shape[1] == 1 else torch.softmax(out, 1)[:, 1]).numpy()
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(points))[:, 1]
    if hasattr(model, "predict"):
        return np.asarray(model.predict(points), dtype=float)
    if callable(model):
        return np.asarray(model(points), dtype=float).reshape(len(points))
    raise TypeError(f"cannot get scores from {type(model).__name__}: give a classifier, a torch module or a function")


def plot_decision_boundary(model, X: np.ndarray, y: np.ndarray, ax: Axes | None = None, *,
                           title: str | None = None, resolution: int = 150,
                           grid: tuple[np.ndarray, np.ndarray] | None = None,
                           response: np.ndarray | None = None) -> Axes:
    """Shade P(class 1) over the plane, draw the 0.5 boundary, and scatter the points.

    Args:
        model: see :func:`class_one_score` (ignored when ``response`` is given).
        X: points (N, 2); y: labels (N,) in {0, 1}.
        grid, response: a precomputed mesh and its scores (as the animation stores them).
    Returns:
        the axes drawn on.
    """
    X, y = np.asarray(X), np.asarray(y)
    ax = ax or plt.gca()
    xx, yy = grid if grid is not None else grid_for(X, resolution)
    if response is None:
        response = class_one_score(model, np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    shading = ax.contourf(xx, yy, response, levels=np.linspace(0, 1, 11), cmap=BOUNDARY_CMAP, alpha=0.35,
                          vmin=0, vmax=1)
    boundary = ax.contour(xx, yy, response, levels=[0.5], colors="k", linewidths=1.2)
    record_contours(ax, shading, boundary)
    for label, color in zip((0, 1), POINT_COLORS):
        pts = X[y == label]
        ax.scatter(pts[:, 0], pts[:, 1], s=14, c=color, edgecolors="white", linewidths=0.4, label=f"class {label}")
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title=title or "")
    return ax


_CONTOURS: "weakref.WeakKeyDictionary[Axes, list]" = weakref.WeakKeyDictionary()


def record_contours(ax: Axes, *contour_sets) -> None:
    """Remember the contour sets drawn on ``ax`` (see :func:`contour_sets`)."""
    _CONTOURS.setdefault(ax, []).extend(contour_sets)


def contour_sets(ax: Axes) -> list:
    """The contour sets on ``ax``, filled and line.

    From matplotlib 3.8 on a contour set is one artist among ``ax.collections``. Before, it is a
    holder that adds one collection per level to the axes and is not itself on them, so those the
    course's helpers draw are also recorded (:func:`record_contours`).
    """
    from matplotlib.contour import ContourSet

    found = [c for c in ax.collections if isinstance(c, ContourSet)]
    return found + [c for c in _CONTOURS.get(ax, []) if c not in found]


def add_boundary_key(fig: Figure, axes, shading=None, *, legend_axes: Axes | None = None) -> None:
    """Say what the colours of decision-boundary panels mean: a colorbar for the shading
    (P(class 1), with the 0.5 level marked) and a legend for the two classes and the boundary line.

    Args:
        fig: the figure; axes: one panel or an array of panels drawn like :func:`plot_decision_boundary`.
        shading: the shaded surface to explain (default: the filled contours of the first panel).
        legend_axes: put the legend under this panel; by default one legend under the whole
            figure (that needs ``layout="constrained"``).
    """
    from matplotlib.lines import Line2D

    axes = list(np.ravel(axes))
    if shading is None:
        filled = [c for c in contour_sets(axes[0]) if c.filled]
        if not filled:
            raise ValueError("add_boundary_key: the first panel has no shaded contours; draw it with "
                             "plot_decision_boundary or pass shading=")
        shading = filled[0]
    bar = fig.colorbar(shading, ax=axes if len(axes) > 1 else axes[0], label="P(class 1), the shading",
                       fraction=0.05 if len(axes) == 1 else 0.03)
    bar.ax.axhline(0.5, color="k", lw=1.2)
    bar.ax.grid(False)
    handles = [Line2D([], [], ls="", marker="o", markersize=5, markerfacecolor=color, markeredgecolor="white",
                      label=f"class {label}") for label, color in zip((0, 1), POINT_COLORS)]
    handles.append(Line2D([], [], color="k", lw=1.2, label="decision boundary (P = 0.5)"))
    if legend_axes is None:
        fig.legend(handles=handles, loc="outside lower center", ncols=3)
    else:
        legend_axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=3)


def plot_training_curves(history: Mapping[str, Sequence[float]], ax: Axes | None = None, *,
                         xlabel: str = "epoch", title: str = "Training curves") -> Axes:
    """Plot each series of ``history`` (name -> values per step); losses left, accuracies right.

    Returns:
        the left axes (losses); the accuracy axes is ``ax.right`` when there is one.
    """
    ax = ax or plt.gca()
    losses = {k: v for k, v in history.items() if "loss" in k}
    others = {k: v for k, v in history.items() if k not in losses}
    for name, values in losses.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
    ax.set(xlabel=xlabel, ylabel="loss", title=title)
    handles, labels = ax.get_legend_handles_labels()
    if others:
        right = ax.twinx()
        for i, (name, values) in enumerate(others.items()):
            right.plot(np.arange(1, len(values) + 1), values, "--", color=f"C{len(losses) + i}", label=name)
        right.set(ylabel="accuracy")
        right.grid(False)
        h2, l2 = right.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
        ax.right = right
    ax.legend(handles, labels, loc="center right")
    return ax


def image_grid(images, labels: Sequence[int], class_names: Sequence[str], *, n_cols: int = 8,
               title: str | None = None, predictions: Sequence[int] | None = None) -> Figure:
    """Show grayscale images (N, H, W) with their class names (and predictions, red when wrong)."""
    images = np.asarray(images)
    n_rows = int(np.ceil(len(images) / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.5 * n_cols, 1.7 * n_rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        ax.imshow(images[i], cmap="gray_r")
        text = class_names[int(labels[i])]
        color = "black"
        if predictions is not None:
            text = f"{class_names[int(predictions[i])]}\ntrue: {text}"
            color = "black" if int(predictions[i]) == int(labels[i]) else "#c0392b"
        ax.set_title(text, fontsize=11, color=color)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cm: np.ndarray, class_names: Sequence[str], ax: Axes | None = None, *,
                          title: str = "Confusion matrix (rows: true, columns: predicted)",
                          count_label: str = "test images") -> Axes:
    """Draw a confusion matrix (K, K) of counts with class names, the counts written in, and a
    colorbar labelled ``count_label`` (what the counts count)."""
    ax = ax or plt.gca()
    cm = np.asarray(cm)
    image = ax.imshow(cm, cmap="Blues")
    ax.figure.colorbar(image, ax=ax, label=count_label, fraction=0.046, pad=0.04)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.grid(False)
    threshold = cm.max() / 2
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=11,
                    color="white" if cm[i, j] > threshold else "black")
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return ax
