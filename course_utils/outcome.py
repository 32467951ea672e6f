"""An exercise's outcome, defined once: the three statuses, the result record, and where a kernel keeps it.

Every self-check in a student's kernel ends in :func:`record`, which keeps the result for
:func:`latest` (student mode's skips, :func:`require_exercises` in the release's Checks cell and in
nbgrader's locked test cells). That is feedback for the student: a grader never reads it (it judges
the probes' data in its own process, course_utils.tools.grading). Standard library only.
"""
from __future__ import annotations

from dataclasses import dataclass

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"
STATUSES = (PASSED, FAILED, NOT_ATTEMPTED)
_MARK = {PASSED: "✓", FAILED: "✗", NOT_ATTEMPTED: "…"}


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check: ``exercise`` ("4.1"), ``status`` (one of :data:`STATUSES`), ``message``."""

    exercise: str
    status: str
    message: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is none of {STATUSES}")

    def __str__(self) -> str:
        return f"{_MARK[self.status]} Exercise {self.exercise}: {self.status}" + (f". {self.message}" if self.message else "")

    __repr__ = __str__

    def to_dict(self) -> dict:
        """The result as JSON-ready data (results files, a worker's answer to its grader)."""
        return {"exercise": self.exercise, "status": self.status, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict) -> "CheckResult":
        """The inverse of :meth:`to_dict`; ValueError for data that is not a result."""
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("exercise", "status")):
            raise ValueError(f"not a check result: {data!r:.200}")
        return cls(data["exercise"], data["status"], str(data.get("message", "")))


_latest: dict[str, CheckResult] = {}  # exercise number -> its latest result in this process


def record(result: CheckResult) -> CheckResult:
    """Keep ``result`` as its exercise's latest."""
    _latest[result.exercise] = result
    return result


def latest(exercise: str) -> CheckResult | None:
    """The latest result of ``exercise`` in this process (None: its check has not run)."""
    return _latest.get(exercise)


def passed(exercise: str) -> bool:
    result = _latest.get(exercise)
    return result is not None and result.status == PASSED


def forget() -> None:
    """Drop every recorded result (a fresh start)."""
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
