"""Self-checks for notebook 05 (Fashion-MNIST minimal): Exercise 5.1 (``evaluate``) and 5.2 (``DeeperNet``)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .core import Miss, close, compare, exercise_check

NOTEBOOK = "05_fashion_mnist_minimal"  # the course id of the notebook these checks belong to


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0)


@exercise_check("5.2")
def check_deeper_net(DeeperNet) -> None:
    """Check ``DeeperNet(hidden1, hidden2)``: 784 -> hidden1 -> ReLU -> hidden2 -> ReLU -> 10 logits.

    Inputs: DeeperNet, an nn.Module class; its model maps x (B, 784) to logits (B, 10). The layers
    may be declared in any order and under any names; the reference applies the student's own
    weights with NumPy, layer after layer, following the sizes.
    """
    import torch
    gen = torch.Generator().manual_seed(51)
    for h1, h2 in ((128, 64), (32, 16)):
        model = DeeperNet(h1, h2)
        linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
        shapes = sorted((m.in_features, m.out_features) for m in linears)
        wanted = [(784, h1), (h1, h2), (h2, 10)]
        if shapes != sorted(wanted):
            raise Miss(f"DeeperNet({h1}, {h2}) has linear layers (in, out) {shapes}, expected three: "
                       f"784 → {h1}, {h1} → {h2}, {h2} → 10 (declared in any order)")
        by_input = {m.in_features: m for m in linears}
        W1, W2, W3 = (by_input[i].weight.detach().double().numpy() for i in (784, h1, h2))
        b1, b2, b3 = (by_input[i].bias.detach().double().numpy() for i in (784, h1, h2))
        dtype = by_input[784].weight.dtype
        x = torch.randn(5, 784, generator=gen, dtype=dtype)
        with torch.no_grad():
            out = model(x)
        if tuple(out.shape) != (5, 10):
            raise Miss(f"DeeperNet({h1}, {h2}) gives output shape {tuple(out.shape)} for 5 images, expected (5, 10): "
                       "one logit per class")
        got = out.double().numpy()
        xn = x.double().numpy()
        z1 = xn @ W1.T + b1
        z2 = _relu(z1) @ W2.T + b2
        logits = _relu(z2) @ W3.T + b3
        tol = dict(rtol=1e-4, atol=1e-5)
        if close(got, logits, **tol):
            continue
        if np.allclose(got.sum(1), 1, atol=1e-5) and np.all(got >= 0):
            raise Miss(f"DeeperNet({h1}, {h2}) returns probabilities (each row sums to 1): return the raw logits; "
                       "the cross-entropy loss applies the softmax itself")
        if close(got, _relu(logits), **tol):
            raise Miss(f"DeeperNet({h1}, {h2}) applies an activation after the output layer: the logits come "
                       "straight from the last linear layer")
        if close(got, z2 @ W3.T + b3, **tol):
            raise Miss(f"DeeperNet({h1}, {h2}): the ReLU after the second hidden layer is missing")
        if close(got, (z1 @ W2.T + b2) @ W3.T + b3, **tol):
            raise Miss(f"DeeperNet({h1}, {h2}) applies no ReLU at all: a ReLU follows each hidden layer")
        if close(got, _relu(z1 @ W2.T + b2) @ W3.T + b3, **tol):
            raise Miss(f"DeeperNet({h1}, {h2}): the ReLU after the first hidden layer is missing")
        compare(f"DeeperNet({h1}, {h2}) output", got, logits, **tol,
                hint="the layers must be applied in the order of their sizes: 784 → hidden1 → hidden2 → 10, "
                     "with ReLU after each hidden layer and nothing after the output layer")


class _ProbeModel:
    """Builds a torch module that records how ``evaluate`` calls it (see :func:`check_evaluate`)."""

    @staticmethod
    def build(device):
        import torch

        class Probe(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = torch.nn.Linear(784, 10)
                self.drop = torch.nn.Dropout(0.5)  # changes the logits unless the model is in eval mode

            def forward(self, x):
                if x.dim() != 2 or x.shape[1] != 784:
                    raise Miss(f"the model received a batch of shape {tuple(x.shape)}; it takes flat images of shape "
                               "(batch, 784): flatten each batch before calling the model")
                if x.device != self.fc.weight.device:
                    raise Miss(f"a batch on {x.device} reached a model on {self.fc.weight.device}: move each batch "
                               "to the model's device")
                if self.training:
                    raise Miss("the model was still in training mode during evaluation (dropout and batch norm "
                               "behave differently there): switch it to evaluation mode first")
                if torch.is_grad_enabled():
                    raise Miss("gradient tracking was on during evaluation: it costs memory and time for nothing; "
                               "evaluate inside a block that turns it off")
                return self.drop(self.fc(x))

        return Probe().to(device)


@exercise_check("5.1")
def check_evaluate(evaluate: Callable) -> None:
    """Check ``evaluate(model, loader) -> (mean loss per example, accuracy)`` over a whole DataLoader.

    Inputs: evaluate, a function of a model (on :func:`course_utils.pick_device`'s device, as in the
    notebook) and a DataLoader of (images (B, 1, 28, 28), labels (B,)), 53 examples in batches of
    10 (the last holds 3). The reference is computed over all examples at once.
    """
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from ..env import pick_device
    device = pick_device()
    gen = torch.Generator().manual_seed(52)
    x, y = torch.rand(53, 1, 28, 28, generator=gen), torch.randint(0, 10, (53,), generator=gen)
    with torch.random.fork_rng(devices=[]):  # the notebook's random stream stays untouched
        torch.manual_seed(52)
        model = _ProbeModel.build(device)
    model.eval()
    with torch.no_grad():
        logits = model.fc(x.reshape(53, 784).to(device))
        expected_loss = torch.nn.functional.cross_entropy(logits, y.to(device)).item()
        expected_acc = (logits.argmax(1) == y.to(device)).double().mean().item()
    model.train()  # as after training: evaluate must switch it
    loader = DataLoader(TensorDataset(x, y), batch_size=10)
    out = evaluate(model, loader)
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise Miss(f"evaluate should return (mean loss, accuracy), got {out!r}")
    loss, acc = (float(v) for v in out)
    if not 0 <= acc <= 1:
        raise Miss(f"the accuracy should be a fraction between 0 and 1, got {acc:g}: divide the number of "
                   "correct predictions by the number of examples")
    hint = ("the last batch is smaller than the others (3 of 53 examples): weight each batch by its size, "
            "or add up over examples and divide by their total")
    compare("accuracy", acc, expected_acc, rtol=1e-6, hint=hint)
    compare("mean loss", loss, expected_loss, rtol=1e-5, hint=hint)
