"""Watch a classifier learn: record snapshots while training, then play them back.

Record with :class:`TrainingRecorder` (call it from any training loop: a scikit-learn
``partial_fit`` loop or a torch loop) and turn the recording into a :class:`TrainingAnimation` with
:func:`animate_training`. Frames are rendered once; the animation shows itself in Jupyter as a
player with play / pause / step buttons and a scrub slider (plain HTML and JavaScript, so it works
in exported HTML too, with no ffmpeg), and saves as a GIF with Pillow.
"""
from __future__ import annotations

import base64
import html as html_text
import io
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from .figures import CAPTION_CLASS, OUTPUT_WIDTH_PX, describe_animation, displayed_text_pt, plain_text
from .plotting import BOUNDARY_CMAP, POINT_COLORS, add_boundary_key, class_one_score, grid_for

FRAME_LIMIT = 100  # more frames than this make the notebook heavy and slow to render
HTML_LIMIT_BYTES = 5 * 1024 * 1024


@dataclass
class Snapshot:
    step: int
    response: np.ndarray  # P(class 1) on the recorder's grid, (resolution, resolution)
    metrics: dict[str, float]


@dataclass
class TrainingRecorder:
    """Stores the model's decision surface on a fixed grid, plus metrics, every ``every`` steps.

    Args:
        X: the 2-D points to draw (N, 2); y: their labels (N,).
        resolution: grid points per axis (the surface is stored at this resolution).
        every: record only steps that are multiples of this.
    """

    X: np.ndarray
    y: np.ndarray
    resolution: int = 80
    every: int = 1
    snapshots: list[Snapshot] = field(default_factory=list)

    def __post_init__(self):
        self.X, self.y = np.asarray(self.X), np.asarray(self.y)
        self.grid = grid_for(self.X, self.resolution)
        self._points = np.c_[self.grid[0].ravel(), self.grid[1].ravel()]

    def __call__(self, model, step: int, **metrics: float) -> bool:
        """Record ``model`` at ``step`` if it is a recording step; returns whether it recorded."""
        if step % self.every:
            return False
        response = class_one_score(model, self._points).reshape(self.grid[0].shape).astype(np.float32)
        self.snapshots.append(Snapshot(step, response, {k: float(v) for k, v in metrics.items()}))
        return True


def pick_frames(n: int, max_frames: int) -> list[int]:
    """Indices of at most ``max_frames`` of ``n`` snapshots, evenly spread, first and last kept."""
    if max_frames > FRAME_LIMIT:
        warnings.warn(f"max_frames={max_frames} is above the limit of {FRAME_LIMIT}; using {FRAME_LIMIT}",
                      stacklevel=3)
        max_frames = FRAME_LIMIT
    if n <= max_frames:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, max_frames).round().astype(int).tolist()))


def _quantize(image: Image.Image) -> Image.Image:
    """128-colour palette image: small PNGs and GIF frames (boundary plots have few colours)."""
    return image.quantize(colors=128, method=Image.Quantize.MEDIANCUT)


def _png(image: Image.Image) -> bytes:
    """PNG bytes of a palette image (zlib's default level: optimize=True costs 5x the time for ~3 %)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


_PLAYER = """<div class="course-anim" id="{id}" style="font-family:sans-serif;max-width:{width}px">
<img id="{id}-img" src="data:image/png;base64,{first}" style="width:100%" alt="{alt}"/>
<div style="display:flex;align-items:center;gap:6px;margin-top:4px">
<button type="button" id="{id}-prev" title="previous frame">&#9664;&#9664;</button>
<button type="button" id="{id}-play" title="play / pause">&#9654; play</button>
<button type="button" id="{id}-next" title="next frame">&#9654;&#9654;</button>
<input type="range" id="{id}-slider" min="0" max="{last}" value="0" step="1" style="flex:1" aria-label="frame"/>
<span id="{id}-label">frame 1 / {count}</span>
</div>
<script>
(function() {{
  var frames = {frames};
  var img = document.getElementById("{id}-img"), slider = document.getElementById("{id}-slider");
  var label = document.getElementById("{id}-label"), play = document.getElementById("{id}-play");
  var k = 0, timer = null;
  function show(i) {{
    k = Math.max(0, Math.min(frames.length - 1, i));
    img.src = "data:image/png;base64," + frames[k];
    slider.value = k;
    label.textContent = "frame " + (k + 1) + " / " + frames.length;
  }}
  function stop() {{ if (timer) {{ clearInterval(timer); timer = null; }} play.innerHTML = "&#9654; play"; }}
  function start() {{
    if (k >= frames.length - 1) show(0);
    play.innerHTML = "&#10074;&#10074; pause";
    timer = setInterval(function() {{ if (k >= frames.length - 1) stop(); else show(k + 1); }}, {interval});
  }}
  play.onclick = function() {{ if (timer) stop(); else start(); }};
  document.getElementById("{id}-prev").onclick = function() {{ stop(); show(k - 1); }};
  document.getElementById("{id}-next").onclick = function() {{ stop(); show(k + 1); }};
  slider.oninput = function() {{ stop(); show(parseInt(slider.value, 10)); }};
}})();
</script>
</div>"""


@dataclass
class TrainingAnimation:
    """Rendered frames plus how to play them. Displays itself in Jupyter as an HTML player."""

    frames: list[Image.Image]
    steps: list[int]
    interval: int = 150  # milliseconds between frames
    title: str = "Decision boundary"
    axis_labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # panel -> (x label, y label)
    # What the animation shows, for the player's alt text and caption (default: describe_animation's text).
    description: str = ""
    # Its smallest text in points as the player shows it (the frames fill the output area's width).
    smallest_text_pt: float = float("inf")
    _palette: list[Image.Image] | None = field(default=None, init=False, repr=False)

    def palette_frames(self) -> list[Image.Image]:
        """The frames quantized once to 128 colours, shared by the HTML player and the GIF."""
        if self._palette is None:
            self._palette = [_quantize(f) for f in self.frames]
        return self._palette

    def to_html(self, max_bytes: int = HTML_LIMIT_BYTES) -> str:
        """Self-contained HTML: the frames as PNG data and a small player (buttons and a slider).

        When the HTML would exceed ``max_bytes`` it warns and shrinks the frames until it fits.
        """
        frames, quantized = self.frames, self.palette_frames()
        while True:
            encoded = [base64.b64encode(_png(f)).decode("ascii") for f in quantized]
            html = _PLAYER.format(id=f"anim-{uuid.uuid4().hex[:12]}", width=frames[0].width, first=encoded[0],
                                  frames="[" + ",".join(f'"{e}"' for e in encoded) + "]", last=len(encoded) - 1,
                                  count=len(encoded), interval=self.interval,
                                  alt=html_text.escape(plain_text(self.describe()), quote=True))
            size = len(html.encode())
            if size <= max_bytes or frames[0].width < 100:
                return html
            scale = 0.8 * (max_bytes / size) ** 0.5
            warnings.warn(f"animation HTML is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit; "
                          f"shrinking the frames to {scale:.0%} (record fewer frames to keep the detail)",
                          stacklevel=2)
            frames = [f.resize((max(1, int(f.width * scale)), max(1, int(f.height * scale))), Image.LANCZOS)
                      for f in frames]
            quantized = [_quantize(f) for f in frames]

    def _repr_html_(self) -> str:
        return self.to_html()

    def describe(self) -> str:
        """The description: :attr:`description` if set, else :func:`course_utils.figures.describe_animation`."""
        return " ".join((self.description or describe_animation(self)).split())

    def show(self, html: str | None = None) -> None:
        """Display the player (``html`` from :meth:`to_html`, or rendered now), its description as
        the image's alt text, then the description as a visible caption below it, as
        :func:`course_utils.figures.show_figure` does for a figure."""
        from IPython.display import HTML, display

        description = self.describe()
        display(HTML(html if html is not None else self.to_html()))
        display({"text/html": f'<p class="{CAPTION_CLASS}"><strong>Figure.</strong> {html_text.escape(description)}</p>',
                 "text/plain": f"Figure. {description}"}, raw=True)

    def save_gif(self, path: Path | str) -> Path:
        """Write the frames as a looping GIF with Pillow; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        first, *rest = self.palette_frames()
        first.save(path, save_all=True, append_images=rest, duration=self.interval, loop=0)
        return path


def animate_training(recorder: TrainingRecorder, *, max_frames: int = 60, interval: int = 150,
                     title: str = "Decision boundary", unit: str = "step", ylabel: str | None = None,
                     dpi: int = 72) -> TrainingAnimation:
    """Render one frame per kept snapshot: the boundary with the data (left, with a colorbar for
    P(class 1) and a legend for the classes), the metrics up to that snapshot (right; later values
    are not drawn).

    unit: what one recorded step is ("epoch" for a pass over the data, "batch" for one update); it
        labels the metrics' x axis and the counter on the boundary panel.
    ylabel: the metrics' y-axis label; by default the metric names, e.g. "loss / accuracy".
    """
    if not recorder.snapshots:
        raise ValueError("the recorder holds no snapshots: call it from the training loop first")
    kept = [recorder.snapshots[i] for i in pick_frames(len(recorder.snapshots), max_frames)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8), dpi=dpi)
    try:
        # Axes, ticks and labels (the slow part: text) are drawn once into a background; each frame
        # restores it and draws only the artists that change ("blitting").
        xx, yy = recorder.grid
        surface = left.imshow(kept[0].response, origin="lower", extent=(xx.min(), xx.max(), yy.min(), yy.max()),
                              aspect="auto", cmap=BOUNDARY_CMAP, vmin=0, vmax=1, alpha=0.45, animated=True)
        points = [left.scatter(recorder.X[recorder.y == label, 0], recorder.X[recorder.y == label, 1], s=12,
                               c=color, edgecolors="white", linewidths=0.4, animated=True)
                  for label, color in zip((0, 1), POINT_COLORS)]
        left.set(xlabel="$x_1$", ylabel="$x_2$", title=title)
        left.grid(False)
        add_boundary_key(fig, left, surface, legend_axes=left)  # what the shading and the colours mean
        step_text = left.text(0.02, 0.97, f"{unit} {kept[-1].step}", transform=left.transAxes, va="top", fontsize=9, animated=True,
                              bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none"})
        steps = np.array([s.step for s in recorder.snapshots])
        lines = []
        for i, name in enumerate(recorder.snapshots[0].metrics):
            values = np.array([s.metrics[name] for s in recorder.snapshots])
            # Drawn with the whole run so that the axes' limits fit it from the first frame; being
            # animated, the line is left out of the background, and each frame draws only the part so far.
            line, = right.plot(steps, values, color=f"C{i}", label=name, animated=True,
                               marker="o", markersize=3, markevery=[-1])  # a dot on the latest value
            lines.append((line, values))
        names = list(recorder.snapshots[0].metrics)
        right.set(xlabel=unit, ylabel=ylabel or " / ".join(names),
                  title=(" and ".join(names).capitalize() or "Metrics") + " so far")
        if lines:
            right.legend(loc="center right")
        marker = right.axvline(steps[0], color="gray", lw=0.8, animated=True)
        fig.tight_layout()
        fig.canvas.draw()
        smallest = displayed_text_pt(fig, fig.canvas.get_width_height()[0], shown_px=OUTPUT_WIDTH_PX)
        background = fig.canvas.copy_from_bbox(fig.bbox)
        images = []
        for snap in kept:
            fig.canvas.restore_region(background)
            surface.set_data(snap.response)
            boundary = left.contour(xx, yy, snap.response, levels=[0.5], colors="k", linewidths=1.2)
            # one artist from matplotlib 3.8 on; before, a holder of one collection per level
            boundary_artists = [boundary] if hasattr(boundary, "draw") else boundary.collections
            step_text.set_text(f"{unit} {snap.step}")
            upto = steps <= snap.step
            for line, values in lines:
                line.set_data(steps[upto], values[upto])
            marker.set_xdata([snap.step, snap.step])
            for artist in (surface, *boundary_artists, *points, step_text):
                left.draw_artist(artist)
            for artist in (*[line for line, _ in lines], marker):
                right.draw_artist(artist)
            boundary.remove()
            images.append(Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()))
    finally:
        plt.close(fig)
    labels = {"boundary": (left.get_xlabel(), left.get_ylabel()), "metrics": (right.get_xlabel(), right.get_ylabel())}
    return TrainingAnimation(images, [s.step for s in kept], interval, title, labels, smallest_text_pt=smallest)
