"""Class grading throughput: the synthetic class (tests/synthetic_class.py: eight students on notebooks
01 and 03) graded by grade-class with one job, then with one job per core, each from an empty cache,
in this run. Prints students per hour for both and the speed-up. Goal on 2 or more cores: a speed-up
of at least 1.6x. Exits 1 when it is missed.

Then, for planning a class (docs/teaching.md, "Grading past one machine"): whole-course submissions,
each the course's notebooks with every exercise answered (the instructor notebooks, outputs cleared,
and a line of their own: identical files are graded once), two per core, graded with one job per
core; prints core-seconds per submission and students per hour per core. Exits 1 if a right answer
does not pass. Run it on an idle machine (about 5.5 minutes on 2 cores); `--synthetic-only` skips the
whole-course part.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from synthetic_class import EXPECTED, GRADED, build_class  # noqa: E402

import nbformat  # noqa: E402

from course_utils.tools.course import notebooks_in  # noqa: E402
from course_utils.tools.gradeclass import Options, grade_class  # noqa: E402
from course_utils.settings import REPO_DIR  # noqa: E402
from course_utils.tools.sandbox import unavailable  # noqa: E402

GOAL = 1.6
STUDENTS_PER_CORE = 2  # whole-course submissions per core in the planning measurement


def main() -> int:
    cores = os.cpu_count() or 1
    why = unavailable()
    print(f"{len(EXPECTED)} students, notebooks {' and '.join(GRADED)}, {cores} cores, "
          f"{'sandboxed' if why is None else 'not sandboxed: ' + why}")
    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in (1, cores):
            root = Path(tmp) / f"jobs{jobs}"
            out = root / "grades"
            folder = build_class(root, "folders", out)
            graded = grade_class(folder, out, Options(jobs=jobs, notebooks=GRADED, progress=False),
                                 log=lambda line: None)
            seconds[jobs] = graded.seconds
            print(f"--jobs {jobs}: {graded.graded} submissions in {graded.seconds:6.1f} s, "
                  f"{3600 * len(EXPECTED) / graded.seconds:6.0f} students per hour")
    speedup = seconds[1] / seconds[cores]
    ok = cores < 2 or speedup >= GOAL
    print(f"speed-up with {cores} jobs: {speedup:.2f}x   " + ("(one core: no goal)" if cores < 2 else
          f"(goal >= {GOAL}x)  {'met' if ok else 'MISSED'}"))
    if "--synthetic-only" not in sys.argv:
        ok = whole_course(cores) and ok
    return 0 if ok else 1


def whole_course(cores: int) -> bool:
    """One whole-course submission per core, graded with one job per core: students per hour per core.
    False when a right answer does not grade as passed (the measurement would be of something else)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder, out = Path(tmp) / "class", Path(tmp) / "grades"
        sources = notebooks_in(REPO_DIR / "notebooks")
        for k in range(STUDENTS_PER_CORE * cores):
            for source in sources:
                nb = nbformat.read(source, as_version=4)
                for cell in nb.cells:
                    if cell.cell_type == "code":
                        cell.outputs, cell.execution_count = [], None
                # each student's own copy (grade-class grades identical files once)
                nb.cells.append(nbformat.v4.new_markdown_cell(f"Submitted by student {k}.", id=f"student-{k}"))
                (folder / f"student{k}").mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, folder / f"student{k}" / source.name)
        start = time.perf_counter()
        graded = grade_class(folder, out, Options(jobs=cores, progress=False), log=lambda line: None)
        wall = time.perf_counter() - start
    wrong = [f"{r.student} {r.exercise}: {r.status}" for r in graded.rows if r.status != "passed"]
    students = STUDENTS_PER_CORE * cores
    per_student = wall * cores / students  # core-seconds per whole-course submission
    print(f"whole course ({len(sources)} notebooks, {len({r.exercise for r in graded.rows})} exercises): "
          f"{students} students ({graded.graded} notebooks graded) on {cores} cores in {wall:.0f} s: "
          f"{per_student:.0f} core-seconds per submission, {3600 / per_student:.1f} students per hour per core")
    if wrong:
        print("  not passed (the measurement is void): " + "; ".join(wrong))
    return not wrong


if __name__ == "__main__":
    sys.exit(main())
