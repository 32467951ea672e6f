"""The code the tools write into notebooks, in one place. Each snippet imports only the kernel side of
``course_utils`` (and IPython), which every kernel that runs a course notebook has
(tests/test_boundary.py runs every import these snippets make).

- :func:`setup_cell`: the first cell of a student notebook released for a tag (``release --colab``): installs
  the kernel side of the course where it is missing (Colab, Kaggle, a hub, a fresh Python), nothing else;
- :data:`STUDENT_MODE_LINE`: the release appends it to a student notebook's first code cell;
- :data:`CHECKS_LINE`: the release puts it first in each cell of a Checks section;
- :func:`prologue`: the grader's first cell (a forked copy of the kernel exits with its cell);
- :func:`probe_cell`: the grader's last cell: each exercise's probe, run on the answer the notebook
  defined, with a seed the grader drew; its data is the only thing the grader takes from the kernel.
"""
from __future__ import annotations

import json

STUDENT_MODE_LINE = "from course_utils.student import student_mode; student_mode()  # skips cells of unfinished exercises"
CHECKS_LINE = "from course_utils.outcome import require_exercises; require_exercises({numbers})"
PROBE_MIME = "application/x-course-probe+json"

_PROLOGUE = '''\
def _forked_copies_exit():
    # A copy of this kernel made by os.fork() in a cell (a fork bomb, or a fork never followed by exec
    # or _exit) would run on as a second kernel on the same sockets, spinning on a core the next
    # submission needs. It exits when the cell it was made in ends; one that an error stops (a fork
    # bomb's copies, once the process limit is reached) formats no traceback, which no one would see
    # (hundreds of copies doing so took about 20 s of both cores), but holds its process slot a
    # second and exits: meanwhile every other copy's fork fails too, so the bomb ends. multiprocessing's
    # forked workers never get there: they handle their own errors and leave through os._exit.
    import os
    import time
    kernel, shell = os.getpid(), get_ipython()

    def end_of_cell(result):
        if os.getpid() != kernel:
            os._exit(1)

    def hold_then_exit(*args, **kwargs):
        time.sleep(1)
        os._exit(1)

    def in_a_copy():
        shell.showtraceback = hold_then_exit
    shell.events.register("post_run_cell", end_of_cell)
    if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
        os.register_at_fork(after_in_child=in_a_copy)


_forked_copies_exit()
del _forked_copies_exit
'''

_PROBE_CELL = '''\
__import__("IPython.display", fromlist=["publish_display_data"]).publish_display_data({{{mime!r}: {{
    "token": {token!r},
    "probes": __import__("course_utils.checks", fromlist=["run_probes"]).run_probes({requests}, get_ipython().user_ns),
}}}})
'''


def prologue() -> str:
    """The grader's first cell."""
    return _PROLOGUE


def probe_cell(requests: dict[str, tuple[str, int]], token: str) -> str:
    """The grader's last cell: publishes {token, probes: {exercise: probe data as JSON text}} as display
    data of :data:`PROBE_MIME`, for ``requests`` = {exercise: (the answer's name, seed)}."""
    return _PROBE_CELL.format(mime=PROBE_MIME, token=token,
                              requests=json.dumps({k: [name, int(seed)] for k, (name, seed) in requests.items()}))


# The set-up cell imports the standard library only: it runs before the course is installed. It takes about
# 5 ms where the course is at hand (a checkout, or the release's version installed). Elsewhere pip installs the
# release without touching a package already present in a version the course allows (pip's default
# only-if-needed strategy, never --upgrade); a package that pip did change while it was loaded gets one line
# saying to restart, and Colab, where restarting is the norm, is restarted after that line.
# $COURSE_WHEELHOUSE names a folder of wheels to install from instead (offline tests: tests/test_hosted.py).
_SETUP_CELL = '''\
# @title Course set-up (course_utils {version}): installs it where it is missing; in a course checkout it does nothing
def _course_setup(version={version!r}, source={source!r}):
    import importlib, importlib.metadata as md, importlib.util, os, pathlib, subprocess, sys
    spec = importlib.util.find_spec("course_utils")
    if spec is not None and spec.origin:
        if (pathlib.Path(spec.origin).parent.parent / "pyproject.toml").is_file():
            return  # a course checkout (or an install of one in development mode)
        try:
            if md.version("course-utils") == version:
                return
        except md.PackageNotFoundError:
            pass
    before = {{(d.metadata["Name"] or "").lower(): d.version for d in md.distributions()}}
    wheels = os.environ.get("COURSE_WHEELHOUSE")
    what = ["--no-index", "--find-links", wheels, f"course-utils=={{version}}"] if wheels else [f"course-utils @ {{source}}"]
    print(f"Installing course_utils {{version}} from {{wheels or source}} (once per runtime) ...")
    run = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                          "--upgrade-strategy", "only-if-needed", *what], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError("pip could not install the course:\\n" + run.stdout[-2000:] + run.stderr[-2000:])
    importlib.invalidate_caches()
    after = {{(d.metadata["Name"] or "").lower(): d.version for d in md.distributions()}}
    changed = {{n for n in before if n in after and before[n] != after[n]}}
    owners = md.packages_distributions()
    loaded = sorted({{f"{{d}} {{before[d.lower()]}} (now {{after[d.lower()]}})" for m in list(sys.modules) if "." not in m
                     for d in owners.get(m, ()) if d.lower() in changed}})
    if loaded:
        colab = "google.colab" in sys.modules
        print("Restart the runtime" + (" (Colab restarts it now)" if colab else " (Kernel > Restart)")
              + ", then run the notebook again: " + ", ".join(loaded) + " was loaded before this install changed it.")
        if colab:
            os.kill(os.getpid(), 9)


_course_setup()
del _course_setup'''

SETUP_WHEELHOUSE_ENV = "COURSE_WHEELHOUSE"


def setup_cell(version: str, source: str) -> str:
    """The first cell of a notebook released for a tag: ``version`` is what that tag installs as, ``source``
    the pip requirement's URL (the student repository's archive of the tag)."""
    return _SETUP_CELL.format(version=version, source=source)


SNIPPETS = {"student mode": STUDENT_MODE_LINE, "checks": CHECKS_LINE.format(numbers='"1.1"'),
            "prologue": _PROLOGUE, "probe": probe_cell({"1.1": ("least_squares_gd", 1)}, "t"),
            "set-up": setup_cell("1.2.0", "https://github.com/example/course/archive/refs/tags/v1.2.0.zip")}
