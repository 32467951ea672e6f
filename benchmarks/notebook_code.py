"""Load definitions (imports, functions, classes) from a course notebook, so benchmarks time the
notebook's own code rather than a copy of it."""
from __future__ import annotations

import ast
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def load_definitions(notebook: str, names: set[str]) -> dict:
    """Execute the top-level imports and the definitions of ``names`` found in ``notebook``'s code cells.

    Other statements (training loops, prints) are skipped, so the definitions must take what they use
    as arguments (notebook 05's ``train_one_epoch`` gets its loss function, and the device from the
    model), not from a global a skipped statement would set. Returns the namespace. Raises KeyError
    naming what is missing.
    """
    nb = nbformat.read(NOTEBOOKS / notebook, as_version=4)
    namespace: dict = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse("\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!"))))
        keep = [node for node in tree.body
                if isinstance(node, (ast.Import, ast.ImportFrom))
                or (isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names)]
        exec(compile(ast.Module(body=keep, type_ignores=[]), f"{notebook}", "exec"), namespace)
    missing = names - namespace.keys()
    if missing:
        raise KeyError(f"{notebook} defines no {', '.join(sorted(missing))}")
    return namespace
