"""pytest configuration shared by the unit tests and nbval."""
import os
import shutil
import tempfile

_RUNS_ENV = "COURSE_RUNS_DIR"
_own_runs_dir = None
_mpl_backend_at_start = os.environ.get("MPLBACKEND")


def pytest_configure(config):
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


def pytest_collection_modifyitems(config, items):
    """Markers for the quick tier (`make unit` deselects them): nbval's notebook cells start a
    kernel (`notebook`); tests/browser drives Chromium (`browser`)."""
    import pytest
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
