"""Helpers for the EE 541 Unit 1 notebooks. Re-exports only what the notebooks use."""
from .data import CLASS_NAMES, load_fashion_mnist
from .env import environment_report, pick_device
from .seed import seed_worker, seeded_generator, set_all_seeds

__all__ = [
    "CLASS_NAMES",
    "environment_report",
    "load_fashion_mnist",
    "pick_device",
    "seed_worker",
    "seeded_generator",
    "set_all_seeds",
]
__version__ = "0.1.0"
