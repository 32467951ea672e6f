"""The published pages against WCAG 2.1 AA: axe-core in Chromium on each notebook's HTML page.

The pages are the committed notebooks exported with the course's exporter (the one `make run` uses
for build/), without executing them: their stored outputs are those of a top-to-bottom run
(tests/test_notebooks.py), so the page is the one `make run` writes, minus timing noise. The page
may load nothing from the network (MathJax and require.js come from a CDN and are blocked): what
axe sees is the page as written.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

import accessibility as a11y
from course_utils.tools.execute import export_html

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
BLOCKING = ("serious", "critical")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pages")
    return {p.stem: export_html(nbformat.read(p, as_version=4), out / f"{p.stem}.html") for p in NOTEBOOKS}


@pytest.fixture(scope="module")
def axe_js() -> Path:
    if not a11y.AXE_JS.is_file():
        pytest.skip(f"axe-core not found at {a11y.AXE_JS}: npm install --prefix .ci/node axe-core@4 (.ci/run does)")
    return a11y.AXE_JS


def open_offline(browser, path: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
               else route.abort())
    page.goto(path.as_uri())
    return page


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        where = "; ".join(" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                          for n in v["nodes"][:3])
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements: {v['help']}), e.g. {where}")
    return "\n  ".join(lines)


@pytest.mark.parametrize("name", [p.stem for p in NOTEBOOKS])
def test_page_has_no_serious_axe_violation(name, pages, browser, axe_js):
    page = open_offline(browser, pages[name])
    try:
        results = a11y.run_axe(page)
    finally:
        page.close()
    blocking = [v for v in results["violations"] if v["impact"] in BLOCKING]
    assert blocking == [], f"{name}.html, axe-core {results['testEngine']['version']}:\n  {describe(blocking)}"


@pytest.mark.parametrize("name", [p.stem for p in NOTEBOOKS])
def test_every_image_on_the_page_has_a_description(name, pages, browser):
    page = open_offline(browser, pages[name])
    try:
        alts = page.eval_on_selector_all("img", "els => els.map(e => e.getAttribute('alt'))")
    finally:
        page.close()
    missing = [i for i, alt in enumerate(alts) if not (alt or "").strip() or alt.strip() == a11y.NBCONVERT_PLACEHOLDER]
    assert missing == [], (f"{name}.html: {len(missing)} of {len(alts)} images have no description "
                           "(show them with course_utils.figures.show_figure)")


def test_axe_finds_what_the_course_template_fixes(tmp_path, browser, axe_js):
    """The check can fail: nbconvert's own lab template, on a small notebook with code, a link in
    text and a figure without description, gives contrast and link violations."""
    from nbconvert import HTMLExporter

    from course_notebooks import code, make_nb, md
    nb = make_nb(md("# Title\n\nSee [the docs](https://example.org) for more."), code("x = 1 + 2.5  # a comment"))
    nb.cells[1].execution_count = 1
    path = tmp_path / "plain.html"
    path.write_text(HTMLExporter().from_notebook_node(nb)[0], encoding="utf-8")
    page = open_offline(browser, path)
    try:
        found = a11y.summarize(a11y.run_axe(page)["violations"])
    finally:
        page.close()
    assert {"color-contrast", "link-in-text-block"} <= set(found), found
    ours = export_html(nb, tmp_path / "course.html")
    page = open_offline(browser, ours)
    try:
        assert a11y.summarize(a11y.run_axe(page)["violations"]) == {}
    finally:
        page.close()
