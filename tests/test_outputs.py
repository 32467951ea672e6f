"""Progress-bar frames are dropped from stored outputs; other stderr text stays."""
import nbformat
import pytest

from course_utils.tools.outputs import drop_progress_bars, strip_progress_frames

FRAMES = ["\repoch 1/4:   0%|          | 0/550 [00:00<?, ?it/s]",
          "\repoch 1/4:  42%|████▏     | 232/550 [00:01<00:01, 231.85it/s]",
          "\r                                                             ", "\r"]


def test_frames_and_their_erasure_are_removed():
    assert strip_progress_frames("".join(FRAMES)).strip() == ""


def test_other_stderr_text_is_kept():
    warning = "UserWarning: something the student should see\n"
    assert strip_progress_frames(FRAMES[0] + FRAMES[1] + "\n" + warning) == warning  # a kept bar's newline goes with it
    assert strip_progress_frames(warning) == warning


def test_the_notebooks_keep_their_bars_on_screen():
    """A bar that erases itself (leave=False) leaves an empty pink stderr stripe between the epoch lines
    in JupyterLab: the notebooks keep theirs (tqdm's default), and the stored outputs drop them."""
    from pathlib import Path
    for path in sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and "tqdm(" in cell.source:
                assert "leave=False" not in cell.source, path.name


def test_notebook_outputs_cleaned_in_place():
    cell = nbformat.v4.new_code_cell("train()")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=t) for t in FRAMES]
    cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text="epoch 1: loss 0.5\n"))
    cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text="a warning\n"))
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert drop_progress_bars(nb) == 4
    assert [(o.name, o.text) for o in nb.cells[0].outputs] == [("stdout", "epoch 1: loss 0.5\n"), ("stderr", "a warning\n")]
    assert drop_progress_bars(nb) == 0


@pytest.mark.notebook
def test_executed_notebooks_are_saved_without_frames(tmp_path):
    from course_utils.tools.execute import execute_notebook
    src = tmp_path / "99_bars.ipynb"
    code = ("import sys\nfrom tqdm import tqdm\n"
            "for _ in tqdm(range(3), file=sys.stderr, mininterval=0): pass\n"
            "for _ in tqdm(range(3), file=sys.stderr, mininterval=0): pass\n"
            "print('done'); print('a warning', file=sys.stderr)")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), src)
    assert execute_notebook(src, tmp_path / "out", html=False).ok
    outputs = nbformat.read(tmp_path / "out" / "99_bars.ipynb", as_version=4).cells[0].outputs
    stderr = "".join(o.text for o in outputs if o.get("name") == "stderr")
    assert "it/s" not in stderr and stderr == "a warning\n"
    assert "".join(o.text for o in outputs if o.get("name") == "stdout") == "done\n"
