"""The test suite against one run of the course: `make run`, then `make test`, back to back as the
README runs them, in this run (after a `make setup data` that is not timed, so neither includes an
installation). Prints each one's wall time and the CPU time of the processes it waited for, and the
ratio of the two wall times. Goals: `make test` at most 3.5x `make run`, and every notebook within
25 s in `make run` here, so that a slower 2-core laptop stays within the 30 s that docs/authoring.md
budgets for it (and notebook 00 promises its reader), read from `make run`'s table of times, which
also lists each notebook's five slowest cells (printed here). Then a student's own Run All: each
released notebook with the correct answers filled in, run as JupyterLab's Run All runs it (one fresh
kernel, top to bottom, outside the repository), within the same 30 s. Exits 1 when any is missed.

Run it alone on an idle machine: a second process training with torch slows both down many times
over. About 9 minutes on 2 cores; ``--repeat N`` measures N pairs and judges the median ratio (the same
machine varies by several per cent between runs). Each command's output goes to
build/bench_suite/, and its last lines are printed if it fails.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from course_utils.tools.execute import parse_slowest, parse_table

REPO = Path(__file__).resolve().parents[1]
LOGS = REPO / "build" / "bench_suite"
GOAL = 3.5
NOTEBOOK_BUDGET = 25.0  # seconds per notebook in `make run` here: 30 s (docs/authoring.md) with margin
STUDENT_BUDGET = 30.0  # a student's Run All of a released notebook with its answers filled in


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(targets: list[str], log: Path) -> tuple[float, float]:
    """Wall and CPU seconds of `make TARGETS`; stops the benchmark, with the log's end, if it fails."""
    cpu, start = children_cpu(), time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.run(["make", *targets], cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    wall, cpu = time.perf_counter() - start, children_cpu() - cpu
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-25:]
        print(f"make {' '.join(targets)} failed (exit {proc.returncode}); the end of {log}:", *tail, sep="\n")
        sys.exit(2)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="pairs to measure (default 1); the median ratio is judged")
    parser.add_argument("--student-only", action="store_true",
                        help="time only a student's Run All of the answered release (about 2 minutes)")
    args = parser.parse_args(argv)
    if args.student_only:
        return 0 if student_run_all() else 1
    if args.repeat < 1:
        parser.error(f"--repeat: must be 1 or more, not {args.repeat}")
    LOGS.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores; `make setup data` first (not timed)")
    timed(["setup", "data"], LOGS / "setup.log")
    ratios, notebook_times = [], {}
    for i in range(1, args.repeat + 1):
        run_wall, run_cpu = timed(["run"], LOGS / f"run-{i}.log")
        log = (LOGS / f"run-{i}.log").read_text(errors="replace")
        for name, seconds in parse_table(log).items():
            notebook_times.setdefault(name, []).append(seconds)
        slowest = parse_slowest(log)
        test_wall, test_cpu = timed(["test"], LOGS / f"test-{i}.log")
        ratios.append(test_wall / run_wall)
        print(f"pair {i}: make run {run_wall:6.1f} s (CPU {run_cpu:6.1f} s)   make test {test_wall:6.1f} s "
              f"(CPU {test_cpu:6.1f} s)   ratio {ratios[-1]:.2f}x")
    ratio = statistics.median(ratios)
    ok = ratio <= GOAL
    label = "ratio" if len(ratios) == 1 else f"median ratio of {len(ratios)}"
    print(f"make test / make run, {label}: {ratio:.2f}x   (goal <= {GOAL:g}x)  {'met' if ok else 'MISSED'}")
    budget_ok = within_budget(notebook_times)
    print("the slowest cells of the last `make run` (cell index from 0):")
    for name, cells in slowest.items():
        print(f"  {name:<36} {cells}")
    student_ok = student_run_all()
    return 0 if ok and budget_ok and student_ok else 1


def answered_release(out: Path) -> list[Path]:
    """The student release of the course in ``out``, each exercise's solution cell put back as the
    instructor wrote it (what a student who got everything right runs)."""
    import nbformat

    from course_utils.tools.course import load_course
    from course_utils.tools.release import build_release
    build_release(REPO / "notebooks", out)
    paths = []
    for model in load_course(REPO / "notebooks").notebooks.values():
        path = out / model.name
        nb = nbformat.read(path, as_version=4)
        for exercise in model.exercises:
            nb.cells[exercise.solution].source = model.notebook.cells[exercise.solution].source
        nbformat.write(nb, path)
        paths.append(path)
    return paths


def student_run_all() -> bool:
    """Time each answered released notebook's Run All; print it against :data:`STUDENT_BUDGET`."""
    import tempfile

    import nbformat

    from course_utils.tools.execute import execute
    print("a student's Run All, released notebooks with correct answers (one kernel each, outside the repository):")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        env = {"COURSE_DATA_DIR": str(REPO / "data")}  # the data prepared once, as `make data` did
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            for path in answered_release(Path(tmp) / "student"):
                nb = nbformat.read(path, as_version=4)
                start = time.perf_counter()
                run = execute(nb, path.parent)
                seconds = time.perf_counter() - start
                met = not run.error and seconds <= STUDENT_BUDGET
                ok &= met
                print(f"  {path.name:<36} {seconds:6.1f} s  (goal <= {STUDENT_BUDGET:g} s)  "
                      f"{'met' if met else 'MISSED'}{'  ' + run.error if run.error else ''}")
        finally:
            for k, v in saved.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return ok


def within_budget(notebook_times: dict[str, list[float]]) -> bool:
    """Print each notebook's `make run` time (the median of the pairs) against its budget; whether all
    are within it. A table with no notebook in it is a miss: the times could not be read."""
    if not notebook_times:
        print(f"no table of notebook times in {LOGS}/run-*.log: the per-notebook budget cannot be judged  MISSED")
        return False
    ok = True
    for name, times in notebook_times.items():
        seconds = statistics.median(times)
        ok &= seconds <= NOTEBOOK_BUDGET
        print(f"{name:<36} {seconds:6.1f} s  (goal <= {NOTEBOOK_BUDGET:g} s)  "
              f"{'met' if seconds <= NOTEBOOK_BUDGET else 'MISSED'}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
