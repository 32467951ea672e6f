"""Plausible wrong answers to every exercise, for tests only (never part of the release).

``WRONG[exercise]`` lists wrong answers; each string is the code that replaces the lines between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` of that exercise's solution cell, dedented (re-indent
it to the block's indentation). ``EXPECT[exercise][i]`` is a fragment of the message the
exercise's self-check must show for ``WRONG[exercise][i]``.

A solution cell with several blocks (Exercise 5.2: ``__init__`` and ``forward``) gets one string
whose parts are separated by a line holding only :data:`NEXT_BLOCK`, one part per block in the
cell's order; :func:`blocks` splits such a string.

``RIGHT[exercise]`` lists correct answers written differently from the notebook's (same format):
a self-check must accept them too. The first of each list is the synthetic class's right answer
(tests/synthetic_class.py), so it should be one that runs about as fast as the notebook's own: 3.2's
broadcasting answer, second in its list, builds a 200 x 200 x 5000 array (1.6 GB) and takes half a
minute in the notebook.
"""
from __future__ import annotations

NEXT_BLOCK = "### NEXT BLOCK"


def blocks(answer: str) -> list[str]:
    """The parts of ``answer``, one per solution block of the cell, each dedented."""
    parts, current = [], []
    for line in answer.splitlines():
        if line.strip() == NEXT_BLOCK:
            parts.append("\n".join(current))
            current = []
        else:
            current.append(line)
    parts.append("\n".join(current))
    return parts


WRONG: dict[str, list[str]] = {}
EXPECT: dict[str, list[str]] = {}
RIGHT: dict[str, list[str]] = {}


def _add(exercise: str, code: str, message: str) -> None:
    WRONG.setdefault(exercise, []).append(code.strip("\n"))
    EXPECT.setdefault(exercise, []).append(message)


# ---------------------------------------------------------------- 01 · what learning is

_GD = """
N, D = X.shape
w, losses = np.zeros(D), []
for t in range(steps):
    residual = X @ w - y
    losses.append(np.mean(residual**2))
    w = {update}
return w, np.array(losses)
"""
_add("1.1", _GD.format(update="w + eta * (2 / N) * X.T @ residual"), "goes uphill")
_add("1.1", _GD.format(update="w - eta * (1 / N) * X.T @ residual"), "0.5 times the right length")
_add("1.1", """
N, D = X.shape
w, losses = np.zeros(D), []
residual = X @ w - y
for t in range(steps):
    losses.append(np.mean(residual**2))
    w = w - eta * (2 / N) * X.T @ residual
return w, np.array(losses)
""", "later ones are not")
_add("1.1", """
N, D = X.shape
w, losses = np.zeros(D), []
for t in range(steps):
    residual = X @ w - y
    w = w - eta * (2 / N) * X.T @ residual
    losses.append(np.mean((X @ w - y) ** 2))
return w, np.array(losses)
""", "before the update")
_add("1.1", """
w = np.linalg.lstsq(X, y, rcond=None)[0]
return w, np.full(steps, np.mean((X @ w - y) ** 2))
""", "Exercise 1.1 asks you to implement this without numpy.linalg's solvers")
RIGHT["1.1"] = ["""
w = np.zeros(X.shape[1])
losses = np.empty(steps)
for t in range(steps):
    error = y - X @ w
    losses[t] = error @ error / len(y)
    w += eta * 2 * X.T @ error / len(y)
return w, losses
"""]

_add("1.2", """
bias2 = np.mean((preds.mean(axis=0) - truth_values) ** 2)
variance = np.mean(preds.var(axis=1))
return float(bias2), float(variance)
""", "spread across test inputs")
_add("1.2", """
bias2 = np.mean(preds.mean(axis=0) - truth_values) ** 2
variance = np.mean(preds.var(axis=0))
return float(bias2), float(variance)
""", "before squaring")
_add("1.2", """
bias2 = np.mean((preds - truth_values) ** 2)
variance = np.mean(preds.var(axis=0))
return float(bias2), float(variance)
""", "includes the variance")
_add("1.2", """
bias2 = np.mean((preds.mean(axis=0) - truth_values) ** 2)
variance = np.mean(preds.var(axis=0, ddof=1))
return float(bias2), float(variance)
""", "S − 1")
_add("1.2", """
return (preds.mean(axis=0) - truth_values) ** 2, preds.var(axis=0)
""", "single numbers")
RIGHT["1.2"] = ["""
mean_pred = preds.sum(axis=0) / len(preds)  # (T,)
bias2 = ((mean_pred - truth_values) ** 2).mean()
variance = ((preds - mean_pred) ** 2).mean()  # over models and test inputs at once
return float(bias2), float(variance)
"""]

# ---------------------------------------------------------------- 03 · the curse of dimensionality

_SHELL = """
x = rng.random((n, d), dtype=np.float32) * 2 - 1
return {result}
"""
_add("3.1", _SHELL.format(result="float(np.mean(np.linalg.norm(x, axis=1) > 0.95))"), "too many points")
_add("3.1", _SHELL.format(result="float(np.mean(np.abs(x).min(axis=1) > 0.95))"), "too few points")
_add("3.1", _SHELL.format(result="int(np.sum(np.abs(x).max(axis=1) > 0.95))"), "fraction between 0 and 1")
_add("3.1", """
return 1 - 0.95**d
""", "the formula itself")
_add("3.1", """
x = np.random.default_rng().random((n, d), dtype=np.float32) * 2 - 1
return float(np.mean(np.abs(x).max(axis=1) > 0.95))
""", "rng you are given")
RIGHT["3.1"] = ["""
inner = rng.random((n, d)) * 2 - 1
return float((np.abs(inner) > 0.95).any(axis=1).mean())
"""]

_add("3.2", """
distances = np.linalg.norm(X[:, None, :] - X[None, :, :], axis=-1)
return float((distances.max() - distances.min()) / distances.min())
""", "distance to itself")
_add("3.2", """
dist = pdist(X, "sqeuclidean")
return float((dist.max() - dist.min()) / dist.min())
""", "squared distances")
_add("3.2", """
dist = pdist(X)
return float((dist.max() - dist.min()) / dist.max())
""", "divide by the largest")
RIGHT["3.2"] = ["""
pairs = np.concatenate([np.linalg.norm(X[i + 1:] - X[i], axis=1) for i in range(len(X) - 1)])
return float(pairs.max() / pairs.min() - 1)
""", """
distances = np.linalg.norm(X[:, None, :] - X[None, :, :], axis=-1)
pairs = distances[np.triu_indices(len(X), k=1)]
return pairs.max() / pairs.min() - 1
"""]

# ---------------------------------------------------------------- 02 · two moons

_add("2.1", """
(w1, w2), b = model.coef_[0], model.intercept_[0]
return w1 / w2, -b / w2
""", "slope has the wrong sign")
_add("2.1", """
(w1, w2), b = model.coef_[0], model.intercept_[0]
return -w2 / w1, -b / w1
""", "slope is wrong")
_add("2.1", """
(w1, w2), b = model.coef_[0], model.intercept_[0]
return -w1 / w2, b / w2
""", "intercept has the wrong sign")
_add("2.1", """
return -model.coef_[:, 0] / model.coef_[:, 1], -model.intercept_ / model.coef_[:, 1]
""", "should return two numbers (floats)")
RIGHT["2.1"] = ["""
w = model.coef_.ravel()
return float(-w[0] / w[1]), float(-model.intercept_.item() / w[1])
"""]

_add("2.2", """
a = X
for W, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
    a = np.maximum(a @ W + b, 0)
z = a @ mlp.coefs_[-1] + mlp.intercepts_[-1]
return np.maximum(z[:, 0], 0)
""", "not probabilities")
_add("2.2", """
a = X
for W, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
    a = a @ W + b
z = a @ mlp.coefs_[-1] + mlp.intercepts_[-1]
return 1 / (1 + np.exp(-z[:, 0]))
""", "hidden layers apply no activation")
_add("2.2", """
a = X
for W, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
    a = np.maximum(a @ W + b, 0)
z = a @ mlp.coefs_[-1] + mlp.intercepts_[-1]
return 1 / (1 + np.exp(-z))
""", "has shape (11, 1), expected (11,)")
_add("2.2", """
return mlp.predict_proba(X)[:, 1]
""", "Exercise 2.2 asks you to implement this without")
RIGHT["2.2"] = ["""
a = X
for i, (W, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
    z = a @ W + b
    a = z * (z > 0) if i < len(mlp.coefs_) - 1 else np.exp(-np.logaddexp(0, -z))
return a.ravel()
"""]

# ---------------------------------------------------------------- 04 · from scratch

_add("4.1", """
grad_z = grad_output
self.grad_W = np.dot(self.x.T, grad_z)
self.grad_b = np.sum(grad_z, axis=0)
return np.dot(grad_z, self.W.T)
""", "right for the identity activation")
_add("4.1", """
grad_z = grad_output * self.activation_derivative(self.z)
self.grad_W = np.dot(self.x.T, grad_z)
self.grad_b = grad_z
return np.dot(grad_z, self.W.T)
""", "grad_b (identity) has shape")
_add("4.1", """
grad_z = grad_output * self.activation_derivative(self.z)
self.grad_W = np.dot(grad_z.T, self.x)
self.grad_b = np.sum(grad_z, axis=0)
return np.dot(grad_z, self.W.T)
""", "grad_W (identity) has shape")
_add("4.1", """
import torch
x = torch.tensor(self.x, requires_grad=True)
W = torch.tensor(self.W, requires_grad=True)
b = torch.tensor(self.b, requires_grad=True)
torch_activation = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda t: t}
name = next(k for k, (f, _) in ACTIVATIONS.items() if f is self.activation)
torch_activation[name](x @ W + b).backward(torch.tensor(grad_output))
self.grad_W, self.grad_b = W.grad.numpy(), b.grad.numpy()
return x.grad.numpy()
""", "Exercise 4.1 asks you to implement this without autograd")

_add("4.2", """
square_avg = alpha * square_avg + (1 - alpha) * grad**2
return w - lr * grad / np.sqrt(square_avg + eps), square_avg
""", "where ε enters")
_add("4.2", """
square_avg = alpha * square_avg + grad**2
return w - lr * grad / (np.sqrt(square_avg) + eps), square_avg
""", "running average of squared gradients")
_add("4.2", """
square_avg = alpha * square_avg + (1 - alpha) * grad**2
return w - lr * grad / (square_avg + eps), square_avg
""", "the step")
_add("4.2", """
import torch
wt = torch.tensor(w, requires_grad=True)
opt = torch.optim.RMSprop([wt], lr=lr, alpha=alpha, eps=eps)
opt.state[wt] = {"step": torch.tensor(0.0), "square_avg": torch.tensor(square_avg)}
wt.grad = torch.tensor(grad)
opt.step()
return wt.detach().numpy(), opt.state[wt]["square_avg"].numpy()
""", "Exercise 4.2 asks you to implement this without torch.optim")

_add("4.3", """
cols, (oh, ow) = im2col(x, w.shape[2], w.shape[3], stride, pad)
out = w[:, :, ::-1, ::-1].reshape(w.shape[0], -1) @ cols + b[:, None]
return out.reshape(w.shape[0], x.shape[0], oh, ow).transpose(1, 0, 2, 3)
""", "kernel flipped")
_add("4.3", """
cols, (oh, ow) = im2col(x, w.shape[2], w.shape[3], stride, pad)
out = w.reshape(w.shape[0], -1) @ cols
return out.reshape(w.shape[0], x.shape[0], oh, ow).transpose(1, 0, 2, 3)
""", "bias is missing")
_add("4.3", """
cols, (oh, ow) = im2col(x, w.shape[2], w.shape[3], stride, pad)
out = w.reshape(w.shape[0], -1) @ cols + b[:, None]
return out.reshape(x.shape[0], w.shape[0], oh, ow)
""", "right numbers in the wrong places")
_add("4.3", """
cols, (oh, ow) = im2col(x, w.shape[2], w.shape[3], 1, pad)
out = w.reshape(w.shape[0], -1) @ cols + b[:, None]
return out.reshape(w.shape[0], x.shape[0], oh, ow).transpose(1, 0, 2, 3)
""", "output size is wrong")
_add("4.3", """
return F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=stride, padding=pad).numpy()
""", "Exercise 4.3 asks you to implement this without torch.nn.functional")

_add("4.4", """
oh, ow = dout.shape[2:]
dx = np.zeros_like(x)
for i in range(pool):
    for j in range(pool):
        dx[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += dout / (pool * pool)
return dx
""", "reaches every input of a window")
# the index of each window's maximum, as a right answer finds it; the two answers below misuse it
_WINNERS = """
windows = sliding_window_view(x, (pool, pool), axis=(2, 3))[:, :, ::stride, ::stride]
oh, ow = dout.shape[2:]
windows = windows[:, :, :oh, :ow]
winner = windows.reshape(windows.shape[:4] + (-1,)).argmax(axis=-1)
dx = np.zeros_like(x)
"""
_add("4.4", _WINNERS + """
for k in range(pool * pool):
    i, j = divmod(k, pool)
    region = dx[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
    region[winner == k] = dout[winner == k]
return dx
""", "windows overlap")
_add("4.4", _WINNERS + """
for k in range(pool * pool):
    j, i = divmod(k, pool)
    dx[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += dout * (winner == k)
return dx
""", "not the maximum of its window")
_add("4.4", """
import torch
xt = torch.tensor(x, requires_grad=True)
F.max_pool2d(xt, pool, stride).backward(torch.tensor(dout))
return xt.grad.numpy()
""", "Exercise 4.4 asks you to implement this without autograd")

# ---------------------------------------------------------------- 05 · Fashion-MNIST minimal

_LAYERS = """
self.hidden1 = nn.Linear(784, hidden1)
self.hidden2 = nn.Linear(hidden1, hidden2)
self.output = nn.Linear(hidden2, 10)
"""
_add("5.2", _LAYERS + NEXT_BLOCK + """
x = F.relu(self.hidden1(x))
x = self.hidden2(x)
return self.output(x)
""", "ReLU after the second hidden layer is missing")
_add("5.2", _LAYERS + NEXT_BLOCK + """
x = F.relu(self.hidden1(x))
x = F.relu(self.hidden2(x))
return F.softmax(self.output(x), dim=1)
""", "probabilities")
_add("5.2", _LAYERS + NEXT_BLOCK + """
x = F.relu(self.hidden1(x))
x = F.relu(self.hidden2(x))
return F.relu(self.output(x))
""", "after the output layer")
_add("5.2", """
self.hidden1 = nn.Linear(784, hidden1)
self.hidden2 = nn.Linear(hidden1, hidden1)
self.output = nn.Linear(hidden1, 10)
""" + NEXT_BLOCK + """
x = F.relu(self.hidden1(x))
x = F.relu(self.hidden2(x))
return self.output(x)
""", "linear layers")
RIGHT["5.2"] = ["""
self.output = nn.Linear(hidden2, 10)
self.second = nn.Linear(hidden1, hidden2)
self.first = nn.Linear(784, hidden1)
""" + NEXT_BLOCK + """
return self.output(F.relu(self.second(F.relu(self.first(x)))))
""", """
self.net = nn.Sequential(nn.Linear(784, hidden1), nn.ReLU(), nn.Linear(hidden1, hidden2), nn.ReLU(),
                         nn.Linear(hidden2, 10))
""" + NEXT_BLOCK + """
return self.net(x)
"""]

_add("5.1", """
model.eval()
losses, accuracies = [], []
with torch.no_grad():
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        outputs = model(images.view(-1, 784))
        losses.append(F.cross_entropy(outputs, labels).item())
        accuracies.append((outputs.argmax(1) == labels).float().mean().item())
model.train()
return sum(losses) / len(losses), sum(accuracies) / len(accuracies)
""", "last batch is smaller")
# a right answer, and four wrong ones that each change one thing in it
_EVALUATE = """
model.eval()
total, loss_sum, correct = 0, 0.0, 0
with torch.no_grad():
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        outputs = model(images.view(-1, 784))
        loss_sum += F.cross_entropy(outputs, labels, reduction="sum").item()
        correct += (outputs.argmax(1) == labels).sum().item()
        total += len(labels)
model.train()
return loss_sum / total, correct / total
"""


def _evaluate_with(*changes: tuple[str, str]) -> str:
    source = _EVALUATE
    for old, new in changes:
        assert old in source, old
        source = source.replace(old, new, 1)
    return source


_add("5.1", _evaluate_with(("model(images.view(-1, 784))", "model(images)")), "flatten each batch")
_add("5.1", _evaluate_with(("correct / total\n", "correct\n")), "accuracy should be a fraction")
_add("5.1", _evaluate_with(("model.eval()\n", ""), ("model.train()\n", "")), "training mode")
_add("5.1", _evaluate_with(("torch.no_grad()", "torch.set_grad_enabled(True)")), "Gradient tracking")

# ---------------------------------------------------------------- 06 · Fashion-MNIST with TensorBoard

_add("6.1", """
return sum(float(p.grad.norm()) for p in model.parameters())
""", "one norm over all")
_add("6.1", """
return sum(float((p.grad ** 2).sum()) for p in model.parameters())
""", "square root")
_add("6.1", """
return math.sqrt(sum(float((p.grad ** 2).sum()) for name, p in model.named_parameters() if "weight" in name))
""", "left out the biases")
_add("6.1", """
return float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0))
""", "changed the gradients")

_add("6.2", """
return np.array([np.mean(labels[predictions == k] == k) for k in range(n_classes)])
""", "divided by how often each class was predicted")
_add("6.2", """
return np.array([np.sum(predictions[labels == k] == k) for k in range(n_classes)])
""", "counts")
_add("6.2", """
return np.full(n_classes, np.mean(predictions == labels))
""", "overall accuracy")
