"""Self-checks for the exercises: each a probe and a judge (:mod:`.core`).

``from course_utils.checks import check_...`` gives every notebook's checks: each module ``nbNN``
holds notebook NN's probes, judges and the :class:`~.core.Check` that joins them, and every public
``check_*`` of those modules is exported here (adding a check touches only its module). Results are
recorded in :mod:`course_utils.outcome`. :func:`run_probes` is what the grader asks a kernel to run.
"""
import importlib as _importlib
import pkgutil as _pkgutil

from .core import (FAILED, NOT_ATTEMPTED, PASSED, Check, CheckResult, ExerciseFailed, Miss, ShortcutUsed, compare,
                   exercise_check, without)

__all__ = ["FAILED", "NOT_ATTEMPTED", "PASSED", "Check", "CheckResult", "ExerciseFailed", "Miss", "ShortcutUsed",
           "compare", "exercise_check", "without", "all_checks", "run_probes"]

_NOTEBOOK_OF: dict[str, str] = {}  # exercise number -> the course id of its notebook (each module's NOTEBOOK)
_MODULE_OF: dict = {}  # the file of each nbNN module -> its NOTEBOOK
_REGISTRY: dict = {}  # exercise number -> its check, as imported (rebinding a name here changes nothing)
for _info in sorted(_pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("nb"):
        _module = _importlib.import_module(f".{_info.name}", __name__)
        if not isinstance(getattr(_module, "NOTEBOOK", None), str):
            raise ImportError(f"course_utils/checks/{_info.name}.py must say which notebook its checks belong to: "
                              f'NOTEBOOK = "NN_topic" (the notebook\'s course id)')
        _MODULE_OF[__import__("pathlib").Path(_module.__file__).resolve()] = _module.NOTEBOOK
        for _name, _value in vars(_module).items():
            if _name.startswith("check_") and isinstance(_value, Check):
                globals()[_name] = _value
                __all__.append(_name)
                _NOTEBOOK_OF[_value.exercise] = _module.NOTEBOOK
                _REGISTRY[_value.exercise] = _value


def all_checks() -> dict[str, Check]:
    """{exercise number: its check}, for every exercise of the course."""
    return dict(_REGISTRY)


def module_notebooks() -> dict:
    """{the file of each checks module: the course id of the notebook it checks}."""
    return dict(_MODULE_OF)


def notebook_of(exercise: str) -> str:
    """The course id of the notebook whose checks include ``exercise``."""
    return _NOTEBOOK_OF[exercise]


def run_probes(requests: dict[str, tuple[str, int]], namespace: dict) -> dict[str, str]:
    """For the grader: {exercise: probe data as JSON text}, each probe run on ``namespace[name]`` with
    its seed, for ``requests`` = {exercise: (the name its answer is defined under, seed)}. A name the
    namespace lacks is an answer never defined: "not attempted"."""
    checks = all_checks()
    out = {}
    for exercise, (name, seed) in requests.items():
        if name not in namespace:
            out[exercise] = '{"not_attempted": true}'
        else:
            out[exercise] = checks[exercise].run_probe(namespace[name], int(seed))
    return out
