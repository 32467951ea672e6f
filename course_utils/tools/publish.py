"""Where the student release is published, and what the release writes for it (README, "Open it in Colab,
Kaggle or your JupyterHub").

A release for a tag (``release --colab [URL@]TAG``) is opened and installed from the student repository
(the one the release builds for GitHub Classroom, docs/teaching.md; never the instructor's, whose
``notebooks/`` hold the solutions) at that tag: a badge cannot name the commit that contains it. Each
student notebook gets

- a first cell (:func:`~.injected.setup_cell`) that installs the kernel side of the course at the tag where
  it is missing, and does nothing in a course checkout or where that version is installed;
- "Open in Colab" and "Open in Kaggle" badges under its title, pointing at the notebook in the student
  repository at the tag.

The version is the tag's (``v1.2.0`` installs as 1.2.0: the package's version comes from its git tag,
pyproject.toml); the release records it, and the version of the checkout it was built from
(:func:`checkout_version`), in each notebook's metadata and in ``course.json``.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from .course import CourseError
from .injected import setup_cell
from ..settings import REPO_DIR, STUDENT_FOLDER, student_repository

SETUP_TAG = "course-setup"  # the first cell's tag (the set-up cell the release writes)
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
KAGGLE_BADGE = "https://kaggle.com/static/images/open-in-kaggle.svg"
_GITHUB = re.compile(r"^https://github\.com/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class Publication:
    """The student repository (its URL) and the tag a release is published at."""

    repository: str
    tag: str
    folder: str = STUDENT_FOLDER  # where the student notebooks lie in that repository

    @property
    def version(self) -> str:
        """The version the tag installs as (setuptools-scm: ``v1.2.0`` -> ``1.2.0``)."""
        try:
            return str(Version(self.tag))
        except InvalidVersion:
            raise CourseError(f"--colab: the tag {self.tag!r} is not a version (e.g. v1.2.0): the package's version "
                              "comes from it") from None

    @property
    def github(self) -> tuple[str, str]:
        match = _GITHUB.match(self.repository)
        if not match:
            raise CourseError(f"--colab: {self.repository!r} is not a GitHub repository (https://github.com/OWNER/REPO): "
                              "Colab and Kaggle open notebooks from GitHub")
        return match["owner"], match["repo"]

    @property
    def source(self) -> str:
        """What pip installs: GitHub's archive of the tag (no git needed where it runs)."""
        owner, repo = self.github
        return f"https://github.com/{owner}/{repo}/archive/refs/tags/{self.tag}.zip"

    def notebook_url(self, name: str) -> str:
        owner, repo = self.github
        return f"github.com/{owner}/{repo}/blob/{self.tag}/{self.folder}/{name}"

    def colab_url(self, name: str) -> str:
        return f"https://colab.research.google.com/{self.notebook_url(name).replace('github.com/', 'github/', 1)}"

    def kaggle_url(self, name: str) -> str:
        return f"https://kaggle.com/kernels/welcome?src=https://{self.notebook_url(name)}"

    def badges(self, name: str) -> str:
        return (f"[![Open in Colab]({COLAB_BADGE})]({self.colab_url(name)}) "
                f"[![Open in Kaggle]({KAGGLE_BADGE})]({self.kaggle_url(name)})")


def parse_publication(value: str) -> Publication:
    """``URL@TAG``, or ``TAG`` alone for the student repository of the settings
    (:func:`course_utils.settings.student_repository`)."""
    url, at, tag = value.rpartition("@")
    if not at:
        url, tag = "", value
    if not tag:
        raise CourseError(f"--colab {value!r}: name a tag (URL@TAG or TAG)")
    publication = Publication(url or student_repository(), tag)
    publication.version, publication.source  # noqa: B018  (each raises CourseError for a bad value)
    return publication


def checkout_version(root: Path = REPO_DIR) -> str:
    """The version of the checkout the release is built from, as pip would install it: setuptools-scm's
    where it is installed, else from ``git describe`` (the tag's version at a tag; ``+g<commit>`` after
    it or without tags), else the installed package's."""
    try:
        from setuptools_scm import get_version
        return get_version(root=str(root), fallback_version="0.0.0.dev0")
    except Exception:  # noqa: BLE001 (not installed, or no git: the next way)
        pass
    try:
        described = subprocess.run(["git", "describe", "--tags", "--long", "--dirty", "--always"], cwd=root,
                                   capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        import course_utils
        return course_utils.__version__
    match = re.match(r"^(?P<tag>.+)-(?P<distance>\d+)-g(?P<node>[0-9a-f]+)(?P<dirty>-dirty)?$", described)
    if match:
        try:
            base = Version(match["tag"])
        except InvalidVersion:
            base = None
        if base is not None:
            if match["distance"] == "0" and not match["dirty"]:
                return str(base)
            return f"{base}.post{match['distance']}.dev0+g{match['node']}" + (".dirty" if match["dirty"] else "")
    node = described.removesuffix("-dirty")
    return f"0.0.0.dev0+g{node}" + (".dirty" if described.endswith("-dirty") else "")


def release_record(publication: Publication | None, built_from: str) -> dict:
    """What the release records of itself (notebook metadata ``course_release``, ``course.json``)."""
    record = {"version": built_from}
    if publication is not None:
        record.update(repository=publication.repository, tag=publication.tag, installs=publication.version)
    return record


def publish(nb, name: str, publication: Publication) -> None:
    """Put the set-up cell first in the student notebook ``nb`` and the badges under its title."""
    import nbformat
    title = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if title is not None:
        first, _, rest = title.source.partition("\n")
        title.source = (f"{first}\n\n{publication.badges(name)}\n{rest}" if first.startswith("#")
                        else f"{publication.badges(name)}\n\n{title.source}").rstrip("\n")
    cell = nbformat.v4.new_code_cell(setup_cell(publication.version, publication.source))
    cell.metadata = {"tags": [SETUP_TAG], "cellView": "form"}  # Colab shows a form's title, its code folded
    if "id" in cell:
        cell.id = SETUP_TAG  # the same in every release
    nb.cells.insert(0, cell)
