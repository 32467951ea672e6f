"""Experiment tracking: the lecture's ``experiment_config`` and ``log_metrics``, made real.

A run is one folder: ``config.json`` (the configuration plus seed, versions and device),
``metrics.jsonl`` (one JSON object per call of :meth:`Run.log_metrics`), and TensorBoard event
files when :attr:`Run.writer` is used. Nothing is written outside that folder.
"""
from __future__ import annotations

import json
import platform
import shutil
import time
from pathlib import Path
from typing import Any


def _versions() -> dict[str, str]:
    import numpy
    import torch
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__}


class Run:
    """One experiment's folder. Use :func:`start_run` to create it."""

    def __init__(self, directory: Path, config: dict[str, Any]):
        self.dir = directory
        self.config = config
        self._writer = None

    @property
    def writer(self):
        """A ``torch.utils.tensorboard.SummaryWriter`` logging into this run's folder (created on first use)."""
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter
            self._writer = SummaryWriter(log_dir=str(self.dir))
        return self._writer

    def log_metrics(self, **metrics: Any) -> dict[str, Any]:
        """Append one line to ``metrics.jsonl`` (a ``timestamp`` is added) and return what was written.

        Numbers are also sent to TensorBoard as scalars when the writer is open and an ``epoch``
        (or ``step``) is given.
        """
        record = {k: (v.item() if hasattr(v, "item") else v) for k, v in metrics.items()}
        record["timestamp"] = time.time()
        with open(self.dir / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        step = record.get("epoch", record.get("step"))
        if self._writer is not None and step is not None:
            for k, v in record.items():
                if k not in ("epoch", "step", "timestamp") and isinstance(v, (int, float)):
                    self._writer.add_scalar(k, v, step)
        return record

    def metrics(self) -> list[dict[str, Any]]:
        """Every record logged so far, in order."""
        return read_metrics(self.dir)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def start_run(name: str, config: dict[str, Any], root: Path | str = "runs", *, device: str | None = None,
              fresh: bool = True) -> Run:
    """Create ``root/name`` and write ``config.json``: ``config`` plus versions and device.

    Args:
        fresh: remove what an earlier run of the same name left, so its metrics do not mix in.
    """
    if not name or Path(name).name != name:
        raise ValueError(f"run name must be a plain folder name, got {name!r}")
    directory = Path(root) / name
    if fresh and directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    full = {**config, "versions": _versions(), "device": device or "cpu"}
    (directory / "config.json").write_text(json.dumps(full, indent=2, default=str), encoding="utf-8")
    return Run(directory, full)


def read_config(directory: Path | str) -> dict[str, Any]:
    return json.loads((Path(directory) / "config.json").read_text(encoding="utf-8"))


def read_metrics(directory: Path | str) -> list[dict[str, Any]]:
    path = Path(directory) / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_scalars(directory: Path | str) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag in the run's TensorBoard event files: tag -> [(step, value), ...]."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(directory), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
