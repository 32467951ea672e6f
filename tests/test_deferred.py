"""course_utils.tools.deferred: the command line and pytest's processes read notebooks without building
rfc3987-syntax's IRI grammar (the command line: tests/test_grading_faults.py), pytest defers it before
nbval's plugin loads, a schema that checks IRIs still checks them, and a student's kernel never gets
the stand-in (importing course_utils installs nothing)."""
import subprocess
import sys
from pathlib import Path

from course_utils.tools import deferred

REPO = Path(__file__).resolve().parents[1]


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)


def test_iri_formats_are_checked_as_before_once_used():
    proc = python("import sys\nfrom course_utils.tools.deferred import defer_iri_grammar\ndefer_iri_grammar()\n"
                  "import jsonschema\n"
                  "checker = jsonschema.FormatChecker()\n"
                  "print(checker.conforms('http://例え.jp/パス?q=1', 'iri'), checker.conforms('no scheme here', 'iri'),\n"
                  "      checker.conforms('../relative#x', 'iri-reference'), 'lark' in sys.modules,\n"
                  "      type(sys.modules['rfc3987_syntax']).__name__)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "False", "True", "True", "module"], "the real module took its place"


def test_an_absent_module_stays_absent(monkeypatch):
    monkeypatch.delitem(sys.modules, deferred.IRI_MODULE, raising=False)
    monkeypatch.setattr(deferred.importlib.util, "find_spec", lambda name: None)
    deferred.defer_iri_grammar()
    assert deferred.IRI_MODULE not in sys.modules  # `import rfc3987_syntax` fails as it did; jsonschema goes without


def test_pytest_defers_it_before_nbval_imports_nbformat(tmp_path):
    """pyproject.toml's addopts load course_utils.tools.defer_for_pytest as the first plugin."""
    probe = tmp_path / "test_probe.py"
    probe.write_text("import sys\n\ndef test_probe():\n    assert 'nbformat' in sys.modules and 'lark' not in sys.modules\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "--rootdir", str(REPO),
                           "-c", str(REPO / "pyproject.toml"), str(probe)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_importing_the_course_in_a_kernel_installs_no_stand_in():
    """What a notebook imports puts nothing into sys.modules or sys.meta_path besides real modules."""
    proc = python("import sys\nfinders = list(sys.meta_path)\nimport course_utils, course_utils.student, course_utils.checks\n"
                  "from course_utils import set_all_seeds\nset_all_seeds(0)\n"
                  "print(sys.meta_path == finders, 'rfc3987_syntax' in sys.modules, 'course_utils.tools' in sys.modules)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "False", "False"]
