"""Class grading throughput: the synthetic class (tests/synthetic_class.py: eight students on notebooks
01 and 03) graded by grade-class with one job, then with one job per core, each from an empty cache,
in this run. Prints students per hour for both and the speed-up. Goal on 2 or more cores: a speed-up
of at least 1.6x. Exits 1 when it is missed. Run it on an idle machine (about 2.5 minutes on 2 cores).
"""
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from synthetic_class import EXPECTED, GRADED, build_class  # noqa: E402

from course_utils.tools.gradeclass import Options, grade_class  # noqa: E402
from course_utils.tools.sandbox import unavailable  # noqa: E402

GOAL = 1.6


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
    if cores < 2:
        print(f"speed-up {speedup:.2f}x (one core: no goal)")
        return 0
    ok = speedup >= GOAL
    print(f"speed-up with {cores} jobs: {speedup:.2f}x   (goal >= {GOAL}x)  {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
