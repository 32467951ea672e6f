"""Self-checks for notebook 04 (from scratch): Exercises 4.1 to 4.4.

References come from PyTorch (autograd, ``torch.optim``, ``torch.nn.functional``), computed before
the student's code runs; the student's code then runs with the tool it replaces made unavailable.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .core import Miss, autograd_targets, check_shape, close, compare, exercise_check, without

NOTEBOOK = "04_from_scratch_layers"  # the course id of the notebook these checks belong to

# (activation, batch N, n_in, n_out): identity first, so a wrong activation derivative is told apart
_LAYER_CASES = (("identity", 5, 3, 4), ("relu", 6, 4, 2), ("sigmoid", 4, 2, 5), ("tanh", 3, 5, 3))


def _torch_layer(activation: str, x, W, b, grad_out):
    """Forward output and gradients (W, b, x) of h(x W + b) by autograd, as NumPy arrays."""
    import torch
    h = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda t: t}[activation]
    xt, Wt, bt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, W, b))
    a = h(xt @ Wt + bt)
    a.backward(torch.tensor(grad_out, dtype=torch.float64))
    return a.detach().numpy(), Wt.grad.numpy(), bt.grad.numpy(), xt.grad.numpy()


@exercise_check("4.1")
def check_layer_backward(Layer) -> None:
    """Check ``Layer(n_in, n_out, activation)``'s backward pass against PyTorch's autograd.

    Inputs: Layer, a class with forward(x (N, n_in)) -> (N, n_out) and backward(grad_output
    (N, n_out)) -> grad_input (N, n_in) that sets grad_W (n_in, n_out) and grad_b (n_out,).
    The student's forward and backward run with autograd made unavailable.
    """
    rng = np.random.default_rng(41)
    passed = []
    for activation, n, d_in, d_out in _LAYER_CASES:
        layer = Layer(d_in, d_out, activation=activation)
        layer.W, layer.b = rng.normal(size=(d_in, d_out)), rng.normal(size=d_out)
        x, grad_out = rng.normal(size=(n, d_in)), rng.normal(size=(n, d_out))
        a_ref, gW_ref, gb_ref, gx_ref = _torch_layer(activation, x, layer.W, layer.b, grad_out)
        with without("4.1", "autograd", autograd_targets()):
            a = layer.forward(x)
            grad_in = layer.backward(grad_out)
        compare(f"forward output ({activation})", a, a_ref, rtol=1e-7,
                hint="forward is given: run its cell again, unchanged")
        if not (hasattr(layer, "grad_W") and hasattr(layer, "grad_b")):
            raise Miss("backward should set self.grad_W and self.grad_b (and return the input gradient)")
        got = {"grad_W": layer.grad_W, "grad_b": layer.grad_b, "input gradient": grad_in}
        ref = {"grad_W": gW_ref, "grad_b": gb_ref, "input gradient": gx_ref}
        wrong = [k for k in got if not close(got[k], ref[k], rtol=1e-7)]
        if not wrong:
            passed.append(activation)
            continue
        if passed and all(check_shape(k, got[k], ref[k]) is not None for k in wrong):
            raise Miss(f"{wrong[0]} ({activation}) differs. Your gradients are right for the {passed[0]} activation "
                       f"but not for {activation}: look at the chain rule through the activation (its derivative, "
                       "evaluated at the layer's pre-activation z)")
        hints = {"grad_W": "grad_W has W's shape (n_in, n_out): look at which two arrays you multiply, "
                           "their orientation, and that the batch is summed over",
                 "grad_b": "grad_b has b's shape (n_out,): one number per output unit, collected over the batch",
                 "input gradient": "the input gradient has x's shape (N, n_in): it goes back through W"}
        for k in wrong:
            compare(f"{k} ({activation})", got[k], ref[k], rtol=1e-7, hint=hints[k])


def _optim_targets() -> list[tuple[object, str]]:
    import torch
    return [(torch.optim, name) for name in dir(torch.optim) if isinstance(getattr(torch.optim, name), type)] \
        + [(torch.optim.Optimizer, "__init__"), (torch.optim.Optimizer, "step")]


def _rmsprop_reference(A, c, w0, lr, alpha, eps, steps):
    """(w, square_avg) after each of ``steps`` steps of torch.optim.RMSprop on 0.5 w'Aw - c'w."""
    import torch
    wt = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.RMSprop([wt], lr=lr, alpha=alpha, eps=eps)
    At, ct, out = torch.tensor(A), torch.tensor(c), []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * wt @ At @ wt - ct @ wt).backward()
        opt.step()
        out.append((wt.detach().numpy().copy(), opt.state[wt]["square_avg"].numpy().copy()))
    return out


def _student_rmsprop(rmsprop, A, c, w0, lr, alpha, eps, steps):
    w, sq, out = w0.copy(), np.zeros_like(w0), []
    for _ in range(steps):
        w, sq = rmsprop(w, A @ w - c, sq, lr=lr, alpha=alpha, eps=eps)
        w, sq = np.asarray(w, dtype=float), np.asarray(sq, dtype=float)
        out.append((w, sq))
    return out


@exercise_check("4.2")
def check_rmsprop(rmsprop: Callable) -> None:
    """Check ``rmsprop(w, grad, square_avg, lr, alpha, eps) -> (w, square_avg)`` against torch.optim.RMSprop.

    Inputs: rmsprop, one step on arrays of w's shape (D,). 20 steps on a convex quadratic with
    eps = 1e-3 (large enough that where it enters shows), run with torch.optim made unavailable.
    """
    rng = np.random.default_rng(42)
    A = rng.normal(size=(5, 5))
    A = A @ A.T + np.eye(5)  # a convex quadratic 0.5 w^T A w - c^T w
    c, w0 = rng.normal(size=5), rng.normal(size=5)
    lr, alpha, steps = 0.05, 0.9, 20
    reference = {eps: _rmsprop_reference(A, c, w0, lr, alpha, eps, steps) for eps in (1e-3, 0.0)}
    with without("4.2", "torch.optim", _optim_targets()):
        out = _student_rmsprop(rmsprop, A, c, w0, lr, alpha, 1e-3, steps)
    for step, ((w, sq), (w_ref, sq_ref)) in enumerate(zip(out, reference[1e-3]), start=1):
        compare(f"square_avg after step {step}", sq, sq_ref, rtol=1e-6, atol=1e-12,
                hint="look at the running average of squared gradients: compare the weight of the old average "
                     "and of the new squared gradient with the formula above")
        if close(w, w_ref, rtol=1e-6, atol=1e-9):
            continue
        with without("4.2", "torch.optim", _optim_targets()):
            at_eps0 = _student_rmsprop(rmsprop, A, c, w0, lr, alpha, 0.0, step)[-1][0]
        if close(at_eps0, reference[0.0][step - 1][0], rtol=1e-6, atol=1e-9):
            compare(f"w after step {step}", w, w_ref, rtol=1e-6, atol=1e-9,
                    hint="your step is right when eps = 0 but not otherwise: look at where ε enters the "
                         "denominator (the formula above adds it after the square root)")
        compare(f"w after step {step}", w, w_ref, rtol=1e-6, atol=1e-9,
                hint="the running average is right, the step is not: look at the step, the gradient scaled by "
                     "the learning rate and divided by the root of the running average (plus ε)")


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


def _torch_conv(x, w, b, stride, pad) -> np.ndarray:
    import torch
    import torch.nn.functional as F
    return F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=stride, padding=pad).numpy()


@exercise_check("4.3")
def check_conv2d_forward(conv2d_forward: Callable) -> None:
    """Check ``conv2d_forward(x, w, b, stride, pad)`` against ``torch.nn.functional.conv2d``.

    Inputs: conv2d_forward mapping x (N, C, H, W), w (F, C, kh, kw), b (F,) to (N, F, OH, OW); it
    runs with torch.nn.functional (and torch's convolutions) made unavailable.
    """
    rng = np.random.default_rng(43)
    for N, C, F, H, W, kh, kw, stride, pad in _CONV_CASES:
        x, w, b = rng.normal(size=(N, C, H, W)), rng.normal(size=(F, C, kh, kw)), rng.normal(size=F)
        expected = _torch_conv(x, w, b, stride, pad)
        flipped = _torch_conv(x, w[:, :, ::-1, ::-1].copy(), b, stride, pad)
        with without("4.3", "torch.nn.functional", _conv_targets()):
            out = conv2d_forward(x, w, b, stride=stride, pad=pad)
        case = f"for stride={stride}, pad={pad}, x {x.shape}, w {w.shape}"
        got = np.asarray(out, dtype=float) if isinstance(out, np.ndarray) else out
        got_shape = np.shape(got)
        if got_shape != expected.shape:
            if sorted(got_shape) == sorted(expected.shape):
                raise Miss(f"your output {case} has shape {got_shape}, expected (N, F, OH, OW) = {expected.shape}: "
                           "the axes are in the wrong order; look at how you rearrange the product")
            raise Miss(f"your output {case} has shape {got_shape}, expected {expected.shape}: the output size is "
                       "wrong; count how many kernel positions fit along H and along W once the input is padded "
                       "by pad on each side, stepping by stride")
        got = check_shape(f"output {case}", got, expected)
        if close(got, expected, rtol=1e-7):
            continue
        if close(got, flipped, rtol=1e-7):
            raise Miss(f"your output {case} is a convolution with the kernel flipped; deep-learning 'convolution' "
                       "(PyTorch's conv2d) is cross-correlation: do not flip the kernel")
        offset = expected - got  # constant per output channel when only the bias is wrong
        if np.allclose(offset, offset[:1, :, :1, :1], rtol=1e-7, atol=1e-9):
            if np.allclose(offset[0, :, 0, 0], b, rtol=1e-7):
                raise Miss(f"your output {case} is off by b[f] in each output channel f: the bias is missing")
            raise Miss(f"your output {case} is off by a constant in each output channel: the bias is added "
                       "wrongly (one value per output channel f, the same at every position)")
        if np.allclose(np.sort(got, axis=None), np.sort(expected, axis=None), rtol=1e-7):
            raise Miss(f"your output {case} holds the right numbers in the wrong places: the products are right; "
                       "look at how you rearrange them to (N, F, OH, OW) (which axis is which)")
        compare(f"output {case}", got, expected, rtol=1e-7,
                hint="the columns of im2col and the reshaped filters must list the C·kh·kw inputs in the same order")


_POOL_CASES = ((2, 2), (3, 3), (2, 1), (3, 2))  # non-overlapping windows first


@exercise_check("4.4")
def check_maxpool_backward(maxpool_backward: Callable) -> None:
    """Check ``maxpool_backward(dout, x, pool, stride) -> dx`` against autograd of ``max_pool2d``.

    Inputs: dout (N, C, OH, OW), x (N, C, H, W); returns dx (N, C, H, W). The student's code runs
    with autograd made unavailable.
    """
    import torch
    import torch.nn.functional as F
    rng = np.random.default_rng(44)
    passed_overlap_free = False
    for pool, stride in _POOL_CASES:
        N, C = 2, 3
        H, W = (int(v) for v in rng.integers(pool + 2, 9, size=2))
        x = rng.normal(size=(N, C, H, W))  # continuous values: no ties inside a window
        xt = torch.tensor(x, requires_grad=True)
        out, winners = F.max_pool2d(xt, pool, stride, return_indices=True)
        dout = rng.normal(size=tuple(out.shape))
        out.backward(torch.tensor(dout))
        expected = xt.grad.numpy()
        with without("4.4", "autograd", autograd_targets()):
            dx = maxpool_backward(dout, x, pool=pool, stride=stride)
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
