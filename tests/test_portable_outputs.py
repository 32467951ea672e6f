"""The portability rule for stored outputs (README, "Outputs that hold on every machine").

nbval compares each notebook's stored text outputs with a fresh run on whatever machine runs the
tests. A compared output must therefore not depend on floating-point rounding: numbers at machine
precision are printed as the claim they support ("agree to < 1e-12"), and cells that print results
of training or random search are excluded from comparison with the cell tag ``nbval-ignore-output``
while their claims are asserted with a tolerance. This module keeps the list of excluded cells and
audits every compared output.
"""
from __future__ import annotations

import configparser
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
EXCLUDING_TAGS = {"nbval-ignore-output", "nbval-skip"}

# Every excluded cell, by notebook and the first line of its source, with the reason.
TRAINING = "training result, its claim asserted in the Checks cell"
EXCLUDED: dict[str, dict[str, str]] = {
    "00_environment_check.ipynb": {
        "import sys": "machine report: versions and platform of the machine that runs it",
        "report = environment_report()": "machine report: installed versions, device, data status",
        "import shutil": "machine report: the device and nvidia-smi",
    },
    "01_learning_definitions.ipynb": {
        "digits = load_digits()": "learning-curve accuracies from training; asserted in Checks",
        "x_big = rng.uniform(0, 1, 100_000)": "generalization gaps of fitted polynomials; asserted in Checks",
        "def place_bars(r: np.ndarray, c: np.ndarray, horizontal: bool) -> np.ndarray:":
            "logistic-regression accuracies; asserted in Checks",
        'to_label = {1.0: "GOOD", -1.0: "BAD"}': "labels of trained classifiers over 50 training sets; asserted in Checks",
        "Xc, yc = make_circles(n_samples=600, noise=0.08, factor=0.5, random_state=SEED)":
            "logistic-regression accuracies; asserted in Checks",
        "H = 2 / N * X_ls.T @ X_ls  # Hessian of the mean squared error":
            "gradient-descent losses at five step sizes; asserted in Checks",
        "x_ill = np.linspace(0, 1, 100)": "residuals of an ill-conditioned solve are rounding noise; asserted in the cell",
        "bv = {}": "bias-variance table from simulated fits; asserted in Checks",
        "def with_wrong_labels(y: np.ndarray, share: float, gen: np.random.Generator) -> np.ndarray:":
            "accuracies with wrong labels over 5 draws; asserted in Checks",
        "from scipy.ndimage import rotate": "1-NN accuracies with augmentation; asserted in Checks",
        "from sklearn.cluster import KMeans": "k-means adjusted Rand index; asserted in Checks",
        "n_episodes, horizon = 4000, 150  # gamma**150 < 1e-6: the tail is negligible":
            "Monte-Carlo estimates of J(pi); asserted in Checks",
    },
    "02_two_moons_mlp.ipynb": {
        "X_anim, y_anim = make_moons(n_samples=400, noise=0.35, random_state=SEED)":
            "animation: training accuracy and render time; asserted in Checks",
        "from IPython.display import HTML": "animation: the player's HTML embeds rendered frames",
        "X_fresh, y_fresh = make_moons(n_samples=10_000, noise=0.2, random_state=1000)  # same distribution, never trained on":
            "the lecture's recipe over 10 draws and on fresh points; asserted in Checks",
        "logreg = LogisticRegression().fit(X_train, y_train)": TRAINING,
        "architectures = [(2,), (10,), (10, 10), (64, 64, 64)]":
            "width/depth/noise grid of trained networks over 5 draws; asserted in Checks",
    },
    "03_curse_of_dimensionality.ipynb": {
        "X2, y2 = make_moons(n_samples=600, noise=0.25, random_state=SEED)": "5-NN accuracies; asserted in Checks",
    },
    "04_from_scratch_layers.ipynb": {
        "X_moons, y_moons = make_moons(n_samples=400, noise=0.2, random_state=SEED)":
            "from-scratch MLP trained by SGD; asserted in Checks",
        "lr_grid = np.geomspace(1e-3, 1, 25)": "learning rates chosen by a grid search and the losses they reach; asserted in Checks",
        "target_fn = lambda x: np.sin(3 * x) + 0.3 * x**2": "universal approximation errors after training; asserted in Checks",
        "def best_time(fn, number):": "timing table (benchmarks/bench_conv.py holds the speed goals)",
        "K = 4": "loss at initialisation; asserted in Checks",
        "single_losses, batch_losses = judged_losses[:100], judged_losses[100:]":
            "the losses debug_training judged; asserted by its own asserts and in Checks",
        "X_val, y_val = make_moons(n_samples=2000, noise=0.2, random_state=SEED + 1)":
            "add-complexity-gradually stages over 5 seeds; asserted in Checks",
        "memorise = {}": "random-label memorisation; asserted in Checks",
        "n_train = len(Xd_tr)": "width sweep accuracies over 5 seeds; asserted in Checks",
        "def n_parameters(sizes):": "depth at a fixed parameter budget over 5 seeds; asserted in Checks",
        "lt_sizes, X_lt, y_lt = [64, 100, 50, 10], X_dig[:900], y_dig[:900]":
            "lottery-ticket accuracies over 5 seeds; asserted in Checks",
    },
    "05_fashion_mnist_minimal.ipynb": {
        "init_loss, init_acc = evaluate(model, val_loader)": "loss at initialisation; asserted in Checks",
        "start = time.perf_counter()": "per-epoch training metrics; asserted in Checks",
        'print(f"trained {num_epochs} epochs on {device} in {train_seconds:.1f} s "': "timing",
        "test_loss, test_acc = evaluate(model, test_loader)": "test and per-class accuracy; asserted in Checks",
        "fig, ax = plt.subplots(figsize=(7, 6))": "ranking of confused pairs; the lecture's two asserted in Checks",
    },
    "06_fashion_mnist_tensorboard.ipynb": {
        'lrs = {"06_tensorboard": config["lr"], "06_tensorboard_lr=0.0001": config["lr"] / 10}':
            "validation metrics of the two runs; asserted in Checks",
        "test_loss, test_acc = loss_and_accuracy(model, x_test, y_test)": "test and per-class accuracy; asserted in Checks",
        "templates = model[0].weight.detach().cpu().view(-1, 28, 28)[:32]": "dead units of the trained network",
        "pixels = x_test[:n_embed].flatten(1).numpy()": "silhouettes and 5-NN accuracy of features; asserted in Checks",
        'upper = [CLASS_NAMES.index(n) for n in ("T-shirt/top", "Pullover", "Coat", "Shirt")]':
            "neighbour shares of trained features; asserted in Checks",
    },
}

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
    return bool(EXCLUDING_TAGS & set(cell.metadata.get("tags", [])))


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


def test_every_notebook_has_an_entry():
    assert sorted(EXCLUDED) == [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_excluded_cells_are_listed_with_a_reason(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [first_line(c) for c in code if excluded(c)]
    listed = EXCLUDED[path.name]
    unlisted = [line for line in tagged if line not in listed]
    assert not unlisted, f"excluded from comparison but not listed in EXCLUDED with a reason: {unlisted}"
    stale = [line for line in listed if line not in tagged]
    assert not stale, f"listed in EXCLUDED but no such excluded cell (update the list): {stale}"
    assert all(reason.strip() for reason in listed.values())
    assert len(tagged) == len(set(tagged)), "two excluded cells start with the same line; make them distinct"


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
