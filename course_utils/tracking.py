"""Experiment tracking: the lecture's ``experiment_config`` and ``log_metrics``, made real.

Every run of :func:`start_run` that trains gets a new folder, ``<root>/<name>/<YYYYmmdd-HHMMSS>``
(the time it started, with ``-2``, ``-3``, ... when two runs start in the same second), as
TensorBoard and MLflow users expect: re-running a notebook adds a run beside the earlier ones, so
runs can be compared, and starting a run never deletes anything. The folder appears when the run
first writes into it (its first :meth:`Run.log_metrics`, its writer's first event, or
:attr:`Run.dir` asked for to save a checkpoint there): a run started and never trained (an exercise
it needs is unfinished, a cell stopped before the loop) leaves nothing behind. A run folder holds
``config.json`` (the configuration plus versions and device), ``metrics.jsonl`` (one JSON object per
:meth:`Run.log_metrics`) and TensorBoard event files when :attr:`Run.writer` is used; nothing is
written outside it. ``tensorboard --logdir runs`` shows
each run as ``<name>/<timestamp>``. Old runs go only when asked: :func:`prune_runs`.
"""
from __future__ import annotations

import json
import platform
import re
import shutil
import time
from pathlib import Path
from typing import Any

# A run name is one folder name: letters, digits and . _ - + = , (not starting with '.': no '..', no hidden folder).
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+=,-]{0,99}")
# The folder of one run inside <root>/<name>/: a timestamp, and a counter for runs in the same second.
_RUN_FOLDER = re.compile(r"(\d{8}-\d{6})(?:-(\d+))?")

_open_runs: dict[tuple[Path, str], "Run"] = {}  # (root, name) -> the latest run started, whose writer may be open


def _versions() -> dict[str, str]:
    import numpy
    import torch
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__}


def check_run_name(name: str) -> str:
    """Return ``name`` when it is a safe single folder name, else raise ValueError saying why.

    Accepted: 1-100 characters from letters, digits and ``. _ - + = ,``, not starting with ``.``
    (so never ``..``, a hidden folder, a path with ``/`` or ``\\``, an absolute path or empty).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError("run name must be a plain folder name: 1-100 letters, digits or . _ - + = , "
                         f"not starting with '.', got {name!r}")
    return name


class Run:
    """One experiment's run. Use :func:`start_run` to start it.

    Its folder, ``<root>/<name>/<timestamp>``, is made (with ``config.json``) when the run first
    writes: :meth:`log_metrics`, the first event of :attr:`writer`, or :attr:`dir` asked for.

    Attributes:
        name: the name given to :func:`start_run`.
        config: what ``config.json`` holds.
    """

    def __init__(self, directory: Path | None, config: dict[str, Any], name: str | None = None, *,
                 parent: Path | None = None, stamp: str | None = None):
        if directory is None and (parent is None or stamp is None):
            raise ValueError("a run needs its folder, or the folder and start time to make it in")
        self._dir = Path(directory) if directory is not None else None
        self._parent = Path(parent) if parent is not None else self._dir.parent
        self._stamp = stamp
        self.name = name if name is not None else self._parent.name
        self.config = config
        self._writer = None

    def __repr__(self) -> str:
        where = self._dir if self._dir is not None else self._parent / f"{self._stamp} (not written yet)"
        return f"Run({str(where)!r})"

    @property
    def created(self) -> bool:
        """Whether this run's folder exists yet (it is made when the run first writes)."""
        return self._dir is not None

    @property
    def dir(self) -> Path:
        """This run's folder, ``<root>/<name>/<timestamp>``, made (with ``config.json``) if it is not
        there yet: ask for it to write into it (``torch.save(..., run.dir / "model.pt")``)."""
        if self._dir is None:
            self._dir = _new_run_folder(self._parent, self._stamp)
            (self._dir / "config.json").write_text(json.dumps(self.config, indent=2, default=str), encoding="utf-8")
        return self._dir

    @property
    def writer(self):
        """A ``torch.utils.tensorboard.SummaryWriter`` logging into this run's folder (opened on first
        use; the folder and the event file appear with its first event)."""
        if self._writer is None:
            self._writer = _run_writer(self)
        return self._writer

    def log_metrics(self, **metrics: Any) -> dict[str, Any]:
        """Append one line to ``metrics.jsonl`` (a ``timestamp`` is added) and return what was written.

        Numbers are also sent to TensorBoard as scalars when the writer is open, at ``step`` when one
        is given (one step axis with per-batch scalars), else at ``epoch``.
        """
        record = {k: (v.item() if hasattr(v, "item") else v) for k, v in metrics.items()}
        record["timestamp"] = time.time()
        with open(self.dir / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        step = record.get("step", record.get("epoch"))
        if self._writer is not None and step is not None:
            for k, v in record.items():
                if k not in ("epoch", "step", "timestamp") and isinstance(v, (int, float)):
                    self._writer.add_scalar(k, v, step)
        return record

    def read_metrics(self) -> list[dict[str, Any]]:
        """Every record this run logged, in order (read back from its ``metrics.jsonl``; [] before any)."""
        return read_metrics(self._dir) if self._dir is not None else []

    def read_config(self) -> dict[str, Any]:
        """This run's ``config.json`` (what it will hold, before the folder is made)."""
        return read_config(self._dir) if self._dir is not None else json.loads(json.dumps(self.config, default=str))

    def read_scalars(self) -> dict[str, list[tuple[int, float]]]:
        """This run's TensorBoard scalars: tag -> [(step, value), ...] (see :func:`read_scalars`)."""
        if self._writer is not None:
            self._writer.flush()
        return read_scalars(self._dir) if self._dir is not None else {}

    def close(self) -> None:
        """Flush and close the TensorBoard writer (a later use of :attr:`writer` opens a new one here)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_writer_class = None


def _run_writer(run: Run):
    """A SummaryWriter for ``run`` that makes the run's folder and its event file only with its first
    event: opening it (``train(model, run.writer)``) writes nothing. After :meth:`close`, the next
    event opens a new event file in the same folder, as a plain SummaryWriter does."""
    global _writer_class
    if _writer_class is None:
        from torch.utils.tensorboard import SummaryWriter

        class RunWriter(SummaryWriter):
            def __init__(self, run: Run):
                self._run = None  # SummaryWriter.__init__ opens its event file at once: not yet
                super().__init__(log_dir=str(run._parent / run._stamp) if not run.created else str(run.dir))
                self._run = run

            def _get_file_writer(self):
                if self._run is None:
                    return None
                self.log_dir = str(self._run.dir)  # the folder, made now if it is not there yet
                return super()._get_file_writer()

        _writer_class = RunWriter
    return _writer_class(run)


def _new_run_folder(parent: Path, stamp: str | None = None) -> Path:
    """Create and return ``parent/<stamp>`` (default: now, ``YYYYmmdd-HHMMSS``), or ``...-2``, ``-3``, ...
    if taken (never reused)."""
    parent.mkdir(parents=True, exist_ok=True)
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S")
    for counter in range(1, 10_000):
        directory = parent / (stamp if counter == 1 else f"{stamp}-{counter}")
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        return directory
    raise FileExistsError(f"no free run folder for {stamp} in {parent}")


def layer_sizes(model) -> list[int]:
    """The sizes a network of linear layers maps through, read from the model itself:
    ``[784, 128, 10]`` for the lecture's ``Net``, ``[784, 256, 128, 10]`` for ``DeeperNet(256, 128)``.

    The ``nn.Linear`` layers are taken in the order they are declared when each one's input size is
    the previous one's output size; otherwise they are chained by those sizes. Raises ValueError
    when the model has no linear layer or its linear layers do not form one chain.
    """
    import torch.nn as nn
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no linear layer")
    if any(a.out_features != b.in_features for a, b in zip(linears, linears[1:])):
        outputs = [m.out_features for m in linears]
        firsts = [m for m in linears if outputs.count(m.in_features) == 0]
        if len(firsts) != 1:
            raise ValueError(f"the linear layers of {type(model).__name__} do not form one chain")
        chain, rest = firsts, [m for m in linears if m is not firsts[0]]
        while rest:
            following = [m for m in rest if m.in_features == chain[-1].out_features]
            if len(following) != 1:
                raise ValueError(f"the linear layers of {type(model).__name__} do not form one chain")
            chain.append(following[0])
            rest.remove(following[0])
        linears = chain
    return [linears[0].in_features] + [m.out_features for m in linears]


def mlp_name(model) -> str:
    """A name for a network of linear layers from its actual sizes, e.g. ``"mlp-784-128-10"``
    (see :func:`layer_sizes`): a run named by it says which network it trained."""
    return "mlp-" + "-".join(str(n) for n in layer_sizes(model))


from .settings import RUNS_DIR_ENV, runs_root  # noqa: E402,F401  (part of this module's interface)


def start_run(name: str, config: dict[str, Any], root: Path | str | None = None, *, device: str | None = None) -> Run:
    """Start a new run, whose folder ``root/name/<timestamp>`` (the time it started) holding
    ``config.json`` is made when it first writes (see :class:`Run`): starting a run writes nothing.

    Nothing of an earlier run is touched, except that the TensorBoard writer of the previous run
    started here under the same name is closed, so it cannot keep logging as if it were current.

    Args:
        name: the experiment's name, one plain folder name (see :func:`check_run_name`).
        config: the configuration to record (JSON; other values are written as text).
        root: the folder holding all runs (TensorBoard's ``--logdir``); default :func:`runs_root`.
        device: the device trained on, recorded with the versions of Python, torch and NumPy.

    Returns:
        the :class:`Run`; ``run.dir`` is its folder (made when asked for).
    """
    check_run_name(name)
    root = runs_root() if root is None else root
    key = (Path(root).resolve(), name)
    previous = _open_runs.pop(key, None)
    if previous is not None:
        previous.close()
    full = {**config, "versions": _versions(), "device": device or "cpu"}
    run = Run(None, full, name, parent=Path(root) / name, stamp=time.strftime("%Y%m%d-%H%M%S"))
    _open_runs[key] = run
    return run


def _run_order(folder: Path) -> tuple[str, int]:
    m = _RUN_FOLDER.fullmatch(folder.name)
    return m.group(1), int(m.group(2) or 1)


def list_runs(root: Path | str = "runs", name: str | None = None) -> list[Path]:
    """The run folders :func:`start_run` made under ``root`` (of experiment ``name`` only, if given), oldest first.

    A folder counts as a run when it is ``root/<name>/<timestamp>`` and holds ``config.json``;
    anything else under ``root`` is not a run and is never listed.
    """
    root = Path(root)
    if name is not None:
        names = [check_run_name(name)]
    else:
        names = sorted(p.name for p in root.iterdir() if _NAME.fullmatch(p.name)) if root.is_dir() else []
    runs = []
    for n in names:
        parent = root / n
        if parent.is_dir() and not parent.is_symlink():
            runs += [p for p in parent.iterdir() if _RUN_FOLDER.fullmatch(p.name) and p.is_dir()
                     and not p.is_symlink() and (p / "config.json").is_file()]
    return sorted(runs, key=lambda p: (p.parent.name, *_run_order(p)))


def latest_run(root: Path | str = "runs", name: str | None = None) -> Path | None:
    """The newest run folder of ``name`` under ``root`` (of any name if None), or None when there is none."""
    runs = sorted(list_runs(root, name), key=_run_order)
    return runs[-1] if runs else None


def prune_runs(root: Path | str = "runs", keep: int = 3, *, delete: bool = False) -> list[Path]:
    """The runs beyond the newest ``keep`` of each name; deleted only when ``delete`` is True.

    By default nothing is deleted: the list says what ``delete=True`` would remove. Only folders
    :func:`list_runs` recognises are candidates, never other files under ``root``.

    Args:
        root: the folder holding the runs.
        keep: how many of the newest runs of each name stay (0 or more).
        delete: actually remove the listed folders.

    Returns:
        the run folders beyond ``keep``, oldest first within each name.
    """
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise ValueError(f"keep must be an int >= 0, got {keep!r}")
    by_name: dict[str, list[Path]] = {}
    for run in list_runs(root):
        by_name.setdefault(run.parent.name, []).append(run)
    doomed = [p for runs in by_name.values() for p in runs[:max(len(runs) - keep, 0)]]
    if delete:
        for path in doomed:
            shutil.rmtree(path)
    return doomed


def read_config(directory: Path | str) -> dict[str, Any]:
    """A run's ``config.json``."""
    return json.loads((Path(directory) / "config.json").read_text(encoding="utf-8"))


def read_metrics(directory: Path | str) -> list[dict[str, Any]]:
    """A run's ``metrics.jsonl``, one dict per logged record, in order ([] when nothing was logged)."""
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
