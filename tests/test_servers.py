"""The `serve` fixture the client tests start servers with: bounded waits, clear failures, and the
process always stopped."""
import socket
import sys

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
