"""Execute notebooks headless (for ``make run``): executed copies and HTML in ``build/``, a timing table."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


@dataclass
class RunResult:
    notebook: str
    ok: bool
    seconds: float
    error: str = ""  # where and why it failed: cell number, first source line, exception


def _failing_cell(nb) -> tuple[int, str] | None:
    """(1-based index among code cells, first source line) of the cell that raised, if any."""
    for i, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return i, cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    return None


def execute_notebook(path: Path, out_dir: Path, timeout: int = 600, html: bool = True) -> RunResult:
    """Run ``path`` in a fresh kernel (working directory: the notebook's folder) and save the results."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    error = ""
    try:
        client.execute()
    except CellExecutionError as e:
        where = _failing_cell(nb)
        exc = f"{getattr(e, 'ename', type(e).__name__)}: {getattr(e, 'evalue', '')}".rstrip(": ")
        error = (f"code cell {where[0]} ({where[1]!r}): {exc}" if where else exc)
    except Exception as e:  # kernel died, timeout: still record the notebook as failed
        error = f"{type(e).__name__}: {e}"
    seconds = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    if html:
        export_html(nb, out_dir / path.with_suffix(".html").name)
    return RunResult(path.name, not error, seconds, error)


def export_html(nb, path: Path) -> Path:
    """Write an executed notebook as standalone HTML (its animations keep their controls)."""
    from nbconvert import HTMLExporter
    body, _ = HTMLExporter().from_notebook_node(nb)
    path.write_text(body, encoding="utf-8")
    return path


def format_table(results: list[RunResult]) -> str:
    width = max([len("notebook")] + [len(r.notebook) for r in results])
    lines = [f"{'notebook':<{width}}  status  seconds", f"{'-' * width}  ------  -------"]
    for r in results:
        lines.append(f"{r.notebook:<{width}}  {'ok' if r.ok else 'FAILED':<6}  {r.seconds:7.1f}")
    total = sum(r.seconds for r in results)
    lines.append(f"{'total':<{width}}  {'':6}  {total:7.1f}")
    for r in results:
        if not r.ok:
            lines.append(f"{r.notebook} failed at {r.error}")
    return "\n".join(lines)
