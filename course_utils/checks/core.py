"""The machinery of the self-checks: each exercise's check is a probe and a judge.

- The **probe** (it runs where the student's code is: their kernel) calls the student's function or
  class on inputs built from a seed it is given, and returns what it saw as plain data (numbers,
  arrays, shapes, what the student's code raised), never a verdict. :func:`attempt` records one call.
- The **judge** (pure: it needs the seed and the data, nothing of the kernel) rebuilds the same inputs
  from the same seed, computes the reference another way than the expected answer (a library,
  autograd, a numerical root), and says what differs by raising :class:`Miss`.

In a student's notebook, ``check_x(answer)`` runs both in the student's kernel, as instant feedback,
through the same serialisation the grader uses (:func:`to_json`, :func:`from_json`). When grading, the
grader asks the kernel only for the probe's data, with a seed drawn from a secret, and judges it in its
own process (:func:`judge_data`): nothing the submission reports about itself counts.

A check's outcome is a :class:`CheckResult`:

- ``passed``: the answer agrees with the reference;
- ``not attempted``: the code still raises ``NotImplementedError``, or the answer is not defined;
- ``failed``: what differs and where to look. In Jupyter, :class:`ExerciseFailed` prints as that
  message alone, not as a traceback.

Messages describe the measured error in words; they never show code.
"""
from __future__ import annotations

import ast
import json
import linecache
import sysconfig
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ..outcome import FAILED, NOT_ATTEMPTED, PASSED, CheckResult, record
from ..student import active as student_active

_PACKAGE = str(Path(__file__).resolve().parents[1])  # course_utils/
_LIBRARIES = tuple({str(Path(sysconfig.get_paths()[k]).resolve()) for k in ("stdlib", "platstdlib", "purelib", "platlib")})
NOT_ATTEMPTED_MESSAGE = "The exercise still raises NotImplementedError: replace the stub with your answer"
DEFAULT_SEED = 0  # the seed of a check run in the student's own notebook (the grader draws its own)
MAX_DATA_BYTES = 8 * 2**20  # a probe's data, as JSON: larger is refused unread
MAX_DEPTH = 12


class ExerciseFailed(AssertionError):
    """A wrong answer. Shown in Jupyter as its message only."""

    def __init__(self, result: CheckResult):
        super().__init__(str(result))
        self.result = result

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [str(self.result)]


class Miss(Exception):
    """Raised by a judge (or inside a probe's own recording) to report what differs."""


class ShortcutUsed(Exception):
    """The student's code called a library function that the exercise asks to implement by hand."""


class NotAttempted(Exception):
    """Raised by a judge: the answer is still the stub (or is not defined at all)."""


class Malformed(ValueError):
    """A probe's data that does not have the shape its judge reads: refused, never trusted."""


# ---------------------------------------------------------------- plain data: what a probe returns

@dataclass(frozen=True)
class Foreign:
    """A value the probe could not turn into numbers: only its type's name travels."""
    type_name: str


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-ready data: numbers, strings, lists; an array or tensor as
    ``{"array": nested lists, "shape": [...]}``; anything else as ``{"object": its type's name}``."""
    if depth > MAX_DEPTH:
        return {"object": type(value).__name__}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value if not isinstance(value, str) else value[:2000]
    if isinstance(value, np.generic):
        return plain(value.item(), depth)
    if type(value).__module__.startswith("torch") and hasattr(value, "detach") and hasattr(value, "numpy"):
        try:
            value = value.detach().cpu().numpy()
        except (RuntimeError, TypeError):
            return {"object": type(value).__name__}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf" or value.size > 2_000_000:
            return {"object": f"ndarray of {value.dtype}" if value.dtype.kind not in "biuf" else "ndarray"}
        return {"array": value.astype(float).tolist(), "shape": list(value.shape)}
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value[:100_000]]
    return {"object": type(value).__name__}


def attempt(fn: Callable, *args, **kwargs) -> dict:
    """Call the student's ``fn`` and record what happened as plain data (see :func:`outcome`)."""
    try:
        return {"value": plain(fn(*args, **kwargs))}
    except NotImplementedError:
        return {"not_attempted": True}
    except ShortcutUsed as e:
        return {"shortcut": str(e)}
    except Miss as e:  # a probe's own observation made during the call (a wrong batch shape, say)
        return {"miss": str(e)}
    except Exception as e:  # the student's code crashed: say what it raised, and where
        return {"raised": f"{type(e).__name__}: {e}{student_line(e)}"}


def to_json(data: dict) -> str:
    """The probe's data as the text that travels to the judge."""
    return json.dumps(data, allow_nan=True, separators=(",", ":"))


def from_json(text: str | bytes) -> dict:
    """The probe's data back from its text: :class:`Malformed` if it is too large or not a JSON object."""
    if len(text) > MAX_DATA_BYTES:
        raise Malformed(f"the probe's data is {len(text)} bytes, more than {MAX_DATA_BYTES}")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise Malformed(f"the probe's data is not JSON ({e})") from None
    if not isinstance(data, dict):
        raise Malformed("the probe's data is not an object")
    return data


# ---------------------------------------------------------------- reading the data back: the judge's side

def decode(value: Any, depth: int = 0) -> Any:
    """The judge's reading of one :func:`plain` value: arrays as float ndarrays (shape checked against
    their entries), lists as lists, other objects as :class:`Foreign`; :class:`Malformed` otherwise."""
    if depth > MAX_DEPTH + 2:
        raise Malformed("the probe's data is nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [decode(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if set(value) == {"object"} and isinstance(value["object"], str):
            return Foreign(value["object"][:200])
        if set(value) == {"array", "shape"}:
            shape = value["shape"]
            if not (isinstance(shape, list) and len(shape) <= 8 and all(isinstance(n, int) and n >= 0 for n in shape)):
                raise Malformed("an array's shape is not a list of sizes")
            try:
                array = np.asarray(value["array"], dtype=float)
            except (TypeError, ValueError):
                raise Malformed("an array holds something other than numbers") from None
            if array.shape != tuple(shape):
                raise Malformed(f"an array's entries do not fill its shape {tuple(shape)}")
            return array
    raise Malformed(f"unexpected value in the probe's data: {type(value).__name__}")


class StudentRaised(Exception):
    """The student's code raised during the probe: the message says what and where."""


def outcome(entry: Any) -> Any:
    """The decoded value of one :func:`attempt` record; raises what the call ended in instead:
    :class:`NotAttempted`, :class:`ShortcutUsed`, :class:`Miss` or :class:`StudentRaised`."""
    if not isinstance(entry, dict) or len(entry) != 1:
        raise Malformed("a call's record is not one of value, not_attempted, shortcut, miss, raised")
    (kind, value), = entry.items()
    if kind == "value":
        return decode(value)
    if kind == "not_attempted" and value is True:
        raise NotAttempted()
    if kind in ("shortcut", "miss", "raised") and isinstance(value, str):
        raise {"shortcut": ShortcutUsed, "miss": Miss, "raised": StudentRaised}[kind](value[:4000])
    raise Malformed(f"a call's record of unknown kind {kind!r}")


def field(data: dict, key: str) -> Any:
    """``data[key]``, or :class:`Malformed` saying it is missing."""
    if key not in data:
        raise Malformed(f"the probe's data has no {key!r}")
    return data[key]


def type_name(value: Any) -> str:
    """The name of a decoded value's type, as a message names what the student's code returned."""
    if isinstance(value, Foreign):
        return value.type_name
    if isinstance(value, np.ndarray):
        return "ndarray"
    return type(value).__name__


def as_float(value: Any) -> float:
    """A decoded single number (also a 0-d or one-entry array) as a float; TypeError otherwise."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, Foreign, list)):
        raise TypeError(type_name(value))
    return float(np.asarray(value, dtype=float).reshape(()))


# ---------------------------------------------------------------- a check: probe + judge

@dataclass(frozen=True)
class Ban:
    """What an exercise asks to do without: a library's functions, refused in the kernel while the
    probe runs (:func:`without`) and found by the judge in the submitted source (:func:`scan`).

    what: the tool named in the message ("autograd"). names: dotted names whose use is refused (a
    name or anything below it: ``torch.nn.functional``). methods: attribute names refused on any
    object (``backward``: a tensor's type is not known from the source).
    """
    what: str
    names: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()

    def message(self, exercise: str, label: str) -> str:
        return (f"Exercise {exercise} asks you to implement this without {self.what} (your code called {label}): "
                "compute it yourself with NumPy, as the exercise says")


@dataclass(frozen=True)
class Check:
    """One exercise's check (see the module's docstring). Calling it on the student's answer runs
    probe and judge in this process, records the result and raises :class:`ExerciseFailed` on a wrong
    answer; it returns the :class:`CheckResult` otherwise. ``raise_on_fail`` defaults to raising except
    in student mode (course_utils.student), where a failure is returned and shown like any result, so
    that Run All goes on past it on platforms that ignore the ``raises-exception`` tag."""
    exercise: str
    probe: Callable[[Any, int], dict]  # (the student's object, seed) -> plain data
    judge: Callable[[dict, int], None]  # (data, seed) -> None, or raises Miss / NotAttempted / ...
    ban: Ban | None = None
    __doc__: str = ""

    def run_probe(self, answer: Any, seed: int) -> str:
        """The probe's data, as the JSON text that travels to a judge."""
        try:
            data = self.probe(answer, seed)
        except NotImplementedError:  # a stub raising where the probe itself touches it (a class's __init__)
            data = {"not_attempted": True}
        except Exception as e:  # the probe met something it did not expect: the student's code's doing
            data = {"raised": f"{type(e).__name__}: {e}{student_line(e)}"}
        return to_json(data)

    def __call__(self, answer: Any, *, raise_on_fail: bool | None = None, seed: int = DEFAULT_SEED) -> CheckResult:
        result = judge_data(self, self.run_probe(answer, seed), seed)
        record(result)
        if raise_on_fail is None:
            raise_on_fail = not student_active()
        if result.status == FAILED and raise_on_fail:
            raise ExerciseFailed(result)
        return result  # shown by Jupyter as the cell's value


def judge_data(check: Check, text: str | bytes, seed: int, sources: Iterable[str] = ()) -> CheckResult:
    """The verdict on a probe's data (JSON text, untrusted: validated before it is read), for ``seed``.

    sources: the submitted solution's code, scanned for the library calls the exercise bans (grading
    passes them; a student's own check relies on the ban inside the kernel).
    """
    exercise = check.exercise
    if check.ban is not None:
        for source in sources:
            label = scan(source, check.ban)
            if label is not None:
                return CheckResult(exercise, FAILED, check.ban.message(exercise, label))
    try:
        data = from_json(text)
        if set(data) == {"not_attempted"} or set(data) == {"raised"}:
            outcome(data)  # the probe stopped before any call
        check.judge(data, seed)
        return CheckResult(exercise, PASSED)
    except NotAttempted as e:
        return CheckResult(exercise, NOT_ATTEMPTED, str(e) or NOT_ATTEMPTED_MESSAGE)
    except (Miss, ShortcutUsed) as e:
        return CheckResult(exercise, FAILED, str(e))
    except StudentRaised as e:
        return CheckResult(exercise, FAILED, f"Your code raised {e}")
    except Malformed as e:
        return CheckResult(exercise, FAILED, f"The check's probe returned data it cannot read ({e})")
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError, OverflowError) as e:
        # data of the right form but not of the right content (the probe was changed): never a pass
        return CheckResult(exercise, FAILED, f"The check's probe returned data it cannot read ({type(e).__name__}: {e})")


def exercise_check(exercise: str, *, probe: Callable, judge: Callable, ban: Ban | None = None,
                   doc: str = "") -> Check:
    """A :class:`Check` of ``exercise`` from its probe and judge."""
    return Check(exercise, probe, judge, ban, doc or probe.__doc__ or "")


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """A NumPy Generator from the check's seed and a stream number: probe and judge draw the same."""
    return np.random.default_rng([int(seed) % 2**63, *stream])


def int_seed(seed: int, *stream: int) -> int:
    """A plain int seed (scikit-learn's random_state, torch's manual_seed) from the check's seed."""
    return int(rng_for(seed, *stream, 999).integers(2**31 - 1))


# ---------------------------------------------------------------- where the student's code raised

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


# ---------------------------------------------------------------- refused shortcuts: in the kernel ...

_MISSING = object()


@contextmanager
def without(exercise: str, ban: Ban | str, targets: Iterable[tuple[object, str]]) -> Iterator[None]:
    """Make each ``getattr(owner, name)`` in ``targets`` raise :class:`ShortcutUsed` inside the block.

    ``ban`` (or a plain string) names the forbidden tool in the message. Attributes that do not exist
    are skipped; everything is restored on exit, also after an error. This is instant feedback in the
    student's kernel; the judge's :func:`scan` of the submitted source is what grading relies on.
    """
    ban = ban if isinstance(ban, Ban) else Ban(ban)
    saved = []

    def refuse(label: str) -> Callable:
        def refused(*args, **kwargs):
            raise ShortcutUsed(ban.message(exercise, label))
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


AUTOGRAD = Ban("autograd", names=("torch.autograd", "torch.func"), methods=("backward",))


# ---------------------------------------------------------------- ... and in the submitted source

# The names the notebooks' first cells bind, so that ``F.conv2d`` in a solution cell is read as
# torch.nn.functional.conv2d even though the cell itself imports nothing.
NOTEBOOK_ALIASES = {"np": "numpy", "torch": "torch", "F": "torch.nn.functional", "nn": "torch.nn",
                    "optim": "torch.optim", "sklearn": "sklearn"}


def _aliases(tree: ast.AST) -> dict[str, str]:
    found = dict(NOTEBOOK_ALIASES)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                found[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                found[a.asname or a.name] = f"{node.module}.{a.name}"
    return found


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def _parse(source: str) -> ast.AST | None:
    try:
        return ast.parse(source)
    except SyntaxError:  # IPython's magics and shell lines: drop them and try once more
        kept = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        try:
            return ast.parse(kept)
        except SyntaxError:
            return None


def scan(source: str, ban: Ban) -> str | None:
    """The first use in ``source`` of something ``ban`` refuses, as the message names it
    ("torch.nn.functional.conv2d", "Tensor.backward"); None when there is none (or it does not parse)."""
    tree = _parse(source)
    if tree is None:
        return None
    aliases = _aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            dotted = _dotted(node, aliases)
            if dotted is not None and any(dotted == n or dotted.startswith(n + ".") for n in ban.names):
                return dotted
            if node.attr in ban.methods:
                return f"Tensor.{node.attr}" if node.attr == "backward" else f".{node.attr}"
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in aliases:
            dotted = aliases[node.id]
            if node.id not in NOTEBOOK_ALIASES or aliases[node.id] != NOTEBOOK_ALIASES[node.id]:
                if any(dotted == n or dotted.startswith(n + ".") for n in ban.names):
                    return dotted
    return None


# ---------------------------------------------------------------- comparison, for judges

def _as_array(name: str, got, shape: tuple) -> np.ndarray:
    if isinstance(got, (Foreign, str)) or got is None:
        raise Miss(f"{name} should be an array of numbers with shape {shape}, got {type_name(got)}")
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError, RuntimeError):
        raise Miss(f"{name} should be an array of numbers with shape {shape}, got {type_name(got)}") from None


def check_shape(name: str, got, expected: np.ndarray) -> np.ndarray:
    """``got`` as a float array; :class:`Miss` if its shape is not ``expected``'s, with the likely cause."""
    expected = np.asarray(expected, dtype=float)
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
    if isinstance(got, (Foreign, str)) or got is None:
        return False
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


def pair(name: str, value: Any, what: str) -> list:
    """A decoded value that must be a pair (the student returned a tuple or list of two)."""
    if not (isinstance(value, list) and len(value) == 2):
        shown = f"a sequence of {len(value)}" if isinstance(value, list) else type_name(value)
        raise Miss(f"{name} should return {what}, got {shown}")
    return value


__all__ = ["AUTOGRAD", "Ban", "Check", "DEFAULT_SEED", "ExerciseFailed", "Foreign", "Malformed", "Miss", "NotAttempted",
           "ShortcutUsed", "StudentRaised", "as_float", "attempt", "autograd_targets", "check_shape", "close",
           "compare", "decode", "exercise_check", "field", "from_json", "int_seed", "judge_data", "outcome", "pair",
           "plain", "rng_for", "scan", "student_line", "to_json", "type_name", "without"]
