"""`make bench` (= `python -m bench`): load the demo county and time subtree counts; then, over the
county demo topped up to a million cases, time case intake, point-to-grid lookup and the overdue
sweep; then import 100,000 households with 300,000 residents into the county's ledgers and time the
dossier of a village and a township; then the visit regime's due lists and coverage of a township and
the county; then the command centre's dashboard data of the county, a township, a village and a grid
over the million cases, from the daily rollup and live. Each figure beside a baseline measured in the
same run. Prints figures; never fails on a slow one.

    python -m bench [demo] [cases] [ledger] [fieldwork] [appraisal] [dashboard]
                    [--seed N] [--repeat N] [--database-url URL] [--keep]
                    [--plans] [--cases-total N] [--ledger-scale county|small]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

from .measure import Run, run_measured
from .targets import PostgresTarget, SqliteTarget

WANGGE = [sys.executable, "-m", "wangge"]
SECTIONS = ("demo", "cases", "ledger", "fieldwork", "appraisal", "dashboard")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "sections",
        nargs="*",
        metavar="section",
        help=f"which benches to run: {', '.join(SECTIONS)} (default: all)",
    )
    parser.add_argument("--seed", type=int, default=1, help="demo seed (default 1)")
    parser.add_argument("--repeat", type=int, default=15, help="repetitions per query timing (default 15)")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server URL; scratch databases are created on it and dropped (default: SQLite)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases afterwards")
    parser.add_argument(
        "--plans", action="store_true", help="also print the query plans (path queries, overdue scan)"
    )
    parser.add_argument(
        "--cases-total",
        type=int,
        default=1_000_000,
        help="cases in the database of the cases bench (default 1,000,000)",
    )
    parser.add_argument(
        "--ledger-scale",
        choices=("county", "small"),
        default="county",
        help="demo the ledger bench imports into: county (100,000 households in the files, default) "
        "or small (10,000)",
    )
    args = parser.parse_args(argv)
    # Checked here: argparse rejects an empty list against `choices` (Python 3.11).
    if unknown := [name for name in args.sections if name not in SECTIONS]:
        parser.error(f"unknown section {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    args.sections = args.sections or list(SECTIONS)
    return args


def child_env(target_env: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wangge.settings", "SECRET_KEY": "bench-only"}
    env.update(target_env)
    if not env.get("DATABASE_URL"):
        # Never the developer's own database: an empty DATABASE_URL falls back to SQLite in WANGGE_VAR_DIR.
        env.pop("DATABASE_URL", None)
    env.setdefault("LOG_LEVEL", "WARNING")
    return env


def load_demo(target, scale: str, seed: int) -> tuple[Run, dict[str, str]]:
    env = child_env(target.env(scale))
    run_measured([*WANGGE, "migrate", "--no-input", "-v", "0"], env)
    return run_measured([*WANGGE, "demo", "--scale", scale, "--seed", str(seed)], env), env


def rows_written(env: dict[str, str]) -> int:
    """Rows the demo wrote (units, departments, users, posts, households, the ledgers' residents, tag
    links, places, organisations, special-population records and key-person listings, and its year of
    cases with their actions, assignments and notifications, and its year of field work), counted in a
    child process."""
    code = (
        "import django; django.setup();"
        "from wangge.units.models import Unit; from wangge.people.models import User, Post, Department;"
        "from wangge.demo.ledger import LEDGER_MODELS;"
        "from wangge.cases.models import Case, CaseAction, Assignment;"
        "from wangge.notices.models import Notification;"
        "from wangge.fieldwork.models import WorkLog, Visit, PatrolRecord, PublicityRecord;"
        "print(sum(m.objects.count() for m in"
        " (Unit, Department, User, Post, *LEDGER_MODELS, Case, CaseAction, Assignment, Notification,"
        " WorkLog, Visit, PatrolRecord, PublicityRecord)))"
    )
    return int(run_measured([sys.executable, "-c", code], env).output.split()[-1])


def width(text: str) -> int:
    return sum(2 if ord(char) > 0x2E7F else 1 for char in text)


def table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(width(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells):
        out = []
        for i, cell in enumerate(cells):
            pad = " " * (widths[i] - width(cell))
            out.append(pad + cell if i in right else cell + pad)
        return "  ".join(out).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def main(argv=None) -> None:
    args = parse_args(argv)
    target = PostgresTarget(args.database_url, args.keep) if args.database_url else SqliteTarget(args.keep)
    try:
        report(target, args)
    finally:
        target.cleanup()


def report(target, args) -> None:
    print(f"Wangge benchmarks · {target.label}")
    print(
        f"Python {platform.python_version()} · {platform.machine()} · {os.cpu_count()} CPUs · "
        f"demo seed {args.seed}\n",
        flush=True,
    )
    county_env = None
    if "demo" in args.sections:
        county_env = report_demo(target, args)
    if "cases" in args.sections:
        from . import cases

        cases.report(target, args, table=table, child_env=child_env)
    if "ledger" in args.sections:
        from . import ledger

        ledger.report(target, args, table=table, child_env=child_env)
    if "fieldwork" in args.sections:
        from . import fieldwork

        fieldwork.report(target, args, table=table, child_env=child_env, county_env=county_env)
    if "appraisal" in args.sections:
        from . import appraisal

        appraisal.report(target, args, table=table, child_env=child_env, county_env=county_env)
    if "dashboard" in args.sections:
        from . import dashboard

        dashboard.report(target, args, table=table, child_env=child_env)


def report_demo(target, args) -> dict[str, str]:
    """Section 1 and 2; returns the county database's environment for the sections that only read it."""
    county, county_env = load_demo(target, "county", args.seed)
    county_rows = rows_written(county_env)
    small, small_env = load_demo(target, "small", args.seed)
    small_rows = rows_written(small_env)
    raw = run_measured(
        [sys.executable, "-m", "bench.raw_insert", target.engine, target.raw("bare"), str(county_rows)],
        child_env({}),
    )
    runs = [
        ("wangge demo --scale county", county, county_rows),
        ("baseline: wangge demo --scale small", small, small_rows),
        ("baseline: bare-table insert, same row count", raw, county_rows),
    ]
    print("1. Loading the demo county into a fresh database (whole command: start-up, generation, load)")
    print(
        table(
            ["run", "rows", "wall time", "µs/row", "peak RSS"],
            [
                [
                    name,
                    f"{rows:,}",
                    f"{run.seconds:.1f} s",
                    f"{run.seconds / rows * 1e6:.0f}",
                    f"{run.peak_rss_mb:.0f} MB",
                ]
                for name, run, rows in runs
            ],
            right={1, 2, 3, 4},
        )
    )
    print(
        f"county vs small: {county.seconds / small.seconds:.1f}× the time for {county_rows / small_rows:.1f}× the rows, "
        f"{county.peak_rss_mb / small.peak_rss_mb:.1f}× the memory"
    )
    print(
        f"county vs bare insert: {county.seconds / raw.seconds:.1f}× the time, "
        f"{county.peak_rss_mb / raw.peak_rss_mb:.1f}× the memory"
    )
    for line in county.output.splitlines():
        if line.startswith(("Built", "Generated", "Ledgers", "Case history", "Planned", "Field work")):
            print(f"  demo says: {line}")

    # The queries run here, in this process, against the county database.
    for key in ("DJANGO_SETTINGS_MODULE", "SECRET_KEY", "WANGGE_VAR_DIR", "DATABASE_URL"):
        if key in county_env:
            os.environ[key] = county_env[key]
        else:
            os.environ.pop(key, None)
    import django

    django.setup()
    from .queries import plans, subtree_timings

    timings = subtree_timings(args.repeat)
    print(f"\n2. Subtree counts (median of {args.repeat} runs, warm cache), in milliseconds")
    print("   by path: path LIKE 'p%' (__startswith, what the scoping code does today)")
    print("   by range: path BETWEEN p AND p+'ZZ…' (the same rows, as a range of the unique path index)")
    print("   baseline: the same count by an indexed integer id range (units are loaded depth first)")
    print(
        table(
            ["scope", "count of", "result", "by path", "by range", "baseline", "path/base", "range/base"],
            [
                [
                    t.scope,
                    t.what,
                    f"{t.count:,}" + ("" if t.checks == (t.count, t.count) else f" (MISMATCH {t.checks})"),
                    f"{t.path_ms:.2f}",
                    f"{t.range_ms:.2f}",
                    f"{t.baseline_ms:.2f}",
                    f"{t.ratio(t.path_ms):.1f}×",
                    f"{t.ratio(t.range_ms):.1f}×",
                ]
                for t in timings
            ],
            right={2, 3, 4, 5, 6, 7},
        )
    )
    if args.plans:
        print("\nQuery plans (one township):")
        for plan in plans():
            print(plan, "\n")
    return county_env


if __name__ == "__main__":
    main()
