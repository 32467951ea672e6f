"""The two sides of course_utils (docs/architecture.md): the kernel side, what a notebook imports, never
imports the tool side (course_utils.tools) nor the Jupyter tool stack, so it installs and runs in any
Jupyter kernel, a hosted one's included."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "course_utils"
TOOLS = PACKAGE / "tools"
FORBIDDEN = ("nbformat", "nbclient", "nbconvert", "jupyter_", "jupyterlab", "notebook", "nbgrader", "traitlets")


def kernel_modules() -> list[Path]:
    """Every module of the package outside tools/, but __main__.py: ``python -m course_utils`` is the
    command line, a program no kernel imports, and it only hands over to course_utils.tools.cli."""
    return sorted(p for p in PACKAGE.rglob("*.py") if TOOLS not in p.parents and "__pycache__" not in p.parts
                  and p.relative_to(PACKAGE) != Path("__main__.py"))


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, wherever it stands (also inside functions)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if path.name == "__init__.py":
        package += ".__init__"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: -node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{a.name}") for a in node.names]
    return found


def crossings(path: Path) -> list[str]:
    bad = []
    for line, name in imported(path):
        top = name.split(".")[0]
        if name == "course_utils.tools" or name.startswith("course_utils.tools."):
            bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports the tool side ({name})")
        elif top.startswith(FORBIDDEN):
            bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    return bad


def tools_loaded_by_importing(names: list[str]) -> list[str]:
    """The tool-side and Jupyter-tool modules a fresh process holds after importing ``names``."""
    code = ("import sys, importlib, json\n"
            f"for n in {names!r}: importlib.import_module(n)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('course_utils.tools', 'nbformat', "
            "'nbclient', 'nbconvert', 'jupyter_server', 'jupyterlab', 'nbgrader')))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("path", kernel_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_kernel_side_module_imports_neither_the_tools_nor_jupyter(path):
    assert crossings(path) == []


def test_the_boundary_test_finds_a_crossing(tmp_path, monkeypatch):
    fake = tmp_path / "course_utils" / "student2.py"
    fake.parent.mkdir()
    fake.write_text("def f():\n    from .tools.grading import grade_notebook\n    import nbformat\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "course_utils")
    assert crossings(fake) == ["course_utils/student2.py:2 imports the tool side (course_utils.tools.grading)",
                               "course_utils/student2.py:2 imports the tool side (course_utils.tools.grading.grade_notebook)",
                               "course_utils/student2.py:3 imports nbformat"]


def test_importing_every_kernel_module_loads_no_tool_and_no_jupyter_tool_stack():
    names = [".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
             for p in kernel_modules()]
    assert tools_loaded_by_importing(names) == []


def test_the_code_the_tools_write_into_notebooks_imports_only_the_kernel_side():
    """Every snippet of course_utils.tools.injected (the student-mode line, the Checks line, the grader's
    first and last cells): each module it imports is kernel-side (or IPython), and importing them all
    in a fresh process loads no tool and no Jupyter tool stack."""
    from course_utils.tools.injected import SNIPPETS
    names = set()
    for source in SNIPPETS.values():
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                names.add(node.module)
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
                names.add(node.args[0].value)
    assert {"course_utils.student", "course_utils.outcome", "course_utils.checks", "IPython.display"} <= names
    for name in names:
        root = name.split(".")[0]
        assert (root in ("course_utils", "IPython") or root in sys.stdlib_module_names) \
            and not name.startswith("course_utils.tools"), name
    assert tools_loaded_by_importing(sorted(names)) == []
