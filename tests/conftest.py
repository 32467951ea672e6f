"""Fixtures for the tests: small IDX data sets, a local HTTP server, server processes started and
always stopped, and the course executed once in a clean folder outside the repository."""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_utils.data import IdxFile
from course_utils.tools.execute import CELL_TIMEOUT

REPO = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slurm`` start a private Slurm cluster (root, slurm-wlm and munge): they run only
    when asked for, with ``-m slurm`` (``make test-slurm``) or ``COURSE_SLURM=1``; otherwise they are
    reported skipped. A ``-m`` expression naming ``slurm`` decides for itself."""
    if "slurm" in (config.getoption("markexpr", "") or "") or os.environ.get("COURSE_SLURM") == "1":
        return
    skip = pytest.mark.skip(reason="a real Slurm cluster: run with `make test-slurm` (-m slurm) or COURSE_SLURM=1")
    for item in items:
        if item.get_closest_marker("slurm"):
            item.add_marker(skip)


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format (the format Fashion-MNIST ships in)."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def tiny_dataset(tmp_path):
    """Two small IDX files, their specs, and a folder holding them gzipped."""
    rng = np.random.default_rng(0)
    arrays = {"tiny-images-idx3-ubyte": rng.integers(0, 256, (6, 4, 4), dtype=np.uint8),
              "tiny-labels-idx1-ubyte": np.arange(6, dtype=np.uint8)}
    raw = {name: idx_bytes(a) for name, a in arrays.items()}
    specs = tuple(IdxFile(name, hashlib.sha256(b).hexdigest(), arrays[name].shape) for name, b in raw.items())
    gz_dir = tmp_path / "source"
    gz_dir.mkdir()
    gz = {}
    for name, b in raw.items():
        gz[name] = gzip.compress(b)
        (gz_dir / f"{name}.gz").write_bytes(gz[name])
    return {"specs": specs, "raw": raw, "gz": gz, "gz_dir": gz_dir, "arrays": arrays,
            "root": tmp_path / "root"}


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1 serving ``routes`` (path -> bytes); stopped after the test."""
    routes: dict[str, bytes] = {}
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = routes.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "routes": routes, "hits": hits}
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)



@pytest.fixture(scope="session")
def free_port():
    """A function returning a free TCP port on 127.0.0.1 (for servers the tests start)."""
    def pick() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    return pick


@pytest.fixture(scope="session")
def stop_process():
    """A function that stops a server process: terminate, wait, and kill if it does not exit."""
    def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return stop


@pytest.fixture(scope="session")
def serve(stop_process):
    """A context manager that starts a server process, waits (bounded) until ``url`` answers 200
    with a body ``ready`` accepts, yields the process, and always stops it. Fails, with the
    server's log, if the process exits first or time runs out."""
    @contextlib.contextmanager
    def run(cmd: list[str], url: str, *, log: Path, seconds: float = 90, ready=lambda body: True, **popen):
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, **popen)
            try:
                deadline = time.monotonic() + seconds
                while True:
                    if proc.poll() is not None:
                        pytest.fail(f"{' '.join(map(str, cmd[:3]))} exited with code {proc.returncode} before answering {url}:\n"
                                    + log.read_text(errors="replace")[-2000:])
                    try:
                        with urllib.request.urlopen(url, timeout=2) as resp:
                            if resp.status == 200 and ready(resp.read()):
                                break
                    except OSError:
                        pass
                    if time.monotonic() > deadline:
                        pytest.fail(f"no answer from {url} within {seconds:.0f} s:\n"
                                    + log.read_text(errors="replace")[-2000:])
                    time.sleep(0.3)
                yield proc
            finally:
                stop_process(proc)
    return run


def copy_without_outputs(src: Path, dest: Path) -> Path:
    """Copy a notebook without its outputs, so what a client shows comes from its own run."""
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)
    return dest


@pytest.fixture(scope="session")
def output_free_copy():
    """``copy_without_outputs`` for tests in subfolders."""
    return copy_without_outputs


@dataclass
class CleanRun:
    """The instructor's course executed once in a clean folder (see the ``clean_run`` fixture)."""
    root: Path  # notebooks/ (the notebooks write runs/ and build/ inside it) and executed/
    executed: Path  # every notebook as it ran
    check: subprocess.CompletedProcess  # `check notebooks --executed executed`
    nbconvert: dict[str, subprocess.CompletedProcess]  # notebook name -> its nbconvert run


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory) -> CleanRun:
    """The course's notebooks executed once each outside the repository, in a clean folder laid out
    like it (``notebooks/``, copied without outputs). The notebooks with exercises run in the grading
    of the instructor's answers, ``python -m course_utils check notebooks --executed executed``; the
    others, which ``check`` skips, by Jupyter's standard client, ``jupyter nbconvert --to notebook
    --execute``. Both use nbclient in a fresh kernel with the notebook's folder as working directory,
    and ``runs/`` is where a user's run puts it (``COURSE_RUNS_DIR`` is not passed on). The tests that
    read these executions (grading, the clean-folder results, TensorBoard over notebook 06's logs)
    share this one run."""
    from course_utils.tools.course import load_course
    root = tmp_path_factory.mktemp("clean")
    course = load_course(REPO / "notebooks")
    for model in course.notebooks.values():
        copy_without_outputs(REPO / "notebooks" / model.name, root / "notebooks" / model.name)
    env = {k: v for k, v in os.environ.items() if k != "COURSE_RUNS_DIR"}
    check = subprocess.run([sys.executable, "-m", "course_utils", "check", "notebooks", "--executed", "executed"],
                           cwd=root, capture_output=True, text=True, timeout=3600, env=env)
    nbconvert = {}
    for model in course.notebooks.values():
        if not model.exercises:
            nbconvert[model.name] = subprocess.run(
                [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                 "--output-dir", str(root / "executed"), f"--ExecutePreprocessor.timeout={CELL_TIMEOUT}", model.name],
                cwd=root / "notebooks", capture_output=True, text=True, timeout=1200, env=env)
    return CleanRun(root, root / "executed", check, nbconvert)
