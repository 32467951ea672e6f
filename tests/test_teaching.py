"""How a student walks through each notebook (docs/authoring.md, "The shape of a notebook"): an opening,
sections that open with a question and end with a takeaway, "Going further" sections that can be
skipped, readable code cells, and a core path of at most about 2,000 words."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from course_notebooks import code, make_nb, md

from course_utils.tools.course import (COLLAPSED, GOING_FURTHER, HEADING, CourseError, heading_level, load_course,
                                       read_model, uses_of_going_further)
from course_utils.tools.transforms import fold_going_further

REPO = Path(__file__).resolve().parents[1]
COURSE = load_course(REPO / "notebooks")
IDS = list(COURSE.notebooks)

CORE_WORDS = 2000  # the core path: every markdown cell outside the going-further sections
CODE_LINES = 40  # a code cell a student reads at once (Checks cells and the lecture's listings excepted)
OPENING = "**After this notebook you can:**"
SECTIONS = "**Sections**"
QUESTION = "**Question:**"
TAKEAWAY = "> **Takeaway:**"
CHECKS = "Checks"
WORD = re.compile(r"\w[\w'’.-]*")


def words(text: str) -> int:
    return len(WORD.findall(text))


def headings(model):
    """(cell index, level, title) of each cell whose first line is a heading."""
    out = []
    for i, cell in enumerate(model.notebook.cells):
        level = heading_level(cell)
        if level is not None:
            out.append((i, level, HEADING.match(cell.source.lstrip().splitlines()[0]).group(2).strip()))
    return out


def sections(model):
    """Each section a student is asked to read as a unit: every level-2 section but Checks, and every
    going-further section (any level). (title, heading cell, end, going further?)"""
    heads, cells = headings(model), model.notebook.cells
    found = []
    for k, (i, level, title) in enumerate(heads):
        further = model.in_going_further(i) and any(s.heading == i for s in model.going_further)
        if (level == 2 and title != CHECKS) or further:
            end = next((j for j, lv, _ in heads[k + 1:] if lv <= level), len(cells))
            found.append((title, i, end, further))
    return found


def core_cells(model, start: int, end: int) -> list[int]:
    """The cells of [start, end) outside any going-further section that starts after ``start``."""
    return [i for i in range(start, end)
            if not any(i in s.cells and s.heading > start for s in model.going_further)]


def opening_lists(title_cell: str) -> tuple[list[str], list[str]]:
    lines = title_cell.splitlines()

    def items_after(marker: str) -> list[str]:
        at = next((k for k, line in enumerate(lines) if line.startswith(marker)), None)
        if at is None:
            return []
        items = []
        for line in lines[at + 1:]:
            if re.match(r"^\s*(?:-|\d+\.)\s", line):
                items.append(line.strip())
            elif items and line.startswith("  ") and line.strip():
                items[-1] += " " + line.strip()  # a wrapped item
            elif items or line.strip():
                break
        return items

    return items_after(OPENING), items_after(SECTIONS)


def plain_title(title: str) -> str:
    """A heading without its section number: "4 · Width, depth and noise" -> "Width, depth and noise"."""
    return re.sub(r"^\d+\s*·\s*", "", title)


@pytest.mark.parametrize("cid", IDS)
def test_each_notebook_opens_with_what_a_student_will_be_able_to_do_and_its_sections(cid):
    model = COURSE.notebooks[cid]
    goals, listed = opening_lists(model.notebook.cells[0].source)
    assert 3 <= len(goals) <= 5, f"{cid}: the title cell lists 3 to 5 bullets after {OPENING!r} (found {len(goals)})"
    assert listed, f"{cid}: the title cell lists the sections after {SECTIONS!r}"
    for title, *_ in sections(model):
        entry = next((item for item in listed if plain_title(title) in item), None)
        assert entry is not None, f"{cid}: section {title!r} is not in the opening's list of sections"
        assert re.search(r"\d+\s*min", entry), f"{cid}: {entry!r} gives no reading time in minutes"


SECTIONS_HEADER = re.compile(r"\(about (\d+) min, plus (\d+) min going further\):")
LIST_ITEM = re.compile(r"^( *)(-|\*|\d+\.)\s+(.*)$")


def section_list_problems(model) -> list[str]:
    """The opening's sections as one bulleted list that mirrors the headings (a numbered list broken by
    a bullet renders as two lists): every section in notebook order, a going-further section inside a
    numbered one indented under it, and a header whose totals add up,
    "(about N min, plus M min going further)"."""
    lines = model.notebook.cells[0].source.splitlines()
    at = next((k for k, line in enumerate(lines) if line.startswith(SECTIONS)), None)
    if at is None:
        return [f"no {SECTIONS} list"]
    problems, items = [], []
    for line in lines[at + 1:]:
        match = LIST_ITEM.match(line)
        if not match:
            break
        items.append(match.groups())
    levels = {i: level for i, level, _ in headings(model)}
    totals = [0, 0]  # core, going further
    for k, (title, start, _, further) in enumerate(sections(model)):
        if k >= len(items):
            problems.append(f"{title!r} is missing from the list (it has {len(items)} entries)")
            break
        indent, marker, text = items[k]
        if marker != "-":
            problems.append(f"{text!r} is marked {marker!r}: every entry is a '-' bullet")
        if plain_title(title) not in text:
            problems.append(f"entry {k + 1} ({text!r}) is not {title!r}: the list follows the notebook's order")
        nested = further and levels[start] > 2
        if bool(indent) != nested:
            problems.append(f"{text!r} should {'' if nested else 'not '}be indented"
                            + (" under its section" if nested else ""))
        minutes = re.search(r"(\d+)\s*min", text)
        totals[further] += int(minutes.group(1)) if minutes else 0
    if len(items) > len(sections(model)):
        problems.append(f"the list has {len(items)} entries for {len(sections(model))} sections")
    header = SECTIONS_HEADER.search(lines[at])
    if not header:
        problems.append(f"its header {lines[at]!r} does not read {SECTIONS} (about N min, plus M min going further):")
    elif [int(header.group(1)), int(header.group(2))] != totals:
        problems.append(f"its header says {header.group(1)} and {header.group(2)} min; the entries add up to "
                        f"{totals[0]} and {totals[1]}")
    return problems


@pytest.mark.parametrize("cid", IDS)
def test_the_opening_lists_the_sections_as_the_headings_nest_them(cid):
    problems = section_list_problems(COURSE.notebooks[cid])
    assert not problems, f"{cid}'s list of sections:\n  " + "\n  ".join(problems)


def test_the_section_list_check_finds_a_broken_list():
    def problems(sections_text):
        return section_list_problems(read_model(make_nb(
            md(f"# T\n\n{SECTIONS} {sections_text}"), md("## 1 · A\n\n**Question:** a?"),
            md("### Going further · Deep\n\n**Question:** d?", going_further=True), md("## 2 · B\n\n**Question:** b?"),
            md("## Going further · Wide\n\n**Question:** w?", going_further=True))))

    good = "(about 5 min, plus 4 min going further):\n- 1 · A (2 min)\n  - Going further · Deep (1 min)\n" \
           "- 2 · B (3 min)\n- Going further · Wide (3 min)"
    assert problems(good) == []
    assert any("marked '1.'" in p for p in problems(good.replace("- 1 · A", "1. A")))  # two lists
    assert any("should be indented" in p for p in problems(good.replace("  - Going further · Deep", "- Going further · Deep")))
    assert any("should not be indented" in p for p in problems(good.replace("- Going further · Wide", "  - Going further · Wide")))
    assert any("notebook's order" in p for p in problems(good.replace("- 2 · B (3 min)\n- Going further · Wide (3 min)",
                                                                      "- Going further · Wide (3 min)\n- 2 · B (3 min)")))
    assert any("add up to 5 and 4" in p for p in problems(good.replace("about 5 min", "about 6 min")))
    assert any("missing" in p for p in problems(good.rsplit("\n", 1)[0]))


@pytest.mark.parametrize("cid", IDS)
def test_each_section_opens_with_its_question_and_ends_with_its_takeaway(cid):
    model = COURSE.notebooks[cid]
    cells = model.notebook.cells
    problems = []
    for title, start, end, _ in sections(model):
        body = cells[start].source.lstrip().split("\n", 1)[1] if "\n" in cells[start].source.strip() else ""
        first = next((p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()), "")
        if not (first.startswith(QUESTION) and "?" in first):
            problems.append(f"{title!r}: its heading cell's first paragraph is not {QUESTION} ...?")
        last = cells[core_cells(model, start, end)[-1]]
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", last.source) if p.strip()]
        if last.cell_type != "markdown" or not paragraphs or not paragraphs[-1].startswith(TAKEAWAY):
            problems.append(f"{title!r}: its last cell does not end with a {TAKEAWAY} quote block")
    assert not problems, f"{cid}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("cid", IDS)
def test_going_further_sections_are_marked_and_skipping_them_loses_nothing(cid):
    model = COURSE.notebooks[cid]
    assert model.going_further, f"{cid}: no section is marked going_further in its heading cell's metadata"
    for s in model.going_further:
        assert GOING_FURTHER.lower() in s.title.lower()
        inside = [e.number for e in model.exercises if e.statement in s.cells or e.solution in s.cells]
        assert not inside, f"{cid}: exercise {inside} lies in {s.title!r}: exercises are on the core path"
        assert not set(model.checks) & set(s.cells), f"{cid}: the Checks cells lie in {s.title!r}"
    marked = {s.heading for s in model.going_further}
    unmarked = [t for i, _, t in headings(model) if GOING_FURTHER.lower() in t.lower() and i not in marked]
    assert not unmarked, f"{cid}: headings say {GOING_FURTHER!r} without the metadata: {unmarked}"
    uses = uses_of_going_further(model)
    assert not uses, ("cells outside the going-further sections use names only those sections make: "
                      + "; ".join(f"{model.where(i)}: {sorted(n)}" for i, n in uses.items()))


@pytest.mark.parametrize("cid", IDS)
def test_code_cells_are_short_enough_to_read(cid):
    model = COURSE.notebooks[cid]
    long = [f"{model.where(i)}: {len(c.source.splitlines())} lines" for i, c in enumerate(model.notebook.cells)
            if c.cell_type == "code" and i not in model.checks and i not in model.listings
            and len(c.source.splitlines()) > CODE_LINES]
    assert not long, f"code cells over {CODE_LINES} lines: {long}"


def test_the_core_path_of_each_notebook_is_at_most_about_2000_words(capsys):
    rows, over = [], []
    for cid, model in COURSE.notebooks.items():
        md_cells = [(i, c) for i, c in enumerate(model.notebook.cells) if c.cell_type == "markdown"]
        total = sum(words(c.source) for _, c in md_cells)
        core = sum(words(c.source) for i, c in md_cells if not model.in_going_further(i))
        rows.append(f"{cid:<32} core {core:>5}   all {total:>5}")
        if core > CORE_WORDS:
            over.append(cid)
    with capsys.disabled():
        print("\nwords of markdown per notebook:\n  " + "\n  ".join(rows))
    assert not over, f"core path over {CORE_WORDS} words: {over}\n" + "\n".join(rows)


# The model's going-further sections and the fold, on small notebooks.

def test_a_going_further_section_runs_to_the_next_heading_of_its_level_and_is_folded():
    nb = make_nb(md("# T"), md("## 1 · A\n\n**Question:** a?"), code("x = 1"),
                 md("### Going further · deeper", going_further=True), code("y = x + 1"), md("#### detail"),
                 code("z = y"), md("## 2 · B"), code("print(x)"))
    model = read_model(nb)
    (section,) = model.going_further
    assert (section.heading, section.end) == (3, 7) and model.in_going_further(6) and not model.in_going_further(7)
    fold_going_further(nb, model)
    assert nb.cells[3].metadata[COLLAPSED] is True and COLLAPSED not in nb.cells[1].metadata
    assert uses_of_going_further(model) == {}


def test_a_later_cell_using_what_a_going_further_section_made_is_found():
    nb = make_nb(md("# T"), code("x = 1\nlog = []"), md("## Going further · more", going_further=True),
                 code("y = 2\nx = 5\nlog.append(y)"), md("## Next"), code("print(y, x)"), code("print(len(log))"),
                 code("x = 0\nprint(x)"))
    assert uses_of_going_further(read_model(nb)) == {5: {"x", "y"}, 6: {"log"}}


def test_going_further_must_mark_a_heading_that_says_so():
    with pytest.raises(CourseError, match="Going further"):
        read_model(make_nb(md("# T"), md("## Deeper", going_further=True)))
    with pytest.raises(CourseError, match="listing"):
        read_model(make_nb(md("# T", listing=True)))


def test_the_structure_tests_fail_on_a_notebook_without_the_shape():
    nb = make_nb(md("# T\n\n**After this notebook you can:**\n- one\n\n**Sections** (5 min):\n1. A (2 min)"),
                 md("## 1 · A\n\nNo question here."), code("x = 1"), md("The end, no takeaway."),
                 md("## 2 · B\n\n**Question:** b?"), md("> **Takeaway:** b."))
    model = read_model(nb)
    goals, listed = opening_lists(nb.cells[0].source)
    assert len(goals) == 1 and listed == ["1. A (2 min)"]
    assert [t for t, *_ in sections(model)] == ["1 · A", "2 · B"]
    assert not any(plain_title("2 · B") in item for item in listed)
    last_a = nb.cells[core_cells(model, 1, 4)[-1]]
    assert not last_a.source.startswith(TAKEAWAY) and nb.cells[5].source.startswith(TAKEAWAY)
