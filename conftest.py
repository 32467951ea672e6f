"""pytest configuration shared by the unit tests and nbval."""
import os
import shutil
import tempfile
from pathlib import Path

import pytest

_RUNS_ENV = "COURSE_RUNS_DIR"
_own_runs_dir = None
_mpl_backend_at_start = os.environ.get("MPLBACKEND")


def _share_the_cores() -> None:
    """Under pytest-xdist (``make test`` runs one worker per core), every worker and the kernels it
    starts get an equal share of the cores for OpenMP/BLAS threads (at least one), so that two
    notebooks training at once never spin more threads than there are cores. A value the caller set
    (the portable regime sets 1) stays."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 0)
    if workers > 1:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, str(max(1, cores // workers)))


_share_the_cores()  # before anything imports torch or numpy in this process


def pytest_configure(config):
    # nbval's per-cell time limit is the course's one (course_utils.tools.execute.CELL_TIMEOUT), unless given
    if config.getoption("nbval_cell_timeout", default=None) in (None, 2000):  # 2000: nbval's own default
        from course_utils.tools.execute import CELL_TIMEOUT
        config.option.nbval_cell_timeout = CELL_TIMEOUT
    # Notebooks executed by the tests (nbval, student runs, nbgrader) log their experiment runs under
    # a temporary folder instead of the repository's runs/, where they would pile up. Kernels and
    # subprocesses inherit the variable.
    global _own_runs_dir
    if not os.environ.get(_RUNS_ENV):
        _own_runs_dir = tempfile.mkdtemp(prefix="course-test-runs-")
        os.environ[_RUNS_ENV] = _own_runs_dir


def pytest_unconfigure(config):
    if _own_runs_dir:
        os.environ.pop(_RUNS_ENV, None)
        shutil.rmtree(_own_runs_dir, ignore_errors=True)


def pytest_collectstart(collector):
    # nbval compares every stream; stderr carries progress bars and library warnings whose text
    # varies between runs and versions, so only stdout and rich outputs are compared.
    if str(getattr(collector, "path", "")).endswith(".ipynb"):
        collector.skip_compare += ("stderr",)


# Under pytest-xdist (`make test`: -n auto --dist loadgroup --no-loadscope-reorder) tests are handed
# to the workers in groups, marked with xdist's standard `xdist_group`: a module (module fixtures run
# once), a notebook's nbval cells (one kernel, in order), and the modules that share the session fixture
# `clean_run` (the course executed once in a clean folder; notebook 06's logs serve the TensorBoard test). Groups are handed out
# in collection order, which each worker sorts below: long kinds of group first, so that the many
# short ones at the end even out the workers.
_SHARING_CLEAN_RUN = ("tests/test_clean_run.py", "tests/browser/test_browser.py")
_FIRST, _KERNELS, _NOTEBOOK_CELLS, _REST = range(4)


def _group(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0]
    return "clean run" if module in _SHARING_CLEAN_RUN else module


def _rank(item) -> int:
    if item.get_closest_marker("slow") or item.get_closest_marker("browser"):
        return _FIRST
    if str(item.path).endswith(".ipynb"):
        return _NOTEBOOK_CELLS
    return _KERNELS if item.get_closest_marker("notebook") else _REST


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    """Markers for the quick tier (`make unit` deselects them): nbval's notebook cells start a
    kernel (`notebook`); tests/browser drives Chromium (`browser`). Each test's xdist group, and in an
    xdist worker the order in which the groups are handed out."""
    if os.environ.get("MPLBACKEND") != _mpl_backend_at_start:
        # kernels started later (nbval, student runs) would inherit it and show no figures
        raise pytest.UsageError("a test module changed MPLBACKEND while being imported; use matplotlib.use() "
                                "in the test process instead")
    for item in items:
        path = str(getattr(item, "path", ""))
        if path.endswith(".ipynb"):
            item.add_marker(pytest.mark.notebook)
        elif "/tests/browser/" in path.replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.xdist_group(_group(item.nodeid)))
    if not hasattr(config, "workerinput"):
        return
    rank = {}
    for item in items:
        group = _group(item.nodeid)
        rank[group] = min(rank.get(group, _REST), _rank(item))
    # Within a group, its long tests first (stable: a notebook's cells keep their order): a worker is
    # handed its next group when it starts its current group's last test, so a long test last in
    # its group would hold that next group while the other worker runs dry.
    items.sort(key=lambda item: (rank[_group(item.nodeid)], _rank(item)))
