"""Command line: ``python -m course_utils env | data | run | release | check``."""
from __future__ import annotations

import argparse
import logging
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


def _run(args) -> int:
    from .execute import execute_notebook, format_table
    paths = sorted(p for p in Path(args.notebooks).glob("*.ipynb")) if Path(args.notebooks).is_dir() \
        else [Path(args.notebooks)]
    if not paths:
        print(f"error: no notebooks in {args.notebooks}", file=sys.stderr)
        return 1
    results = []
    for p in paths:
        print(f"running {p.name} ...", flush=True)
        out = p.parent if args.in_place else Path(args.out)
        results.append(execute_notebook(p, out, timeout=args.timeout, html=not args.in_place))
    print(format_table(results))
    return 0 if all(r.ok for r in results) else 1


def _release(args) -> int:
    from .exercises import build_release
    written = build_release(args.notebooks, args.out)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} student notebooks in {args.out}; leak scan: no solution line found")
    return 0


def _check(args) -> int:
    from .exercises import format_grades, grade_notebook
    all_passed = True
    for name in args.notebooks:
        grades = grade_notebook(Path(name), timeout=args.timeout)
        print(format_grades(name, grades))
        all_passed &= all(g.status == "passed" for g in grades)
    return 0 if all_passed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("env", help="print the environment report; exit 1 if a requirement is missing")
    p = sub.add_parser("data", help="find, verify and prepare Fashion-MNIST")
    p.add_argument("--root", default=None, help="data root (default: the repository's data/)")
    p.add_argument("--no-download", action="store_true", help="use local sources only")
    p = sub.add_parser("run", help="execute notebooks headless into a build folder")
    p.add_argument("notebooks", nargs="?", default="notebooks")
    p.add_argument("--out", default="build")
    p.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    p.add_argument("--in-place", action="store_true",
                   help="write the executed notebooks over the sources (refreshes the committed outputs)")
    p = sub.add_parser("release", help="build the student notebooks (solutions removed, leak-scanned)")
    p.add_argument("notebooks", nargs="?", default="notebooks")
    p.add_argument("--out", default="build/student")
    p = sub.add_parser("check", help="execute notebooks and grade their exercises (exit 1 unless all pass)")
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    if args.command == "env":  # standard library only: it must run where packages are missing
        return _env(args)
    from .data import DataUnavailableError
    from .exercises import ReleaseError
    try:
        return {"env": _env, "data": _data, "run": _run, "release": _release,
                "check": _check}[args.command](args)
    except (DataUnavailableError, ReleaseError) as e:  # expected failures: a message, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
