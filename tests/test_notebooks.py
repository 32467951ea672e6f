"""Committed notebooks must be executed top to bottom, or nbval's strict comparison silently skips cells."""
import ast
import json
import re
from pathlib import Path

import nbformat
import pytest

from course_utils.tools.execute import RunResult, execute_notebook, format_table, parse_slowest, parse_table

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def execution_problems(nb) -> list[str]:
    """Why a notebook's stored outputs cannot be trusted for comparison, if they cannot."""
    problems = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.get("execution_count") for c in code]
    for i, (cell, count) in enumerate(zip(code, counts), start=1):
        if count is None:
            problems.append(f"code cell {i} has no execution count (outputs stripped or never run)")
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            problems.append(f"code cell {i} stored an error")
    if None not in counts and counts != list(range(1, len(code) + 1)):
        problems.append(f"execution counts {counts} are not 1, 2, 3, ... (not run top to bottom in a fresh kernel)")
    return problems


def test_there_are_notebooks():
    assert any(p.name.startswith("00_") for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_was_executed_top_to_bottom(path):
    assert execution_problems(nbformat.read(path, as_version=4)) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_conventions(path):
    nb = nbformat.read(path, as_version=4)
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    calls = [n for n in ast.walk(ast.parse(first_code.source)) if isinstance(n, ast.Call)
             and getattr(n.func, "id", getattr(n.func, "attr", None)) == "set_all_seeds"]
    assert [[a.value for a in c.args if isinstance(a, ast.Constant)] for c in calls] == [[42]], \
        "the first code cell seeds once, with set_all_seeds(42)"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    text = json.dumps(nb)
    for machine_path in ("/root/", "/tmp/", "/work/", "/home/"):
        assert machine_path not in text, f"{path.name} holds a machine path {machine_path}"


def make_notebook(sources):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def test_stripped_and_out_of_order_notebooks_are_caught():
    nb = make_notebook(["a = 1", "b = 2", "c = 3"])
    assert len(execution_problems(nb)) == 3
    for cell, count in zip(nb.cells, (1, 3, 2)):
        cell.execution_count = count
    assert execution_problems(nb) == ["execution counts [1, 3, 2] are not 1, 2, 3, ... "
                                      "(not run top to bottom in a fresh kernel)"]


@pytest.mark.notebook
def test_runner_names_the_failing_cell(tmp_path):
    src = tmp_path / "99_broken.ipynb"
    nbformat.write(make_notebook(["x = 1", "print(x)", "1 / 0", "print('never')"]), src)
    result = execute_notebook(src, tmp_path / "build")
    assert not result.ok
    assert result.error.startswith("code cell 3 ('1 / 0')") and "ZeroDivisionError" in result.error
    assert (tmp_path / "build" / "99_broken.ipynb").is_file() and (tmp_path / "build" / "99_broken.html").is_file()
    table = format_table([result])
    assert "FAILED" in table and "99_broken.ipynb failed at code cell 3" in table


@pytest.mark.notebook
def test_make_run_times_each_cell_and_keeps_the_times_out_of_the_notebook(tmp_path):
    src = tmp_path / "99_slow.ipynb"
    nbformat.write(make_notebook(["import time", "time.sleep(0.6)", "x = 1"]), src)
    result = execute_notebook(src, tmp_path / "build", html=False)
    assert result.ok and [i for i, _, _ in result.slowest][0] == 1 and 0.5 < result.slowest[0][1] < 5
    assert "time.sleep" == result.slowest[0][2][:10]
    saved = nbformat.read(tmp_path / "build" / "99_slow.ipynb", as_version=4)
    assert all("execution" not in c.metadata for c in saved.cells), "no timestamps in a stored notebook"
    assert parse_slowest(format_table([result]))["99_slow.ipynb"].startswith("[1] ")


def test_make_runs_copies_fold_going_further_and_the_in_place_refresh_does_not(tmp_path):
    """`make run` writes build/ copies as a student meets them (going-further sections folded in JupyterLab);
    `--in-place` refreshes the instructor's source, which stays open for editing."""
    from course_notebooks import code, make_nb, md

    from course_utils.tools.course import COLLAPSED
    src = tmp_path / "99_fold.ipynb"
    nbformat.write(make_nb(md("# T"), code("x = 1"), md("## Going further · more", going_further=True),
                           code("y = 2")), src)
    assert execute_notebook(src, tmp_path / "build", html=False).ok
    assert nbformat.read(tmp_path / "build" / src.name, as_version=4).cells[2].metadata.get(COLLAPSED) is True
    assert execute_notebook(src, tmp_path, html=False).ok
    assert COLLAPSED not in nbformat.read(src, as_version=4).cells[2].metadata


def test_the_table_of_times_reads_back_from_around_it():
    """benchmarks/bench_suite.py judges each notebook's budget from `make run`'s printed table."""
    results = [RunResult("00_environment_check.ipynb", True, 9.14), RunResult("04_from_scratch_layers.ipynb", False,
                                                                                 1234.56, "code cell 3 ('1 / 0')")]
    printed = "running 00_environment_check.ipynb ...\n" + format_table(results) + "\nmake: *** [run] Error 1\n"
    assert parse_table(printed) == {"00_environment_check.ipynb": 9.1, "04_from_scratch_layers.ipynb": 1234.6}
    assert parse_table("running 00_environment_check.ipynb ...\n") == {}


def load_definitions(notebook: str, names: set[str]) -> dict:
    """benchmarks/notebook_code.py's loader (the benchmarks folder is not a package)."""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        from notebook_code import load_definitions as load
    finally:
        sys.path.pop(0)
    return load(notebook, names)


def test_benchmarks_load_the_notebooks_own_definitions():
    import numpy as np
    ns = load_definitions("04_from_scratch_layers.ipynb", {"conv2d_forward", "im2col"})
    out = ns["conv2d_forward"](np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3)), np.zeros(3), stride=2, pad=1)
    assert out.shape == (1, 3, 3, 3) and out[0, 0, 1, 1] == 18
    with pytest.raises(KeyError, match="defines no no_such_function"):
        load_definitions("04_from_scratch_layers.ipynb", {"no_such_function"})


def test_notebook_05s_training_step_needs_no_global_the_benchmark_would_have_to_inject():
    """The training benchmark runs 05's own ``train_one_epoch`` loaded alone: it must take its loss
    function as an argument and find the device from the model, not read globals of the notebook."""
    import torch
    ns = load_definitions("05_fashion_mnist_minimal.ipynb", {"Net", "train_one_epoch"})
    assert not {"device", "loss_func"} & ns.keys()
    torch.manual_seed(0)
    model = ns["Net"]()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    batch = (torch.rand(8, 1, 28, 28), torch.arange(8) % 10)
    first = ns["train_one_epoch"](model, [batch], optimizer, torch.nn.CrossEntropyLoss())
    second = ns["train_one_epoch"](model, [batch], optimizer, torch.nn.CrossEntropyLoss())
    assert second < first  # it trained: the same batch's loss fell after one step
