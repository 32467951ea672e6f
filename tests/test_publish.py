"""A release published for Colab, Kaggle and hubs (`release --colab URL@TAG`): the first cell, the badges, what
the release records, the first cell as a no-op in a checkout, and a notebook saved the way Colab saves it
graded like the original. The install itself, offline, in a bare hub venv: tests/test_hosted.py."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from course_utils.settings import runtime
from course_utils.tools.course import MODEL_FILE, CourseError, load_course
from course_utils.tools.publish import SETUP_TAG, Publication, parse_publication
from course_utils.tools.release import RELEASE_KEY, build_release

REPO = Path(__file__).resolve().parents[1]
COURSE = load_course(REPO / "notebooks")
URL, TAG = "https://github.com/ee541/unit1-student", "v1.2.0"
NAMES = ("02_two_moons_mlp.ipynb", "05_fashion_mnist_minimal.ipynb")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    out = tmp_path_factory.mktemp("published") / "student"
    build_release([REPO / "notebooks" / n for n in NAMES], out, publication=parse_publication(f"{URL}@{TAG}"))
    return out


def test_a_publication_names_a_github_repository_and_a_version_tag():
    p = parse_publication(f"{URL}@{TAG}")
    assert (p.repository, p.tag, p.version) == (URL, TAG, "1.2.0")
    assert p.source == f"{URL}/archive/refs/tags/{TAG}.zip", "pip installs GitHub's archive of the tag: no git needed"
    with pytest.raises(CourseError, match="not a version"):
        parse_publication(f"{URL}@latest")
    with pytest.raises(CourseError, match="not a GitHub repository"):
        parse_publication("https://gitlab.example.org/x/y@v1.0")
    with pytest.raises(CourseError, match="name a tag"):
        parse_publication(f"{URL}@")


@pytest.mark.parametrize("name", NAMES)
def test_each_published_notebook_opens_the_student_repository_at_the_tag(name, published):
    nb = nbformat.read(published / name, as_version=4)
    title = nb.cells[1].source
    links = dict(re.findall(r"\[!\[(Open in \w+)\]\([^)]*\)\]\(([^)]+)\)", title))
    notebook = f"ee541/unit1-student/blob/{TAG}/student/{name}"
    assert links == {"Open in Colab": f"https://colab.research.google.com/github/{notebook}",
                     "Open in Kaggle": f"https://kaggle.com/kernels/welcome?src=https://github.com/{notebook}"}
    assert "notebooks/" not in json.dumps(links), "never the instructor's notebooks (they hold the solutions)"
    setup = nb.cells[0]
    assert setup.cell_type == "code" and setup.metadata["tags"] == [SETUP_TAG]
    assert "version='1.2.0'" in setup.source and f"{URL}/archive/refs/tags/{TAG}.zip" in setup.source
    assert nb.metadata[RELEASE_KEY]["tag"] == TAG and nb.metadata[RELEASE_KEY]["installs"] == "1.2.0"


def test_the_release_records_its_version_in_the_course_model(published):
    record = json.loads((published / MODEL_FILE).read_text())["release"]
    assert record["repository"] == URL and record["tag"] == TAG and record["version"]


def test_an_unpublished_release_has_no_first_cell_and_no_badges(tmp_path):
    build_release(REPO / "notebooks" / NAMES[0], tmp_path / "s")
    nb = nbformat.read(tmp_path / "s" / NAMES[0], as_version=4)
    assert SETUP_TAG not in nb.cells[0].metadata.get("tags", []) and "Open in Colab" not in nb.cells[0].source


def test_the_first_cell_does_nothing_in_a_checkout_and_takes_under_half_a_second(published):
    """Run in a Python with the course at hand (this checkout), as a kernel runs a cell: no output, no pip."""
    source = nbformat.read(published / NAMES[0], as_version=4).cells[0].source
    timed = ("import time, io, contextlib\nout = io.StringIO()\nstart = time.perf_counter()\n"
             "with contextlib.redirect_stdout(out):\n    exec(compile(SRC, 'cell', 'exec'), {})\n"
             "print(time.perf_counter() - start, repr(out.getvalue()))")
    proc = subprocess.run([sys.executable, "-c", f"SRC = {source!r}\n{timed}"], capture_output=True, text=True,
                          timeout=120, cwd="/")
    assert proc.returncode == 0, proc.stderr
    seconds, shown = proc.stdout.split(" ", 1)
    assert float(seconds) < 0.5 and shown.strip() == "''", proc.stdout


@pytest.mark.parametrize("environ, name", [({"COLAB_RELEASE_TAG": "release-colab_20260819"}, "Colab"),
                                           ({"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, "Kaggle"),
                                           ({"JUPYTERHUB_USER": "ada"}, "JupyterHub"),
                                           ({"VSCODE_PID": "42"}, "VS Code"), ({}, "local")])
def test_the_runtime_is_told_by_the_variables_each_platform_sets(environ, name):
    assert runtime(environ) == name


def saved_by_colab(nb) -> nbformat.NotebookNode:
    """``nb`` as Colab writes it back to Drive or GitHub: nbformat 4.0 (no top-level cell ids: an "id" in each
    cell's metadata), its own notebook metadata ("colab", "accelerator", a kernelspec without a language),
    "outputId" on executed cells, and "cellView" on the set-up form; the course metadata and tags kept (Colab
    keeps cell metadata it does not know)."""
    data = json.loads(nbformat.writes(nb))
    data["nbformat_minor"] = 0
    data["metadata"] = {"colab": {"provenance": [], "toc_visible": True, "name": "Copy of 02_two_moons_mlp.ipynb"},
                        "kernelspec": {"name": "python3", "display_name": "Python 3"},
                        "language_info": {"name": "python"}, "accelerator": "GPU",
                        **{k: v for k, v in data["metadata"].items() if k.startswith("course")}}
    for cell in data["cells"]:
        cell.pop("id", None)
        cell["metadata"] = {"id": uuid.uuid4().hex[:12], **cell.get("metadata", {})}
        if cell["cell_type"] == "code":
            cell["metadata"].update(colab={"base_uri": "https://localhost:8080/"}, outputId=str(uuid.uuid4()))
    return nbformat.reads(json.dumps(data), as_version=4)


@pytest.mark.notebook
def test_a_notebook_saved_by_colab_grades_like_the_original(published, tmp_path):
    """The published 02 answered right, once as released and once as Colab saves a copy ("Copy of ..."):
    `check` gives both the same results."""
    original = nbformat.read(published / NAMES[0], as_version=4)
    model = COURSE.notebooks["02_two_moons_mlp"]
    for exercise in model.exercises:  # the set-up cell came first: the solution's index moved by one
        at = next(i for i, c in enumerate(original.cells)
                  if c.metadata.get("course", {}) == {"exercise": exercise.number, "part": "solution"})
        original.cells[at].source = model.notebook.cells[exercise.solution].source
    results = {}
    for label, nb, name in (("original", original, NAMES[0]),
                            ("colab", saved_by_colab(original), "Copy of 02_two_moons_mlp.ipynb")):
        folder = tmp_path / label
        folder.mkdir()
        nbformat.write(nb, folder / name)
        proc = subprocess.run([sys.executable, "-m", "course_utils", "check", str(folder),
                               "--executed", str(tmp_path / f"{label}-executed")], capture_output=True, text=True,
                              timeout=900, cwd=REPO)
        assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
        # the class of one is the whole course: the other notebooks' exercises are not submitted
        results[label] = re.findall(r"\s(2\.\d)\s+(passed|failed|not attempted)\b", proc.stdout)
    assert results["original"] == [("2.1", "passed"), ("2.2", "passed")], results
    assert results["colab"] == results["original"]


def test_outside_a_checkout_the_data_goes_where_the_hosted_runtime_keeps_files_longest(tmp_path, monkeypatch):
    from course_utils import settings
    installed = tmp_path / "site-packages"  # an installed course: no pyproject.toml beside the package
    (installed / "course_utils").mkdir(parents=True)
    monkeypatch.setattr(settings, "REPO_DIR", installed)
    monkeypatch.delenv(settings.DATA_DIR_ENV, raising=False)
    content = tmp_path / "content"
    content.mkdir()
    monkeypatch.setitem(settings.HOSTED_ROOTS, "Colab", str(content))
    for var in ("COLAB_RELEASE_TAG", "COLAB_GPU", "KAGGLE_KERNEL_RUN_TYPE", "KAGGLE_URL_BASE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    assert settings.data_root() == tmp_path / "data", "a plain Python: the working folder"
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20260819")
    assert settings.data_root() == content / "data", "Colab: /content, which survives a runtime restart"
    assert settings.checkout_file("environment.yml") is None
