"""What the accessibility tests check (WCAG 2.1 AA for the pages ``make run`` writes to build/).

- :func:`notebook_problems`: the notebook's own content: one H1, headings without skipped levels,
  and every figure with a description (alt text in its output metadata and a visible caption);
- :func:`contrast_ratio`: WCAG's contrast ratio of two colours (the template's code colours);
- :func:`cvd_distances`: the smallest CAM02-UCS distance between any two colours of a palette as
  seen with each colour-vision deficiency (needs ``colorspacious``, a dev dependency);
- :func:`run_axe`: axe-core on a page open in Playwright, with the WCAG 2.1 A and AA rules.
"""
from __future__ import annotations

import itertools
import os
import re
from pathlib import Path
from typing import Iterable, Sequence

from course_utils.figures import CAPTION_CLASS

REPO = Path(__file__).resolve().parents[1]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# where .ci/run installs axe-core (npm install --prefix .ci/node axe-core@4); AXE_JS overrides
AXE_JS = Path(os.environ.get("AXE_JS", REPO / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"))
NBCONVERT_PLACEHOLDER = "No description has been provided for this image"
CVD_TYPES = ("deuteranomaly", "protanomaly", "tritanomaly")  # at severity 100: deuteranopia, protanopia, tritanopia


# The notebook's content: headings and figure descriptions.

_FENCE = re.compile(r"^\s*(```|~~~)")
_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_H = re.compile(r"<h([1-6])\b", re.I)


def headings(nb) -> list[tuple[int, int, str]]:
    """(cell index, level, text) of every heading in the markdown cells, in order (ATX ``#`` lines
    outside code blocks, and HTML ``<h1>``...``<h6>``)."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        fenced = False
        for line in cell.source.splitlines():
            if _FENCE.match(line):
                fenced = not fenced
                continue
            if fenced:
                continue
            m = _ATX.match(line)
            if m:
                found.append((i, len(m.group(1)), m.group(2)))
            else:
                found += [(i, int(level), line.strip()) for level in _HTML_H.findall(line)]
    return found


def heading_problems(nb) -> list[str]:
    """Exactly one H1, the first heading; no level skipped on the way down (## then ####)."""
    problems, found = [], headings(nb)
    h1 = [h for h in found if h[1] == 1]
    if len(h1) != 1:
        problems.append(f"{len(h1)} level-1 headings (want exactly one, the title)"
                        + (f": cells {[h[0] for h in h1]}" if h1 else ""))
    if found and found[0][1] != 1:
        problems.append(f"cell {found[0][0]}: the first heading {found[0][2]!r} is level {found[0][1]}, not 1")
    for (_, before, _), (i, level, text) in zip(found, found[1:]):
        if level > before + 1:
            problems.append(f"cell {i}: heading {text!r} is level {level} right after level {before}")
    return problems


def _has_caption(outputs: Sequence, after: int) -> bool:
    return any(CAPTION_CLASS in str(o.get("data", {}).get("text/html", "")) for o in outputs[after + 1:])


def figure_problems(nb) -> list[str]:
    """Every image output has a non-empty alt in its metadata and a caption after it in the same
    cell (what :func:`course_utils.figures.show_figure` writes); every ``<img>`` in an HTML output
    has an alt."""
    problems = []
    for i, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", []) if cell.cell_type == "code" else []
        for k, out in enumerate(outputs):
            data = out.get("data", {})
            for mime in ("image/png", "image/jpeg", "image/svg+xml"):
                if mime not in data:
                    continue
                alt = str(out.get("metadata", {}).get(mime, {}).get("alt", "")).strip()
                if not alt or alt == NBCONVERT_PLACEHOLDER:
                    problems.append(f"cell {i}: a figure without a description (alt text): "
                                    f"{cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ''!r}")
                elif not _has_caption(outputs, k):
                    problems.append(f"cell {i}: a figure whose description is not shown as a caption")
            for tag in re.findall(r"<img\b[^>]*>", str(data.get("text/html", ""))):
                if not re.search(r'\salt\s*=\s*("[^"]+"|\'[^\']+\')', tag):
                    problems.append(f"cell {i}: an HTML image without alt text")
    return problems


def notebook_problems(nb) -> list[str]:
    """Heading and figure problems of one notebook (empty when it complies)."""
    return heading_problems(nb) + figure_problems(nb)


# Colours.

def relative_luminance(color) -> float:
    """WCAG 2.1's relative luminance of a colour (any matplotlib colour spec)."""
    from matplotlib.colors import to_rgb
    channels = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(color)]
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def contrast_ratio(foreground, background) -> float:
    """WCAG 2.1's contrast ratio, 1 to 21 (AA asks 4.5 for text, 3 for large text and graphics)."""
    a, b = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def cvd_distances(colors: Iterable, severity: float = 100) -> dict[str, tuple[float, tuple[str, str]]]:
    """For normal vision and each deficiency of :data:`CVD_TYPES`: the smallest CAM02-UCS distance
    between two colours of ``colors`` as simulated (Machado et al. 2009, via colorspacious), and
    that pair. Keys: ``"normal"`` and the deficiency names."""
    import numpy as np
    from colorspacious import cspace_convert
    from matplotlib.colors import to_hex, to_rgb

    names = [to_hex(c) for c in colors]
    rgb = np.array([to_rgb(c) for c in names])
    result = {}
    for kind in ("normal", *CVD_TYPES):
        seen = rgb if kind == "normal" else np.clip(
            cspace_convert(rgb, {"name": "sRGB1+CVD", "cvd_type": kind, "severity": severity}, "sRGB1"), 0, 1)
        ucs = cspace_convert(seen, "sRGB1", "CAM02-UCS")
        result[kind] = min((float(np.linalg.norm(ucs[i] - ucs[j])), (names[i], names[j]))
                           for i, j in itertools.combinations(range(len(names)), 2))
    return result


def cmap_lightness(cmap, n: int = 64):
    """CAM02-UCS lightness J' along a colormap (n samples)."""
    import matplotlib
    import numpy as np
    from colorspacious import cspace_convert
    rgb = matplotlib.colormaps[cmap](np.linspace(0, 1, n))[:, :3]
    return cspace_convert(rgb, "sRGB1", "CAM02-UCS")[:, 0]


# axe-core.

def run_axe(page, tags: Sequence[str] = AXE_TAGS) -> dict:
    """Inject axe-core into ``page`` (a Playwright page) and run the rules with ``tags``; returns
    axe's results (``violations``: a list of rules, each with ``id``, ``impact`` and ``nodes``)."""
    if not AXE_JS.is_file():
        raise FileNotFoundError(f"axe-core not found at {AXE_JS}: npm install --prefix .ci/node axe-core@4 (.ci/run does)")
    page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    return page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
                         list(tags))


def summarize(violations: list[dict]) -> dict[str, int]:
    """rule id -> number of elements violating it."""
    return {v["id"]: len(v["nodes"]) for v in violations}
