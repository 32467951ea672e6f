"""course_utils.animation and plotting: recording, frame cap, determinism, player controls, size, GIF."""
import warnings

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import make_moons
from sklearn.neural_network import MLPClassifier

from course_utils.animation import FRAME_LIMIT, TrainingRecorder, animate_training, pick_frames
from course_utils.plotting import class_one_score, plot_decision_boundary, plot_training_curves

matplotlib.use("Agg")
X, Y = make_moons(n_samples=120, noise=0.3, random_state=0)


def sklearn_recording(steps=30, every=1, seed=0):
    clf = MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.02, random_state=seed)
    rec = TrainingRecorder(X, Y, resolution=40, every=every)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step in range(steps):
            clf.partial_fit(X, Y, classes=[0, 1])
            rec(clf, step, loss=clf.loss_, accuracy=clf.score(X, Y))
    return rec


def torch_recording(steps=20, seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(Y)
    rec = TrainingRecorder(X, Y, resolution=40, every=2)
    for step in range(steps):
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        rec(model, step, loss=loss.item())
    return rec


def test_recorder_keeps_every_kth_step():
    rec = sklearn_recording(steps=30, every=5)
    assert [s.step for s in rec.snapshots] == [0, 5, 10, 15, 20, 25]
    assert rec.snapshots[0].response.shape == (40, 40)
    assert set(rec.snapshots[0].metrics) == {"loss", "accuracy"}


def test_recorder_works_with_a_torch_loop():
    rec = torch_recording()
    assert len(rec.snapshots) == 10
    r = rec.snapshots[-1].response
    assert r.min() >= 0 and r.max() <= 1 and not np.allclose(r, rec.snapshots[0].response)


def test_frames_are_capped_and_spread():
    assert pick_frames(10, 60) == list(range(10))
    idx = pick_frames(1000, 50)
    assert len(idx) == 50 and idx[0] == 0 and idx[-1] == 999
    with pytest.warns(UserWarning, match="above the limit"):
        assert len(pick_frames(1000, FRAME_LIMIT + 50)) == FRAME_LIMIT


def test_animation_frame_count_and_cap():
    rec = sklearn_recording(steps=30)
    anim = animate_training(rec, max_frames=12)
    assert len(anim.frames) == 12 and anim.steps[0] == 0 and anim.steps[-1] == 29
    with pytest.warns(UserWarning):
        assert len(animate_training(rec, max_frames=FRAME_LIMIT + 1).frames) == 30  # warns, never crashes


def test_same_seed_same_frames():
    a = animate_training(sklearn_recording(steps=10, seed=3))
    b = animate_training(sklearn_recording(steps=10, seed=3))
    c = animate_training(sklearn_recording(steps=10, seed=4))
    assert all(np.array_equal(np.asarray(f), np.asarray(g)) for f, g in zip(a.frames, b.frames))
    assert not all(np.array_equal(np.asarray(f), np.asarray(g)) for f, g in zip(a.frames, c.frames))


def test_frames_differ_as_training_moves():
    anim = animate_training(sklearn_recording(steps=30), max_frames=5)
    assert not np.array_equal(np.asarray(anim.frames[0]), np.asarray(anim.frames[-1]))


def test_both_panels_have_axis_labels_in_the_unit_given():
    rec = sklearn_recording(steps=6)
    default = animate_training(rec)
    assert default.axis_labels == {"boundary": ("$x_1$", "$x_2$"), "metrics": ("step", "loss / accuracy")}
    epochs = animate_training(rec, unit="epoch", ylabel="cross-entropy / accuracy")
    assert epochs.axis_labels["metrics"] == ("epoch", "cross-entropy / accuracy")
    assert not all(np.array_equal(np.asarray(f), np.asarray(g)) for f, g in zip(default.frames, epochs.frames))
    assert animate_training(torch_recording()).axis_labels["metrics"] == ("step", "loss")


def test_html_has_player_controls():
    html = animate_training(sklearn_recording(steps=6)).to_html()
    for control in ('type="range"', "-play", "-prev", "-next", "play / pause", "data:image/png;base64,"):
        assert control in html
    assert html.count("iVBOR") == 6 + 1  # every frame is a PNG (plus the first one shown before play)


def test_html_size_bound_is_respected():
    anim = animate_training(sklearn_recording(steps=20))
    full = len(anim.to_html().encode())
    limit = full // 3
    with pytest.warns(UserWarning, match="shrinking the frames"):
        small = anim.to_html(max_bytes=limit)
    assert len(small.encode()) <= limit


def test_gif_is_written_and_readable(tmp_path):
    anim = animate_training(sklearn_recording(steps=8))
    path = anim.save_gif(tmp_path / "sub" / "moons.gif")
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 8
        assert gif.size == anim.frames[0].size


def test_empty_recorder_is_a_clear_error():
    with pytest.raises(ValueError, match="no snapshots"):
        animate_training(TrainingRecorder(X, Y))


def test_class_one_score_for_each_kind_of_model():
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, Y)
    pts = X[:5]
    np.testing.assert_allclose(class_one_score(clf, pts), clf.predict_proba(pts)[:, 1])
    net = torch.nn.Linear(2, 2)
    expected = torch.softmax(net(torch.tensor(pts, dtype=torch.float32)), 1)[:, 1].detach().numpy()
    np.testing.assert_allclose(class_one_score(net, pts), expected, rtol=1e-6)
    np.testing.assert_allclose(class_one_score(lambda p: p[:, 0] > 0, pts), (pts[:, 0] > 0).astype(float))
    with pytest.raises(TypeError, match="cannot get scores"):
        class_one_score(object(), pts)


def test_plots_have_titles_and_labels():
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2)
    plot_decision_boundary(lambda p: p[:, 0] > 0, X, Y, a, title="boundary")
    plot_training_curves({"loss": [1, 0.5], "accuracy": [0.5, 0.9]}, b)
    assert a.get_title() == "boundary" and a.get_xlabel() and b.get_ylabel() == "loss"
    assert b.right.get_ylabel() == "accuracy"
    plt.close(fig)


def test_metrics_panel_shows_only_the_run_so_far():
    """Two runs that agree up to a step and differ after it (over the same range) render that step alike."""
    from course_utils.animation import Snapshot

    response = np.tile(np.linspace(0, 1, 40, dtype=np.float32), (40, 1))
    frames = []
    for losses in ([1.0, 0.8, 0.2, 0.6, 0.4], [1.0, 0.8, 0.6, 0.2, 0.4]):
        rec = TrainingRecorder(X, Y, resolution=40)
        rec.snapshots = [Snapshot(step, response, {"loss": loss}) for step, loss in enumerate(losses)]
        frames.append([np.asarray(f) for f in animate_training(rec).frames])
    assert np.array_equal(frames[0][1], frames[1][1]), "a frame shows metrics of later steps"
    assert not np.array_equal(frames[0][2], frames[1][2])


def test_player_alt_and_caption_carry_the_description(monkeypatch):
    anim = animate_training(sklearn_recording(steps=4), title="Moons <small>")
    assert 'alt="Moons &lt;small&gt;: an animation of 4 frames, from step 0 to 3.' in anim.to_html()
    anim.description = 'The boundary "bends" over the frames.'
    html = anim.to_html()
    assert 'alt="The boundary &quot;bends&quot; over the frames."' in html
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda data, **kw: shown.append(data))
    anim.show(html)
    (player, caption) = shown
    assert player.data == html
    assert caption["text/plain"] == 'Figure. The boundary "bends" over the frames.'
    assert 'class="course-figure-caption"' in caption["text/html"]
