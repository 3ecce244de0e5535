"""Subtree counts by materialized path (as `__startswith`, and as a range of the path index), against a count over a plain integer index of the same rows.

Runs in the bench process, with Django set up on the database the county demo was loaded into.
The demo loads units depth first, so every subtree's unit ids form one contiguous range: counting
households by `grid_id BETWEEN lo AND hi` (the foreign-key index) gives the same answer as the path
query, with the cheapest plan a database has. That is the baseline.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Timing:
    scope: str
    what: str
    count: int
    path_ms: float
    range_ms: float
    baseline_ms: float
    checks: tuple[int, int]  # the path-range and baseline results, which must equal `count`

    def ratio(self, ms: float) -> float:
        return ms / self.baseline_ms if self.baseline_ms else float("nan")


def median_ms(query: Callable[[], int], repeat: int) -> tuple[float, int]:
    result = query()  # warm the page cache and Django's query compilation paths
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = query()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


def subtree_timings(repeat: int) -> list[Timing]:
    from django.db.models import Max, Min

    from wangge.ledger.models import Household
    from wangge.units.models import Unit, UnitLevel

    path_length = Unit._meta.get_field("path").max_length
    first_grid_depth = UnitLevel.objects.filter(is_grid=True).aggregate(rank=Min("rank"))["rank"]
    county = Unit.objects.get(depth=1)
    # The first 镇 (code …100): an ordinary rural township of a few hundred grids.
    township = (
        Unit.objects.filter(depth=2, code__endswith="100").first() or Unit.objects.filter(depth=2).last()
    )
    timings = []
    for scope, unit in (
        (f"township {township.name} ({township.code})", township),
        (f"county {county.name}", county),
    ):
        bounds = Unit.objects.filter(path__startswith=unit.path).aggregate(lo=Min("pk"), hi=Max("pk"))
        ids = (bounds["lo"], bounds["hi"])
        # The same subtree as a range of the unique path index: every descendant's path is the unit's
        # path followed by characters of the alphabet 0-9A-Z, so none sorts above the path padded
        # with "Z" (in the C collation and in the usual linguistic ones alike).
        span = (unit.path, unit.path + "Z" * (path_length - len(unit.path)))
        cases = (
            (
                "current grids",
                lambda unit=unit: Unit.objects.current().grids().filter(path__startswith=unit.path).count(),
                lambda span=span: Unit.objects.current().grids().filter(path__range=span).count(),
                lambda ids=ids: Unit.objects.filter(pk__range=ids, depth__gte=first_grid_depth).count(),
            ),
            (
                "households",
                lambda unit=unit: Household.objects.filter(grid__path__startswith=unit.path).count(),
                lambda span=span: Household.objects.filter(grid__path__range=span).count(),
                lambda ids=ids: Household.objects.filter(grid__gte=ids[0], grid__lte=ids[1]).count(),
            ),
        )
        for what, by_path, by_range, baseline in cases:
            path_ms, count = median_ms(by_path, repeat)
            range_ms, range_count = median_ms(by_range, repeat)
            baseline_ms, baseline_count = median_ms(baseline, repeat)
            timings.append(
                Timing(scope, what, count, path_ms, range_ms, baseline_ms, (range_count, baseline_count))
            )
    return timings


def plans() -> list[str]:
    """The database's plans for the two path queries (on one township), to read a figure against."""
    from wangge.ledger.models import Household
    from wangge.units.models import Unit

    unit = Unit.objects.filter(depth=2).first()
    return [
        Unit.objects.current().grids().filter(path__startswith=unit.path).values("pk").explain(),
        Household.objects.filter(grid__path__startswith=unit.path).values("pk").explain(),
    ]
