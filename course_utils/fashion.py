"""The Fashion-MNIST set-up of notebooks 05 and 06 and ``benchmarks/bench_training.py``: one
configuration, the train / validation / test split, a loader that fetches each batch with one
indexing operation, and the benchmark's last recorded results. The network, the training loop and
the evaluation stay in the notebooks.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import (BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset,
                              random_split)

from .data import fashion_mnist_dataset
from .seed import seeded_generator

# The lecture's experiment: a 784-128-10 network, Adam, 4 epochs of batches of 100, seed 42; 5,000 of
# the 60,000 training images held out for validation. Notebooks log it (tracking, TensorBoard hparams).
CONFIG: dict[str, Any] = {
    "dataset": "fashion-mnist",
    "input_size": 28 * 28,
    "hidden_units": 128,
    "classes": 10,
    "optimizer": "adam",
    "lr": 1e-3,
    "batch_size": 100,
    "epochs": 4,
    "seed": 42,
    "validation": 5_000,
}


def fashion_splits(config: dict[str, Any] = CONFIG, root: Path | str | None = None
                   ) -> tuple[TensorDataset, TensorDataset, TensorDataset]:
    """Train, validation and test sets as ``TensorDataset``s of float images (N, 28, 28) in [0, 1]
    and int64 labels (N,).

    The validation set is ``config["validation"]`` training images chosen by ``random_split`` with
    ``seeded_generator(config["seed"])``; the training set is the rest (55,000 with :data:`CONFIG`).
    Each set holds its own tensors, so a batch is one indexing operation on them.
    """
    full = fashion_mnist_dataset(train=True, root=root)
    n_val = config["validation"]
    train_part, val_part = random_split(full, [len(full) - n_val, n_val], generator=seeded_generator(config["seed"]))
    train_set, val_set = (TensorDataset(*full[part.indices]) for part in (train_part, val_part))
    return train_set, val_set, fashion_mnist_dataset(train=False, root=root)


def batch_loader(dataset: TensorDataset, batch_size: int, shuffle: bool = False,
                 generator: torch.Generator | None = None) -> DataLoader:
    """The batches of ``DataLoader(dataset, batch_size, shuffle, generator=generator)``, each fetched with
    one indexing operation ``dataset[list_of_indices]`` instead of ``batch_size`` look-ups and a stack.

    ``BatchSampler`` over the sampler that ``shuffle`` selects yields the same index lists the
    DataLoader would make; ``batch_size=None`` hands each list to the dataset at once. With the
    same random state (global, or the same ``generator``) the batches are identical.

    Returns:
        a DataLoader yielding ``(images (B, 28, 28), labels (B,))``, B = batch_size (the last may be smaller).
    """
    order = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    return DataLoader(dataset, batch_size=None, sampler=BatchSampler(order, batch_size, drop_last=False),
                      generator=generator)


# Where ``benchmarks/bench_training.py`` records its last complete run (committed with the repository).
RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "bench_training.json"


# The benchmark's own verdict, which the record also holds: ``make bench`` judges it; a notebook shows the measurement.
_VERDICT = ("goals", "goals_met")


def training_benchmark(path: Path | str = RESULTS) -> dict[str, Any] | None:
    """What ``benchmarks/bench_training.py`` measured on its last complete run: the machine, the times
    in seconds of each pipeline (every run, and the median) and their test accuracies; without the
    benchmark's goals and verdict. None when there is no such file (a copy of the course without the
    ``benchmarks`` folder)."""
    path = Path(path)
    if not path.is_file():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    return {key: value for key, value in record.items() if key not in _VERDICT}
