"""Self-checks for notebook 05 (Fashion-MNIST minimal): Exercise 5.1 (``evaluate``) and 5.2 (``DeeperNet``)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .core import (Malformed, Miss, as_float, attempt, close, compare, exercise_check, field, outcome, pair, rng_for,
                   type_name)

NOTEBOOK = "05_fashion_mnist_minimal"  # the course id of the notebook these checks belong to


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0)


def _float32(values: np.ndarray) -> np.ndarray:
    """``values`` rounded to float32 and held in float64: the same numbers in a float32 model and in NumPy."""
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def _cases(data: dict, n: int) -> list[dict]:
    cases = field(data, "cases")
    if not (isinstance(cases, list) and len(cases) == n and all(isinstance(c, dict) for c in cases)):
        raise Malformed(f"the probe's 'cases' is not a list of {n} records")
    return cases


# ---------------------------------------------------------------- 5.1

_EVAL_N, _EVAL_BATCH = 53, 10  # the last batch holds 3
# Where the two largest reference logits of an example are closer than this, a right answer's float32
# arithmetic may rank them either way: that example's prediction counts as right or wrong. Float32
# rounding moves these logits (sums of 784 products, of size about 1) by less than 1e-6; about one
# seed in 30 has an example whose two largest logits are closer than 1e-4.
_NEAR_TIE = 1e-4


def _evaluate_inputs(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Images x (53, 1, 28, 28) in [0, 1) as float32, labels y (53,) as int64, and the probe model's
    weight (10, 784) and bias (10,), float32 values like nn.Linear's initial ones."""
    rng = rng_for(seed, 51)
    x = rng.random((_EVAL_N, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=_EVAL_N).astype(np.int64)
    W = rng.uniform(-1 / 28, 1 / 28, size=(10, 784)).astype(np.float32)
    b = rng.uniform(-1 / 28, 1 / 28, size=10).astype(np.float32)
    return x, y, W, b


def _probe_model(W: np.ndarray, b: np.ndarray, device):
    """A torch module (a float32 linear layer holding W, b, and dropout) that refuses, with the reason,
    how ``evaluate`` must not call it: a batch that is not flat, a batch on another device than the
    model, training mode, gradient tracking on."""
    import torch

    class Probe(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(784, 10, dtype=torch.float32)
            self.drop = torch.nn.Dropout(0.5)  # changes the logits unless the model is in eval mode

        def forward(self, x):
            if x.dim() != 2 or x.shape[1] != 784:
                raise Miss(f"The model received a batch of shape {tuple(x.shape)}; it takes flat images of shape "
                           "(batch, 784): flatten each batch before calling the model")
            if x.device != self.fc.weight.device:
                raise Miss(f"A batch on {x.device} reached a model on {self.fc.weight.device}: move each batch "
                           "to the model's device")
            if self.training:
                raise Miss("The model was still in training mode during evaluation (dropout and batch norm "
                           "behave differently there): switch it to evaluation mode first")
            if torch.is_grad_enabled():
                raise Miss("Gradient tracking was on during evaluation: it costs memory and time for nothing; "
                           "evaluate inside a block that turns it off")
            return self.drop(self.fc(x))

    with torch.random.fork_rng(devices=[]):  # the layer's own initialisation leaves the notebook's stream untouched
        model = Probe()
    with torch.no_grad():
        model.fc.weight.copy_(torch.from_numpy(W))
        model.fc.bias.copy_(torch.from_numpy(b))
    return model.to(device)


def probe_evaluate(evaluate: Callable, seed: int) -> dict:
    """Calls ``evaluate(model, loader)``: the model on :func:`course_utils.env.pick_device`'s device, in
    training mode (as after training), refusing a batch that is not flat, on another device, or met in
    training mode or with gradient tracking on; the loader 53 examples drawn from the seed, in batches
    of 10 (the last holds 3)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from ..env import pick_device
    x, y, W, b = _evaluate_inputs(seed)
    model = _probe_model(W, b, pick_device())
    model.train()  # as after training: evaluate must switch it
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=_EVAL_BATCH)
    return {"call": attempt(evaluate, model, loader)}


def judge_evaluate(data: dict, seed: int) -> None:
    """The reference is computed over all examples at once, in float64 on the CPU (cross-entropy by
    torch.nn.functional), from the same images, labels and weights."""
    import torch
    import torch.nn.functional as F
    out = pair("evaluate", outcome(field(data, "call")), "(mean loss, accuracy)")
    try:
        loss, acc = (as_float(v) for v in out)
    except (TypeError, ValueError):
        raise Miss(f"evaluate should return two numbers (mean loss, accuracy), got {type_name(out[0])} and "
                   f"{type_name(out[1])}") from None
    if not 0 <= acc <= 1:
        raise Miss(f"The accuracy should be a fraction between 0 and 1, got {acc:g}: divide the number of "
                   "correct predictions by the number of examples")
    x, y, W, b = _evaluate_inputs(seed)
    logits = x.reshape(_EVAL_N, 784).astype(np.float64) @ W.T.astype(np.float64) + b.astype(np.float64)
    expected_loss = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(y)).item()
    expected_acc = float(np.mean(logits.argmax(1) == y))
    near = logits >= logits.max(axis=1, keepdims=True) - _NEAR_TIE  # the classes a right answer may predict
    lowest = np.mean((logits.argmax(1) == y) & (near.sum(1) == 1))
    highest = np.mean(near[np.arange(_EVAL_N), y])
    hint = ("the last batch is smaller than the others (3 of 53 examples): weight each batch by its size, "
            "or add up over examples and divide by their total")
    if not lowest - 1e-6 <= acc <= highest + 1e-6:
        compare("accuracy", acc, expected_acc, rtol=1e-6, hint=hint)
    compare("mean loss", loss, expected_loss, rtol=1e-5, hint=hint)


check_evaluate = exercise_check("5.1", probe=probe_evaluate, judge=judge_evaluate, doc="""\
Check ``evaluate(model, loader) -> (mean loss per example, accuracy)`` over a whole DataLoader.

Inputs: evaluate, a function of a model (on :func:`course_utils.pick_device`'s device, as in the
notebook, left in training mode) and a DataLoader of (images (B, 1, 28, 28), labels (B,)), 53
examples drawn from the check's seed in batches of 10 (the last holds 3). The reference is
computed over all examples at once.""")


# ---------------------------------------------------------------- 5.2

_DEEPER_CASES = ((128, 64), (32, 16))  # (hidden1, hidden2): all sizes differ, so each layer is known by its size
_DEEPER_BATCH = 5


def _deeper_layer(seed: int, n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """The weight (n_out, n_in) and bias (n_out,) the check gives a linear layer of that size, float32
    values like nn.Linear's initial ones."""
    rng = rng_for(seed, 52, 1, int(n_in), int(n_out))
    bound = 1 / np.sqrt(n_in)
    return _float32(rng.uniform(-bound, bound, size=(n_out, n_in))), _float32(rng.uniform(-bound, bound, size=n_out))


def _deeper_x(seed: int, case: int) -> np.ndarray:
    """The images (5, 784) of case ``case``, float32 values."""
    return _float32(rng_for(seed, 52, 0, case).standard_normal((_DEEPER_BATCH, 784)))


def _build_model(DeeperNet, h1: int, h2: int, into: list) -> None:
    into.append(DeeperNet(h1, h2))


def _linear_layers(model, into: list) -> list:
    """[in_features, out_features, has a bias] of each nn.Linear in ``model``, in the model's order."""
    import torch
    into.extend(m for m in model.modules() if isinstance(m, torch.nn.Linear))
    return [[m.in_features, m.out_features, m.bias is not None] for m in into]


def _deeper_output(model, linears: list, seed: int, case: int):
    """The model's output for case ``case``'s images, once each linear layer holds the weights the seed
    gives its size; the images in the dtype (and on the device) of the layer that takes 784 inputs."""
    import torch
    with torch.no_grad():
        for m in linears:
            W, b = _deeper_layer(seed, m.in_features, m.out_features)
            m.weight.copy_(torch.from_numpy(W))  # copy_ casts to the layer's dtype and device
            if m.bias is not None:
                m.bias.copy_(torch.from_numpy(b))
        first = next((m for m in linears if m.in_features == 784), None)
        dtype, device = (first.weight.dtype, first.weight.device) if first is not None \
            else (torch.get_default_dtype(), None)
        return model(torch.tensor(_deeper_x(seed, case), dtype=dtype, device=device))


def probe_deeper_net(DeeperNet, seed: int) -> dict:
    """Builds ``DeeperNet(128, 64)`` and ``DeeperNet(32, 16)``; records the sizes of their linear layers,
    loads into each the weights the seed gives its size, and records the output for 5 images."""
    cases = []
    for k, (h1, h2) in enumerate(_DEEPER_CASES):
        built: list = []
        case = {"build": attempt(_build_model, DeeperNet, h1, h2, built)}
        cases.append(case)
        if not built:
            continue
        linears: list = []
        case["layers"] = attempt(_linear_layers, built[0], linears)
        if "value" in case["layers"]:
            case["output"] = attempt(_deeper_output, built[0], linears, seed, k)
    return {"cases": cases}


def _layer_sizes(layers) -> list[tuple[int, int, bool]]:
    if not isinstance(layers, list):
        raise Malformed("the linear layers are not a list")
    sizes = []
    for layer in layers:
        if not (isinstance(layer, list) and len(layer) == 3 and all(isinstance(v, int) for v in layer[:2])):
            raise Malformed("a linear layer is not [in, out, has a bias]")
        sizes.append((layer[0], layer[1], layer[2] is True))
    return sizes


def judge_deeper_net(data: dict, seed: int) -> None:
    """The reference applies the weights the seed gives each size with NumPy, layer after layer,
    following the sizes; so do the variants that name a misplaced or missing activation."""
    for k, (case, (h1, h2)) in enumerate(zip(_cases(data, len(_DEEPER_CASES)), _DEEPER_CASES)):
        outcome(field(case, "build"))
        layers = _layer_sizes(outcome(field(case, "layers")))
        shapes = sorted((n_in, n_out) for n_in, n_out, _ in layers)
        wanted = [(784, h1), (h1, h2), (h2, 10)]
        if shapes != sorted(wanted):
            raise Miss(f"DeeperNet({h1}, {h2}) has linear layers (in, out) {shapes}, expected three: "
                       f"784 → {h1}, {h1} → {h2}, {h2} → 10 (declared in any order)")
        if not all(has_bias for _, _, has_bias in layers):
            raise Miss(f"DeeperNet({h1}, {h2}) has a linear layer without a bias: keep each layer's bias "
                       "(nn.Linear has one unless told otherwise)")
        out = outcome(field(case, "output"))
        try:
            got = np.asarray(out, dtype=float) if isinstance(out, (np.ndarray, list, int, float)) else None
        except (TypeError, ValueError):
            got = None
        if got is None:
            raise Miss(f"DeeperNet({h1}, {h2}) should return a tensor of logits of shape ({_DEEPER_BATCH}, 10), "
                       f"got {type_name(out)}")
        if got.shape != (_DEEPER_BATCH, 10):
            raise Miss(f"DeeperNet({h1}, {h2}) gives output shape {got.shape} for {_DEEPER_BATCH} images, "
                       f"expected ({_DEEPER_BATCH}, 10): one logit per class")
        (W1, b1), (W2, b2), (W3, b3) = (_deeper_layer(seed, n_in, n_out) for n_in, n_out in wanted)
        xn = _deeper_x(seed, k)
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


check_deeper_net = exercise_check("5.2", probe=probe_deeper_net, judge=judge_deeper_net, doc="""\
Check ``DeeperNet(hidden1, hidden2)``: 784 -> hidden1 -> ReLU -> hidden2 -> ReLU -> 10 logits.

Inputs: DeeperNet, an nn.Module class; its model maps x (B, 784) to logits (B, 10). The layers
may be declared in any order and under any names: the check gives each linear layer weights drawn
from its seed by the layer's size, runs 5 images (in that layer's dtype) through the model, and the
reference applies the same weights with NumPy, layer after layer, following the sizes.""")
