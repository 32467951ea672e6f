"""What people see: notebooks 02 and 05 run in JupyterLab, the animation played there and in the
exported HTML, and TensorBoard's page over the logs notebook 06 writes."""
import json
import re
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from course_utils.tools.execute import export_html
from course_utils.tracking import latest_run, read_scalars

from .conftest import screenshot

ALL_PROMPTS_NUMBERED = """() => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim());
  return prompts.length > 0 && prompts.every(t => /^\\[\\d+\\]:$/.test(t));
}"""


def api(lab, path: str, method: str = "GET"):
    """A call to the JupyterLab server's REST API, with its token; the decoded JSON answer."""
    req = urllib.request.Request(f"{lab['base']}{path}", method=method,
                                 headers={"Authorization": f"token {lab['token']}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


def kernel_ready(lab, name: str) -> bool:
    """Whether the kernel of ``name``'s session has started and is idle with the page connected."""
    kernels = [s["kernel"] for s in api(lab, "/api/sessions") if Path(s["path"]).name == name]
    return bool(kernels) and kernels[0]["execution_state"] == "idle" and kernels[0].get("connections", 0) >= 1


def run_all_cells(browser, lab, name: str, timeout_s: int = 300):
    """Open ``name`` in JupyterLab, which starts a fresh kernel for it, and run every cell with
    Run > Run All Cells, a student's first step; wait until each has run, save.

    The kernel is not restarted from the page: a restart requested while the new kernel is still
    starting can leave JupyterLab showing it "Starting" for good (jupyter_server then fails to
    decode the reconnecting websocket's messages). The page's kernel is fresh, and the saved notebook
    shows every cell counted from 1."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    # a workspace of its own, reset: only this notebook is open in the page
    page.goto(f"{lab['base']}/lab/workspaces/{Path(name).stem}/tree/{name}?reset&token={lab['token']}")
    deadline = time.monotonic() + 120
    while True:  # until the kernel is idle with no dialog ("Select Kernel" may ask once) in the way
        if page.locator(".jp-Dialog").count():
            page.locator(".jp-Dialog .jp-mod-accept").first.click()
        elif (page.locator(".jp-NotebookPanel:visible .jp-Notebook-ExecutionIndicator[data-status='idle']").count()
              and kernel_ready(lab, name)):
            break
        if time.monotonic() > deadline:
            screenshot(page, f"FAILED_open_{name}")
            raise AssertionError(f"{name}: the kernel did not become idle within 120 s")
        page.wait_for_timeout(500)
    prompts = page.locator(".jp-NotebookPanel:visible .jp-CodeCell .jp-InputPrompt").all_inner_texts()
    assert prompts and all(p.strip() in ("[ ]:", "") for p in prompts), f"{name}: cells ran before Run All: {prompts}"
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).first.click()
    try:
        page.wait_for_function(ALL_PROMPTS_NUMBERED, polling=250, timeout=timeout_s * 1000)
    except Exception:
        screenshot(page, f"FAILED_{name}")
        prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_inner_texts()
        raise AssertionError(f"{name}: not every cell ran within {timeout_s} s; prompts {prompts}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    page.keyboard.press("Control+s")
    page.wait_for_timeout(1500)
    return page


def shut_down_kernels(lab) -> None:
    """Stop the kernels a notebook page started (closing the page leaves them running)."""
    for session in api(lab, "/api/sessions"):
        api(lab, f"/api/sessions/{session['id']}", method="DELETE")


def error_outputs(page) -> list[str]:
    """Text of every traceback JupyterLab shows."""
    texts = page.locator(".jp-OutputArea-output").all_inner_texts()
    return [t[:300] for t in texts if "Traceback (most recent call last)" in t or "Error Traceback" in t]


def saved_run(lab, name: str) -> nbformat.NotebookNode:
    """The notebook as the UI saved it: every code cell ran, in order, and none raised."""
    nb = nbformat.read(lab["dir"] / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), f"{name}: not run top to bottom once"
    errors = [f"{o.ename}: {o.evalue}" for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == [], f"{name}: error outputs {errors}"
    return nb


def missing_captions(page, nb) -> list[str]:
    """Problems with the figures' captions in JupyterLab: every figure of the saved notebook is
    described (course_utils.figures.show_figure), and each caption's text is on the page (up to
    its first formula, which MathJax typesets)."""
    from accessibility import figure_problems
    from course_utils.figures import CAPTION_CLASS
    problems = figure_problems(nb)
    expected = [o["data"]["text/plain"].removeprefix("Figure. ") for c in nb.cells if c.cell_type == "code"
                for o in c.outputs if CAPTION_CLASS in str(o.get("data", {}).get("text/html", ""))]
    shown = " ".join(" ".join(t.split()) for t in page.locator(f".jp-OutputArea-output .{CAPTION_CLASS}").all_inner_texts())
    for caption in expected:
        text = " ".join(caption.split("$")[0].split())
        if text not in shown:
            problems.append(f"caption not on the page: {caption[:80]!r}")
    return problems


def frame_label(anim) -> str:
    return anim.locator("span").first.inner_text()


def exercise_player(page, anim) -> None:
    """Next, slider and play each change the frame shown."""
    img = anim.locator("img").first
    src0, label0 = img.get_attribute("src"), frame_label(anim)
    assert label0.startswith("frame 1 / ")
    anim.locator("button[title='next frame']").click()
    assert frame_label(anim).startswith("frame 2 / ") and img.get_attribute("src") != src0
    slider = anim.locator("input[type=range]")
    middle = int(slider.get_attribute("max")) // 2  # whatever number of frames the notebook renders
    assert middle >= 2, "the player should hold more than a handful of frames"
    slider.fill(str(middle))
    assert frame_label(anim).startswith(f"frame {middle + 1} / ")
    anim.locator("button[title='previous frame']").click()
    assert frame_label(anim).startswith(f"frame {middle} / ")
    anim.locator("button[title='play / pause']").click()
    page.wait_for_function(f"el => !el.textContent.startsWith('frame {middle} ')",
                           arg=anim.locator("span").first.element_handle(), timeout=10_000)
    anim.locator("button[title='play / pause']").click()  # pause
    paused = frame_label(anim)
    page.wait_for_timeout(600)
    assert frame_label(anim) == paused, "pause should stop the animation"


@pytest.fixture(scope="module")
def two_moons_page(browser, jupyter_lab):
    page = run_all_cells(browser, jupyter_lab, "02_two_moons_mlp.ipynb")
    yield page
    page.close()
    shut_down_kernels(jupyter_lab)


def test_two_moons_runs_in_jupyterlab_and_its_animation_plays(two_moons_page, jupyter_lab):
    page = two_moons_page
    assert error_outputs(page) == []
    saved_run(jupyter_lab, "02_two_moons_mlp.ipynb")
    anim = page.locator(".course-anim").first
    anim.scroll_into_view_if_needed()
    for control in ("button[title='play / pause']", "button[title='next frame']", "input[type=range]"):
        assert anim.locator(control).count() == 1, control
    exercise_player(page, anim)
    assert page.locator(".jp-OutputArea-output", has_text="All checks passed.").count() == 1
    screenshot(page, "02_two_moons_mlp")


def test_two_moons_figures_show_their_captions_in_jupyterlab(two_moons_page, jupyter_lab):
    saved = saved_run(jupyter_lab, "02_two_moons_mlp.ipynb")
    assert missing_captions(two_moons_page, saved) == []


def test_exported_html_plays_without_jupyter(two_moons_page, browser, jupyter_lab, tmp_path):
    saved = saved_run(jupyter_lab, "02_two_moons_mlp.ipynb")
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


def test_fashion_mnist_minimal_runs_in_jupyterlab(browser, jupyter_lab):
    page = run_all_cells(browser, jupyter_lab, "05_fashion_mnist_minimal.ipynb")
    try:
        assert error_outputs(page) == []
        saved = saved_run(jupyter_lab, "05_fashion_mnist_minimal.ipynb")
        final = page.locator(".jp-OutputArea-output", has_text=re.compile(r"^Test accuracy: ")).all_inner_texts()
        assert len(final) == 1, final
        accuracy = float(re.match(r"Test accuracy: (\d\.\d+)", final[0]).group(1))
        assert accuracy >= 0.85, final[0]
        assert page.locator(".jp-OutputArea-output", has_text="All checks passed.").count() == 1
        page.locator(".jp-OutputArea-output", has_text="Test accuracy: ").first.scroll_into_view_if_needed()
        screenshot(page, "05_fashion_mnist_minimal")
        assert missing_captions(page, saved) == []
    finally:
        page.close()
        shut_down_kernels(jupyter_lab)


@pytest.fixture(scope="module")
def tensorboard_06(clean_run, free_port, serve, tmp_path_factory):
    """TensorBoard on 127.0.0.1 over the logs notebook 06 wrote when the course ran in a clean folder."""
    logdir = clean_run.root / "notebooks" / "runs"  # where a notebook keeps its runs
    assert (clean_run.executed / "06_fashion_mnist_tensorboard.ipynb").is_file(), \
        f"notebook 06 did not run, so there are no logs to show:\n{clean_run.check.stderr[-3000:]}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(port)]
    with serve(cmd, f"{base}/data/runs", log=tmp_path_factory.mktemp("tensorboard") / "tensorboard.log",
               ready=lambda body: json.loads(body)):
        yield {"base": base, "logdir": logdir}


def card_table(card, run: str) -> dict[str, str]:
    """The row of ``run`` in a scalar card's data table (a card shows one row per run), keyed by
    column header; fails listing the runs shown when there is none."""
    card.locator("tb-data-table-content-row").first.wait_for(timeout=30_000)
    headers = [h.strip() for h in card.locator("tb-data-table-header-cell").all_inner_texts()]
    rows = [dict(zip(headers, (c.strip() for c in row.locator("tb-data-table-content-cell").all_inner_texts())))
            for row in card.locator("tb-data-table-content-row").all()]
    matching = [r for r in rows if r.get("Run") == run]  # TensorBoard may render a card's table twice
    assert matching, f"no row for run {run!r}; the card shows {[r.get('Run') for r in rows]}"
    assert all(r == matching[0] for r in matching), f"rows for {run!r} disagree: {matching}"
    return matching[0]


def test_tensorboard_page_shows_a_card_for_every_logged_scalar(browser, tensorboard_06):
    run_dir = latest_run(tensorboard_06["logdir"], "06_tensorboard")
    expected = read_scalars(run_dir)
    for tag in ("loss/train", "loss/validation", "accuracy/validation", "train/grad_norm", "train/learning_rate"):
        assert tag in expected, f"notebook 06 should log {tag}"
    expect = pytest.importorskip("playwright.sync_api").expect
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{tensorboard_06['base']}/#timeseries")
        tag_filter = page.locator("metrics-tag-filter input")
        for tag, points in sorted(expected.items()):
            tag_filter.fill("^" + re.escape(tag) + "$")
            card = page.locator("scalar-card-component", has=page.locator(f"tb-truncated-path[title='{tag}']"))
            expect(card, f"one card for {tag}").to_have_count(1, timeout=30_000)
            row = card_table(card, run_dir.relative_to(tensorboard_06["logdir"]).as_posix())
            last_step, last_value = points[-1]
            assert int(row["Step"].replace(",", "")) == last_step, (tag, row, last_step)
            assert float(row["Value"].replace(",", "")) == pytest.approx(last_value, rel=1e-3, abs=1e-4), (tag, row)
        tag_filter.fill("^(loss|accuracy)/")
        page.keyboard.press("Escape")
        page.wait_for_timeout(1000)
        screenshot(page, "06_tensorboard_time_series")
    finally:
        page.close()
