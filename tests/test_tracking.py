"""course_utils.tracking: config and metrics on disk, TensorBoard logs of every kind, a real TensorBoard server."""
import json
import sys
import urllib.request
import warnings

import numpy as np
import pytest
import torch

from course_utils.tracking import read_config, read_metrics, read_scalars, start_run


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


def test_fresh_run_replaces_old_metrics_and_names_are_checked(tmp_path):
    start_run("r", {}, root=tmp_path).log_metrics(epoch=1, loss=3.0)
    run = start_run("r", {}, root=tmp_path)
    assert read_metrics(run.dir) == []
    for bad in ("../escape", "a/b", ""):
        with pytest.raises(ValueError, match="plain folder name"):
            start_run(bad, {}, root=tmp_path)


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
    short_run(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "tensorboard.main", "--logdir", str(tmp_path), "--host", "127.0.0.1",
           "--port", str(port), "--reload_interval", "1"]
    with serve(cmd, f"{base}/data/runs", log=tmp_path / "tensorboard.log", ready=lambda body: json.loads(body)):
        assert "short" in get_json(f"{base}/data/runs")
        tags = get_json(f"{base}/data/plugin/scalars/tags")
        assert "loss/train" in tags["short"]
        points = get_json(f"{base}/data/plugin/scalars/scalars?run=short&tag=loss/train")
        assert [p[1] for p in points] == [1, 2]
