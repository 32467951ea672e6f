"""Real clients: JupyterLab and TensorBoard servers on 127.0.0.1, driven by Debian's Chromium.

Every server and the browser are stopped when the tests end, also when a test fails. Without
Chromium or the playwright package the tests are reported as skipped, with the reason.
"""
from __future__ import annotations

import json
import secrets
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("Chromium not found: install Debian's package 'chromium' (.ci/run does)")
    return path


@pytest.fixture(scope="session")
def browser(chromium):
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


LAB_NOTEBOOKS = ("02_two_moons_mlp.ipynb", "05_fashion_mnist_minimal.ipynb")


@pytest.fixture(scope="session")
def workspace(tmp_path_factory, output_free_copy) -> Path:
    """A folder laid out like the repository (notebooks/, runs/, build/) with output-free copies."""
    root = tmp_path_factory.mktemp("workspace")
    for name in LAB_NOTEBOOKS:
        output_free_copy(REPO / "notebooks" / name, root / "notebooks" / name)
    return root


def lab_settings(folder: Path) -> Path:
    """User settings for the test server: every cell stays in the page (no windowing, so the test
    sees each prompt), and no news or update checks."""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none",
                                                                        "autoStartDefaultKernel": True},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                             "checkForUpdates": False},
    }
    for name, value in settings.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    return folder


@pytest.fixture(scope="session")
def jupyter_lab(workspace, chromium, free_port, serve):
    port, token = free_port(), secrets.token_hex(16)
    settings = lab_settings(workspace / "lab-settings")
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={workspace / 'notebooks'}", "--allow-root",
           f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={workspace / 'lab-workspaces'}"]
    with serve(cmd, f"{base}/api/status?token={token}", log=workspace / "jupyterlab.log"):
        yield {"base": base, "token": token, "dir": workspace / "notebooks"}


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
