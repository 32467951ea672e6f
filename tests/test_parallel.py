"""`make test` runs pytest-xdist workers (conftest.py): each worker, and every kernel it starts, gets
its share of the cores' threads, and tests that share fixtures run in one worker."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROBE = '''
import json, os, pathlib, time
def probe(name):
    out = pathlib.Path(os.environ["PROBE_OUT"]) / f"{name}.json"
    seen = {k: os.environ.get(k) for k in ("PYTEST_XDIST_WORKER", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out.write_text(json.dumps(dict(seen, at=time.monotonic_ns())))
'''


def run_probes(tmp_path, modules: dict[str, int], kernels: set[str] = frozenset()) -> dict[str, dict]:
    """Run a pytest session with two workers and the project's conftest over probe modules
    (path -> number of tests; the tests named in ``kernels`` carry the ``notebook`` mark, as tests
    that start kernels do); returns each test's worker, thread settings and start time."""
    (tmp_path / "probe.py").write_text(PROBE)
    for module, n in modules.items():
        path = tmp_path / module
        path.parent.mkdir(parents=True, exist_ok=True)
        stem = module.replace("/", "_").removesuffix(".py")
        path.write_text("import pytest\nfrom probe import probe\n" + "".join(
            ("@pytest.mark.notebook\n" if f"{stem}_{i}" in kernels else "")
            + f"def test_{i}():\n    probe('{stem}_{i}')\n" for i in range(n)))
    out = tmp_path / "out"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env.update(PROBE_OUT=str(out), PYTHONPATH=os.pathsep.join([str(REPO), str(tmp_path)]))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-p", "no:nbval", "-n", "2",
                           "--dist", "loadgroup", "--no-loadscope-reorder", "-q", "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {p.stem: json.loads(p.read_text()) for p in out.iterdir()}


@pytest.mark.slow  # a pytest session with two workers
@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="counts the cores this process may use")
def test_workers_share_the_cores_and_modules_stay_in_one_worker(tmp_path):
    seen = run_probes(tmp_path, {"test_a.py": 6, "test_b.py": 6, "tests/test_clean_run.py": 3,
                                 "tests/browser/test_browser.py": 3}, kernels={"test_a_5"})
    assert len(seen) == 18
    share = str(max(1, len(os.sched_getaffinity(0)) // 2))
    assert {(s["OMP_NUM_THREADS"], s["MKL_NUM_THREADS"]) for s in seen.values()} == {(share, share)}
    workers = {}
    for name, s in seen.items():
        group = "clean run" if "clean_run" in name or "browser" in name else name.rsplit("_", 1)[0]
        workers.setdefault(group, set()).add(s["PYTEST_XDIST_WORKER"])
    assert workers.keys() == {"test_a", "test_b", "clean run"}
    assert all(len(w) == 1 for w in workers.values()), f"a group was split between workers: {workers}"
    # a long test (one that starts a kernel) runs first in its group, though written last
    assert seen["test_a_5"]["at"] < min(seen[f"test_a_{i}"]["at"] for i in range(5))


def root_conftest():
    spec = importlib.util.spec_from_file_location("course_root_conftest", REPO / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("workers, cores, expected", [("2", 2, "1"), ("4", 8, "2"), ("4", 2, "1"), ("", 8, None)])
def test_each_worker_gets_its_share_and_a_value_the_caller_set_stays(workers, cores, expected, monkeypatch):
    share = root_conftest()._share_the_cores
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", workers)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    share()
    assert os.environ.get("OMP_NUM_THREADS") == expected and os.environ.get("MKL_NUM_THREADS") == expected
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    share()
    assert os.environ["OMP_NUM_THREADS"] == "3", "a value the caller set stays"
