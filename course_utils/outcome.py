"""An exercise's outcome, defined once: the statuses, the result record, and how results travel.

Every self-check ends in :func:`record`. From there a result reaches everyone who needs it, the
same way: :func:`latest` (student mode's skips, :func:`require_exercises` in the release's Checks
cell and in nbgrader's locked test cells) and the listeners added with :func:`subscribe` (the
grader, which publishes each result on its own channel). Standard library only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"
STATUSES = (PASSED, FAILED, NOT_ATTEMPTED)
_MARK = {PASSED: "✓", FAILED: "✗", NOT_ATTEMPTED: "…"}


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check: ``exercise`` ("4.1"), ``status`` (one of :data:`STATUSES`), ``message``."""

    exercise: str
    status: str
    message: str = ""

    def __str__(self) -> str:
        return f"{_MARK[self.status]} Exercise {self.exercise}: {self.status}" + (f". {self.message}" if self.message else "")

    __repr__ = __str__


_latest: dict[str, CheckResult] = {}  # exercise number -> its latest result in this process
_listeners: list[Callable[[CheckResult], None]] = []


def record(result: CheckResult) -> CheckResult:
    """Keep ``result`` as its exercise's latest and hand it to every listener."""
    _latest[result.exercise] = result
    for listener in list(_listeners):
        listener(result)
    return result


def latest(exercise: str) -> CheckResult | None:
    """The latest result of ``exercise`` in this process (None: its check has not run)."""
    return _latest.get(exercise)


def passed(exercise: str) -> bool:
    result = _latest.get(exercise)
    return result is not None and result.status == PASSED


def subscribe(listener: Callable[[CheckResult], None]) -> None:
    """Call ``listener(result)`` after every check from now on (once, however often subscribed)."""
    if listener not in _listeners:
        _listeners.append(listener)


def forget() -> None:
    """Drop every recorded result (a fresh start; listeners stay)."""
    _latest.clear()


class ExerciseNotPassed(AssertionError):
    """An exercise that had to pass did not. Shown in Jupyter as its message only."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [f"✗ {self}"]


def require_exercises(*numbers: str) -> list[CheckResult]:
    """Each exercise's latest result, if every one passed; else :class:`ExerciseNotPassed` naming
    those that did not and why (failed, not attempted, check not run). For one exercise the message
    is its result itself (with what differs), as an nbgrader test cell shows it."""
    missing = [n for n in numbers if not passed(n)]
    if len(numbers) == 1 and missing:
        n = numbers[0]
        raise ExerciseNotPassed(str(_latest[n])[2:] if n in _latest
                                else f"Exercise {n}: its check has not run (an error in a cell above?)")
    if missing:
        raise ExerciseNotPassed("Not every exercise passes yet: "
                                + ", ".join(f"{n} ({_latest[n].status if n in _latest else 'check not run'})" for n in missing)
                                + ". Their check cells above say what is wrong.")
    return [_latest[n] for n in numbers]
