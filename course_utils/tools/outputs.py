"""What a committed notebook stores of a run: outputs without progress-bar frames.

A tqdm bar redraws itself with carriage returns; Jupyter shows it live, but an executed notebook
keeps every intermediate frame as stderr text (noise in the file, its diff and on GitHub). Refreshing
the committed outputs (``python -m course_utils run --in-place``) drops those frames, keeping any
other stderr text (warnings) as it was.
"""
from __future__ import annotations

import re

# One frame of a tqdm bar: "desc:  42%|████▏     | 232/550 [00:01<00:01, 231.85it/s]" (with the newline that
# ends a bar kept on screen: the notebooks keep theirs, an erased bar leaves an empty stripe in JupyterLab),
# or its erasure.
_FRAME = re.compile(r"\r?[^\r\n]*\d+%\|[^\r\n]*\|[^\r\n]*\[[^\r\n]*\][^\r\n]*\n?")
_ERASED = re.compile(r"\r[ \t]*(?=\r|\n|$)")


def strip_progress_frames(text: str) -> str:
    """text with every tqdm frame and blanked-out line removed; other text unchanged."""
    return _ERASED.sub("", _FRAME.sub("", text))


def _ends_in_frame(text: str) -> bool:
    """Whether ``text`` ends with a bar's frame still on its line (its newline not sent yet)."""
    last = None
    for last in _FRAME.finditer(text):
        pass
    return last is not None and last.end() == len(text) and not text.endswith("\n")


def _is_stderr(out) -> bool:
    return out.get("output_type") == "stream" and out.get("name") == "stderr"


def drop_progress_bars(nb) -> int:
    """Remove progress-bar frames from the stderr outputs of nb (a NotebookNode, changed in place);
    consecutive stderr outputs are read as one (a kernel sends a bar's frames and its final newline in
    several), and an output left empty is dropped. Returns the number of outputs changed or dropped."""
    changed = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        groups: list[list] = []  # consecutive stderr outputs together; every other output alone
        for out in cell.get("outputs", []):
            if _is_stderr(out) and groups and _is_stderr(groups[-1][-1]):
                groups[-1].append(out)
            else:
                groups.append([out])
        kept, bar_open = [], False
        for group in groups:
            whole = "".join(o.text for o in group) if _is_stderr(group[0]) else None
            text = whole if whole is None else strip_progress_frames(whole)
            if whole is not None:
                if bar_open and text.startswith("\n"):  # the newline that ended a bar, sent after other output
                    text = text[1:]
                bar_open = _ends_in_frame(whole)
            if text == whole:  # not stderr, or nothing of a bar: as the kernel sent it
                kept.extend(group)
                continue
            changed += len(group)
            if text.strip():
                group[0].text = text
                kept.append(group[0])
        cell.outputs = kept
    return changed
