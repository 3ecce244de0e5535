"""Field work at county scale (issue 5): the visit regime's due lists and coverage, beside a baseline
measured in the same run.

The database is the county-scale demo (≈155,000 households and its year of field work: ≈1 million work
logs and ≈0.8 million household visits), the one section 1 built when it ran, else built here.

    python -m bench.fieldwork measure REPEAT     the timings, on the database the environment names

The child prints one JSON document on its last line; the parent formats the table.

- coverage: `wangge.fieldwork.visits.coverage_report(unit)` — every rule, this period in total and per
  child unit, and the trend (6 months, 4 quarters, 2 years), as the coverage page shows it;
- baseline: one bare query over the same rows, the distinct households visited under the unit this
  quarter (`COUNT(DISTINCT household_id)` over the visits joined to their grid's path);
- due list: `due_list(user)` for a 四级网格 worker and a 三级网格 leader of the first township,
  beside a bare count of the households under their post.
"""

from __future__ import annotations

import json
import os
import sys

from .measure import last_json, median_ms, run_measured

WANGGE = [sys.executable, "-m", "wangge"]


def report(target, args, *, table, child_env, county_env=None) -> None:
    print("\n5. Field work: visit due lists and coverage (the county-scale demo)", flush=True)
    env = county_env
    if env is None:
        env = child_env(target.env("fieldwork"))
        run_measured([*WANGGE, "migrate", "--no-input", "-v", "0"], env)
        demo = run_measured([*WANGGE, "demo", "--scale", "county", "--seed", str(args.seed)], env)
        print(f"   built in {demo.seconds:.0f} s (peak RSS {demo.peak_rss_mb:.0f} MB)")
        for line in demo.output.splitlines():
            if line.startswith(("Built", "Field work")):
                print(f"   demo says: {line}")
    run = run_measured([sys.executable, "-m", "bench.fieldwork", "measure", str(args.repeat)], env)
    figures = last_json(run)
    print(
        f"   {figures['visits']:,} visits, {figures['households']:,} households; median of {args.repeat} runs "
        f"after a warm-up, in milliseconds (peak RSS {run.peak_rss_mb:.0f} MB)"
    )
    rows = [
        [
            f"{f['what']} · {f['unit']}",
            f"{f['households']:,}",
            f"{f['queries']}",
            f"{f['ms']:.1f}",
            f"{f['baseline_ms']:.1f}",
            f"{f['ms'] / f['baseline_ms']:.1f}×",
        ]
        for f in figures["rows"]
    ]
    print(
        table(
            ["computation", "households", "queries", "time", "baseline", "time/base"],
            rows,
            right={1, 2, 3, 4, 5},
        )
    )


# =====================================================================================================
# The child: Django is set up on the bench database.


def measure(repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from wangge.fieldwork import visits
    from wangge.fieldwork.choices import Period
    from wangge.fieldwork.models import Visit
    from wangge.ledger.models import Household
    from wangge.people.models import Post
    from wangge.people.roles import GRID_ROLES
    from wangge.units.models import Unit

    today = timezone.localdate()
    start, end = visits.period_bounds(Period.QUARTER, today)
    county = Unit.objects.get(depth=1)
    township = (
        Unit.objects.filter(depth=2, code__endswith="100").first() or Unit.objects.filter(depth=2).first()
    )
    rows = []

    def timed(what, label, households, function, baseline, repeats=repeat):
        with CaptureQueriesContext(connection) as queries:
            function()
        rows.append(
            {
                "what": what,
                "unit": label,
                "households": households,
                "queries": len(queries),
                "ms": median_ms(function, repeats),
                "baseline_ms": median_ms(baseline, repeats),
            }
        )

    for unit, repeats in ((township, repeat), (county, max(3, repeat // 5))):
        under = Household.objects.filter(grid__path__startswith=unit.path)

        def coverage(unit=unit):
            return visits.coverage_report(unit, today)

        def baseline(unit=unit):
            return (
                Visit.objects.filter(date__gte=start, date__lte=end, grid__path__startswith=unit.path)
                .values("household_id")
                .distinct()
                .count()
            )

        timed("coverage report", f"{unit.level.name} {unit.name}", under.count(), coverage, baseline, repeats)

    for level in ("grid4", "grid3"):
        post = (
            Post.objects.filter(
                role__in=GRID_ROLES, unit__level__key=level, unit__path__startswith=township.path
            )
            .select_related("user", "unit", "unit__level")
            .order_by("unit__path")
            .first()
        )
        under = Household.objects.filter(grid__path__startswith=post.unit.path)

        def due(user=post.user):
            return visits.due_list(user, today)

        def count(under=under):
            return under.count()

        timed(
            "due list", f"{post.unit.level.name} {post.unit.name} ({post.user.username})", count(), due, count
        )

    return {"rows": rows, "visits": Visit.objects.count(), "households": Household.objects.count()}


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
