"""The one executor: notebooks run headless in a fresh kernel (``make run``, grading, the tests).

:func:`execute` runs a notebook node with Jupyter's Run All semantics (a failing cell stops the run
unless it is tagged ``raises-exception``, or ``allow_errors``), in a kernel reached over IPC
(Unix sockets in a private temporary folder; TCP on Windows), so ipykernel has no reason to warn
that it "is running over TCP without encryption". The kernel's own stderr is left alone.
:func:`execute_notebook` is ``make run``'s step: executed copy and HTML in ``build/``.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async
from traitlets import default

from .outputs import drop_progress_bars

from ..settings import CELL_TIMEOUT, KERNEL_NAME  # noqa: F401  (CELL_TIMEOUT: the default of every caller)


class IPCKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel listens on Unix sockets in a temporary folder it removes."""

    @default("transport")
    def _transport_default(self) -> str:
        return "ipc"

    @default("connection_file")
    def _connection_file_default(self) -> str:
        self._private_dir = tempfile.mkdtemp(prefix="course-kernel-")
        return os.path.join(self._private_dir, "kernel.json")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and getattr(self, "_private_dir", None):
            shutil.rmtree(self._private_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


def kernel_manager_class() -> type[AsyncKernelManager]:
    """IPC where the platform has Unix sockets; TCP (ipykernel's default) on Windows."""
    return AsyncKernelManager if os.name == "nt" else IPCKernelManager


class _Client(NotebookClient):
    """NotebookClient that, at a cell timeout, interrupts the kernel and waits for the cell's reply
    before the kernel is ended, so that the kernel neither runs on nor prints its own teardown errors."""

    async def _async_handle_timeout(self, timeout: int, cell=None):
        if self.km is not None and self.kc is not None:
            await ensure_async(self.km.interrupt_kernel())
            try:  # the interrupted cell's reply: the kernel is idle again
                await ensure_async(self.kc.shell_channel.get_msg(timeout=10))
            except Exception:
                pass
        # Then it ends at once, as every run's kernel does (see execute)
        raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", timeout, cell)


@dataclass
class Execution:
    notebook: nbformat.NotebookNode  # executed in place: outputs filled in
    error: str = ""  # "" when the run reached the end; else where and why it stopped
    stopped: bool = False  # the kernel died or a cell timed out (later cells did not run)


def _failing_cell(nb) -> tuple[int, str] | None:
    """(1-based index among code cells, first source line) of the first cell that raised, if any."""
    for i, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return i, cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    return None


def execute(nb, cwd: Path | str, *, timeout: int = CELL_TIMEOUT, allow_errors: bool = False,
            km: AsyncKernelManager | None = None, record_timing: bool = False) -> Execution:
    """Run every code cell of ``nb`` (a NotebookNode, filled in place) in a fresh kernel.

    cwd: the kernel's working directory. timeout: seconds allowed per cell. allow_errors: run on
    past every failing cell (grading), not only past cells tagged ``raises-exception``. km: the
    kernel manager to start the kernel with (grading's sandbox); default: one of
    :func:`kernel_manager_class`. record_timing: nbclient's timestamps in each cell's
    ``metadata.execution`` (:func:`cell_times` reads them; :func:`drop_timing` removes them).
    Returns an :class:`Execution`; never raises for what the notebook does.
    """
    # When the run ends (or a cell times out), its outputs (and a probe's data) are all that is wanted of the
    # kernel: end it at once. A graceful shutdown only waits for the interpreter's own teardown, 1 to 2 s once
    # PyTorch is loaded (measured), which no student waits for after Run All; and it can race in ipykernel's
    # teardown (a closed socket's callback), printing a traceback into a grader's output (seen in `check`'s
    # stderr). The notebooks close what they write (a run's TensorBoard writer) themselves.
    client = _Client(nb, timeout=timeout, kernel_name=KERNEL_NAME, record_timing=record_timing,
                     shutdown_kernel="immediate", allow_errors=allow_errors,
                     kernel_manager_class=kernel_manager_class(),
                     resources={"metadata": {"path": str(cwd)}}, **({"km": km} if km is not None else {}))
    client.owns_km = True  # a kernel manager given in is still ours to shut down when the run ends
    try:
        client.execute()
    except CellExecutionError as e:
        where = _failing_cell(nb)
        exc = f"{getattr(e, 'ename', type(e).__name__)}: {getattr(e, 'evalue', '')}".rstrip(": ")
        return Execution(nb, f"code cell {where[0]} ({where[1]!r}): {exc}" if where else exc)
    except CellTimeoutError:
        return Execution(nb, f"a cell ran longer than {timeout} s (timeout)", stopped=True)
    except DeadKernelError:
        return Execution(nb, "the kernel died (out of memory, or the code ended the process)", stopped=True)
    except Exception as e:  # the kernel did not start, a client error: still a result, not a crash
        return Execution(nb, f"{type(e).__name__}: {e}", stopped=True)
    return Execution(nb)


def cell_times(nb) -> list[tuple[int, float, str]]:
    """(index, seconds, first source line) of each code cell that nbclient timed (``record_timing``):
    from the kernel receiving the cell to its reply."""
    from datetime import datetime
    out = []
    for index, cell in enumerate(nb.cells):
        t = cell.get("metadata", {}).get("execution", {})
        start, end = t.get("iopub.execute_input"), t.get("shell.execute_reply")
        if cell.cell_type == "code" and start and end:
            seconds = (datetime.fromisoformat(end.replace("Z", "+00:00"))
                       - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
            out.append((index, seconds, (cell.source.strip().splitlines() or [""])[0][:50]))
    return out


def drop_timing(nb) -> None:
    """Remove nbclient's timestamps: stored and released notebooks stay the same from run to run."""
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)


@dataclass
class RunResult:
    notebook: str
    ok: bool
    seconds: float
    error: str = ""  # where and why it failed: cell number, first source line, exception
    slowest: list = None  # the slowest cells: (index, seconds, first line), slowest first


def execute_notebook(path: Path, out_dir: Path, timeout: int = CELL_TIMEOUT, html: bool = True) -> RunResult:
    """Run ``path`` in a fresh kernel (working directory: the notebook's folder) and save the results
    (without progress-bar frames, see :mod:`course_utils.tools.outputs`)."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    run = execute(nb, path.parent, timeout=timeout, record_timing=True)
    seconds = time.perf_counter() - start
    slowest = sorted(cell_times(nb), key=lambda t: -t[1])[:SLOWEST]
    drop_timing(nb)
    drop_progress_bars(nb)
    if Path(out_dir).resolve() != path.parent.resolve():
        _fold_going_further(nb, path.name)  # a copy (build/): folded as the release shows it; the source stays open
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    if html:
        export_html(nb, out_dir / path.with_suffix(".html").name)
    return RunResult(path.name, not run.error, seconds, run.error, slowest)


def _fold_going_further(nb, name: str) -> None:
    """JupyterLab's collapsed-heading flag on the going-further headings of a course notebook's copy."""
    from .course import CourseError, read_model
    from .transforms import fold_going_further
    try:
        model = read_model(nb, name)
    except CourseError:  # not a course notebook: nothing to fold
        return
    fold_going_further(nb, model)


SLOWEST = 5  # cells listed per notebook in make run's table
TEMPLATES = Path(__file__).with_name("templates")  # the course's nbconvert templates
HTML_TEMPLATE = "course"  # JupyterLab's look, made to meet WCAG 2.1 AA (templates/course/index.html.j2)


def html_exporter():
    """nbconvert's HTML exporter with the course template: figures' alt text from their output
    metadata, code colours and links with enough contrast, MathJax's assistive MathML."""
    from nbconvert import HTMLExporter
    return HTMLExporter(template_name=HTML_TEMPLATE, extra_template_basedirs=[str(TEMPLATES)])


def export_html(nb, path: Path) -> Path:
    """Write an executed notebook as standalone HTML (its animations keep their controls)."""
    body, _ = html_exporter().from_notebook_node(nb)
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
    timed = [r for r in results if r.slowest]
    if timed:
        lines.append("slowest cells (index in the notebook's cells, from 0):")
    for r in timed:
        cells = ", ".join(f"[{i}] {s:.1f} s" for i, s, _ in r.slowest)
        lines.append(f"  {r.notebook}: {cells}")
    return "\n".join(lines)


_ROW = re.compile(r"(\S+\.ipynb)\s+(?:ok|FAILED)\s+(\d+\.\d)")


_SLOW = re.compile(r"\s+(\S+\.ipynb): (.*)")


def parse_slowest(text: str) -> dict[str, str]:
    """{notebook: its slowest cells, as the table prints them} from :func:`format_table`'s text."""
    return {m[1]: m[2] for m in map(_SLOW.fullmatch, text.splitlines()) if m}


def parse_table(text: str) -> dict[str, float]:
    """{notebook: seconds} of the rows of a :func:`format_table` table found in ``text`` (the output
    of `make run`, say, around it)."""
    return {m[1]: float(m[2]) for m in map(_ROW.fullmatch, text.splitlines()) if m}
