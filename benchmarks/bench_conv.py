"""Convolution speed: the lecture's naive loops vs notebook 04's vectorized NumPy vs PyTorch.

One 3x32x32 image, 16 filters of 3x3 (the lecture's example). All times are measured in this run;
the ratios are what to compare (goals: vectorized forward >= 300x the loops and within 3x of torch;
vectorized backward within 5x of torch's backward). Exits 1 when a goal is missed.
"""
import sys
import timeit

import numpy as np
import torch
import torch.nn.functional as F

from notebook_code import load_definitions


def best(fn, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=7)) / number


def main() -> int:
    nb = load_definitions("04_from_scratch_layers.ipynb", {"Conv2D", "im2col", "conv2d_forward", "conv2d_backward"})
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 3, 32, 32))
    conv = nb["Conv2D"](3, 16, kernel_size=3)
    w, b = conv.filters, conv.bias
    dout = rng.normal(size=(1, 16, 30, 30))
    xt, wt, bt, dt = (torch.tensor(v) for v in (x, w, b, dout))
    xg, wg, bg = (v.clone().requires_grad_(True) for v in (xt, wt, bt))

    def torch_fwd_bwd():
        xg.grad = wg.grad = bg.grad = None
        F.conv2d(xg, wg, bg).backward(dt)

    assert np.allclose(conv.forward(x), nb["conv2d_forward"](x, w, b))
    t = {
        "naive forward": best(lambda: conv.forward(x), 1),
        "vectorized forward": best(lambda: nb["conv2d_forward"](x, w, b), 300),
        "torch forward": best(lambda: F.conv2d(xt, wt, bt), 300),
        "vectorized backward": best(lambda: nb["conv2d_backward"](dout, x, w), 300),
        "torch forward+backward": best(torch_fwd_bwd, 300),
    }
    t["torch backward"] = t["torch forward+backward"] - t["torch forward"]
    for name, seconds in t.items():
        print(f"{name:<24} {seconds * 1e3:10.4f} ms")
    speedup = t["naive forward"] / t["vectorized forward"]
    fwd = t["vectorized forward"] / t["torch forward"]
    bwd = t["vectorized backward"] / t["torch backward"]
    goals = [
        (f"vectorized forward vs naive loops: {speedup:8.0f}x faster   (goal >= 300x)", speedup >= 300),
        (f"vectorized forward / torch:        {fwd:8.2f}x the time  (goal <= 3x)", fwd <= 3),
        (f"vectorized backward / torch:       {bwd:8.2f}x the time  (goal <= 5x)", bwd <= 5),
    ]
    for line, met in goals:
        print(f"{line}  {'met' if met else 'MISSED'}")
    return 0 if all(met for _, met in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
