"""Helpers for the EE 541 Unit 1 notebooks. Re-exports only what the notebooks use.

This package is the kernel side: what a notebook imports (helpers, student mode, the outcome record,
each exercise's probe and judge). It depends on the scientific stack only. The instructor's tools
(course model, release, grading, the command line) are :mod:`course_utils.tools`, which a kernel
never imports (docs/architecture.md).

The names are imported on first use (module ``__getattr__``), so ``import course_utils`` and
``python -m course_utils env`` work with the standard library alone; NumPy and torch load when a
helper that needs them is first used. Importing the package runs nothing else.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .data import CLASS_NAMES, load_fashion_mnist
    from .env import environment_report, pick_device
    from .seed import seeded_generator, set_all_seeds

# name -> the submodule that defines it
_EXPORTS = {
    "CLASS_NAMES": "data",
    "load_fashion_mnist": "data",
    "environment_report": "env",
    "pick_device": "env",
    "seeded_generator": "seed",
    "set_all_seeds": "seed",
}

__all__ = sorted(_EXPORTS)


def _installed_version() -> str:
    """The installed distribution's version (from the release's git tag, pyproject.toml); 0.0.0.dev0 where
    the package runs from files that were never installed."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("course-utils")
    except PackageNotFoundError:
        return "0.0.0.dev0"


def __getattr__(name: str) -> Any:
    """Import a re-exported name from its submodule the first time it is asked for."""
    if name == "__version__":
        return _installed_version()
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
