"""What people see: notebook 02 run in JupyterLab, its animation played there and in the exported HTML."""
import time

import nbformat
import pytest

from course_utils.execute import export_html

from .conftest import screenshot

ALL_PROMPTS_NUMBERED = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim());
  return prompts.length > 0 && prompts.every(t => /^\\[\\d+\\]:$/.test(t));
}"""


def run_all_cells(browser, lab, name: str, timeout_s: int = 300):
    """Open ``name`` in JupyterLab, run all cells from the Run menu, wait until each has run, save."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{lab['base']}/lab/tree/{name}?token={lab['token']}")
    deadline = time.monotonic() + 120
    while True:  # until the kernel is idle with no dialog ("Select Kernel" may ask once) in the way
        if page.locator(".jp-Dialog").count():
            page.locator(".jp-Dialog .jp-mod-accept").first.click()
        elif page.locator(".jp-NotebookPanel:visible .jp-Notebook-ExecutionIndicator[data-status='idle']").count():
            break
        if time.monotonic() > deadline:
            screenshot(page, f"FAILED_open_{name}")
            raise AssertionError(f"{name}: the kernel did not become idle within 120 s")
        page.wait_for_timeout(500)
    # the toolbar's "Restart the kernel and run all cells": a fresh kernel, every cell in order
    page.locator(".jp-NotebookPanel:visible [data-command='notebook:restart-run-all']").first.click()
    page.locator(".jp-Dialog .jp-mod-accept").first.click(timeout=30_000)  # "Restart Kernel?"
    try:
        page.wait_for_function(ALL_PROMPTS_NUMBERED, timeout=timeout_s * 1000)
    except Exception:
        screenshot(page, f"FAILED_{name}")
        prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_inner_texts()
        raise AssertionError(f"{name}: not every cell ran within {timeout_s} s; prompts {prompts}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1500)
    return page


def error_outputs(page) -> list[str]:
    """Text of every traceback JupyterLab shows."""
    texts = page.locator(".jp-OutputArea-output").all_inner_texts()
    return [t[:300] for t in texts if "Traceback (most recent call last)" in t or "Error Traceback" in t]


def frame_label(anim) -> str:
    return anim.locator("span").first.inner_text()


def exercise_player(page, anim) -> None:
    """Next, slider and play each change the frame shown."""
    img = anim.locator("img").first
    src0, label0 = img.get_attribute("src"), frame_label(anim)
    assert label0.startswith("frame 1 / ")
    anim.locator("button[title='next frame']").click()
    assert frame_label(anim).startswith("frame 2 / ") and img.get_attribute("src") != src0
    anim.locator("input[type=range]").fill("30")
    assert frame_label(anim).startswith("frame 31 / ")
    anim.locator("button[title='previous frame']").click()
    assert frame_label(anim).startswith("frame 30 / ")
    anim.locator("button[title='play / pause']").click()
    page.wait_for_function("el => !el.textContent.startsWith('frame 30 ')", arg=anim.locator("span").first.element_handle(),
                           timeout=10_000)
    anim.locator("button[title='play / pause']").click()  # pause
    paused = frame_label(anim)
    page.wait_for_timeout(600)
    assert frame_label(anim) == paused, "pause should stop the animation"


@pytest.fixture(scope="module")
def two_moons_page(browser, jupyter_lab):
    page = run_all_cells(browser, jupyter_lab, "02_two_moons_mlp.ipynb")
    yield page
    page.close()


def test_two_moons_runs_in_jupyterlab_and_its_animation_plays(two_moons_page):
    page = two_moons_page
    assert error_outputs(page) == []
    anim = page.locator(".course-anim").first
    anim.scroll_into_view_if_needed()
    for control in ("button[title='play / pause']", "button[title='next frame']", "input[type=range]"):
        assert anim.locator(control).count() == 1, control
    exercise_player(page, anim)
    assert page.locator(".jp-OutputArea-output", has_text="All checks passed.").count() == 1
    screenshot(page, "02_two_moons_mlp")


def test_exported_html_plays_without_jupyter(two_moons_page, browser, jupyter_lab, tmp_path):
    saved = nbformat.read(jupyter_lab["dir"] / "02_two_moons_mlp.ipynb", as_version=4)
    assert any(c.get("outputs") for c in saved.cells if c.cell_type == "code"), "the UI run should have been saved"
    html = export_html(saved, tmp_path / "02_two_moons_mlp.html")  # what `make run` writes to build/
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(html.as_uri())
        anim = page.locator(".course-anim").first
        anim.scroll_into_view_if_needed()
        exercise_player(page, anim)
        screenshot(page, "02_two_moons_mlp_html_export")
    finally:
        page.close()
