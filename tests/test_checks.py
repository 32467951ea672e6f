"""course_utils.checks: each check passes a correct answer, reports a stub, explains a plausible mistake."""
import numpy as np
import pytest

from course_utils import checks
from course_utils.checks import FAILED, NOT_ATTEMPTED, PASSED, ExerciseFailed, Miss, compare


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: fill me in")


def relu(z):
    return np.maximum(z, 0)


def forward_correct(mlp, X):
    a = X
    for W, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
        a = relu(a @ W + b)
    z = a @ mlp.coefs_[-1] + mlp.intercepts_[-1]
    return 1 / (1 + np.exp(-z[:, 0]))


def forward_no_activation(mlp, X):  # forgets the hidden ReLU: a plausible mistake
    a = X
    for W, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
        a = a @ W + b
    z = a @ mlp.coefs_[-1] + mlp.intercepts_[-1]
    return 1 / (1 + np.exp(-z[:, 0]))


def forward_keeps_column(mlp, X):  # returns (N, 1) instead of (N,)
    return forward_correct(mlp, X)[:, None]


def line_correct(model):
    (w1, w2), b = model.coef_[0], model.intercept_[0]
    return -w1 / w2, -b / w2


def line_sign_error(model):
    (w1, w2), b = model.coef_[0], model.intercept_[0]
    return w1 / w2, -b / w2


CASES = [
    (checks.check_boundary_line, line_correct, line_sign_error, "decision_function on your line differs"),
    (checks.check_mlp_forward, forward_correct, forward_no_activation, "largest relative error"),
    (checks.check_mlp_forward, forward_correct, forward_keeps_column, "has shape (11, 1), expected (11,)"),
]


@pytest.mark.parametrize("check, good, bad, message", CASES)
def test_check_passes_correct_answer(check, good, bad, message):
    assert check(good).status == PASSED
    assert checks.RESULTS[check.exercise].status == PASSED


@pytest.mark.parametrize("check, good, bad, message", CASES)
def test_check_reports_stub_as_not_attempted(check, good, bad, message):
    result = check(stub)  # no exception: the notebook keeps running
    assert result.status == NOT_ATTEMPTED
    assert str(result).startswith(f"… Exercise {check.exercise}: not attempted")


@pytest.mark.parametrize("check, good, bad, message", CASES)
def test_check_explains_plausible_mistake(check, good, bad, message):
    with pytest.raises(ExerciseFailed) as err:
        check(bad)
    assert message in str(err.value)
    assert err.value._render_traceback_() == [str(err.value.result)]
    assert check(bad, raise_on_fail=False).status == FAILED


def test_crashing_answer_is_a_failure_with_the_error():
    result = checks.check_mlp_forward(lambda mlp, X: X @ np.ones((3, 3)), raise_on_fail=False)
    assert result.status == FAILED and "your code raised ValueError" in result.message


def test_compare_messages():
    with pytest.raises(Miss, match=r"transposed"):
        compare("W", np.zeros((3, 2)), np.zeros((2, 3)))
    with pytest.raises(Miss, match=r"sum over the wrong axis"):
        compare("b", np.zeros(3), np.zeros((2, 3)))
    with pytest.raises(Miss, match=r"NaN"):
        compare("x", np.array([np.nan]), np.array([1.0]))
    with pytest.raises(Miss, match=r"at index \(1,\) \(got 5, expected 2\)"):
        compare("x", np.array([1.0, 5.0]), np.array([1.0, 2.0]))
    with pytest.raises(Miss, match=r"should be an array of numbers"):
        compare("x", "abc", np.array([1.0]))
    compare("x", [1.0, 2.0 + 1e-9], [1.0, 2.0])


# ---------------------------------------------------------------- notebook 04 checks

ACT = {"relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
       "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
       "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
       "identity": (lambda z: z, lambda z: np.ones_like(z))}


class LayerGood:
    def __init__(self, n_in, n_out, activation="relu"):
        self.W, self.b = np.zeros((n_in, n_out)), np.zeros(n_out)
        self.activation, self.activation_derivative = ACT[activation]

    def forward(self, x):
        self.x, self.z = x, x @ self.W + self.b
        return self.activation(self.z)

    def backward(self, g):
        gz = g * self.activation_derivative(self.z)
        self.grad_W, self.grad_b = self.x.T @ gz, gz.sum(0)
        return gz @ self.W.T


class LayerNoActivationGrad(LayerGood):  # forgets h'(z)
    def backward(self, g):
        self.grad_W, self.grad_b = self.x.T @ g, g.sum(0)
        return g @ self.W.T


class LayerStub(LayerGood):
    def backward(self, g):
        raise NotImplementedError


def rmsprop_good(w, grad, sq, lr=0.01, alpha=0.99, eps=1e-8):
    sq = alpha * sq + (1 - alpha) * grad**2
    return w - lr * grad / (np.sqrt(sq) + eps), sq


def rmsprop_no_decay_weight(w, grad, sq, lr=0.01, alpha=0.99, eps=1e-8):
    sq = alpha * sq + grad**2  # forgets (1 - alpha)
    return w - lr * grad / (np.sqrt(sq) + eps), sq


def conv_good(x, w, b, stride=1, pad=0):
    import torch
    import torch.nn.functional as F
    return F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=stride, padding=pad).numpy()


def conv_flipped(x, w, b, stride=1, pad=0):
    return conv_good(x, w[:, :, ::-1, ::-1].copy(), b, stride, pad)


def conv_ignores_stride(x, w, b, stride=1, pad=0):
    return conv_good(x, w, b, 1, pad)


def maxpool_bwd_good(dout, x, pool=2, stride=2):
    import torch
    import torch.nn.functional as F
    xt = torch.tensor(x, requires_grad=True)
    F.max_pool2d(xt, pool, stride).backward(torch.tensor(dout))
    return xt.grad.numpy()


def maxpool_bwd_spread(dout, x, pool=2, stride=2):  # spreads like average pooling
    import torch
    import torch.nn.functional as F
    xt = torch.tensor(x, requires_grad=True)
    (F.avg_pool2d(xt, pool, stride) * pool * pool).backward(torch.tensor(dout) / (pool * pool))
    return xt.grad.numpy()


CASES_04 = [
    (checks.check_layer_backward, LayerGood, LayerNoActivationGrad, LayerStub, "grad_W (relu) differs"),
    (checks.check_rmsprop, rmsprop_good, rmsprop_no_decay_weight, stub, "w after step 1 differs"),
    (checks.check_conv2d_forward, conv_good, conv_flipped, stub, "kernel flipped"),
    (checks.check_conv2d_forward, conv_good, conv_ignores_stride, stub, "has shape"),
    (checks.check_maxpool_backward, maxpool_bwd_good, maxpool_bwd_spread, stub, "only the largest input"),
]




# ---------------------------------------------------------------- notebooks 05 and 06 checks
import torch  # noqa: E402


class DeeperGood(torch.nn.Module):
    def __init__(self, h1, h2):
        super().__init__()
        self.a, self.b, self.c = torch.nn.Linear(784, h1), torch.nn.Linear(h1, h2), torch.nn.Linear(h2, 10)

    def forward(self, x):
        return self.c(torch.relu(self.b(torch.relu(self.a(x)))))


class DeeperNoRelu(DeeperGood):  # forgets the second ReLU
    def forward(self, x):
        return self.c(self.b(torch.relu(self.a(x))))


class DeeperStub(torch.nn.Module):
    def __init__(self, h1, h2):
        raise NotImplementedError


def evaluate_good(model, loader):
    total, loss, correct = 0, 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            loss += torch.nn.functional.cross_entropy(out, y, reduction="sum").item()
            correct += (out.argmax(1) == y).sum().item()
            total += len(y)
    return loss / total, correct / total


def evaluate_mean_of_batches(model, loader):  # averages per-batch numbers: wrong with a short last batch
    losses, accs = [], []
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            losses.append(torch.nn.functional.cross_entropy(out, y).item())
            accs.append((out.argmax(1) == y).float().mean().item())
    return float(np.mean(losses)), float(np.mean(accs))


def grad_norm_good(model):
    return torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters())).item()


def grad_norm_sum_of_norms(model):  # adds per-parameter norms
    return sum(p.grad.norm().item() for p in model.parameters())


def per_class_good(pred, labels, k):
    return np.array([np.mean(pred[labels == c] == c) for c in range(k)])


def per_class_precision(pred, labels, k):  # divides by predicted counts instead
    return np.array([np.mean(labels[pred == c] == c) for c in range(k)])


CASES_0506 = [
    (checks.check_deeper_net, DeeperGood, DeeperNoRelu, DeeperStub, "apply ReLU after each hidden layer"),
    (checks.check_evaluate, evaluate_good, evaluate_mean_of_batches, stub, "weight each batch by its size"),
    (checks.check_grad_norm, grad_norm_good, grad_norm_sum_of_norms, stub, "one square root"),
    (checks.check_per_class_accuracy, per_class_good, per_class_precision, stub, "among examples whose true label is k"),
]


@pytest.mark.parametrize("check, good, bad, unfilled, message", CASES_04 + CASES_0506)
def test_check_passes_reports_stub_and_explains_mistake(check, good, bad, unfilled, message):
    assert check(good).status == PASSED
    assert check(unfilled).status == NOT_ATTEMPTED
    with pytest.raises(ExerciseFailed) as err:
        check(bad)
    assert message in str(err.value)
