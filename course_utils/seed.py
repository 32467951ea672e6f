"""Reproducibility: one call seeds every random number generator a notebook uses."""
from __future__ import annotations

import importlib.abc
import os
import random
import sys
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def set_all_seeds(seed: int = 42, deterministic: bool = False) -> int:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every CUDA device).

    A notebook that has not imported torch yet does not pay for importing it here (about 2 s):
    torch is then seeded the moment it is first imported, to the same state.

    Args:
        seed: the seed, an int in [0, 2**32).
        deterministic: also make torch choose deterministic algorithms (slower on GPU;
            an operation without a deterministic version then raises instead of varying).

    Returns:
        the seed, so a notebook can log it.
    """
    if not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be an int in [0, 2**32), got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    _SeedTorchOnImport.remove()
    if deterministic:
        import torch
        # cuBLAS needs this workspace setting to be deterministic (read when CUDA initialises).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)  # also seeds every CUDA device
    else:
        sys.meta_path.insert(0, _SeedTorchOnImport(seed))
    return seed


class _SeedTorchOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when ``torch`` is first imported, seeds it as soon as it has loaded."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    @classmethod
    def remove(cls) -> None:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, cls)]

    def find_spec(self, name, path, target=None):
        if name != "torch":
            return None
        self.remove()  # one import, one seeding; and the search below must not find this finder again
        from importlib.util import find_spec
        spec = find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        load, seed = spec.loader.exec_module, self.seed

        def exec_module(module):
            load(module)
            module.manual_seed(seed)
        spec.loader.exec_module = exec_module
        return spec


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
