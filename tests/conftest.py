"""Fixtures for the unit tests: small IDX data sets and a local HTTP server."""
from __future__ import annotations

import gzip
import hashlib
import http.server
import socket
import subprocess
import threading

import numpy as np
import pytest

from course_utils.data import IdxFile


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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
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
