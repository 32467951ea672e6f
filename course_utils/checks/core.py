"""The machinery of the self-checks: results, the check decorator, comparison, refused shortcuts.

A check runs the student's code against a reference computed on the spot, another way than the
expected answer (a library, autograd, a numerical root), on fresh inputs. It returns a
:class:`CheckResult`:

- ``passed``: the answer agrees with the reference;
- ``not attempted``: the code still raises ``NotImplementedError`` (the notebook keeps running);
- ``failed``: raises :class:`ExerciseFailed`, whose message says what differs and where to look. In
  Jupyter it prints as that message alone, not as a traceback.

Messages describe the measured error in words; they never show code.
"""
from __future__ import annotations

import functools
import linecache
import sysconfig
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from ..outcome import FAILED, NOT_ATTEMPTED, PASSED, CheckResult, record

_PACKAGE = str(Path(__file__).resolve().parents[1])  # course_utils/
_LIBRARIES = tuple({str(Path(sysconfig.get_paths()[k]).resolve()) for k in ("stdlib", "platstdlib", "purelib", "platlib")})
NOT_ATTEMPTED_MESSAGE = "the exercise still raises NotImplementedError: replace the stub with your answer"


class ExerciseFailed(AssertionError):
    """A wrong answer. Shown in Jupyter as its message only."""

    def __init__(self, result: CheckResult):
        super().__init__(str(result))
        self.result = result

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [str(self.result)]


class Miss(Exception):
    """Raised inside a check body to report what differs."""


class ShortcutUsed(Exception):
    """The student's code called a library function that the exercise asks to implement by hand."""


def exercise_check(exercise: str) -> Callable:
    """Decorator turning ``body(*student_code) -> None`` (raising :class:`Miss`) into a check.

    The check records its result (:func:`course_utils.outcome.record`), raises
    :class:`ExerciseFailed` on a wrong answer (unless ``raise_on_fail=False``) and returns the
    :class:`CheckResult` otherwise.
    """
    def wrap(body: Callable) -> Callable:
        @functools.wraps(body)
        def check(*student, raise_on_fail: bool = True) -> CheckResult:
            try:
                body(*student)
                result = CheckResult(exercise, PASSED)
            except NotImplementedError:
                result = CheckResult(exercise, NOT_ATTEMPTED, NOT_ATTEMPTED_MESSAGE)
            except (Miss, ShortcutUsed) as miss:
                result = CheckResult(exercise, FAILED, str(miss))
            except Exception as e:  # the student's code crashed: say what it raised, and where
                result = CheckResult(exercise, FAILED, f"your code raised {type(e).__name__}: {e}{student_line(e)}")
            record(result)
            if result.status == FAILED and raise_on_fail:
                raise ExerciseFailed(result)
            return result  # shown by Jupyter as the cell's value
        check.exercise = exercise
        return check
    return wrap


def student_line(error: BaseException) -> str:
    """Where in the student's own code ``error`` was raised: " (in `f`, line 3 of its cell: `x = y.z`)".

    The innermost frame of the traceback outside ``course_utils`` and the installed libraries: a
    notebook cell, or a file of the student's. "" when there is none.
    """
    frame, tb = None, error.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.startswith("<"):  # code without a file: the student's only if its source is known (a cell)
            ours = not linecache.getline(name, tb.tb_lineno)
        else:
            resolved = str(Path(name).resolve())
            ours = resolved.startswith(_PACKAGE) or resolved.startswith(_LIBRARIES)
        if not ours:
            frame = tb
        tb = tb.tb_next
    if frame is None:
        return ""
    code, line = frame.tb_frame.f_code, frame.tb_lineno
    text = linecache.getline(code.co_filename, line).strip()
    where = "its cell" if "ipykernel_" in code.co_filename or code.co_filename.startswith("<") else Path(code.co_filename).name
    function = f"in `{code.co_name}`, " if code.co_name != "<module>" else ""
    return f" ({function}line {line} of {where}" + (f": `{text}`)" if text else ")")


_MISSING = object()


@contextmanager
def without(exercise: str, what: str, targets: Iterable[tuple[object, str]]) -> Iterator[None]:
    """Make each ``getattr(owner, name)`` in ``targets`` raise :class:`ShortcutUsed` inside the block.

    ``what`` names the forbidden tool in the message ("autograd"). Attributes that do not exist
    are skipped; everything is restored on exit, also after an error.
    """
    saved = []

    def refuse(label: str) -> Callable:
        def refused(*args, **kwargs):
            raise ShortcutUsed(f"Exercise {exercise} asks you to implement this without {what} "
                               f"(your code called {label}): compute it yourself with NumPy, as the exercise says")
        return refused

    try:
        for owner, name in targets:
            if not hasattr(owner, name):
                continue
            label = f"{getattr(owner, '__name__', type(owner).__name__)}.{name}"
            saved.append((owner, name, vars(owner).get(name, _MISSING)))
            setattr(owner, name, refuse(label))
        yield
    finally:
        for owner, name, original in reversed(saved):
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def autograd_targets() -> list[tuple[object, str]]:
    """The entry points of PyTorch's automatic differentiation (best effort)."""
    import torch
    import torch.autograd.functional as AF
    return [(torch.Tensor, "backward"), (torch.autograd, "backward"), (torch.autograd, "grad"),
            (torch.func, "grad"), (torch.func, "vjp"), (torch.func, "jacrev"), (torch.func, "grad_and_value"),
            (AF, "jacobian"), (AF, "vjp")]


def _as_array(name: str, got, shape: tuple) -> np.ndarray:
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError, RuntimeError):
        raise Miss(f"{name} should be an array of numbers with shape {shape}, got {type(got).__name__}") from None


def check_shape(name: str, got, expected: np.ndarray) -> np.ndarray:
    """``got`` as a float array; :class:`Miss` if its shape is not ``expected``'s, with the likely cause."""
    got = _as_array(name, got, expected.shape)
    if got.shape != expected.shape:
        cause = ""
        if got.shape == expected.shape[::-1] and got.ndim == 2:
            cause = " (transposed: the two axes are swapped)"
        elif got.size == expected.size:
            cause = " (same number of entries: a reshape or an axis mix-up?)"
        elif abs(got.ndim - expected.ndim) == 1:
            cause = " (one axis too few or too many)"
        raise Miss(f"{name} has shape {got.shape}, expected {expected.shape}{cause}")
    if not np.all(np.isfinite(got)):
        raise Miss(f"{name} contains NaN or inf")
    return got


def close(got, expected, *, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    """True when ``got`` has ``expected``'s shape and values within the tolerances."""
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError, RuntimeError):
        return False
    expected = np.asarray(expected, dtype=float)
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=rtol, atol=atol))


def compare(name: str, got, expected, *, rtol: float = 1e-5, atol: float = 1e-8, hint: str = "") -> None:
    """Raise :class:`Miss` unless ``got`` matches ``expected`` in shape and value, saying how it differs.

    The message gives the worst entry: its relative error where the expected value is not zero,
    its absolute difference where it is (a relative error against 0 means nothing).
    """
    expected = np.asarray(expected, dtype=float)
    got = check_shape(name, got, expected)
    if np.allclose(got, expected, rtol=rtol, atol=atol):
        return
    excess = np.abs(got - expected) / (atol + rtol * np.abs(expected))  # > 1 where outside tolerance
    where = np.unravel_index(int(np.argmax(excess)), excess.shape) if excess.ndim else ()
    g, e = float(got[where]), float(expected[where])
    index = f" at index {tuple(int(i) for i in where)}" if where else ""
    if abs(e) <= atol:
        size = f"off by {abs(g - e):.2e}{index}"
    else:
        size = f"largest relative error {abs(g - e) / abs(e):.2e}{index}"
    msg = f"{name} differs: {size} (got {g:.6g}, expected {e:.6g})"
    raise Miss(msg + (f". {hint[:1].upper()}{hint[1:]}" if hint else ""))
