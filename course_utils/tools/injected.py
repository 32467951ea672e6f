"""The code the tools write into notebooks, in one place. Each snippet imports only the kernel side of
``course_utils`` (and IPython), which every kernel that runs a course notebook has
(tests/test_boundary.py runs every import these snippets make).

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


SNIPPETS = {"student mode": STUDENT_MODE_LINE, "checks": CHECKS_LINE.format(numbers='"1.1"'),
            "prologue": _PROLOGUE, "probe": probe_cell({"1.1": ("least_squares_gd", 1)}, "t")}
