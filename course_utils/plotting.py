"""Figures the notebooks share: decision boundaries, training curves, image grids, confusion matrices."""
from __future__ import annotations

import sys
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

BOUNDARY_CMAP = "RdBu"
POINT_COLORS = ("#c0392b", "#2c6fbb")


def use_course_style() -> None:
    """One look for every figure: readable sizes, light grid, no top/right spines."""
    plt.rcParams.update({
        "figure.figsize": (6.4, 4.0), "figure.dpi": 80, "axes.grid": True, "grid.alpha": 0.3,
        "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 11,
        "axes.labelsize": 10, "legend.fontsize": 9, "legend.frameon": False,
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
    ax.contourf(xx, yy, response, levels=np.linspace(0, 1, 11), cmap=BOUNDARY_CMAP, alpha=0.35, vmin=0, vmax=1)
    ax.contour(xx, yy, response, levels=[0.5], colors="k", linewidths=1.2)
    for label, color in zip((0, 1), POINT_COLORS):
        pts = X[y == label]
        ax.scatter(pts[:, 0], pts[:, 1], s=14, c=color, edgecolors="white", linewidths=0.4, label=f"class {label}")
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title=title or "")
    return ax


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
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.3 * n_cols, 1.5 * n_rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        ax.imshow(images[i], cmap="gray_r")
        text = class_names[int(labels[i])]
        color = "black"
        if predictions is not None:
            text = f"{class_names[int(predictions[i])]}\n(true: {text})"
            color = "black" if int(predictions[i]) == int(labels[i]) else "#c0392b"
        ax.set_title(text, fontsize=7, color=color)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cm: np.ndarray, class_names: Sequence[str], ax: Axes | None = None, *,
                          title: str = "Confusion matrix (rows: true, columns: predicted)") -> Axes:
    """Draw a confusion matrix (K, K) of counts with class names and the counts written in."""
    ax = ax or plt.gca()
    cm = np.asarray(cm)
    ax.imshow(cm, cmap="Blues")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.grid(False)
    threshold = cm.max() / 2
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if cm[i, j] > threshold else "black")
    ax.set(xlabel="predicted", ylabel="true", title=title)
    return ax
