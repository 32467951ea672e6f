"""Command line: ``python -m course_utils env | data | run | release | check | export-nbgrader | prune-runs |
lowest-constraints``."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def _env(args) -> int:
    from .env import environment_report
    report = environment_report()
    print(report.format())
    return 0 if report.ok else 1


def _data(args) -> int:
    from .data import prepare_fashion_mnist, raw_dir
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    reports = prepare_fashion_mnist(args.root, download=not args.no_download, install_package=True)
    for r in reports:
        print(f"{r.name:<26} {r.action:<9} {r.source}")
    print(f"Fashion-MNIST ready in {raw_dir(args.root)}")
    return 0


def _lowest_constraints(args) -> int:
    from .lowest import PYPROJECT, constraints, lowest_python
    pyproject = Path(args.pyproject) if args.pyproject else PYPROJECT
    if args.python:
        print(lowest_python(pyproject))
        return 0
    text = constraints(pyproject)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def _paths(names: list[str], what: str) -> tuple[list[Path], bool]:
    """Notebooks named by ``names`` and whether every name gave some: a folder stands for its
    notebooks (:func:`course_utils.course.notebooks_in`); a file stands for itself, whether or not it
    exists (the caller says why not)."""
    from .course import notebooks_in
    paths, ok = [], True
    for name in names:
        p = Path(name)
        if p.is_dir():
            found = notebooks_in(p)
            if not found:
                print(f"error: {p}: no notebooks to {what} in this folder", file=sys.stderr)
                ok = False
            paths += found
        else:
            paths.append(p)
    return paths, ok


def _run(args) -> int:
    from .execute import execute_notebook, format_table
    paths, ok = _paths(args.notebooks, "run")
    missing = [p for p in paths if not p.is_file()]
    for p in missing:
        print(f"error: {p}: no such notebook", file=sys.stderr)
    if missing or not ok or not paths:
        return 1
    results = []
    for p in paths:
        print(f"running {p.name} ...", flush=True)
        out = p.parent if args.in_place else Path(args.out)
        results.append(execute_notebook(p, out, timeout=args.timeout, html=not args.in_place))
    print(format_table(results))
    return 0 if all(r.ok for r in results) else 1


def _release(args) -> int:
    from .release import build_release
    written = build_release(args.notebooks, args.out)
    for w in written:
        if w.action == "kept":
            print(f"kept {w.path} (changed since it was released); the new version is {w.new_version}")
        else:
            print(f"{w.action} {w.path}")
    print(f"{len(written)} student notebooks in {args.out}; leak scan: no solution found outside its exercise")
    return 0


def _check(args) -> int:
    from .grading import (HEADER, NOT_SUBMITTED, GradingError, format_row, grade_notebook, instructor_course,
                          match_submission, write_executed)
    from .outcome import FAILED, PASSED
    paths, ok = _paths(args.notebooks, "check")
    whole_course = any(Path(n).is_dir() for n in args.notebooks)  # a folder is graded against the whole course
    executed = Path(args.executed) if args.executed else None
    if executed is not None:
        clash = next((p for p in paths if p.parent.resolve() == executed.resolve()), None)
        if clash is not None:
            print(f"error: --executed {executed} is the folder of {clash}: the executed copies would replace "
                  "the submissions; name another folder", file=sys.stderr)
            return 1
        names = [p.name for p in paths]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            print(f"error: --executed {executed}: more than one notebook is called {', '.join(twice)}; "
                  "grade them in separate runs", file=sys.stderr)
            return 1
    try:
        course = instructor_course(args.instructor)
    except GradingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    by_notebook: dict[str, list] = {}
    for path in paths:
        try:
            submission = match_submission(path, course)
        except GradingError as e:
            print(f"error: {e}", file=sys.stderr)
            ok = False
            continue
        by_notebook.setdefault(submission.owes.id, []).append(submission)
    header = False
    width = max([32] + [len(p.name) for p in paths] + [len(m.name) for m in course.notebooks.values()])

    def row(notebook: str, exercise: str, status: str, message: str) -> None:
        nonlocal header, ok
        if not header:
            print(format_row(*HEADER, width=width))
            header = True
        print(format_row(notebook, exercise, status, message, width=width), flush=True)
        ok &= status == PASSED

    for model in course.notebooks.values():
        submissions = by_notebook.get(model.id, [])
        if not model.exercises:
            for s in submissions:
                print(f"skipped {s.path}: {model.name} has no exercises", file=sys.stderr)
            continue
        if not submissions:
            for number in model.numbers if whole_course else ():
                row(model.name, number, FAILED, f"{NOT_SUBMITTED}: no notebook {model.name} (or a copy of it) was found")
            continue
        if len(submissions) > 1:
            files = " and ".join(str(s.path) for s in submissions)
            print(f"error: {files} are both notebook {model.name}: keep one of them and grade again", file=sys.stderr)
            for number in model.numbers:
                row(submissions[0].path.name, number, FAILED, f"more than one submission holds it: {files}")
            continue
        submission = submissions[0]
        kept: list = []
        try:
            grades = grade_notebook(submission, timeout=args.timeout, keep=kept)
        except Exception as e:  # anything else still leaves the rest of the batch graded
            print(f"error: {submission.path}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                  file=sys.stderr)
            ok = False
            continue
        if executed is not None:
            try:
                write_executed(kept[0], executed / submission.path.name)
            except OSError as e:
                print(f"error: cannot write the executed copy of {submission.path} into {executed}: "
                      f"{e.strerror or e}", file=sys.stderr)
                ok = False
        for g in grades:
            row(submission.path.name, g.exercise, g.status, g.message)
    return 0 if ok else 1


def _grade_class(args) -> int:
    from .gradeclass import ClassError, Options, grade_class
    from .outcome import PASSED
    options = Options(jobs=args.jobs, timeout=args.timeout, sandbox=not args.no_sandbox,
                      memory=int(args.memory_gb * 2**30) if args.memory_gb else 0, instructor=args.instructor,
                      pattern=args.pattern, progress=not args.no_progress, notebooks=args.notebooks)
    try:
        graded = grade_class(args.submissions, args.out, options)
    except ClassError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    scored = [r for r in graded.rows if r.exercise]
    print(f"graded {graded.graded} submissions in {graded.seconds:.0f} s; {sum(r.status == PASSED for r in scored)} "
          f"of {len(scored)} exercises passed; written to {args.out}: gradebook.csv, results.jsonl, summary.html, feedback/")
    return 0


def _at_least(lowest: int):
    """An argparse type: an integer no smaller than ``lowest``, or a message saying the bound."""
    def parse(text: str) -> int:
        value = int(text)
        if value < lowest:
            raise argparse.ArgumentTypeError(f"must be {lowest} or more, not {value}")
        return value
    return parse


def _export_nbgrader(args) -> int:
    from .nbgrader_export import ASSIGNMENT, export_course
    graded = export_course(args.notebooks, args.out)
    notebooks = sorted({g.notebook for g in graded})
    print(f"nbgrader course in {args.out}: assignment {ASSIGNMENT!r}, {len(notebooks)} notebooks, "
          f"{len(graded)} exercises, {sum(g.points for g in graded)} points")
    return 0


def _prune_runs(args) -> int:
    from .tracking import prune_runs
    doomed = prune_runs(args.root, keep=args.keep, delete=args.delete)
    for p in doomed:
        print(f"{'deleted' if args.delete else 'would delete'} {p}")
    done = "deleted" if args.delete else "would be deleted"
    hint = " (add --delete to remove them)" if doomed and not args.delete else ""
    print(f"{len(doomed)} run folder(s) {done}; the newest {args.keep} of each name in {args.root} stay{hint}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("env", help="print the environment report; exit 1 if a requirement is missing")
    p = sub.add_parser("data", help="find, verify and prepare Fashion-MNIST")
    p.add_argument("--root", default=None, help="data root (default: the repository's data/)")
    p.add_argument("--no-download", action="store_true", help="use local sources only")
    p = sub.add_parser("run", help="execute notebooks headless into a build folder")
    p.add_argument("notebooks", nargs="*", default=["notebooks"], help="folders or .ipynb files")
    p.add_argument("--out", default="build")
    p.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell (default: the course's cell timeout, course_utils.execute.CELL_TIMEOUT)")
    p.add_argument("--in-place", action="store_true",
                   help="write the executed notebooks over the sources (refreshes the committed outputs)")
    p = sub.add_parser("release", help="build the student notebooks (solutions removed, leak-scanned)")
    p.add_argument("notebooks", nargs="*", default=["notebooks"], help="folders or .ipynb files")
    p.add_argument("--out", default="student", help="output folder, outside the sources (default: student)")
    p = sub.add_parser("check", help="execute notebooks and grade their exercises (exit 1 unless all pass)")
    p.add_argument("notebooks", nargs="+", help="folders or .ipynb files")
    p.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell (default: the course's cell timeout, course_utils.execute.CELL_TIMEOUT)")
    p.add_argument("--instructor", default=None,
                   help="folder of the instructor notebooks, the course model (default: the repository's notebooks/)")
    p.add_argument("--executed", default=None, metavar="DIR",
                   help="also write each graded notebook as it ran (outputs, errors, messages) into DIR")
    p = sub.add_parser("grade-class", help="grade a class's submissions in parallel, sandboxed, into a gradebook")
    p.add_argument("submissions", metavar="DIR", help="one folder per student, or an LMS's flat download")
    p.add_argument("--out", required=True, metavar="GRADES", help="where the gradebook, results and feedback go")
    p.add_argument("--jobs", type=_at_least(1), default=os.cpu_count() or 1,
                   help="submissions graded at once (default: the number of cores)")
    p.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell (default: the course's cell timeout, course_utils.execute.CELL_TIMEOUT)")
    p.add_argument("--notebooks", nargs="+", default=None, metavar="NN",
                   help="grade only these course notebooks (ids or their leading numbers, e.g. 02 03)")
    p.add_argument("--pattern", default=None, help="a regular expression for flat file names, with a group "
                   "(?P<student>...) and optionally (?P<file>...), (?P<copy>...), (?P<late>...)")
    p.add_argument("--instructor", default=None,
                   help="folder of the instructor notebooks, the course model (default: the repository's notebooks/)")
    p.add_argument("--no-sandbox", action="store_true", help="run the submissions with your own rights")
    p.add_argument("--memory-gb", type=float, default=None, help="address space per kernel in the sandbox (default: 8)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p = sub.add_parser("grade-worker")  # one submission, for grade-class (not for direct use)
    p.add_argument("spec")
    p = sub.add_parser("export-nbgrader", help="write the course as an nbgrader course (config + source/unit1)")
    p.add_argument("--out", required=True, help="the nbgrader course folder")
    p.add_argument("--notebooks", default="notebooks", help="folder of the instructor notebooks")
    p = sub.add_parser("prune-runs", help="list (with --delete: remove) all but the newest runs of each name")
    p.add_argument("--root", default="runs", help="the runs folder (default: runs)")
    p.add_argument("--keep", type=_at_least(0), default=3, help="newest runs of each name to keep (default: 3)")
    p.add_argument("--delete", action="store_true", help="delete them (without it, only list)")
    p = sub.add_parser("lowest-constraints",
                       help="pip constraints pinning every dependency to its declared lower bound (make test-lowest)")
    p.add_argument("--out", default=None, help="write them to this file (default: print them)")
    p.add_argument("--pyproject", default=None, help="the pyproject.toml to read (default: the repository's)")
    p.add_argument("--python", action="store_true", help="print the oldest Python requires-python admits instead")
    args = parser.parse_args(argv)
    # standard library only: these must run where packages are missing
    if args.command == "env":
        return _env(args)
    if args.command == "lowest-constraints":  # standard library only, like env
        return _lowest_constraints(args)
    if args.command == "grade-worker":
        from .gradeclass import worker_main
        return worker_main(args.spec)
    if getattr(args, "timeout", 0) is None:
        from .execute import CELL_TIMEOUT
        args.timeout = CELL_TIMEOUT
    from .data import DataUnavailableError
    from .course import CourseError
    try:
        return {"env": _env, "data": _data, "run": _run, "release": _release,
                "check": _check, "grade-class": _grade_class, "export-nbgrader": _export_nbgrader, "prune-runs": _prune_runs}[args.command](args)
    except (DataUnavailableError, CourseError) as e:  # expected failures: a message, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
