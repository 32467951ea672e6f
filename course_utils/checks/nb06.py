"""Self-checks for notebook 06 (Fashion-MNIST with TensorBoard): Exercises 6.1 and 6.2."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .core import Miss, close, compare, exercise_check

NOTEBOOK = "06_fashion_mnist_tensorboard"  # the course id of the notebook these checks belong to


@exercise_check("6.1")
def check_grad_norm(grad_norm: Callable) -> None:
    """Check ``grad_norm(model) -> float``: the L2 norm of all parameter gradients taken together.

    Inputs: grad_norm, a function of an nn.Module whose parameters hold gradients. The reference
    is the norm of the per-parameter norms (how torch's gradient clipping computes it).
    """
    import torch
    torch.manual_seed(61)
    model = torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    model(torch.randn(4, 7)).pow(2).sum().backward()
    grads = [p.grad.detach().clone() for p in model.parameters()]
    norms = torch.stack([torch.linalg.vector_norm(g) for g in grads])
    expected = torch.linalg.vector_norm(norms).item()
    weights_only = torch.linalg.vector_norm(norms[0::2]).item()  # Linear: weight then bias
    got = float(grad_norm(model))
    if any(not torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads)):
        raise Miss("grad_norm changed the gradients (clipping them?); it should only read them")
    if close(got, expected ** 2, rtol=1e-5):
        raise Miss(f"grad_norm(model) is {got:.6g}, the square of the norm {expected:.6g}: the square root is missing")
    if close(got, float(norms.sum()), rtol=1e-5):
        raise Miss(f"grad_norm(model) is {got:.6g}, the sum of one norm per parameter; the gradient norm is one "
                   "norm over all entries of all parameters together")
    if close(got, weights_only, rtol=1e-5):
        raise Miss(f"grad_norm(model) is {got:.6g}: you left out the biases; every parameter's gradient counts")
    compare("grad_norm(model)", got, expected, rtol=1e-5,
            hint="square every gradient entry of every parameter, add them all up, then take one square root")


@exercise_check("6.2")
def check_per_class_accuracy(per_class_accuracy: Callable) -> None:
    """Check ``per_class_accuracy(predictions, labels, n_classes) -> (n_classes,)``, the recall of each class.

    Inputs: predictions (N,) and labels (N,) integer arrays. The reference comes from scikit-learn's
    confusion matrix.
    """
    from sklearn.metrics import confusion_matrix
    rng = np.random.default_rng(62)
    labels = rng.choice(4, size=200, p=[0.1, 0.2, 0.3, 0.4])  # classes of different sizes
    predictions = np.where(rng.random(200) < 0.7, labels, rng.integers(0, 4, 200))
    cm = confusion_matrix(labels, predictions, labels=range(4)).astype(float)
    expected = np.diag(cm) / cm.sum(axis=1)
    got = per_class_accuracy(predictions, labels, 4)
    name = "per-class accuracy"
    if close(got, np.diag(cm) / cm.sum(axis=0), rtol=1e-9):
        raise Miss(f"{name}: you divided by how often each class was predicted (that is precision); per-class "
                   "accuracy divides by how often each class occurs among the true labels")
    if close(got, np.diag(cm), rtol=1e-9):
        raise Miss(f"{name}: you return counts of correct predictions; return shares, between 0 and 1")
    if close(got, np.full(4, np.trace(cm) / cm.sum()), rtol=1e-9):
        raise Miss(f"{name}: you return the overall accuracy for every class; each class has its own share")
    compare(name, got, expected, rtol=1e-9,
            hint="for class k: among the examples whose true label is k, the share predicted k")
