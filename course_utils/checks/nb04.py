"""Self-checks for notebook 04 (from scratch): Exercises 4.1 to 4.4.

Each probe runs the student's code on inputs drawn from its seed, with the tool the exercise replaces
made unavailable (autograd, ``torch.optim``, ``torch.nn.functional``); each judge computes the
reference with that very tool, from the same seed.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .core import (AUTOGRAD, Ban, Malformed, Miss, attempt, autograd_targets, check_shape, close, compare, decode,
                   exercise_check, field, outcome, pair, rng_for, type_name, without)

NOTEBOOK = "04_from_scratch_layers"  # the course id of the notebook these checks belong to


def _records(data: dict, key: str, n: int) -> list:
    """``data[key]``, which must be a list of ``n`` entries."""
    value = field(data, key)
    if not (isinstance(value, list) and len(value) == n):
        raise Malformed(f"the probe's {key!r} is not a list of {n}")
    return value


def _shape(value) -> tuple | None:
    """The shape of a decoded array, list or number; None for anything that is not numbers."""
    if not isinstance(value, (np.ndarray, list, int, float)):
        return None
    try:
        return np.asarray(value, dtype=float).shape
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- 4.1

# (activation, batch N, n_in, n_out): identity first, so a wrong activation derivative is told apart
_LAYER_CASES = (("identity", 5, 3, 4), ("relu", 6, 4, 2), ("sigmoid", 4, 2, 5), ("tanh", 3, 5, 3))


def _layer_inputs(seed: int) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """For each case: (activation, W (n_in, n_out), b (n_out,), x (N, n_in), grad_output (N, n_out))."""
    rng = rng_for(seed, 41)
    return [(activation, rng.normal(size=(d_in, d_out)), rng.normal(size=d_out), rng.normal(size=(n, d_in)),
             rng.normal(size=(n, d_out))) for activation, n, d_in, d_out in _LAYER_CASES]


def _torch_layer(activation: str, x, W, b, grad_out):
    """Forward output and gradients (W, b, x) of h(x W + b) by autograd, as NumPy arrays."""
    import torch
    h = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda t: t}[activation]
    xt, Wt, bt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, W, b))
    a = h(xt @ Wt + bt)
    a.backward(torch.tensor(grad_out, dtype=torch.float64))
    return a.detach().numpy(), Wt.grad.numpy(), bt.grad.numpy(), xt.grad.numpy()


def _build_layer(Layer, activation: str, W: np.ndarray, b: np.ndarray, into: list) -> None:
    layer = Layer(W.shape[0], W.shape[1], activation=activation)
    layer.W, layer.b = W.copy(), b.copy()
    into.append(layer)


def _layer_grads(layer) -> list | None:
    """[grad_W, grad_b] as the layer holds them after backward; None unless it holds both."""
    if not (hasattr(layer, "grad_W") and hasattr(layer, "grad_b")):
        return None
    return [layer.grad_W, layer.grad_b]


def probe_layer_backward(Layer, seed: int) -> dict:
    """For each activation (identity first): builds ``Layer(n_in, n_out, activation=...)``, sets its W and b
    from the seed, calls forward(x) then backward(grad_output) with autograd made unavailable, and
    records the output, the input gradient and the layer's grad_W and grad_b."""
    cases = []
    for activation, W, b, x, grad_out in _layer_inputs(seed):
        built: list = []
        case = {"build": attempt(_build_layer, Layer, activation, W, b, built)}
        cases.append(case)
        if not built:
            continue
        layer = built[0]
        with without("4.1", AUTOGRAD, autograd_targets()):
            case["forward"] = attempt(layer.forward, x.copy())
            if "value" in case["forward"]:
                case["backward"] = attempt(layer.backward, grad_out.copy())
        if "value" in case.get("backward", {}):
            case["grads"] = attempt(_layer_grads, layer)
    return {"cases": cases}


_LAYER_HINTS = {"grad_W": "grad_W has W's shape (n_in, n_out): look at which two arrays you multiply, "
                          "their orientation, and that the batch is summed over",
                "grad_b": "grad_b has b's shape (n_out,): one number per output unit, collected over the batch",
                "input gradient": "the input gradient has x's shape (N, n_in): it goes back through W"}


def judge_layer_backward(data: dict, seed: int) -> None:
    """The reference is PyTorch's autograd of h(x W + b), for the same W, b, x and grad_output."""
    passed = []
    for case, (activation, W, b, x, grad_out) in zip(_records(data, "cases", len(_LAYER_CASES)), _layer_inputs(seed)):
        if not isinstance(case, dict):
            raise Malformed("a case's record is not an object")
        outcome(field(case, "build"))
        a = outcome(field(case, "forward"))
        grad_in = outcome(field(case, "backward"))
        a_ref, gW_ref, gb_ref, gx_ref = _torch_layer(activation, x, W, b, grad_out)
        compare(f"forward output ({activation})", a, a_ref, rtol=1e-7,
                hint="forward is given: run its cell again, unchanged")
        grads = outcome(field(case, "grads"))
        if grads is None:
            raise Miss("backward should set self.grad_W and self.grad_b (and return the input gradient)")
        if not (isinstance(grads, list) and len(grads) == 2):
            raise Malformed("the layer's gradients are not a pair")
        got = {"grad_W": grads[0], "grad_b": grads[1], "input gradient": grad_in}
        ref = {"grad_W": gW_ref, "grad_b": gb_ref, "input gradient": gx_ref}
        wrong = [k for k in got if not close(got[k], ref[k], rtol=1e-7)]
        if not wrong:
            passed.append(activation)
            continue
        if passed and all(check_shape(k, got[k], ref[k]) is not None for k in wrong):
            raise Miss(f"{wrong[0]} ({activation}) differs. Your gradients are right for the {passed[0]} activation "
                       f"but not for {activation}: look at the chain rule through the activation (its derivative, "
                       "evaluated at the layer's pre-activation z)")
        for k in wrong:
            compare(f"{k} ({activation})", got[k], ref[k], rtol=1e-7, hint=_LAYER_HINTS[k])


check_layer_backward = exercise_check("4.1", probe=probe_layer_backward, judge=judge_layer_backward, ban=AUTOGRAD,
                                      doc="""\
Check ``Layer(n_in, n_out, activation)``'s backward pass against PyTorch's autograd.

Inputs: Layer, a class with forward(x (N, n_in)) -> (N, n_out) and backward(grad_output
(N, n_out)) -> grad_input (N, n_in) that sets grad_W (n_in, n_out) and grad_b (n_out,).
The student's forward and backward run with autograd made unavailable; W, b, x and grad_output
are drawn from the check's seed, for the identity, ReLU, sigmoid and tanh activations.""")


# ---------------------------------------------------------------- 4.2

_OPTIM = Ban("torch.optim", names=("torch.optim",))
_RMSPROP = dict(lr=0.05, alpha=0.9)
_RMSPROP_STEPS = 20
_RMSPROP_EPS = 1e-3  # large enough that where it enters shows


def _optim_targets() -> list[tuple[object, str]]:
    import torch
    return [(torch.optim, name) for name in dir(torch.optim) if isinstance(getattr(torch.optim, name), type)] \
        + [(torch.optim.Optimizer, "__init__"), (torch.optim.Optimizer, "step")]


def _rmsprop_inputs(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A (5, 5), c (5,) of a convex quadratic 0.5 w'Aw - c'w, and the start w0 (5,)."""
    rng = rng_for(seed, 42)
    A = rng.normal(size=(5, 5))
    A = A @ A.T + np.eye(5)
    return A, rng.normal(size=5), rng.normal(size=5)


def _rmsprop_reference(A, c, w0, eps: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """(w, square_avg) after each step of torch.optim.RMSprop on 0.5 w'Aw - c'w."""
    import torch
    wt = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.RMSprop([wt], eps=eps, **_RMSPROP)
    At, ct, out = torch.tensor(A, dtype=torch.float64), torch.tensor(c, dtype=torch.float64), []
    for _ in range(_RMSPROP_STEPS):
        opt.zero_grad()
        (0.5 * wt @ At @ wt - ct @ wt).backward()
        opt.step()
        out.append((wt.detach().numpy().copy(), opt.state[wt]["square_avg"].numpy().copy()))
    return out


def _run_rmsprop(rmsprop: Callable, A, c, w0, eps: float) -> list[dict]:
    """The record of each step, each called on the w and square_avg the previous step returned (as
    recorded); it stops after a step whose result is not two arrays of w's shape."""
    w, sq, records = w0.copy(), np.zeros_like(w0), []
    for _ in range(_RMSPROP_STEPS):
        record = attempt(rmsprop, w, A @ w - c, sq, eps=eps, **_RMSPROP)
        records.append(record)
        value = record.get("value")
        if not (isinstance(value, list) and len(value) == 2):
            break
        try:
            w, sq = (np.asarray(decode(v), dtype=float) for v in value)
        except (Malformed, TypeError, ValueError):
            break
        if w.shape != w0.shape or sq.shape != w0.shape:
            break
    return records


def probe_rmsprop(rmsprop: Callable, seed: int) -> dict:
    """Calls ``rmsprop(w, grad, square_avg, lr=0.05, alpha=0.9, eps=...)`` for 20 steps on a convex quadratic
    drawn from the seed, once with eps = 1e-3 and once with eps = 0, with torch.optim made unavailable."""
    A, c, w0 = _rmsprop_inputs(seed)
    with without("4.2", _OPTIM, _optim_targets()):
        steps = _run_rmsprop(rmsprop, A, c, w0, _RMSPROP_EPS)
        with np.errstate(divide="ignore", invalid="ignore"):
            steps_eps0 = _run_rmsprop(rmsprop, A, c, w0, 0.0)
    return {"steps": steps, "steps_eps0": steps_eps0}


def _rmsprop_result(records: list, step: int) -> list:
    """The (w, square_avg) the student's step ``step`` returned."""
    if step > len(records):
        raise Malformed(f"the probe recorded {len(records)} steps, fewer than {step}")
    return pair("rmsprop", outcome(records[step - 1]), "(w, square_avg)")


def _w_at_eps0(records: list, step: int):
    """w after ``step`` steps at eps = 0, or None where that run did not get there with two values."""
    if not isinstance(records, list) or step > len(records):
        return None
    value = outcome(records[step - 1])
    return value[0] if isinstance(value, list) and len(value) == 2 else None


def judge_rmsprop(data: dict, seed: int) -> None:
    """The reference is torch.optim.RMSprop on the same quadratic, from the same start, at both eps."""
    records, records_eps0 = field(data, "steps"), field(data, "steps_eps0")
    if not (isinstance(records, list) and records):
        raise Malformed("the probe's 'steps' is not a list of steps")
    A, c, w0 = _rmsprop_inputs(seed)
    reference = {eps: _rmsprop_reference(A, c, w0, eps) for eps in (_RMSPROP_EPS, 0.0)}
    for step, (w_ref, sq_ref) in enumerate(reference[_RMSPROP_EPS], start=1):
        w, sq = _rmsprop_result(records, step)
        compare(f"square_avg after step {step}", sq, sq_ref, rtol=1e-6, atol=1e-12,
                hint="look at the running average of squared gradients: compare the weight of the old average "
                     "and of the new squared gradient with the formula above")
        if close(w, w_ref, rtol=1e-6, atol=1e-9):
            continue
        at_eps0 = _w_at_eps0(records_eps0, step)
        if at_eps0 is not None and close(at_eps0, reference[0.0][step - 1][0], rtol=1e-6, atol=1e-9):
            compare(f"w after step {step}", w, w_ref, rtol=1e-6, atol=1e-9,
                    hint="your step is right when eps = 0 but not otherwise: look at where ε enters the "
                         "denominator (the formula above adds it after the square root)")
        compare(f"w after step {step}", w, w_ref, rtol=1e-6, atol=1e-9,
                hint="the running average is right, the step is not: look at the step, the gradient scaled by "
                     "the learning rate and divided by the root of the running average (plus ε)")


check_rmsprop = exercise_check("4.2", probe=probe_rmsprop, judge=judge_rmsprop, ban=_OPTIM, doc="""\
Check ``rmsprop(w, grad, square_avg, lr, alpha, eps) -> (w, square_avg)`` against torch.optim.RMSprop.

Inputs: rmsprop, one step on arrays of w's shape (D,). 20 steps on a convex quadratic drawn from the
check's seed with eps = 1e-3 (large enough that where it enters shows), and the same with eps = 0,
run with torch.optim made unavailable.""")


# ---------------------------------------------------------------- 4.3

_CONV = Ban("torch.nn.functional", names=("torch.nn.functional", "torch.conv2d", "torch.convolution",
                                          "torch.conv_transpose2d", "torch.nn.Conv2d"))


def _conv_targets() -> list[tuple[object, str]]:
    import inspect

    import torch
    import torch.nn.functional as F
    names = [n for n in dir(F) if not n.startswith("_") and callable(getattr(F, n))
             and not isinstance(getattr(F, n), type) and not inspect.ismodule(getattr(F, n))]
    return [(F, n) for n in names] + [(torch, n) for n in ("conv2d", "convolution", "conv_transpose2d")] \
        + [(torch.nn.Conv2d, "forward")]


# (N, C, F, H, W, kh, kw, stride, pad): N > 1 and N != F so that mixed-up axes show
_CONV_CASES = ((2, 3, 4, 7, 6, 3, 2, 1, 0), (3, 2, 2, 8, 7, 3, 3, 2, 1), (2, 1, 3, 6, 8, 2, 3, 1, 2),
               (4, 2, 3, 9, 8, 3, 2, 3, 0))


def _conv_inputs(seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, int, int]]:
    """For each case: x (N, C, H, W), w (F, C, kh, kw), b (F,), stride, pad."""
    rng = rng_for(seed, 43)
    return [(rng.normal(size=(N, C, H, W)), rng.normal(size=(F, C, kh, kw)), rng.normal(size=F), stride, pad)
            for N, C, F, H, W, kh, kw, stride, pad in _CONV_CASES]


def _torch_conv(x, w, b, stride, pad) -> np.ndarray:
    import torch
    import torch.nn.functional as F
    return F.conv2d(torch.tensor(x, dtype=torch.float64), torch.tensor(w, dtype=torch.float64),
                    torch.tensor(b, dtype=torch.float64), stride=stride, padding=pad).numpy()


def probe_conv2d_forward(conv2d_forward: Callable, seed: int) -> dict:
    """Calls ``conv2d_forward(x, w, b, stride=..., pad=...)`` on four cases drawn from the seed, with
    torch.nn.functional (and torch's convolutions) made unavailable."""
    with without("4.3", _CONV, _conv_targets()):
        calls = [attempt(conv2d_forward, x, w, b, stride=stride, pad=pad)
                 for x, w, b, stride, pad in _conv_inputs(seed)]
    return {"calls": calls}


def judge_conv2d_forward(data: dict, seed: int) -> None:
    """The reference is torch.nn.functional.conv2d on the same inputs."""
    for record, (x, w, b, stride, pad) in zip(_records(data, "calls", len(_CONV_CASES)), _conv_inputs(seed)):
        out = outcome(record)
        expected = _torch_conv(x, w, b, stride, pad)
        flipped = _torch_conv(x, w[:, :, ::-1, ::-1].copy(), b, stride, pad)
        case = f"for stride={stride}, pad={pad}, x {x.shape}, w {w.shape}"
        got_shape = _shape(out)
        if got_shape is None:
            raise Miss(f"Your output {case} should be an array of numbers with shape {expected.shape}, "
                       f"got {type_name(out)}")
        if got_shape != expected.shape:
            if sorted(got_shape) == sorted(expected.shape):
                raise Miss(f"Your output {case} has shape {got_shape}, expected (N, F, OH, OW) = {expected.shape}: "
                           "the axes are in the wrong order; look at how you rearrange the product")
            raise Miss(f"Your output {case} has shape {got_shape}, expected {expected.shape}: the output size is "
                       "wrong; count how many kernel positions fit along H and along W once the input is padded "
                       "by pad on each side, stepping by stride")
        got = check_shape(f"output {case}", out, expected)
        if close(got, expected, rtol=1e-7):
            continue
        if close(got, flipped, rtol=1e-7):
            raise Miss(f"Your output {case} is a convolution with the kernel flipped; deep-learning 'convolution' "
                       "(PyTorch's conv2d) is cross-correlation: do not flip the kernel")
        offset = expected - got  # constant per output channel when only the bias is wrong
        if np.allclose(offset, offset[:1, :, :1, :1], rtol=1e-7, atol=1e-9):
            if np.allclose(offset[0, :, 0, 0], b, rtol=1e-7):
                raise Miss(f"Your output {case} is off by b[f] in each output channel f: the bias is missing")
            raise Miss(f"Your output {case} is off by a constant in each output channel: the bias is added "
                       "wrongly (one value per output channel f, the same at every position)")
        if np.allclose(np.sort(got, axis=None), np.sort(expected, axis=None), rtol=1e-7):
            raise Miss(f"Your output {case} holds the right numbers in the wrong places: the products are right; "
                       "look at how you rearrange them to (N, F, OH, OW) (which axis is which)")
        compare(f"output {case}", got, expected, rtol=1e-7,
                hint="the columns of im2col and the reshaped filters must list the C·kh·kw inputs in the same order")


check_conv2d_forward = exercise_check("4.3", probe=probe_conv2d_forward, judge=judge_conv2d_forward, ban=_CONV,
                                      doc="""\
Check ``conv2d_forward(x, w, b, stride, pad)`` against ``torch.nn.functional.conv2d``.

Inputs: conv2d_forward mapping x (N, C, H, W), w (F, C, kh, kw), b (F,) to (N, F, OH, OW), on four
cases (N > 1 and N != F) whose values are drawn from the check's seed; it runs with
torch.nn.functional (and torch's convolutions) made unavailable.""")


# ---------------------------------------------------------------- 4.4

_POOL_CASES = ((2, 2), (3, 3), (2, 1), (3, 2))  # non-overlapping windows first


def _pool_inputs(seed: int) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """For each case: pool, stride, x (2, 3, H, W) and dout (2, 3, OH, OW), continuous values (no ties)."""
    rng = rng_for(seed, 44)
    cases = []
    for pool, stride in _POOL_CASES:
        H, W = (int(v) for v in rng.integers(pool + 2, 9, size=2))
        x = rng.normal(size=(2, 3, H, W))  # continuous values: no ties inside a window
        oh, ow = (H - pool) // stride + 1, (W - pool) // stride + 1
        cases.append((pool, stride, x, rng.normal(size=(2, 3, oh, ow))))
    return cases


def probe_maxpool_backward(maxpool_backward: Callable, seed: int) -> dict:
    """Calls ``maxpool_backward(dout, x, pool=..., stride=...)`` on four cases drawn from the seed (windows
    that do not overlap first), with autograd made unavailable."""
    with without("4.4", AUTOGRAD, autograd_targets()):
        calls = [attempt(maxpool_backward, dout, x, pool=pool, stride=stride)
                 for pool, stride, x, dout in _pool_inputs(seed)]
    return {"calls": calls}


def judge_maxpool_backward(data: dict, seed: int) -> None:
    """The reference is autograd of ``torch.nn.functional.max_pool2d`` on the same inputs."""
    import torch
    import torch.nn.functional as F
    passed_overlap_free = False
    for record, (pool, stride, x, dout) in zip(_records(data, "calls", len(_POOL_CASES)), _pool_inputs(seed)):
        dx = outcome(record)
        N, C = x.shape[:2]
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        out, winners = F.max_pool2d(xt, pool, stride, return_indices=True)
        out.backward(torch.tensor(dout, dtype=torch.float64))
        expected = xt.grad.numpy()
        name = f"dx for pool={pool}, stride={stride}, x {x.shape}"
        got = check_shape(name, dx, expected)
        if close(got, expected, rtol=1e-7):
            passed_overlap_free |= stride >= pool
            continue
        is_max = np.zeros(x.shape, dtype=bool).reshape(N, C, -1)
        np.put_along_axis(is_max, winners.numpy().reshape(N, C, -1), True, axis=2)
        is_max = is_max.reshape(x.shape)
        covered = np.zeros(x.shape, dtype=bool)  # inputs inside at least one window
        oh, ow = out.shape[2:]
        for i in range(pool):
            for j in range(pool):
                covered[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] = True
        stray = (got != 0) & ~is_max
        if stray.any():
            if np.count_nonzero(got[covered]) >= 0.9 * covered.sum():
                raise Miss(f"{name}: the gradient reaches every input of a window; only each window's largest "
                           "input receives that window's gradient")
            raise Miss(f"{name}: some gradient lands on an input that is not the maximum of its window: look at "
                       "how you turn the position of the maximum inside a window into a row and a column")
        if stride < pool and passed_overlap_free:
            compare(name, got, expected, rtol=1e-7,
                    hint="right where windows do not overlap, wrong where windows overlap (stride < pool): an "
                         "input that is the maximum of several windows receives the sum of their gradients")
        compare(name, got, expected, rtol=1e-7,
                hint="each window's gradient goes to its largest input, with the window's own value from dout")


check_maxpool_backward = exercise_check("4.4", probe=probe_maxpool_backward, judge=judge_maxpool_backward,
                                        ban=AUTOGRAD, doc="""\
Check ``maxpool_backward(dout, x, pool, stride) -> dx`` against autograd of ``max_pool2d``.

Inputs: dout (N, C, OH, OW), x (N, C, H, W), drawn from the check's seed (continuous values: no
ties inside a window); returns dx (N, C, H, W). The student's code runs with autograd made
unavailable.""")
