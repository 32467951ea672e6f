"""Student mode: what a student's kernel does with unfinished exercises.

:func:`student_mode` (one line in the first code cell of every released notebook) does two things:

- a cell whose first line is ``#| needs: 4.1`` (the release writes it from the course model) is
  skipped whole until Exercise 4.1's check has passed in this kernel: it does not run at all, and
  shows one line, "» Skipped: this cell needs Exercise 4.1 ...". Once the check passes, the same
  cell runs as written;
- a cell that calls an exercise's stub (``NotImplementedError("Exercise N.k: ...")``) shows one
  line saying so instead of a traceback;
- a self-check that finds a wrong answer shows its result ("✗ Exercise N.k: failed. ...") as the
  cell's value instead of raising. Run All then goes on past it on every platform: JupyterLab,
  nbclient and VS Code honour the release's ``raises-exception`` tag, Colab's and Kaggle's Run All
  stop at any cell that raises. The release's final Checks cell still raises until every exercise
  passes (nothing runs after it); nbgrader's version has no student mode, and its checks raise.

Every other error keeps its traceback; a self-check failure shows its one-line message. The results
it reads are :mod:`course_utils.outcome`'s, the same the grader and the Checks cell read.
"""
from __future__ import annotations

import sys

import re

from .outcome import latest, passed

NEEDS_LINE = "#| needs: "  # the first line the release writes into a cell that needs exercises
STUB = re.compile(r"^Exercise (\d+\.\d+)\b:?\s*(.*)$")  # parses a stub's NotImplementedError message

_SKIP_CALL = "__import__('course_utils.student', fromlist=['skipped']).skipped({numbers!r})\n"


def needed(source: str) -> list[str]:
    """The exercise numbers a cell's ``#| needs:`` first line names ([] without one)."""
    first = source.lstrip("\n").split("\n", 1)[0]
    if not first.startswith(NEEDS_LINE):
        return []
    return [n.strip() for n in first[len(NEEDS_LINE):].split(",") if n.strip()]


def _skip_unmet(lines: list[str]) -> list[str]:
    """IPython input transformer: a cell needing an exercise that has not passed becomes one call
    to :func:`skipped`; any other cell is left as it is."""
    unmet = [n for n in needed("".join(lines)) if not passed(n)]
    return [_SKIP_CALL.format(numbers=unmet)] if unmet else lines


def skipped(numbers: list[str]) -> None:
    """Print the line a skipped cell shows."""
    why = ", ".join(f"Exercise {n} ({latest(n).status if latest(n) else 'check not run yet'})" for n in numbers)
    line = (f"» Skipped: this cell needs {why}. The notebook continues; once "
            f"{'it passes' if len(numbers) == 1 else 'they pass'}, run this cell again.\n")
    sys.stdout.write(line)  # one write: one stream output, not the text and its newline apart
    sys.stdout.flush()


def _handler(shell, etype, value, tb, tb_offset=None):
    """IPython custom exception handler: a stub's NotImplementedError in one line; anything else
    as IPython shows it (a self-check failure as its message, a real error with its traceback)."""
    stub = STUB.match(str(value)) if isinstance(value, NotImplementedError) else None
    if stub:
        title = f" ({stub.group(2)})" if stub.group(2) else ""
        print(f"» This cell called Exercise {stub.group(1)}{title}, which is not done yet: "
              "finish it, run its check, then run this cell again.")
        return None
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    return None


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


_active = False  # student_mode() ran in this kernel


def active() -> bool:
    """Whether :func:`student_mode` runs in this kernel (a self-check then shows a failure, not raises it)."""
    return _active


def student_mode() -> None:
    """Install the skips, the stub message and the checks' results described above; a no-op outside IPython."""
    global _active
    shell = _shell()
    if shell is None:
        return
    _active = True
    shell.set_custom_exc((NotImplementedError,), _handler)
    if _skip_unmet not in shell.input_transformers_post:
        shell.input_transformers_post.append(_skip_unmet)


__all__ = ["active", "student_mode", "needed", "skipped"]
