"""Student mode: what a student's kernel shows when a cell fails.

:func:`student_mode` (one line at the top of every released notebook) installs an IPython exception
handler that shows every error as Jupyter would, with two exceptions:

- a cell that calls an unfinished exercise (its stub raises ``NotImplementedError("Exercise N.k:
  ...")``) prints one line, "⏭ Skipped: this cell needs Exercise N.k ...", and records the names
  the cell would have defined;
- a later ``NameError`` / ``AttributeError`` for one of those names is a consequence of that skip
  and is reported the same way (and its own names are recorded in turn).

Anything else keeps its full traceback; a self-check failure shows its one-line message (its
``_render_traceback_``). A recorded name is forgotten as soon as it exists again, so the skip
message never outlives the cells it explains. :func:`require_exercises` lets the notebook's final
Checks cell fail unless every exercise's self-check passed in this session.
"""
from __future__ import annotations

import ast
import functools
import importlib
import sys
from typing import Callable

from .exercises import FAILED, NOT_ATTEMPTED, PASSED, STUB_EXERCISE

_needs: dict[str, str] = {}  # name a skipped cell would have defined -> "Exercise N.k"
_results: dict[str, str] = {}  # exercise number -> status of its latest self-check in this kernel


class ExercisesNotPassed(AssertionError):
    """Raised by :func:`require_exercises`; shown in Jupyter as its message only."""

    def _render_traceback_(self) -> list[str]:
        return [f"✗ {self}"]


def defined_names(source: str) -> set[str]:
    """Names (and attribute names) that top-level code in a cell's ``source`` assigns or defines.

    Function and class bodies are not entered (only their names count); a cell that does not parse
    (IPython magics) defines nothing as far as this is concerned.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(child.name)
                continue
            if isinstance(child, ast.Lambda):
                continue
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                names.add(child.id)
            elif isinstance(child, ast.Attribute) and isinstance(child.ctx, ast.Store):
                names.add(child.attr)
            elif isinstance(child, ast.alias):
                names.add((child.asname or child.name).split(".")[0])
            visit(child)
    visit(tree)
    return names


def _missing_name(value: BaseException) -> str | None:
    """The name a NameError / AttributeError is about (Python >= 3.10 stores it on the exception)."""
    if isinstance(value, (NameError, AttributeError)):
        return getattr(value, "name", None)
    return None


def _skip(shell, exercise: str, why: str) -> None:
    source = shell.user_ns.get("_ih", [""])[-1] if shell.user_ns.get("_ih") else ""
    for name in defined_names(source):
        _needs.setdefault(name, exercise)
    print(f"⏭ Skipped: this cell needs {why}, which is not done yet. The notebook continues; "
          "once it is done, run the notebook again from the top.")


def _handler(shell, etype, value, tb, tb_offset=None):
    """IPython custom exception handler: display the error itself (IPython discards the return value)."""
    message = str(value)
    stub = STUB_EXERCISE.match(message) if isinstance(value, NotImplementedError) else None
    if stub:
        title = message[stub.end():].lstrip(": ")
        _skip(shell, stub.group(0), f"{stub.group(0)} ({title})" if title else stub.group(0))
        return None
    name = _missing_name(value)
    if name is not None and name in _needs and not hasattr(value, "_render_traceback_"):
        exercise = _needs[name]
        _skip(shell, exercise, f"{exercise} (`{name}` comes from a cell skipped above)")
        return None
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)  # real errors, self-check failures
    return None


def _forget_defined(*_args) -> None:
    """After each cell: a recorded name that exists again no longer explains anything."""
    shell = _shell()
    if shell is None:
        return
    for name in [n for n in _needs if n in shell.user_ns]:
        del _needs[name]


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _watched(check, report: Callable[[str, str, str], None]):
    """``check`` wrapped so that each call also calls ``report(exercise, status, message)``."""
    reporters = getattr(check, "_course_reporters", None)
    if reporters is not None:  # already watched: one more listener, no second wrapper
        if report not in reporters:
            reporters.append(report)
        return check

    @functools.wraps(check)
    def watched(*args, **kwargs):
        try:
            result = check(*args, **kwargs)
        except BaseException as e:
            r = getattr(e, "result", None)
            for listener in watched._course_reporters:
                listener(str(getattr(r, "exercise", None) or check.exercise), FAILED,
                         getattr(r, "message", None) or f"{type(e).__name__}: {e}")
            raise
        for listener in watched._course_reporters:
            listener(str(getattr(result, "exercise", None) or check.exercise), getattr(result, "status", PASSED),
                     getattr(result, "message", ""))
        return result
    watched._course_reporters = [report]
    return watched


def _is_check(obj) -> bool:
    return callable(obj) and hasattr(obj, "exercise") and getattr(obj, "__module__", "").startswith("course_utils.checks")


def watch_checks(report: Callable[[str, str, str], None]) -> None:
    """Call ``report(exercise, status, message)`` after every self-check from now on.

    Wraps each check of ``course_utils.checks`` (and its submodules) in place, and the checks the
    IPython namespace already imported. Used by :func:`student_mode` and by the grader.
    """
    importlib.import_module("course_utils.checks")
    for name, module in list(sys.modules.items()):
        if name.startswith("course_utils.checks") and module is not None:
            for attr, obj in list(vars(module).items()):
                if _is_check(obj):
                    setattr(module, attr, _watched(obj, report))
    shell = _shell()
    if shell is not None:
        for attr, obj in list(shell.user_ns.items()):
            if _is_check(obj):
                shell.user_ns[attr] = _watched(obj, report)


def _remember(exercise: str, status: str, message: str) -> None:
    _results[exercise] = status


def student_mode() -> None:
    """Show errors as described in this module's docstring; no-op outside IPython.

    Also watches the self-checks (:func:`watch_checks`) so that their outcomes are remembered for
    :func:`require_exercises`.
    """
    shell = _shell()
    if shell is None:
        return
    _needs.clear()
    shell.set_custom_exc((Exception,), _handler)
    if _forget_defined not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", _forget_defined)
    watch_checks(_remember)


def require_exercises(*numbers: str) -> None:
    """Raise :class:`ExercisesNotPassed` unless each exercise's self-check passed in this kernel.

    numbers: exercise numbers such as "2.1". Outside student mode nothing was recorded, and
    nothing is required.
    """
    if not any(_remember in getattr(obj, "_course_reporters", ()) for obj in _check_functions()):
        return
    missing = [f"{n} ({_results.get(n, 'check not run')})" for n in numbers if _results.get(n) != PASSED]
    if missing:
        raise ExercisesNotPassed("Not every exercise passes yet: " + ", ".join(missing)
                                 + ". Their check cells above say what is wrong.")


def _check_functions():
    for name, module in list(sys.modules.items()):
        if name.startswith("course_utils.checks") and module is not None:
            yield from (obj for obj in vars(module).values() if callable(obj))


__all__ = ["student_mode", "require_exercises", "watch_checks", "defined_names", "ExercisesNotPassed",
           "PASSED", "FAILED", "NOT_ATTEMPTED"]
