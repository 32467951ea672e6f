"""Self-checks for the exercises: run a student's code against a reference, explain any miss.

``from course_utils.checks import check_...`` gives every notebook's checks: each module ``nbNN``
holds notebook NN's, and every public ``check_*`` function of those modules is exported here
(adding a check touches only its module). The machinery is in :mod:`.core`; results are recorded
in :mod:`course_utils.outcome`.
"""
import importlib as _importlib
import pkgutil as _pkgutil

from .core import (FAILED, NOT_ATTEMPTED, PASSED, CheckResult, ExerciseFailed, Miss, ShortcutUsed, compare,
                   exercise_check, without)

__all__ = ["FAILED", "NOT_ATTEMPTED", "PASSED", "CheckResult", "ExerciseFailed", "Miss", "ShortcutUsed",
           "compare", "exercise_check", "without"]

_PACKAGED: dict[str, list[str]] = {}  # course id -> exercise numbers, from each module's NOTEBOOK and checks
for _info in sorted(_pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("nb"):
        _module = _importlib.import_module(f".{_info.name}", __name__)
        if not isinstance(getattr(_module, "NOTEBOOK", None), str):
            raise ImportError(f"course_utils/checks/{_info.name}.py must say which notebook its checks belong to: "
                              f'NOTEBOOK = "NN_topic" (the notebook\'s course id)')
        _numbers = _PACKAGED.setdefault(_module.NOTEBOOK, [])
        for _name, _value in vars(_module).items():
            if _name.startswith("check_") and hasattr(_value, "exercise"):
                globals()[_name] = _value
                __all__.append(_name)
                _numbers.append(_value.exercise)


def all_checks() -> dict[str, object]:
    """{exercise number: its check function}, for every exercise of the course."""
    return {globals()[name].exercise: globals()[name] for name in __all__ if name.startswith("check_")}


def packaged_course() -> dict[str, list[str]]:
    """{course id: its exercise numbers in order} as the checks know them: what grading uses where no
    instructor notebooks are at hand (a repository made from the student release)."""
    return {cid: sorted(numbers, key=lambda n: tuple(map(int, n.split(".")))) for cid, numbers in _PACKAGED.items()}
