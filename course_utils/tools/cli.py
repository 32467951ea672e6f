"""Command line: ``python -m course_utils env | data | run | release | check | grade-class | export-nbgrader |
prune-runs | lowest-constraints``."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def _env(args) -> int:
    from ..env import environment_report
    report = environment_report()
    print(report.format())
    return 0 if report.ok else 1


def _data(args) -> int:
    from ..data import prepare_fashion_mnist, raw_dir
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
    notebooks (:func:`course_utils.tools.course.notebooks_in`); a file stands for itself, whether or not it
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
    from .publish import parse_publication
    from .release import build_release
    publication = parse_publication(args.colab) if args.colab else None
    written = build_release(args.notebooks, args.out, publication=publication)
    for w in written:
        if w.action == "kept":
            print(f"kept {w.path} (changed since it was released); the new version is {w.new_version}")
        else:
            print(f"{w.action} {w.path}")
    print(f"{len(written)} student notebooks in {args.out}; leak scan: no solution found outside its exercise")
    if publication is not None:
        print(f"published for {publication.repository} at {publication.tag} (installs course-utils "
              f"{publication.version}): push {args.out}/ to that repository and tag it {publication.tag}; "
              f"each notebook opens from {publication.colab_url('NAME.ipynb')}")
    return 0


def _check(args) -> int:
    """A class of one: the given notebooks are one student's, graded as grade-class grades (one
    planner, runner and rules), printed as a table instead of written to files."""
    from .gradeclass import Options, SubmittedFile, grade_files
    from .grading import HEADER, GradingError, format_row, instructor_course, match_submission
    from ..outcome import PASSED
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
    files = []
    for path in paths:  # what cannot be graded at all is an error line, as for any command
        try:
            submission = match_submission(path, course)
        except GradingError as e:
            print(f"error: {e}", file=sys.stderr)
            ok = False
            continue
        if not submission.owes.exercises:
            print(f"skipped {path}: {submission.owes.name} has no exercises", file=sys.stderr)
            continue
        files.append(SubmittedFile("", path, path.name, shown=str(path)))
    options = Options(jobs=1, timeout=args.timeout, sandbox=args.sandbox, progress=sys.stderr.isatty(),
                      inline=not args.sandbox)
    rows, ignored = grade_files(files, course, options, whole_course=whole_course, executed=executed,
                                log=lambda line: print(line, file=sys.stderr))
    for i in ignored:
        print(f"ignored {i.file}: {i.reason}", file=sys.stderr)
    if executed is not None:
        for f in files:
            if f.shown not in {i.file for i in ignored} and not (executed / f.path.name).exists():
                print(f"error: cannot write the executed copy of {f.path} into {executed}", file=sys.stderr)
                ok = False
    width = max([32] + [len(p.name) for p in paths] + [len(m.name) for m in course.notebooks.values()])
    if rows:
        print(format_row(*HEADER, width=width))
    for r in rows:
        print(format_row(Path(r.file).name if r.file else r.notebook, r.exercise, r.status, r.message, width=width),
              flush=True)
        ok &= r.status == PASSED
    return 0 if ok else 1


def _grade_class(args) -> int:
    from .gradeclass import ClassError, Options, grade_class
    from .shards import ShardError, available_cpus, parse_shard
    from ..outcome import PASSED
    try:
        shard = None if args.shard is None else parse_shard(args.shard, args.shard_count)
    except ShardError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    options = Options(jobs=args.jobs or available_cpus(), timeout=args.timeout, sandbox=not args.no_sandbox,
                      memory=int(args.memory_gb * 2**30) if args.memory_gb else 0, instructor=args.instructor,
                      pattern=args.pattern, progress=not args.no_progress, notebooks=args.notebooks,
                      shard=shard, only=args.only)
    try:
        graded = grade_class(args.submissions, args.out, options)
    except ClassError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    scored = graded.rows
    print(f"graded {graded.graded} submissions in {graded.seconds:.0f} s; {sum(r.status == PASSED for r in scored)} "
          f"of {len(scored)} exercises passed; written to {args.out}: gradebook.csv, results.jsonl, summary.html, feedback/")
    return 0


def _merge_grades(args) -> int:
    from .shards import ShardError, merge_grades
    try:
        merged = merge_grades(args.parts, args.out)
    except ShardError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"merged {len(args.parts)} parts, {len(merged['students'])} students, into {args.out}: "
          "gradebook.csv, results.jsonl, summary.html, feedback/")
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
    from ..tracking import prune_runs
    doomed = prune_runs(args.root, keep=args.keep, delete=args.delete)
    for p in doomed:
        print(f"{'deleted' if args.delete else 'would delete'} {p}")
    done = "deleted" if args.delete else "would be deleted"
    hint = " (add --delete to remove them)" if doomed and not args.delete else ""
    print(f"{len(doomed)} run folder(s) {done}; the newest {args.keep} of each name in {args.root} stay{hint}")
    return 0


def _share_packages(args) -> int:
    from .venvs import share_packages
    dists, files, reason = share_packages(args.names, Path(args.into))
    if reason:
        print(f"share-packages: nothing shared ({reason}); pip installs copies")
    else:
        print(f"share-packages: {files} files of {dists} distributions linked into {args.into}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from .deferred import defer_iri_grammar
    defer_iri_grammar()  # this process only: before anything imports nbformat (course_utils.tools.deferred)
    parser = argparse.ArgumentParser(prog="python -m course_utils", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("env", help="print the environment report; exit 1 if a requirement is missing")
    p = sub.add_parser("data", help="find, verify and prepare Fashion-MNIST")
    p.add_argument("--root", default=None, help="data root (default: the repository's data/)")
    p.add_argument("--no-download", action="store_true", help="use local sources only")
    p = sub.add_parser("run", help="execute notebooks headless into a build folder")
    p.add_argument("notebooks", nargs="*", default=["notebooks"], help="folders or .ipynb files")
    p.add_argument("--out", default="build")
    p.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell (default: the course's cell timeout, course_utils.settings.CELL_TIMEOUT)")
    p.add_argument("--in-place", action="store_true",
                   help="write the executed notebooks over the sources (refreshes the committed outputs)")
    p = sub.add_parser("release", help="build the student notebooks (solutions removed, leak-scanned)")
    p.add_argument("notebooks", nargs="*", default=["notebooks"], help="folders or .ipynb files")
    p.add_argument("--out", default="student", help="output folder, outside the sources (default: student)")
    p.add_argument("--colab", default=None, metavar="[URL@]TAG",
                   help="publish for Colab, Kaggle and hubs: a first cell installing the course at TAG where it is "
                        "missing, and 'Open in Colab/Kaggle' badges, from the student repository URL (default: "
                        "$COURSE_STUDENT_REPOSITORY, else course_utils.settings.STUDENT_REPOSITORY)")
    p = sub.add_parser("check", help="execute notebooks and grade their exercises (exit 1 unless all pass)")
    p.add_argument("notebooks", nargs="+", help="folders or .ipynb files")
    p.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell (default: the course's cell timeout, course_utils.settings.CELL_TIMEOUT)")
    p.add_argument("--instructor", default=None,
                   help="folder of the instructor notebooks, the course model (default: the repository's notebooks/)")
    p.add_argument("--executed", default=None, metavar="DIR",
                   help="also write each graded notebook as it ran (outputs, errors, messages) into DIR")
    p.add_argument("--sandbox", action="store_true",
                   help="run each notebook in the bubblewrap sandbox, as grade-class does (default: with your rights)")
    p = sub.add_parser("grade-class", help="grade a class's submissions in parallel, sandboxed, into a gradebook")
    p.add_argument("submissions", metavar="DIR", help="one folder per student, or an LMS's flat download")
    p.add_argument("--out", required=True, metavar="GRADES", help="where the gradebook, results and feedback go")
    p.add_argument("--jobs", type=_at_least(1), default=None,
                   help="submissions graded at once (default: the CPUs this process may use: its affinity, "
                        "a cgroup quota, Slurm's SLURM_CPUS_PER_TASK)")
    p.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell (default: the course's cell timeout, course_utils.settings.CELL_TIMEOUT)")
    p.add_argument("--notebooks", nargs="+", default=None, metavar="NN",
                   help="grade only these course notebooks (ids or their leading numbers, e.g. 02 03)")
    p.add_argument("--pattern", default=None, help="a regular expression for flat file names, with a group "
                   "(?P<student>...) and optionally (?P<file>...), (?P<copy>...), (?P<late>...)")
    p.add_argument("--instructor", default=None,
                   help="folder of the instructor notebooks, the course model (default: the repository's notebooks/)")
    p.add_argument("--no-sandbox", action="store_true", help="run the submissions with your own rights")
    p.add_argument("--memory-gb", type=float, default=None, help="address space per kernel in the sandbox (default: 8)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--shard", default=None, metavar="K/N",
                   help="grade only the students of shard K (0 to N-1) of N, by a hash of their names; 'auto' "
                        "reads K and N from a Slurm job array or a Kubernetes Indexed Job (merge the parts "
                        "with merge-grades; a shard needs the sandbox or --no-sandbox)")
    p.add_argument("--shard-count", type=_at_least(1), default=None, metavar="N",
                   help="with --shard auto in a Kubernetes Indexed Job: the Job's completions")
    p.add_argument("--only", nargs="+", default=None, metavar="STUDENT",
                   help="regrade only these students into the existing GRADES folder (or part)")
    p = sub.add_parser("merge-grades", help="merge the parts of a class graded with grade-class --shard into one "
                       "gradebook, results, summary and feedback")
    p.add_argument("parts", nargs="+", metavar="PART", help="the --out folders of the shards, every shard once")
    p.add_argument("--out", required=True, metavar="GRADES", help="where the class's files go")
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
    p = sub.add_parser("share-packages", help="hard-link installed packages and what they require into "
                       "another virtual environment, before pip installs into it (make test-light)")
    p.add_argument("names", nargs="+", help="distributions, e.g. torch torchvision")
    p.add_argument("--into", required=True, metavar="VENV", help="the environment that receives them")
    args = parser.parse_args(argv)
    # standard library only: these must run where packages are missing
    if args.command == "env":
        return _env(args)
    if args.command == "lowest-constraints":  # standard library only, like env
        return _lowest_constraints(args)
    if args.command == "share-packages":
        return _share_packages(args)
    if args.command == "grade-worker":
        from .gradeclass import worker_main
        return worker_main(args.spec)
    if getattr(args, "timeout", 0) is None:
        from ..settings import CELL_TIMEOUT
        args.timeout = CELL_TIMEOUT
    from ..data import DataUnavailableError
    from .course import CourseError
    try:
        return {"env": _env, "data": _data, "run": _run, "release": _release,
                "check": _check, "grade-class": _grade_class, "merge-grades": _merge_grades, "export-nbgrader": _export_nbgrader, "prune-runs": _prune_runs}[args.command](args)
    except (DataUnavailableError, CourseError) as e:  # expected failures: a message, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 1


