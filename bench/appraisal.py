"""Appraisal at county scale (issue 6): the monthly scorecards of every grid worker, beside baselines
measured in the same run.

The database is the county-scale demo (≈5,000 grids, ≈6,000 grid posts, a year of cases and of field work),
the one section 1 built when it ran, else built here.

    python -m bench.appraisal measure REPEAT     the timings, on the database the environment names

The child prints one JSON document on its last line; the parent formats the table. Last month is measured:

- worker scorecards: `worker_scorecards(Batch(county, month))`, every grid worker's card (logs, visit
  coverage, cases found and resolved, case figures of their grids, inspection deductions);
- unit scorecards: `unit_scorecards` of every village (and of every township) of the county;
- the monthly job: `compute_month(month, county)`, every worker and unit scored and stored;
- the stored ranking: `ranking(month, worker, county)`, as the ranking page reads it;
- baselines: the bare GROUP BY of the month's work logs by author (the biggest input, read once), and
  reading the stored scores' rows without ranking them.
"""

from __future__ import annotations

import json
import os
import sys

from .measure import last_json, median_ms, run_measured

WANGGE = [sys.executable, "-m", "wangge"]


def report(target, args, *, table, child_env, county_env=None) -> None:
    print("\n6. Appraisal: monthly scorecards of every grid worker (the county-scale demo)", flush=True)
    env = county_env
    if env is None:
        env = child_env(target.env("appraisal"))
        run_measured([*WANGGE, "migrate", "--no-input", "-v", "0"], env)
        demo = run_measured([*WANGGE, "demo", "--scale", "county", "--seed", str(args.seed)], env)
        print(f"   built in {demo.seconds:.0f} s (peak RSS {demo.peak_rss_mb:.0f} MB)")
    run = run_measured([sys.executable, "-m", "bench.appraisal", "measure", str(args.repeat)], env)
    figures = last_json(run)
    print(
        f"   {figures['month']}: {figures['workers']:,} grid workers, {figures['logs']:,} work logs, "
        f"{figures['cases']:,} cases registered; median of the runs in milliseconds "
        f"(peak RSS {run.peak_rss_mb:.0f} MB)"
    )
    rows = [
        [
            f["what"],
            f"{f['subjects']:,}",
            f"{f['queries']}",
            f"{f['ms']:.0f}",
            f["baseline"],
            f"{f['baseline_ms']:.0f}",
            f"{f['ms'] / f['baseline_ms']:.1f}×",
        ]
        for f in figures["rows"]
    ]
    print(
        table(
            ["computation", "subjects", "queries", "time", "baseline", "base", "time/base"],
            rows,
            right={1, 2, 3, 5, 6},
        )
    )


# =====================================================================================================
# The child: Django is set up on the bench database.


def measure(repeat: int) -> dict:
    import datetime

    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from wangge.appraisal import services
    from wangge.appraisal.choices import Subject
    from wangge.appraisal.models import MonthlyScore
    from wangge.appraisal.scorecards import Batch, period_range, unit_scorecards, worker_scorecards
    from wangge.cases.models import Case
    from wangge.fieldwork.models import WorkLog
    from wangge.units.models import Unit

    today = timezone.localdate()
    month = services.month_start(today.replace(day=1) - datetime.timedelta(days=1))
    start, end = period_range("month", month)
    county = Unit.objects.get(depth=1)
    villages = list(Unit.objects.current().filter(level__rank=3).select_related("level"))
    townships = list(Unit.objects.current().filter(level__rank=2).select_related("level"))
    repeats = max(2, repeat // 2)
    rows = []

    def logs_by_author():
        return list(
            WorkLog.objects.filter(date__gte=start, date__lte=end)
            .values("author_id")
            .annotate(n=Count("pk"))
            .order_by()
        )

    def stored_rows():
        return list(
            MonthlyScore.objects.filter(month=month, subject=Subject.WORKER).values_list("user_id", "total")
        )

    def timed(what, subjects, function, baseline_label, baseline):
        with CaptureQueriesContext(connection) as queries:
            function()
        rows.append(
            {
                "what": what,
                "subjects": subjects,
                "queries": len(queries),
                "ms": median_ms(function, repeats),
                "baseline": baseline_label,
                "baseline_ms": median_ms(baseline, repeats),
            }
        )

    workers = len(worker_scorecards(Batch(county, start, end)))
    timed(
        "worker scorecards, whole county",
        workers,
        lambda: worker_scorecards(Batch(county, start, end)),
        "logs GROUP BY author",
        logs_by_author,
    )
    timed(
        "village scorecards, whole county",
        len(villages),
        lambda: unit_scorecards(Batch(county, start, end), villages),
        "logs GROUP BY author",
        logs_by_author,
    )
    timed(
        "township scorecards, whole county",
        len(townships),
        lambda: unit_scorecards(Batch(county, start, end), townships),
        "logs GROUP BY author",
        logs_by_author,
    )
    scored = services.compute_month(month, county)
    rows.append(
        {
            **_single(lambda: services.compute_month(month, county), connection, CaptureQueriesContext),
            "what": "monthly job: score and store all",
            "subjects": scored,
            "baseline": "logs GROUP BY author",
            "baseline_ms": median_ms(logs_by_author, repeats),
        }
    )
    timed(
        "stored ranking of the workers",
        workers,
        lambda: services.ranking(month, Subject.WORKER, county),
        "stored rows, unranked",
        stored_rows,
    )
    registered = Case.objects.filter(registered_at__date__gte=start, registered_at__date__lte=end).count()
    return {
        "rows": rows,
        "month": f"{month:%Y-%m}",
        "workers": workers,
        "logs": WorkLog.objects.filter(date__gte=start, date__lte=end).count(),
        "cases": registered,
    }


def _single(function, connection, capture) -> dict:
    """One timed run (the monthly job rewrites its rows; once is what the worker does)."""
    import time

    with capture(connection) as queries:
        began = time.perf_counter()
        function()
        took = (time.perf_counter() - began) * 1000
    return {"queries": len(queries), "ms": took}


def main(argv: list[str]) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    django.setup()
    from django.utils import translation

    with translation.override("zh-hans"):
        if argv[:1] == ["measure"]:
            figures = measure(int(argv[1]))
        else:
            raise SystemExit(__doc__)
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
