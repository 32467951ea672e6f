"""course_utils.tracking: config and metrics on disk, TensorBoard logs of every kind, a real TensorBoard server."""
import json
import sys
import urllib.request
import warnings

import numpy as np
import pytest
import torch

from course_utils import tracking
from course_utils.tracking import (latest_run, list_runs, prune_runs, read_config, read_metrics, read_scalars,
                                     start_run)


def test_config_and_metrics_written_and_read_back(tmp_path):
    run = start_run("exp1", {"lr": 0.1, "seed": 42}, root=tmp_path, device="cpu")
    config = read_config(run.dir)
    assert config["lr"] == 0.1 and config["seed"] == 42 and config["device"] == "cpu"
    assert config["versions"]["torch"] == torch.__version__
    run.log_metrics(epoch=1, train_loss=torch.tensor(0.5), val_acc=0.8)
    run.log_metrics(epoch=2, train_loss=0.25, val_acc=np.float64(0.9))
    records = read_metrics(run.dir)
    assert [r["epoch"] for r in records] == [1, 2]
    assert records[0]["train_loss"] == 0.5 and records[1]["val_acc"] == 0.9
    assert all(isinstance(r["timestamp"], float) for r in records)
    assert [json.loads(line)["epoch"] for line in (run.dir / "metrics.jsonl").read_text().splitlines()] == [1, 2]


def test_nothing_written_outside_the_run_folder(tmp_path):
    with start_run("only", {"a": 1}, root=tmp_path) as run:
        run.log_metrics(epoch=1, loss=1.0)
        run.writer.add_histogram("w", torch.randn(100), 1)
        run.writer.add_hparams({"lr": 0.1}, {"hparam/acc": 0.5}, run_name=".")
    assert [p.name for p in tmp_path.iterdir()] == ["only"]
    assert [p.name for p in (tmp_path / "only").iterdir()] == [run.dir.name]


def test_fault_second_run_of_a_name_keeps_the_first(tmp_path):
    """Re-running a notebook's tracking cell used to delete the earlier run (metrics and model.pt)."""
    first = start_run("r", {"lr": 0.1}, root=tmp_path)
    first.log_metrics(epoch=1, loss=3.0)
    (first.dir / "model.pt").write_bytes(b"weights")
    second = start_run("r", {"lr": 0.01}, root=tmp_path)
    assert second.dir != first.dir and second.dir.parent == first.dir.parent == tmp_path / "r"
    assert [m["loss"] for m in first.read_metrics()] == [3.0]
    assert (first.dir / "model.pt").read_bytes() == b"weights"
    assert first.read_config()["lr"] == 0.1 and second.read_config()["lr"] == 0.01
    assert second.read_metrics() == []
    assert list_runs(tmp_path, "r") == [first.dir, second.dir]
    assert latest_run(tmp_path, "r") == second.dir


def test_runs_in_the_same_second_get_a_counter(tmp_path, monkeypatch):
    monkeypatch.setattr(tracking.time, "strftime", lambda fmt, *a: "20260101-120000")
    runs = [start_run("same", {}, root=tmp_path) for _ in range(11)]
    assert [r.dir.name for r in runs[:3]] == ["20260101-120000", "20260101-120000-2", "20260101-120000-3"]
    assert len({r.dir for r in runs}) == 11
    assert list_runs(tmp_path, "same") == [r.dir for r in runs]  # -10 after -9: numeric order
    assert latest_run(tmp_path) == runs[-1].dir


@pytest.mark.parametrize("bad", ["..", ".", "", "a/b", "../escape", "/abs", "/", ".hidden", "a\\b", "a b",
                                 "x" * 101, "nul\0", None, 5])
def test_fault_unsafe_run_names_are_refused_and_nothing_is_created_or_deleted(tmp_path, bad):
    """`start_run("..")` used to pass the check and delete the parent of root."""
    root = tmp_path / "runs"
    root.mkdir()
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="plain folder name"):
        start_run(bad, {}, root=root)
    assert (tmp_path / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "runs"] and not any(root.iterdir())


def test_safe_run_names_are_accepted(tmp_path):
    for name in ("05_minimal", "lr=0.001,bs=100", "A-b.c+d"):
        assert start_run(name, {}, root=tmp_path).dir.parent == tmp_path / name


def test_fault_new_run_closes_the_writer_of_the_earlier_run_of_the_same_name(tmp_path):
    """A writer left open by an earlier run of a cell wrote a stale point into the new run."""
    first = start_run("w", {}, root=tmp_path)
    old_writer = first.writer
    old_writer.add_scalar("loss", 1.0, 1)
    other = start_run("other", {}, root=tmp_path)
    other_writer = other.writer
    other_writer.add_scalar("loss", 0.5, 1)  # open: its first event made its folder and event file
    second = start_run("w", {}, root=tmp_path)
    assert first._writer is None and old_writer.all_writers is None  # closed, events flushed
    assert other._writer is other_writer and other_writer.all_writers is not None  # other names untouched
    assert read_scalars(first.dir) == {"loss": [(1, 1.0)]}
    first.log_metrics(epoch=5, loss=9.0)  # a stale cell goes on logging: into its own run only
    second.writer.add_scalar("loss", 2.0, 1)
    assert second.read_scalars() == {"loss": [(1, 2.0)]}
    assert second.read_metrics() == [] and [m["epoch"] for m in first.read_metrics()] == [5]
    other.close()
    second.close()


def make_runs(root, name, n):
    """``n`` runs of ``name`` that each logged one record (a run's folder appears when it first writes)."""
    runs = [start_run(name, {"i": i}, root=root) for i in range(n)]
    for run in runs:
        run.log_metrics(epoch=1)
    return runs


def test_prune_runs_lists_by_default_and_deletes_only_when_told(tmp_path, monkeypatch):
    stamps = iter(f"20260101-12000{i}" for i in range(10))
    monkeypatch.setattr(tracking.time, "strftime", lambda fmt, *a: next(stamps))
    a, b = make_runs(tmp_path, "a", 4), make_runs(tmp_path, "b", 1)
    stray = tmp_path / "a" / "notes"  # not a run: never a candidate
    stray.mkdir()
    (tmp_path / "README.txt").write_text("not a run")
    would = prune_runs(tmp_path, keep=2)
    assert would == [a[0].dir, a[1].dir]
    assert all(r.dir.is_dir() for r in a + b)  # listing deleted nothing
    assert prune_runs(tmp_path, keep=2, delete=True) == would
    assert [p.exists() for p in (a[0].dir, a[1].dir, a[2].dir, a[3].dir, b[0].dir)] == [False, False, True, True, True]
    assert stray.is_dir() and (tmp_path / "README.txt").exists()
    assert prune_runs(tmp_path, keep=2) == []
    assert prune_runs(tmp_path / "missing") == []
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError):
            prune_runs(tmp_path, keep=bad)


def short_run(root):
    """A few steps of a tiny model, logging every kind of record notebook 06 logs."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.rand(64, 784), torch.randint(0, 10, (64,))
    run = start_run("short", {"lr": 1e-3}, root=root)
    w = run.writer
    with warnings.catch_warnings():  # add_graph traces with torch.jit, deprecated in newer torch
        warnings.simplefilter("ignore", FutureWarning)
        w.add_graph(model, x[:4])
    w.add_images("data/sample_images", x[:8].view(-1, 1, 28, 28))
    for epoch in (1, 2):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        run.log_metrics(epoch=epoch, **{"loss/train": loss.item(), "train/learning_rate": 1e-3})
        for name, p in model.named_parameters():
            w.add_histogram(f"weights/{name}", p, epoch)
            w.add_histogram(f"gradients/{name}", p.grad, epoch)
    with torch.no_grad():
        feats = torch.relu(model[0](x))
    w.add_embedding(feats, metadata=[str(int(k)) for k in y], label_img=x.view(-1, 1, 28, 28), tag="hidden")
    w.add_hparams({"lr": 1e-3}, {"hparam/accuracy": 0.5}, run_name=".")
    run.close()
    return run


def test_logs_hold_every_kind(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    run = short_run(tmp_path)
    acc = EventAccumulator(str(run.dir), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    assert {"loss/train", "train/learning_rate", "hparam/accuracy"} <= set(tags["scalars"])
    assert {"weights/0.weight", "gradients/2.bias"} <= set(tags["histograms"])
    assert "data/sample_images" in tags["images"]
    assert tags["graph"] is True
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(acc.PluginTagToContent("hparams"))
    assert [s for s, _ in read_scalars(run.dir)["loss/train"]] == [1, 2]
    projector = (run.dir / "projector_config.pbtxt").read_text()
    assert "metadata.tsv" in projector and "sprite.png" in projector
    meta = next(run.dir.rglob("metadata.tsv")).read_text().split()
    assert len(meta) == 64
    from PIL import Image
    with Image.open(next(run.dir.rglob("sprite.png"))) as sprite:
        assert sprite.size[0] >= 28 * 8


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def test_real_tensorboard_server_serves_the_runs(tmp_path, free_port, serve):
    """Two runs of one name side by side, as a re-run notebook leaves them."""
    runs = [short_run(tmp_path), short_run(tmp_path)]
    names = [r.dir.relative_to(tmp_path).as_posix() for r in runs]
    assert names[0] != names[1] and all(n.startswith("short/") for n in names)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "tensorboard.main", "--logdir", str(tmp_path), "--host", "127.0.0.1",
           "--port", str(port), "--reload_interval", "1"]
    with serve(cmd, f"{base}/data/runs", log=tmp_path / "tensorboard.log",
               ready=lambda body: set(names) <= set(json.loads(body))):
        assert set(names) <= set(get_json(f"{base}/data/runs"))
        tags = get_json(f"{base}/data/plugin/scalars/tags")
        for name in names:
            assert "loss/train" in tags[name]
            points = get_json(f"{base}/data/plugin/scalars/scalars?run={name}&tag=loss/train")
            assert [p[1] for p in points] == [1, 2]


def test_prune_runs_command_lists_first_and_deletes_only_when_told(tmp_path):
    import subprocess
    import sys
    from course_utils.tracking import list_runs, start_run
    for _ in range(4):
        run = start_run("demo", {}, root=tmp_path / "runs")
        run.log_metrics(epoch=1)
        run.close()
    cmd = [sys.executable, "-m", "course_utils", "prune-runs", "--root", str(tmp_path / "runs"), "--keep", "1"]
    listed = subprocess.run(cmd, capture_output=True, text=True)
    assert listed.returncode == 0 and "3 run folder(s) would be deleted" in listed.stdout
    assert len(list_runs(tmp_path / "runs", "demo")) == 4, "listing deletes nothing"
    deleted = subprocess.run(cmd + ["--delete"], capture_output=True, text=True)
    assert deleted.returncode == 0 and len(list_runs(tmp_path / "runs", "demo")) == 1
    bad = subprocess.run(cmd[:-1] + ["-1"], capture_output=True, text=True)
    assert bad.returncode != 0 and "must be 0 or more" in bad.stderr and "Traceback" not in bad.stderr


def test_tensorboard_step_is_the_step_when_given_else_the_epoch(tmp_path):
    from course_utils.tracking import read_scalars, start_run
    run = start_run("steps", {}, root=tmp_path)
    run.writer  # open the writer so that log_metrics also writes scalars
    run.log_metrics(epoch=1, step=550, loss=0.5)
    run.log_metrics(epoch=2, loss=0.4)
    run.close()
    assert [s for s, _ in read_scalars(run.dir)["loss"]] == [550, 2]  # in the order logged
    assert [m["epoch"] for m in run.read_metrics()] == [1, 2]


def test_runs_root_follows_the_environment(monkeypatch, tmp_path):
    from pathlib import Path
    from course_utils.tracking import runs_root
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    assert runs_root() == tmp_path
    monkeypatch.delenv("COURSE_RUNS_DIR")
    assert runs_root() == Path("runs"), "runs/ in the notebook's own folder: nothing written outside it"


def test_mlp_name_follows_the_model_not_the_configuration():
    """A run of a deeper network must not be named like the lecture's 784-128-10 network."""
    from course_utils.tracking import layer_sizes, mlp_name

    class Shuffled(torch.nn.Module):  # declared out of order: chained by sizes
        def __init__(self):
            super().__init__()
            self.out, self.first, self.second = (torch.nn.Linear(128, 10), torch.nn.Linear(784, 256),
                                                 torch.nn.Linear(256, 128))

    lecture = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    assert mlp_name(lecture) == "mlp-784-128-10"
    assert layer_sizes(Shuffled()) == [784, 256, 128, 10]
    with pytest.raises(ValueError, match="no linear layer"):
        layer_sizes(torch.nn.ReLU())
    with pytest.raises(ValueError, match="one chain"):
        layer_sizes(torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.Linear(4, 2)))


def test_fault_a_run_that_never_trains_leaves_no_folder(tmp_path):
    """05 with Exercise 5.1 unfinished (and each `check` of it) left a run folder holding only config.json:
    start_run made the folder before anything was trained."""
    root = tmp_path / "runs"
    run = start_run("05_minimal", {"lr": 0.1}, root=root)
    writer = run.writer  # 06 opens the writer before its first batch: that writes nothing either
    assert not run.created and not root.exists()
    assert run.read_metrics() == [] and run.read_scalars() == {} and run.read_config()["lr"] == 0.1
    assert "not written yet" in repr(run) and not root.exists()
    writer.close()
    run.close()
    start_run("05_minimal", {"lr": 0.1}, root=root).close()  # a second start: the first one is closed, nothing written
    assert not root.exists() and list_runs(root) == [] and latest_run(root) is None


@pytest.mark.parametrize("first_write", ["metrics", "scalar", "checkpoint"])
def test_a_run_folder_appears_with_its_first_metric_event_or_checkpoint(tmp_path, first_write):
    run = start_run("r", {"lr": 0.1}, root=tmp_path, device="cpu")
    assert list_runs(tmp_path) == []
    if first_write == "metrics":
        run.log_metrics(epoch=1, loss=1.0)
    elif first_write == "scalar":
        run.writer.add_scalar("loss", 1.0, 1)
        run.writer.flush()
    else:
        torch.save({"w": torch.ones(2)}, run.dir / "model.pt")
    assert run.created and list_runs(tmp_path) == [run.dir]
    assert read_config(run.dir)["lr"] == 0.1 and read_config(run.dir)["device"] == "cpu"
    expected = {"metrics": ["config.json", "metrics.jsonl"], "checkpoint": ["config.json", "model.pt"]}.get(first_write)
    names = sorted(p.name for p in run.dir.iterdir())
    assert names == expected if expected else (names[0] == "config.json" and names[1].startswith("events."))
    if first_write == "scalar":
        assert run.read_scalars() == {"loss": [(1, 1.0)]}
    run.close()


def test_runs_are_named_by_when_they_started_not_when_they_first_wrote(tmp_path, monkeypatch):
    stamps = iter(["20260101-120000", "20260101-120000", "20260101-120005"])
    monkeypatch.setattr(tracking.time, "strftime", lambda fmt, *a: next(stamps))
    first, second = start_run("r", {}, root=tmp_path), start_run("r", {}, root=tmp_path)
    second.log_metrics(epoch=1, loss=1.0)  # the second of the same second writes first
    first.log_metrics(epoch=1, loss=2.0)
    assert (second.dir.name, first.dir.name) == ("20260101-120000", "20260101-120000-2")
    assert [m["loss"] for m in first.read_metrics()] == [2.0] and [m["loss"] for m in second.read_metrics()] == [1.0]
