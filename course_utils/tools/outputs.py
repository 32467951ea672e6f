"""What a committed notebook stores of a run: outputs without progress-bar frames.

A tqdm bar redraws itself with carriage returns; Jupyter shows it live, but an executed notebook
keeps every intermediate frame as stderr text (noise in the file, its diff and on GitHub). Refreshing
the committed outputs (``python -m course_utils run --in-place``) drops those frames, keeping any
other stderr text (warnings) as it was.
"""
from __future__ import annotations

import re

# One frame of a tqdm bar: "desc:  42%|████▏     | 232/550 [00:01<00:01, 231.85it/s]", or its erasure.
_FRAME = re.compile(r"\r?[^\r\n]*\d+%\|[^\r\n]*\|[^\r\n]*\[[^\r\n]*\][^\r\n]*")
_ERASED = re.compile(r"\r[ \t]*(?=\r|\n|$)")


def strip_progress_frames(text: str) -> str:
    """text with every tqdm frame and blanked-out line removed; other text unchanged."""
    return _ERASED.sub("", _FRAME.sub("", text))


def drop_progress_bars(nb) -> int:
    """Remove progress-bar frames from the stderr outputs of nb (a NotebookNode, changed in place);
    an output left empty is dropped. Returns the number of outputs changed or dropped."""
    changed = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = strip_progress_frames(out.text)
                if text != out.text:
                    changed += 1
                    if not text.strip():
                        continue
                    out.text = text
            kept.append(out)
        cell.outputs = kept
    return changed
