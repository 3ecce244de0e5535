"""Which unit a point lies in: the smallest current unit whose boundary contains it (CASE-1 reporting).

The boundaries of current units are read once into a shapely STRtree and kept per process. A unit save
in this process clears it; other processes pick up boundary changes within `MAX_AGE_SECONDS`.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import shapely
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .geometry import to_shape
from .models import Unit

MAX_AGE_SECONDS = 60


class UnitLocator:
    def __init__(self, units: list[tuple[int, int, dict]]):
        self.ids = np.array([unit_id for unit_id, _, _ in units], dtype=np.int64)
        self.depths = np.array([depth for _, depth, _ in units], dtype=np.int64)
        self.tree = shapely.STRtree([to_shape(geometry) for _, _, geometry in units])
        self.built_at = time.monotonic()

    @classmethod
    def build(cls) -> UnitLocator:
        rows = Unit.objects.current().exclude(geometry__isnull=True).values_list("id", "depth", "geometry")
        return cls([row for row in rows if row[2]])

    def locate_id(self, lng: float, lat: float) -> int | None:
        """The id of the deepest unit containing the point, or None when no boundary contains it."""
        hits = self.tree.query(shapely.Point(lng, lat), predicate="within")
        if not len(hits):
            return None
        return int(self.ids[hits[np.argmax(self.depths[hits])]])

    def locate_many(self, points: list[tuple[float, float]]) -> list[int | None]:
        """Bulk version: one tree query for all points (imports, the demo, benchmarks)."""
        geoms = shapely.points(np.asarray(points, dtype=float))
        point_idx, tree_idx = self.tree.query(geoms, predicate="within")
        best: dict[int, int] = {}
        for p, t in zip(point_idx.tolist(), tree_idx.tolist(), strict=True):
            if p not in best or self.depths[t] > self.depths[best[p]]:
                best[p] = t
        return [int(self.ids[best[i]]) if i in best else None for i in range(len(points))]


_lock = threading.Lock()
_locator: UnitLocator | None = None


def locator() -> UnitLocator:
    global _locator
    with _lock:
        if _locator is None or time.monotonic() - _locator.built_at > MAX_AGE_SECONDS:
            _locator = UnitLocator.build()
        return _locator


def clear_locator() -> None:
    global _locator
    with _lock:
        _locator = None


def locate(lng: float, lat: float) -> Unit | None:
    """The smallest current unit containing (lng, lat), or None if the point is outside every boundary."""
    unit_id = locator().locate_id(lng, lat)
    return Unit.objects.select_related("level").get(pk=unit_id) if unit_id else None


@receiver(post_save, sender=Unit)
@receiver(post_delete, sender=Unit)
def _boundaries_changed(sender, **kwargs):
    clear_locator()
