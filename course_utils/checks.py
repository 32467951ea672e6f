"""Self-checks for exercises: run the student's code against an oracle, explain any miss.

Every check compares with a reference computed on the spot (scikit-learn, torch or a numerical
gradient) on fresh random inputs, never with a stored copy of the answer. A check returns a
:class:`CheckResult`:

- ``passed``: the answer agrees with the oracle;
- ``not attempted``: the code still raises ``NotImplementedError`` (the notebook keeps running);
- ``failed``: raises :class:`ExerciseFailed`, whose message says what differs, where, and the
  usual cause. In Jupyter it prints as that message alone, not as a traceback.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"
RESULTS: dict[str, "CheckResult"] = {}  # latest result per exercise, for graders


@dataclass(frozen=True)
class CheckResult:
    exercise: str
    status: str
    message: str = ""

    def __str__(self) -> str:
        mark = {PASSED: "✓", FAILED: "✗", NOT_ATTEMPTED: "…"}[self.status]
        return f"{mark} Exercise {self.exercise}: {self.status}" + (f". {self.message}" if self.message else "")

    __repr__ = __str__


class ExerciseFailed(AssertionError):
    """A wrong answer. Shown in Jupyter as its message only."""

    def __init__(self, result: CheckResult):
        super().__init__(str(result))
        self.result = result

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [str(self.result)]


class Miss(Exception):
    """Raised inside a check body to report what differs."""


def exercise_check(exercise: str) -> Callable:
    """Decorator turning ``body(*student_code) -> None`` (raising :class:`Miss`) into a check."""
    def wrap(body: Callable) -> Callable:
        @functools.wraps(body)
        def check(*student, raise_on_fail: bool = True) -> CheckResult:
            try:
                body(*student)
                result = CheckResult(exercise, PASSED)
            except NotImplementedError:
                result = CheckResult(exercise, NOT_ATTEMPTED, "Fill in the code above, run it, then run this cell")
            except Miss as miss:
                result = CheckResult(exercise, FAILED, str(miss))
            except Exception as e:  # the student's code crashed: say where, briefly
                result = CheckResult(exercise, FAILED, f"your code raised {type(e).__name__}: {e}")
            RESULTS[exercise] = result
            if result.status == FAILED and raise_on_fail:
                raise ExerciseFailed(result)
            return result  # shown by Jupyter as the cell's value
        check.exercise = exercise
        return check
    return wrap


def compare(name: str, got, expected, *, rtol: float = 1e-5, atol: float = 1e-8, hint: str = "") -> None:
    """Raise :class:`Miss` unless ``got`` matches ``expected`` in shape and value, saying how it differs."""
    expected = np.asarray(expected, dtype=float)
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise Miss(f"{name} should be an array of numbers with shape {expected.shape}, got {type(got).__name__}")
    if got.shape != expected.shape:
        cause = ""
        if got.shape == expected.shape[::-1] and got.ndim == 2:
            cause = " (transposed: a missing or extra .T?)"
        elif got.size == expected.size:
            cause = " (same numbers of entries: a reshape or an axis mix-up?)"
        elif got.ndim == expected.ndim - 1 or got.ndim + 1 == expected.ndim:
            cause = " (one axis too few or too many: a sum over the wrong axis, or keepdims?)"
        raise Miss(f"{name} has shape {got.shape}, expected {expected.shape}{cause}")
    if not np.all(np.isfinite(got)):
        raise Miss(f"{name} contains NaN or inf")
    if np.allclose(got, expected, rtol=rtol, atol=atol):
        return
    err = np.abs(got - expected) / (np.abs(expected) + atol)
    where = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    msg = (f"{name} differs: largest relative error {float(err.max()):.2e} at index {tuple(int(i) for i in where)} "
           f"(got {float(got[where]):.6g}, expected {float(expected[where]):.6g})")
    raise Miss(msg + (f". {hint}" if hint else ""))


# ---------------------------------------------------------------- notebook 02: two moons

def _moons(seed: int, n: int = 80):
    from sklearn.datasets import make_moons
    return make_moons(n_samples=n, noise=0.25, random_state=seed)


@exercise_check("2.1")
def check_boundary_line(boundary_line: Callable) -> None:
    """``boundary_line(model) -> (slope, intercept)`` of a fitted 2-D LogisticRegression's boundary."""
    from sklearn.linear_model import LogisticRegression
    rng = np.random.default_rng(21)
    for seed in range(3):
        X, y = _moons(seed)
        X = X * rng.uniform(0.5, 2, size=2)  # another scale each time: no hard-coded line passes
        model = LogisticRegression().fit(X, y)
        out = boundary_line(model)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise Miss(f"boundary_line should return a tuple (slope, intercept), got {out!r}")
        slope, intercept = (float(v) for v in out)
        x1 = np.linspace(X[:, 0].min(), X[:, 0].max(), 7)
        on_line = np.c_[x1, slope * x1 + intercept]
        compare("decision_function on your line", model.decision_function(on_line), np.zeros(7), atol=1e-6,
                hint="On the boundary w1*x1 + w2*x2 + b = 0; solve for x2 (check the signs and which weight divides)")


@exercise_check("2.2")
def check_mlp_forward(forward: Callable) -> None:
    """``forward(mlp, X) -> P(class 1)`` (N,) computed by hand from ``mlp.coefs_`` and ``mlp.intercepts_``."""
    import warnings

    from sklearn.neural_network import MLPClassifier
    for seed, hidden in ((0, (6,)), (1, (5, 4)), (2, (3, 7, 2))):
        X, y = _moons(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a few iterations only: convergence is not the point
            mlp = MLPClassifier(hidden_layer_sizes=hidden, max_iter=30, random_state=seed).fit(X, y)
        points = np.random.default_rng(seed).normal(size=(11, 2))
        compare(f"forward(mlp, X) for hidden layers {hidden}", forward(mlp, points), mlp.predict_proba(points)[:, 1],
                rtol=1e-6, hint="Hidden layers use ReLU, the output the logistic sigmoid; x @ W + b, not W @ x")


# ---------------------------------------------------------------- notebook 04: from scratch

def _torch_activation(name: str):
    import torch
    return {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda z: z}[name]


@exercise_check("4.1")
def check_layer_backward(Layer) -> None:
    """``Layer(n_in, n_out, activation)``: forward(x) then backward(grad_output) against torch autograd."""
    import torch
    rng = np.random.default_rng(41)
    for activation in ("relu", "sigmoid", "tanh", "identity"):
        n, d_in, d_out = (int(v) for v in rng.integers(2, 7, size=3))
        layer = Layer(d_in, d_out, activation=activation)
        layer.W, layer.b = rng.normal(size=(d_in, d_out)), rng.normal(size=d_out)
        x, grad_out = rng.normal(size=(n, d_in)), rng.normal(size=(n, d_out))
        a = layer.forward(x)
        grad_in = layer.backward(grad_out)
        xt = torch.tensor(x, requires_grad=True)
        Wt, bt = torch.tensor(layer.W, requires_grad=True), torch.tensor(layer.b, requires_grad=True)
        at = _torch_activation(activation)(xt @ Wt + bt)
        (at * torch.tensor(grad_out)).sum().backward()
        compare(f"forward output ({activation})", a, at.detach().numpy(), rtol=1e-7)
        compare(f"grad_W ({activation})", layer.grad_W, Wt.grad.numpy(), rtol=1e-7,
                hint="grad_W = x.T @ grad_z, where grad_z = grad_output * h'(z)")
        compare(f"grad_b ({activation})", layer.grad_b, bt.grad.numpy(), rtol=1e-7,
                hint="grad_b sums grad_z over the batch (axis 0)")
        compare(f"returned input gradient ({activation})", grad_in, xt.grad.numpy(), rtol=1e-7,
                hint="the input gradient is grad_z @ W.T")


@exercise_check("4.2")
def check_rmsprop(rmsprop) -> None:
    """``rmsprop(w, grad, square_avg, lr, alpha, eps) -> (w, square_avg)`` against torch.optim.RMSprop."""
    import torch
    rng = np.random.default_rng(42)
    A = rng.normal(size=(5, 5))
    A = A @ A.T + np.eye(5)  # a convex quadratic 0.5 w^T A w - c^T w
    c = rng.normal(size=5)
    lr, alpha, eps = 0.05, 0.9, 1e-8
    w0 = rng.normal(size=5)
    w, sq = w0.copy(), np.zeros(5)
    wt = torch.tensor(w0, requires_grad=True)
    opt = torch.optim.RMSprop([wt], lr=lr, alpha=alpha, eps=eps)
    for step in range(1, 21):
        w, sq = rmsprop(w, A @ w - c, sq, lr=lr, alpha=alpha, eps=eps)
        opt.zero_grad()
        (0.5 * wt @ torch.tensor(A) @ wt - torch.tensor(c) @ wt).backward()
        opt.step()
        compare(f"w after step {step}", w, wt.detach().numpy(), rtol=1e-6, atol=1e-9,
                hint="square_avg = alpha * square_avg + (1 - alpha) * grad**2; w -= lr * grad / (sqrt(square_avg) + eps)")


def _torch_conv(x, w, b, stride, pad):
    import torch
    import torch.nn.functional as F
    return F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=stride, padding=pad).numpy()


@exercise_check("4.3")
def check_conv2d_forward(conv2d_forward) -> None:
    """``conv2d_forward(x, w, b, stride, pad)``: x (N, C, H, W), w (F, C, kh, kw) -> (N, F, OH, OW)."""
    rng = np.random.default_rng(43)
    for stride, pad in ((1, 0), (2, 1), (1, 2), (3, 0)):
        N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
        kh, kw = (int(v) for v in rng.integers(1, 4, size=2))
        H, W = (int(v) for v in rng.integers(5, 9, size=2))
        x, w, b = rng.normal(size=(N, C, H, W)), rng.normal(size=(F, C, kh, kw)), rng.normal(size=F)
        expected = _torch_conv(x, w, b, stride, pad)
        got = np.asarray(conv2d_forward(x, w, b, stride=stride, pad=pad), dtype=float)
        if got.shape == expected.shape and np.allclose(got, _torch_conv(x, w[:, :, ::-1, ::-1].copy(), b, stride, pad)) \
                and not np.allclose(got, expected):
            raise Miss("your output is a convolution with the kernel flipped; deep-learning 'convolution' "
                       "(PyTorch's conv2d) is cross-correlation: do not flip the kernel")
        compare(f"output for stride={stride}, pad={pad}, x {x.shape}, w {w.shape}", got, expected, rtol=1e-7,
                hint="OH = (H + 2*pad - kh) // stride + 1; pad H and W only, not N or C")


@exercise_check("4.4")
def check_maxpool_backward(maxpool_backward) -> None:
    """``maxpool_backward(dout, x, pool, stride) -> dx`` against torch's max_pool2d autograd."""
    import torch
    import torch.nn.functional as F
    rng = np.random.default_rng(44)
    for pool, stride in ((2, 2), (3, 3), (2, 1), (3, 2)):
        N, C = (int(v) for v in rng.integers(1, 4, size=2))
        H, W = (int(v) for v in rng.integers(pool + 1, 9, size=2))
        x = rng.normal(size=(N, C, H, W))  # continuous values: no ties inside a window
        xt = torch.tensor(x, requires_grad=True)
        out = F.max_pool2d(xt, pool, stride)
        dout = rng.normal(size=tuple(out.shape))
        out.backward(torch.tensor(dout))
        compare(f"dx for pool={pool}, stride={stride}, x {x.shape}", maxpool_backward(dout, x, pool=pool, stride=stride),
                xt.grad.numpy(), rtol=1e-7,
                hint="only the largest input of each window receives that window's gradient; "
                     "overlapping windows (stride < pool) add up")


# ---------------------------------------------------------------- notebooks 05 and 06: Fashion-MNIST

@exercise_check("5.1")
def check_deeper_net(DeeperNet) -> None:
    """``DeeperNet(hidden1, hidden2)``: 784 -> hidden1 -> ReLU -> hidden2 -> ReLU -> 10 logits."""
    import torch
    for h1, h2 in ((128, 64), (32, 16)):
        model = DeeperNet(h1, h2)
        linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
        shapes = [(m.in_features, m.out_features) for m in linears]
        if shapes != [(784, h1), (h1, h2), (h2, 10)]:
            raise Miss(f"DeeperNet({h1}, {h2}) has linear layers {shapes}, expected [(784, {h1}), ({h1}, {h2}), ({h2}, 10)]")
        x = torch.randn(5, 784)
        out = model(x)
        if tuple(out.shape) != (5, 10):
            raise Miss(f"output shape {tuple(out.shape)}, expected (5, 10): one logit per class, no softmax needed")
        # the oracle: the same layers applied by hand with ReLU between them
        a = x
        for i, m in enumerate(linears):
            a = m(a) if i == len(linears) - 1 else torch.relu(m(a))
        compare("output", out.detach().numpy(), a.detach().numpy(), rtol=1e-5, atol=1e-6,
                hint="apply ReLU after each hidden layer, and nothing after the output layer")


@exercise_check("5.2")
def check_evaluate(evaluate) -> None:
    """``evaluate(model, loader) -> (mean loss per example, accuracy)`` over a whole DataLoader."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    gen = torch.Generator().manual_seed(52)
    x, y = torch.rand(53, 784, generator=gen), torch.randint(0, 10, (53,), generator=gen)
    model = torch.nn.Sequential(torch.nn.Linear(784, 10))
    loader = DataLoader(TensorDataset(x, y), batch_size=10)  # the last batch holds only 3 examples
    with torch.no_grad():
        logits = model(x)
        expected_loss = torch.nn.functional.cross_entropy(logits, y).item()
        expected_acc = (logits.argmax(1) == y).float().mean().item()
    out = evaluate(model, loader)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise Miss(f"evaluate should return (loss, accuracy), got {out!r}")
    loss, acc = (float(v) for v in out)
    hint = "weight each batch by its size (the last batch is smaller), or sum over examples and divide by the total"
    compare("accuracy", acc, expected_acc, rtol=1e-6, hint=hint)
    compare("mean loss", loss, expected_loss, rtol=1e-5, hint=hint)


@exercise_check("6.1")
def check_grad_norm(grad_norm) -> None:
    """``grad_norm(model) -> float``: the L2 norm of all parameter gradients taken together."""
    import torch
    torch.manual_seed(61)
    model = torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    model(torch.randn(4, 7)).pow(2).sum().backward()
    grads = [p.grad.detach().clone() for p in model.parameters()]
    expected = torch.sqrt(sum((g ** 2).sum() for g in grads)).item()
    got = grad_norm(model)
    compare("grad_norm(model)", float(got), expected, rtol=1e-5,
            hint="square every gradient entry of every parameter, sum them all, then take one square root")
    if any(not torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads)):
        raise Miss("grad_norm changed the gradients; it should only read them")


@exercise_check("6.2")
def check_per_class_accuracy(per_class_accuracy) -> None:
    """``per_class_accuracy(predictions, labels, n_classes) -> (n_classes,)`` recall of each class."""
    rng = np.random.default_rng(62)
    labels = rng.integers(0, 4, 200)
    predictions = np.where(rng.random(200) < 0.7, labels, rng.integers(0, 4, 200))
    expected = np.array([np.mean(predictions[labels == k] == k) for k in range(4)])
    compare("per-class accuracy", per_class_accuracy(predictions, labels, 4), expected, rtol=1e-9,
            hint="for class k: among examples whose true label is k, the share predicted k (rows of the confusion matrix)")
