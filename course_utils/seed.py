"""Reproducibility: one call seeds every random number generator a notebook uses."""
from __future__ import annotations

import os
import random
import sys
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def set_all_seeds(seed: int = 42, deterministic: bool = False) -> int:
    """Seed Python's ``random``, NumPy's global generator and, where the notebook has imported it,
    torch (CPU and every CUDA device).

    Seeding is explicit: nothing is seeded later behind the notebook's back. A notebook that uses
    torch imports it before calling this (its first code cell does both); one that never imports
    torch does not pay for importing it here (about 2 s).

    Args:
        seed: the seed, an int in [0, 2**32).
        deterministic: also make torch choose deterministic algorithms (slower on GPU;
            an operation without a deterministic version then raises instead of varying).
            Imports torch.

    Returns:
        the seed, so a notebook can log it.
    """
    if not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be an int in [0, 2**32), got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    if deterministic:
        import torch
        # cuBLAS needs this workspace setting to be deterministic (read when CUDA initialises).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)  # also seeds every CUDA device
    return seed


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` for a DataLoader: derive NumPy's and ``random``'s seeds from torch's.

    torch seeds each worker differently (base seed + worker id) but leaves NumPy and ``random``
    alone, so without this every worker would draw the same augmentations.
    """
    import torch
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def seeded_generator(seed: int = 42) -> torch.Generator:
    """A torch Generator for ``DataLoader(generator=...)``, so shuffling order is reproducible."""
    import torch
    return torch.Generator().manual_seed(int(seed))
