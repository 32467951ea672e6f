"""Self-checks for notebook 06 (Fashion-MNIST with TensorBoard): Exercises 6.1 and 6.2."""
from __future__ import annotations

import numpy as np

from .core import Miss, as_float, attempt, close, compare, exercise_check, field, int_seed, outcome, rng_for

NOTEBOOK = "06_fashion_mnist_tensorboard"  # the course id of the notebook these checks belong to


# ---------------------------------------------------------------- 6.1

def _grad_model(seed: int):
    """A small network holding the gradients of a squared output, the same on both sides for a seed."""
    import torch
    with torch.random.fork_rng(devices=[]):  # the notebook's random stream stays untouched
        torch.manual_seed(int_seed(seed, 61))
        model = torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3)).double()
        model(torch.randn(4, 7, dtype=torch.float64)).pow(2).sum().backward()
    return model


def probe_grad_norm(grad_norm, seed: int) -> dict:
    """Calls ``grad_norm(model)`` on a network whose parameters hold gradients; records its value and
    whether the gradients were left as they were."""
    import torch
    model = _grad_model(seed)
    before = [p.grad.detach().clone() for p in model.parameters()]
    call = attempt(grad_norm, model)
    unchanged = all(p.grad is not None and torch.equal(p.grad, g) for p, g in zip(model.parameters(), before))
    return {"call": call, "gradients_unchanged": unchanged}


def judge_grad_norm(data: dict, seed: int) -> None:
    """The reference is the norm of the per-parameter norms (how torch's gradient clipping computes it)."""
    import torch
    got = outcome(field(data, "call"))
    grads = [p.grad for p in _grad_model(seed).parameters()]
    norms = torch.stack([torch.linalg.vector_norm(g) for g in grads])
    expected = torch.linalg.vector_norm(norms).item()
    weights_only = torch.linalg.vector_norm(norms[0::2]).item()  # Linear: weight then bias
    if field(data, "gradients_unchanged") is not True:
        raise Miss("grad_norm changed the gradients (clipping them?); it should only read them")
    try:
        got = as_float(got)
    except (TypeError, ValueError):
        raise Miss(f"grad_norm(model) should return a single number, got {got!r}") from None
    if close(got, expected ** 2, rtol=1e-5):
        raise Miss(f"grad_norm(model) is {got:.6g}, the square of the norm {expected:.6g}: the square root is missing")
    if close(got, float(norms.sum()), rtol=1e-5):
        raise Miss(f"grad_norm(model) is {got:.6g}, the sum of one norm per parameter; the gradient norm is one "
                   "norm over all entries of all parameters together")
    if close(got, weights_only, rtol=1e-5):
        raise Miss(f"grad_norm(model) is {got:.6g}: you left out the biases; every parameter's gradient counts")
    compare("grad_norm(model)", got, expected, rtol=1e-5,
            hint="square every gradient entry of every parameter, add them all up, then take one square root")


check_grad_norm = exercise_check("6.1", probe=probe_grad_norm, judge=judge_grad_norm, doc="""\
Check ``grad_norm(model) -> float``: the L2 norm of all parameter gradients taken together.

Inputs: grad_norm, a function of an nn.Module whose parameters hold gradients. The reference is the
norm of the per-parameter norms (how torch's gradient clipping computes it).""")


# ---------------------------------------------------------------- 6.2

def _predictions(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = rng_for(seed, 62)
    labels = rng.choice(4, size=200, p=[0.1, 0.2, 0.3, 0.4])  # classes of different sizes
    predictions = np.where(rng.random(200) < 0.7, labels, rng.integers(0, 4, 200))
    return predictions, labels


def probe_per_class_accuracy(per_class_accuracy, seed: int) -> dict:
    """Calls ``per_class_accuracy(predictions, labels, 4)`` on 200 labels of four classes of different sizes."""
    predictions, labels = _predictions(seed)
    return {"call": attempt(per_class_accuracy, predictions, labels, 4)}


def judge_per_class_accuracy(data: dict, seed: int) -> None:
    """The reference comes from the confusion matrix, counted with np.bincount."""
    got = outcome(field(data, "call"))
    predictions, labels = _predictions(seed)
    cm = np.bincount(labels * 4 + predictions, minlength=16).reshape(4, 4).astype(float)  # rows: true labels
    expected = np.diag(cm) / cm.sum(axis=1)
    name = "Per-class accuracy"
    if close(got, np.diag(cm) / cm.sum(axis=0), rtol=1e-9):
        raise Miss(f"{name}: you divided by how often each class was predicted (that is precision); per-class "
                   "accuracy divides by how often each class occurs among the true labels")
    if close(got, np.diag(cm), rtol=1e-9):
        raise Miss(f"{name}: you return counts of correct predictions; return shares, between 0 and 1")
    if close(got, np.full(4, np.trace(cm) / cm.sum()), rtol=1e-9):
        raise Miss(f"{name}: you return the overall accuracy for every class; each class has its own share")
    compare(name, got, expected, rtol=1e-9,
            hint="for class k: among the examples whose true label is k, the share predicted k")


check_per_class_accuracy = exercise_check("6.2", probe=probe_per_class_accuracy, judge=judge_per_class_accuracy, doc="""\
Check ``per_class_accuracy(predictions, labels, n_classes) -> (n_classes,)``, the recall of each class.

Inputs: predictions (N,) and labels (N,) integer arrays. The reference comes from the confusion
matrix (rows: true labels), counted with np.bincount.""")
