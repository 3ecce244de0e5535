"""The command centre at county scale (issue 7): the dashboard data of the county, a township, a village
and a grid over 1,000,000 cases, read from the daily rollup and computed live, beside baselines measured
in the same run.

The database is section 3's: the county-scale demo topped up with light cases to `--cases-total`
(`bench.cases`, cached under var/bench/ on SQLite, built afresh in a scratch database on PostgreSQL).
The top-up writes its cases with raw inserts, so the rollup the demo built is rebuilt here first.

    python -m bench.dashboard measure REPEAT     the timings, on the database the environment names

The child prints one JSON document on its last line; the parent formats the tables. "Now" is a second
after the history's last step (as in section 3's sweep), "today" its local day. Measured:

- the rollup: `rollup.refresh(now, full=True)` (every day since the first case) and the worker's
  `rollup.refresh(now)` (the recent window), once each, beside reading the case rows they tally;
- for the county, its biggest township (by cases), that township's biggest village and that village's
  biggest grid, over last month and over the 12 months to today: the case figures of the unit and its
  children, `unit_figures([unit, *children])`, from the rollup (default) and live (`use_rollup=False`),
  and the whole dashboard `services.build_dashboard` for the county command user, as the page calls it;
- baselines: the unit's stored `DailyCounts` rows of the range, read without summing, or for a grid (not
  rolled up) the bare count of its cases registered in the range.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

from .measure import last_json, run_measured

SLOW_S = 1.0  # a computation slower than this (on its warm-up run) is repeated only SLOW_REPEAT times
SLOW_REPEAT = 3
PARTS_REPEAT = 3
USER = "demo-county"


def database(target, args, child_env) -> tuple[dict[str, str], str]:
    """Section 3's million-case database: (environment for the child, how it was obtained)."""
    from . import cases

    if target.engine == "sqlite":
        env, meta, cached = cases.database(target, args, child_env)
    else:
        # Section 3's scratch database is its own (and written to); this section builds another.
        env = child_env(target.env("dashboard"))
        meta, cached = cases.build(env, args.seed, args.cases_total), False
    how = (
        f"cached, built {meta['built']}"
        if cached
        else f"built now: demo {meta['demo_seconds']:.0f} s, top-up {meta['topup_seconds']:.0f} s"
    )
    return env, f"{meta['total']:,} cases ({how})"


def report(target, args, *, table, child_env) -> None:
    print(
        f"\n7. Command centre: dashboard data over {args.cases_total:,} cases (county demo + light history)",
        flush=True,
    )
    env, how = database(target, args, child_env)
    run = run_measured([sys.executable, "-m", "bench.dashboard", "measure", str(args.repeat)], env)
    f = last_json(run)
    units = f["units"]
    print(f"   {how}; now {f['now']} (the history's last step)")
    print(
        "   units: "
        + "; ".join(
            f"{key} {u['name']} ({u['cases']:,} cases, {u['children']:,} children)"
            for key, u in units.items()
        )
    )
    print(
        "   ranges: "
        + "; ".join(f"{key} {first} … {last}" for key, (first, last) in f["ranges"].items())
        + f" · peak RSS of the measuring process {run.peak_rss_mb:.0f} MB"
    )

    print(
        f"\n7a. Building the rollup ({f['rollup_rows']:,} daily rows of {f['divisions']:,} administrative "
        "units; one run each, in milliseconds)"
    )
    rows = [
        [
            b["what"],
            b["range"],
            f"{b['cells']:,}",
            f"{b['queries']:,}",
            f"{b['ms']:,.0f}",
            b["baseline"],
            f"{b['baseline_ms']:,.0f}",
            f"{b['ms'] / b['baseline_ms']:.1f}×",
        ]
        for b in f["build"]
    ]
    print(
        table(
            ["what", "range", "cells", "queries", "time", "baseline", "base", "time/base"],
            rows,
            right={2, 3, 4, 6, 7},
        )
    )

    print(
        f"\n7b. Dashboard data (median of {args.repeat} runs after a warm-up, {SLOW_REPEAT} when the warm-up "
        f"took over {SLOW_S:.0f} s; milliseconds)"
    )
    rows = [
        [
            r["what"],
            r["unit"],
            r["range"],
            f"{r['queries']:,}",
            f"{r['ms']:,.1f}",
            r["baseline"],
            f"{r['baseline_ms']:,.2f}",
            _ratio(r["ms"] / r["baseline_ms"]),
        ]
        for r in f["rows"]
    ]
    print(
        table(
            ["what", "unit", "range", "queries", "time", "baseline", "base", "time/base"],
            rows,
            right={3, 4, 6, 7},
        )
    )
    print(
        "   rollup vs live, unit_figures of the unit and its children: "
        + "; ".join(
            f"{s['unit']} {s['range']} {s['live_ms'] / s['rollup_ms']:,.1f}× faster"
            for s in f["speedup"]
            if s["rolled_up"]
        )
        + " (a grid is always counted live)"
    )
    print(f"   rollup and live figures agree: {'yes' if not f['disagree'] else f['disagree']}")

    print("\n7c. Where build_dashboard spends its time (median of the parts, milliseconds)")
    columns = list(f["parts"])
    names = list(dict.fromkeys(name for parts in f["parts"].values() for name in parts))
    rows = [[name, *(_part(f["parts"][column].get(name)) for column in columns)] for name in names]
    rows.append(["sum of the parts", *(_part(_sum(f["parts"][c].values())) for c in columns)])
    print(table(["part", *columns], rows, right=set(range(1, len(columns) + 1))))


def _ratio(ratio: float) -> str:
    return f"{ratio:,.1f}×" if ratio < 10 else f"{ratio:,.0f}×"


def _part(entry) -> str:
    if entry is None:
        return "—"
    ms, queries = entry
    return f"{ms:,.1f} ({queries})"


def _sum(entries) -> tuple[float, int]:
    entries = list(entries)
    return sum(ms for ms, _q in entries), sum(q for _ms, q in entries)


# =====================================================================================================
# The child: Django is set up on the bench database.


class Timer:
    """Times a function: one warm-up run (its queries counted), then the median of the repeats."""

    def __init__(self, repeat: int):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self.repeat = repeat
        self.connection, self.capture = connection, CaptureQueriesContext

    def __call__(self, function) -> tuple[float, int]:
        """(median milliseconds, queries of one run)."""
        with self.capture(self.connection) as queries:
            started = time.perf_counter()
            function()
            warm = time.perf_counter() - started
        runs = self.repeat if warm < SLOW_S else SLOW_REPEAT
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            function()
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples), len(queries)

    def once(self, function):
        """(milliseconds, queries, result) of a single run: for what writes (the rollup's builds)."""
        with self.capture(self.connection) as queries:
            started = time.perf_counter()
            result = function()
            took = (time.perf_counter() - started) * 1000
        return took, len(queries), result


def pick_units():
    """The county, its biggest township by cases, that township's biggest village and the village's
    biggest grid; with the count of cases under each (one GROUP BY over the cases)."""
    from collections import Counter

    from django.db.models import Count

    from wangge.cases.models import Case
    from wangge.units.models import Unit

    by_path = Counter()
    for path, n in Case.objects.values_list("unit__path").annotate(n=Count("pk")).order_by():
        for length in range(Unit.steplen, len(path) + 1, Unit.steplen):
            by_path[path[:length]] += n
    county = Unit.objects.select_related("level").get(depth=1)
    chosen = {"county": county}
    for key, rank in (("township", 2), ("village", 3), ("grid", 4)):
        parent = list(chosen.values())[-1]
        candidates = parent.children().current().filter(level__rank=rank).select_related("level")
        chosen[key] = max(candidates, key=lambda u: (by_path[u.path], -u.pk))
    return chosen, by_path


def measure(repeat: int) -> dict:
    import datetime

    from django.db.models import Max
    from django.utils import timezone

    from wangge.cases.models import Case, CaseAction
    from wangge.dashboard import rollup, services
    from wangge.dashboard.figures import ROLLED_UP_KIND, case_rows, is_rolled_up, unit_counts, unit_figures
    from wangge.dashboard.models import DailyCounts
    from wangge.people.models import User
    from wangge.units.models import Unit

    timer = Timer(repeat)
    now = CaseAction.objects.aggregate(last=Max("time"))["last"] + datetime.timedelta(seconds=1)
    today = timezone.localdate(now)
    last_month_end = today.replace(day=1) - datetime.timedelta(days=1)
    ranges = {
        "month": (last_month_end.replace(day=1), last_month_end),
        "12 months": (today - datetime.timedelta(days=364), today),
    }
    user = User.objects.get(username=USER)
    units, by_path = pick_units()

    # 7a: the rollup, rebuilt after the top-up's raw inserts, then the worker's window.
    def scan(first_day, end_day):
        def read():
            return sum(
                1 for _row in case_rows(Case.objects.all(), first_day, end_day).iterator(chunk_size=5000)
            )

        return read

    first_case = rollup.first_case_day()
    window_first = today - datetime.timedelta(days=_window_days())
    build = []
    for what, full, first_day in (
        ("rollup.refresh(full=True)", True, first_case),
        ("rollup.refresh(now), the worker's window", False, window_first),
    ):
        ms, queries, cells = timer.once(lambda full=full: rollup.refresh(now, full=full))
        base_ms, _queries, rows_read = timer.once(scan(first_day, today))
        build.append(
            {
                "what": what,
                "range": f"{first_day} … {today - datetime.timedelta(days=1)}",
                "cells": cells or 0,
                "queries": queries,
                "ms": ms,
                "baseline": f"read its {rows_read:,} case rows, no tally",
                "baseline_ms": base_ms,
            }
        )

    # 7b: the dashboard data of each unit and range.
    rows, speedup, disagree = [], [], []
    parts: dict[str, dict] = {}
    for key, unit in units.items():
        kids = services.children(unit, today)
        shown = [unit, *kids]
        for range_name, (first_day, last_day) in ranges.items():
            if is_rolled_up(unit):
                label = "stored DailyCounts rows"

                def baseline(unit=unit, first_day=first_day, last_day=last_day):
                    return list(
                        DailyCounts.objects.filter(unit=unit, day__range=(first_day, last_day)).values_list(
                            "counts", flat=True
                        )
                    )

            else:
                label = "bare count of its cases"
                start = timezone.make_aware(datetime.datetime.combine(first_day, datetime.time.min))
                end = timezone.make_aware(datetime.datetime.combine(last_day, datetime.time.max))

                def baseline(unit=unit, start=start, end=end):
                    return Case.objects.filter(
                        unit__path__startswith=unit.path, registered_at__range=(start, end)
                    ).count()

            base_ms, _q = timer(baseline)
            found = {}
            for what, use_rollup in (("unit_figures, rollup", True), ("unit_figures, live", False)):

                def compute(use_rollup=use_rollup, shown=shown, first_day=first_day, last_day=last_day):
                    return unit_figures(shown, first_day, last_day, today=today, use_rollup=use_rollup)

                ms, queries = timer(compute)
                found[use_rollup] = ms
                rows.append(
                    {
                        "what": f"{what} (+{len(kids)} children)",
                        "unit": key,
                        "range": range_name,
                        "queries": queries,
                        "ms": ms,
                        "baseline": label,
                        "baseline_ms": base_ms,
                    }
                )
            speedup.append(
                {
                    "unit": key,
                    "range": range_name,
                    "rolled_up": is_rolled_up(unit),
                    "rollup_ms": found[True],
                    "live_ms": found[False],
                }
            )
            rolled = unit_counts(shown, first_day, last_day, today=today)
            live = unit_counts(shown, first_day, last_day, today=today, use_rollup=False)
            for u in shown:
                if rolled[u] != live[u]:
                    diff = {k for k in rolled[u].keys() | live[u].keys() if rolled[u][k] != live[u][k]}
                    disagree.append(f"{u.code} {range_name}: {sorted(diff)[:5]}")

            def dashboard(unit=unit, first_day=first_day, last_day=last_day):
                return services.build_dashboard(user, unit, first_day, last_day, today=today, now=now)

            ms, queries = timer(dashboard)
            rows.append(
                {
                    "what": "services.build_dashboard",
                    "unit": key,
                    "range": range_name,
                    "queries": queries,
                    "ms": ms,
                    "baseline": label,
                    "baseline_ms": base_ms,
                }
            )
            parts[f"{key} {range_name}"] = dashboard_parts(services, dashboard, timer)

    return {
        "now": now.isoformat(),
        "cases": Case.objects.count(),
        "units": {
            key: {
                "name": unit.name,
                "code": unit.code,
                "cases": by_path[unit.path],
                "children": len(services.children(unit, today)),
            }
            for key, unit in units.items()
        },
        "ranges": {key: [str(first), str(last)] for key, (first, last) in ranges.items()},
        "divisions": Unit.objects.filter(kind=ROLLED_UP_KIND).count(),
        "rollup_rows": DailyCounts.objects.count(),
        "build": build,
        "rows": rows,
        "speedup": speedup,
        "disagree": disagree,
        "parts": parts,
    }


def _window_days() -> int:
    from django.conf import settings

    return settings.WANGGE_ROLLUP_WINDOW_DAYS


def dashboard_parts(services, dashboard, timer) -> dict[str, tuple[float, int]]:
    """{part: (median ms, queries)} of one build_dashboard: each module-level function it calls is wrapped
    in a timer for the runs (a function called twice, like unit_figures, is two parts)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    names = (
        "children",
        "targets",
        "unit_figures",
        "work_kpis",
        "staff_activity",
        "attention_tags",
        "overdue_cases",
        "due_soon_cases",
    )
    samples: dict[str, list[tuple[float, int]]] = {}
    originals = {name: getattr(services, name) for name in names if hasattr(services, name)}
    calls: dict[str, int] = {}

    def wrap(name, function):
        def timed(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            label = name if calls[name] == 1 else f"{name} #{calls[name]}"
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                result = function(*args, **kwargs)
                took = (time.perf_counter() - started) * 1000
            samples.setdefault(label, []).append((took, len(queries)))
            return result

        return timed

    try:
        for name, function in originals.items():
            setattr(services, name, wrap(name, function))
        for _ in range(PARTS_REPEAT):
            calls.clear()
            dashboard()
    finally:
        for name, function in originals.items():
            setattr(services, name, function)
    return {label: (statistics.median(ms for ms, _q in runs), runs[0][1]) for label, runs in samples.items()}


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
