"""The machinery of the real-client tests: the `serve` fixture (bounded waits, clear failures, the
process always stopped) and the browser suite reporting itself skipped, with the reason, where it
cannot run."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def http_server_cmd(port: int) -> list[str]:
    return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]


def test_server_is_stopped_when_the_test_body_fails(serve, free_port, tmp_path):
    port = free_port()
    with pytest.raises(RuntimeError):
        with serve(http_server_cmd(port), f"http://127.0.0.1:{port}/", log=tmp_path / "log", cwd=tmp_path) as proc:
            assert proc.poll() is None
            raise RuntimeError("a failing test")
    assert proc.poll() is not None


def test_a_server_that_exits_is_reported_with_its_log(serve, tmp_path):
    cmd = [sys.executable, "-c", "import sys; print('port already in use'); sys.exit(3)"]
    with pytest.raises(pytest.fail.Exception, match=r"exited with code 3[\s\S]*port already in use"):
        with serve(cmd, "http://127.0.0.1:9/", log=tmp_path / "log"):
            pass


def test_a_server_never_ready_fails_in_bounded_time_and_is_stopped(serve, free_port, tmp_path):
    port = free_port()
    with pytest.raises(pytest.fail.Exception, match="no answer from"):
        with serve(http_server_cmd(port), f"http://127.0.0.1:{port}/", log=tmp_path / "log", seconds=2,
                   ready=lambda body: False, cwd=tmp_path):
            pass
    with pytest.raises(ConnectionRefusedError):  # the server was stopped: nothing listens any more
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


REPO = Path(__file__).resolve().parents[1]


def run_browser_suite(env_changes: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_changes}
    return subprocess.run([sys.executable, "-m", "pytest", "tests/browser", "-o", "addopts=", "-p", "no:cacheprovider",
                           "-rs", "-q"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.browser
def test_browser_suite_is_reported_skipped_without_chromium(tmp_path):
    result = run_browser_suite({"PATH": str(tmp_path)})  # no chromium on PATH
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Chromium not found" in result.stdout and "skipped" in result.stdout, result.stdout[-3000:]
    assert " passed" not in result.stdout and "error" not in result.stdout.lower(), result.stdout[-3000:]


@pytest.mark.browser
@pytest.mark.skipif(not any((Path(d) / "chromium").exists() for d in os.get_exec_path()),
                    reason="needs chromium on PATH, so that playwright is the missing piece")
def test_browser_suite_is_reported_skipped_without_playwright(tmp_path):
    fake = tmp_path / "playwright"  # an empty package shadows the installed one: no playwright.sync_api
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    result = run_browser_suite({"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stdout[-3000:]
    assert "playwright package is not installed" in result.stdout and "skipped" in result.stdout, result.stdout[-3000:]
    assert " passed" not in result.stdout, result.stdout[-3000:]
