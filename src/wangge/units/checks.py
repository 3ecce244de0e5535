"""The grid checker: every way a subtree of the governance tree breaks GRID-3, GRID-4 or GRID-5.

`check_subtree(root)` reads the subtree's current units in one query and its households as plain tuples,
builds each boundary once with shapely, and does the geometric work with vectorised shapely 2 calls and
STRtree indexes, so a whole county (~7,000 units, ~150,000 households) is checked in seconds. It writes
nothing; the `wangge check-grids` command and the report page both call it.

A violation belongs to the unit that carries the fault: a child reaching outside its parent is the
child's, a gap is the parent's, a sibling overlap is the first sibling's (by path). So checking a village
lists what checking the whole county lists for that village, except overlaps between the root and its
own siblings (which belong to the root's parent) and households located only against the root's grids.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter

import numpy as np
import shapely
from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.ledger.models import Household

from . import geometry as geo
from .choices import UnitKind
from .models import HouseholdStandard, Unit, UnitLevel, household_range
from .services import expected_code_length


class ViolationKind(models.TextChoices):
    """What is wrong; the order here is the order of the report."""

    OUTSIDE_PARENT = "outside_parent", gettext_lazy("Outside its parent")
    SIBLING_OVERLAP = "sibling_overlap", gettext_lazy("Overlaps a sibling")
    PARENT_NOT_COVERED = "parent_not_covered", gettext_lazy("Area not covered by its children")
    HOUSEHOLD_NO_GRID = "household_no_grid", gettext_lazy("Household in no grid")
    HOUSEHOLD_TWO_GRIDS = "household_two_grids", gettext_lazy("Household in two grids")
    HOUSEHOLD_OUTSIDE_GRID = "household_outside_grid", gettext_lazy("Household outside its grid")
    HOUSEHOLD_STANDARD = "household_standard", gettext_lazy("Outside the household standard")
    CODE_RULE = "code_rule", gettext_lazy("Code rule broken")


_KIND_ORDER = {kind: i for i, kind in enumerate(ViolationKind)}
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Violation:
    """One fault. `message` is already translated into the language active when the check ran."""

    kind: ViolationKind
    unit_code: str
    unit_name: str
    message: str
    # The other unit (sibling, parent) or the household number involved.
    other_code: str | None = None
    # The figure the message is about: square metres, or a household count.
    measure: float | None = None
    unit_path: str = field(default="", repr=False, compare=False)

    @property
    def kind_label(self) -> str:
        return str(ViolationKind(self.kind).label)

    @property
    def sort_key(self) -> tuple:
        return (_KIND_ORDER[self.kind], self.unit_path, self.other_code or "", self.message)

    def as_dict(self) -> dict:
        return {
            "kind": str(self.kind),
            "unit_code": self.unit_code,
            "unit_name": self.unit_name,
            "message": self.message,
            "other_code": self.other_code,
            "measure": self.measure,
        }


@dataclass(eq=False)
class _Node:
    """A unit as the checker sees it: the few columns it needs and its shapely boundary."""

    pk: int
    path: str
    code: str
    name: str
    level_id: int
    kind: str = UnitKind.DIVISION
    area_type: str = ""
    geom: object = None
    min_households: int | None = None
    max_households: int | None = None
    current: bool = True
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def is_grid(self) -> bool:
        return self.kind != UnitKind.DIVISION

    @property
    def is_lowest_grid(self) -> bool:
        return self.current and self.is_grid and not any(child.is_grid for child in self.children)


_NODE_COLUMNS = (
    "pk",
    "path",
    "code",
    "name",
    "level_id",
    "kind",
    "area_type",
    "min_households",
    "max_households",
)


def _boundaries(texts: list[str | None]) -> np.ndarray:
    """Shapely geometries from GeoJSON texts, parsed in one vectorised call (no Python JSON decoding)."""
    geoms = shapely.from_geojson(np.array(texts, dtype=object))
    geoms[shapely.is_empty(geoms)] = None
    # Services refuse invalid boundaries, but old or admin-entered data may hold one; repairing it keeps
    # the checker from failing on a GEOS topology error and still measures the intended area.
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    geoms[invalid] = shapely.make_valid(geoms[invalid])
    return geoms


class _Tree:
    """The current units of a subtree, linked to their parents, loaded in one query.

    Boundaries are read as GeoJSON text (a cast that both SQLite and PostgreSQL do) because decoding
    thousands of coordinate lists in Python costs more than the whole check.
    """

    def __init__(self, root: Unit, on: datetime.date):
        self.root_path = root.path
        self.on = on
        rows = list(
            Unit.objects.current(on)
            .filter(path__startswith=root.path)
            .annotate(boundary=Cast("geometry", TextField()))
            .values_list(*_NODE_COLUMNS, "boundary")
        )
        geoms = _boundaries([row[-1] for row in rows])
        self.nodes = [
            _Node(**dict(zip(_NODE_COLUMNS, row[:-1], strict=True)), geom=geom)
            for row, geom in zip(rows, geoms, strict=True)
        ]
        self.by_path = {node.path: node for node in self.nodes}
        self.by_pk = {node.pk: node for node in self.nodes}
        self.root = self.by_path.get(root.path)
        self._link_parents()

    def _link_parents(self) -> None:
        steplen = Unit.steplen
        missing: dict[str, list[_Node]] = defaultdict(list)
        for node in self.nodes:
            if len(node.path) == steplen:
                continue
            parent_path = node.path[:-steplen]
            parent = self.by_path.get(parent_path)
            if parent is not None:
                node.parent = parent
                parent.children.append(node)
            else:
                missing[parent_path].append(node)
        if not missing:
            return
        # The root's own parent (and the parent of any unit whose parent is not in force) lies outside
        # the loaded set: it is needed for the code rule and for the root's outside-parent check.
        rows = list(
            Unit.objects.filter(path__in=list(missing))
            .annotate(
                is_current=Exists(Unit.objects.current(self.on).filter(pk=OuterRef("pk"))),
                boundary=Cast("geometry", TextField()),
            )
            .values_list("pk", "path", "code", "name", "level_id", "kind", "is_current", "boundary")
        )
        geoms = _boundaries([row[-1] for row in rows])
        for (pk, path, code, name, level_id, kind, is_current, _text), geom in zip(rows, geoms, strict=True):
            parent = _Node(
                pk=pk,
                path=path,
                code=code,
                name=name,
                level_id=level_id,
                kind=kind,
                geom=geom if is_current else None,
                current=is_current,
            )
            for node in missing[path]:
                node.parent = parent

    def current_parent(self, node: _Node) -> _Node | None:
        return node.parent if node.parent is not None and node.parent.current else None

    @cached_property
    def overhanging(self) -> list[tuple[_Node, _Node]]:
        """(child, parent) pairs where the child's boundary is not wholly inside its parent's."""
        pairs = [
            (node, parent)
            for node in self.nodes
            if node.geom is not None
            and (parent := self.current_parent(node)) is not None
            and parent.geom is not None
        ]
        if not pairs:
            return []
        children = np.array([node.geom for node, _ in pairs], dtype=object)
        parents = np.array([parent.geom for _, parent in pairs], dtype=object)
        # Most children lie wholly inside their parent; one vectorised test spares them the difference.
        covered = shapely.covers(parents, children)
        return [pair for pair, inside in zip(pairs, covered, strict=True) if not inside]

    @cached_property
    def overlapping_siblings(self) -> list[tuple[_Node, _Node, object]]:
        """(first, second, shared area) for sibling pairs whose interiors meet, first by path."""
        # The root's own siblings lie outside the subtree: that pair belongs to its parent's check.
        nodes = [n for n in self.nodes if n.geom is not None and n is not self.root and n.parent is not None]
        if len(nodes) < 2:
            return []
        geoms = np.array([n.geom for n in nodes], dtype=object)
        parent_ids = np.array([id(n.parent) for n in nodes])
        # One index over the subtree; bounding-box candidates are narrowed to sibling pairs with numpy
        # before any exact predicate runs, so a parent with thousands of grids never costs n² tests.
        left, right = shapely.STRtree(geoms).query(geoms)
        keep = (left < right) & (parent_ids[left] == parent_ids[right])
        left, right = left[keep], right[keep]
        # Neighbours that only share an edge intersect but do not overlap.
        keep = shapely.intersects(geoms[left], geoms[right]) & ~shapely.touches(geoms[left], geoms[right])
        left, right = left[keep], right[keep]
        shared = shapely.intersection(geoms[left], geoms[right])
        return [
            (*sorted((nodes[i], nodes[j]), key=attrgetter("path")), overlap)
            for i, j, overlap in zip(left.tolist(), right.tolist(), shared, strict=True)
        ]


def check_subtree(
    root: Unit, on: datetime.date | None = None, tolerance_m2: float | None = None
) -> list[Violation]:
    """Every violation in the subtree of `root` (root included) among the units in force on `on`.

    Overlaps, gaps and overhangs smaller than `tolerance_m2` (default: the
    WANGGE_GEOMETRY_TOLERANCE_M2 setting) are rounding, not faults. The result is sorted by kind, then
    by the unit's place in the tree.
    """
    on = on or timezone.localdate()
    tolerance = settings.WANGGE_GEOMETRY_TOLERANCE_M2 if tolerance_m2 is None else tolerance_m2
    tree = _Tree(root, on)
    if tree.root is None:  # the root itself is not in force on that date: nothing of it to check
        return []
    households = _Households(tree)
    violations = [
        *_outside_parent(tree, tolerance),
        *_sibling_overlaps(tree, tolerance),
        *_parents_not_covered(tree, tolerance),
        *_household_placement(tree, households),
        *_household_standards(tree, households),
        *_code_rule(tree),
    ]
    return sorted(violations, key=attrgetter("sort_key"))


def _violation(kind: ViolationKind, node: _Node, message: str, **extra) -> Violation:
    return Violation(
        kind=kind, unit_code=node.code, unit_name=node.name, message=message, unit_path=node.path, **extra
    )


# --- GRID-4: geometry -------------------------------------------------------------------------------


def _outside_parent(tree: _Tree, tolerance: float) -> list[Violation]:
    found = []
    for node, parent in tree.overhanging:
        area = geo.area_m2(node.geom.difference(parent.geom))
        if area > tolerance:
            found.append(
                _violation(
                    ViolationKind.OUTSIDE_PARENT,
                    node,
                    _("Reaches %(area).0f m² outside its parent %(parent)s.")
                    % {"area": area, "parent": parent.label},
                    other_code=parent.code,
                    measure=area,
                )
            )
    return found


def _sibling_overlaps(tree: _Tree, tolerance: float) -> list[Violation]:
    found = []
    for first, second, overlap in tree.overlapping_siblings:
        area = geo.area_m2(overlap)
        if area > tolerance:
            found.append(
                _violation(
                    ViolationKind.SIBLING_OVERLAP,
                    first,
                    _("Overlaps its sibling %(other)s by %(area).0f m².")
                    % {"other": second.label, "area": area},
                    other_code=second.code,
                    measure=area,
                )
            )
    return found


def _parents_not_covered(tree: _Tree, tolerance: float) -> list[Violation]:
    # When a parent's children lie inside it and do not overlap, the uncovered area is its area minus
    # theirs: plain arithmetic, which spares the union and difference of big boundaries for the many
    # parents that are fine. Only the others get the exact (and costly) geometric answer.
    irregular = {id(parent) for _child, parent in tree.overhanging}
    irregular |= {id(first.parent) for first, _second, _overlap in tree.overlapping_siblings}
    found = []
    for node in tree.nodes:
        parts = [child.geom for child in node.children if child.geom is not None]
        if node.geom is None or not parts:
            continue
        if id(node) not in irregular:
            lat = (node.geom.bounds[1] + node.geom.bounds[3]) / 2
            gap = (node.geom.area - shapely.area(parts).sum()) * geo.square_metres_per_square_degree(lat)
            if gap <= tolerance:
                continue
        gap = geo.area_m2(node.geom.difference(shapely.union_all(parts)))
        if gap > tolerance:
            whole = geo.area_m2(node.geom)
            found.append(
                _violation(
                    ViolationKind.PARENT_NOT_COVERED,
                    node,
                    _("Its current children leave %(area).0f m² (%(percent).1f%%) of its area uncovered.")
                    % {"area": gap, "percent": 100 * gap / whole if whole else 0},
                    measure=gap,
                )
            )
    return found


# --- GRID-4: households -----------------------------------------------------------------------------


class _Households:
    """The subtree's households as plain columns, each located among the current lowest grids.

    Households attached to any unit of the subtree (current or not) are read, plus those with no grid
    whose point lies inside the root's boundary. Locating is vectorised; `suspects` are the few whose
    attachment or location needs a closer look, so the per-household Python work is on them alone.
    """

    def __init__(self, tree: _Tree):
        rows = list(
            Household.objects.filter(grid__path__startswith=tree.root_path)
            .order_by()
            .values_list("pk", "number", "grid_id", "lng", "lat")
        )
        rows += self._ungridded_inside(tree.root.geom)
        self.numbers = [row[1] for row in rows]
        self.grid_ids = [row[2] for row in rows]
        self.lng = np.array([np.nan if row[3] is None else row[3] for row in rows], dtype=float)
        self.lat = np.array([np.nan if row[4] is None else row[4] for row in rows], dtype=float)
        self.has_point = ~(np.isnan(self.lng) | np.isnan(self.lat))
        self.units = dict(tree.by_pk)
        self._load_other_units()
        self._locate(tree)

    @staticmethod
    def _ungridded_inside(boundary) -> list[tuple]:
        if boundary is None:
            return []
        minx, miny, maxx, maxy = boundary.bounds
        rows = list(
            Household.objects.filter(grid__isnull=True, lng__range=(minx, maxx), lat__range=(miny, maxy))
            .order_by()
            .values_list("pk", "number", "grid_id", "lng", "lat")
        )
        if not rows:
            return []
        inside = shapely.intersects_xy(boundary, [r[3] for r in rows], [r[4] for r in rows])
        return [row for row, keep in zip(rows, inside, strict=True) if keep]

    def _load_other_units(self) -> None:
        """Retired (or not yet effective) units that households still hang on, for naming them."""
        other = {pk for pk in self.grid_ids if pk is not None and pk not in self.units}
        for row in Unit.objects.filter(pk__in=other).values("pk", "path", "code", "name", "level_id", "kind"):
            self.units[row["pk"]] = _Node(**row, current=False)

    def _locate(self, tree: _Tree) -> None:
        """Which current lowest grids cover each household's point, and which hold it in their interior.

        A point on the shared edge of two grids is covered by both but inside neither, so it is not in
        "two grids"; it counts as lying in each for the outside-its-grid rule.
        """
        count = len(self.numbers)
        lowest = {n.pk for n in tree.nodes if n.is_lowest_grid}
        located = [n for n in tree.nodes if n.pk in lowest and n.geom is not None]
        position = {n.pk: i for i, n in enumerate(located)}
        # Per household: is it attached to a lowest grid, and that grid's place in `located` (-1: none).
        attached_ok = np.array([pk in lowest for pk in self.grid_ids], dtype=bool)
        own = np.array([position.get(pk, -1) for pk in self.grid_ids], dtype=np.int64)
        hh, grid = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        inside = np.empty(0, dtype=bool)
        with_point = np.flatnonzero(self.has_point)
        if located and len(with_point):
            geoms = np.array([n.geom for n in located], dtype=object)
            points = shapely.points(self.lng[with_point], self.lat[with_point])
            point_idx, grid = shapely.STRtree(geoms).query(points, predicate="intersects")
            hh = with_point[point_idx]
            inside = shapely.contains_xy(geoms[grid], self.lng[hh], self.lat[hh])
        own_covered = np.zeros(count, dtype=bool)
        own_covered[hh[grid == own[hh]]] = True
        in_two = np.bincount(hh[inside], minlength=count) >= 2
        # Fine: attached to a lowest grid whose boundary covers the point (or that cannot be checked for
        # want of a boundary or a point), and inside no second grid.
        unchecked = (own < 0) | ~self.has_point
        self.suspects = np.flatnonzero(~attached_ok | ~(own_covered | unchecked) | in_two).tolist()
        self.covering: dict[int, list[_Node]] = defaultdict(list)
        self.interior: dict[int, list[_Node]] = defaultdict(list)
        suspect = np.zeros(count, dtype=bool)
        suspect[self.suspects] = True
        keep = suspect[hh]
        for h, g, is_inside in zip(
            hh[keep].tolist(), grid[keep].tolist(), inside[keep].tolist(), strict=True
        ):
            self.covering[h].append(located[g])
            if is_inside:
                self.interior[h].append(located[g])

    def counts_by_path(self) -> Counter:
        """Households per unit path, each counted in its unit and in every ancestor of it."""
        per_unit = Counter(pk for pk in self.grid_ids if pk is not None)
        per_path: Counter = Counter()
        for pk, count in per_unit.items():
            for prefix in Unit.path_prefixes(self.units[pk].path):
                per_path[prefix] += count
        return per_path


def _no_grid_reason(unit: _Node | None, tree: _Tree, number: str) -> str | None:
    if unit is None:
        return _("Household %(number)s has no grid, though it lies inside %(unit)s.") % {
            "number": number,
            "unit": tree.root.label,
        }
    if unit.is_lowest_grid:
        return None
    if not unit.current:
        return _("Household %(number)s is attached to %(unit)s, which is not in force on %(date)s.") % {
            "number": number,
            "unit": unit.label,
            "date": tree.on.isoformat(),
        }
    if not unit.is_grid:
        return _("Household %(number)s is attached to %(unit)s, which is not a grid.") % {
            "number": number,
            "unit": unit.label,
        }
    return _("Household %(number)s is attached to %(unit)s, which is divided into lower-level grids.") % {
        "number": number,
        "unit": unit.label,
    }


def _household_placement(tree: _Tree, households: _Households) -> list[Violation]:
    found = []
    for i in households.suspects:
        number, grid_id = households.numbers[i], households.grid_ids[i]
        unit = households.units.get(grid_id) if grid_id is not None else None
        covering = households.covering.get(i, [])
        interior = households.interior.get(i, [])
        reason = _no_grid_reason(unit, tree, number)
        if reason is not None:
            found.append(
                _violation(ViolationKind.HOUSEHOLD_NO_GRID, unit or tree.root, reason, other_code=number)
            )
        elif unit.geom is not None and households.has_point[i] and unit not in covering:
            if covering:
                other = covering[0]
                found.append(
                    _violation(
                        ViolationKind.HOUSEHOLD_OUTSIDE_GRID,
                        unit,
                        _("Household %(number)s lies outside its grid's boundary, in %(other)s.")
                        % {"number": number, "other": other.label},
                        other_code=number,
                    )
                )
            else:
                found.append(
                    _violation(
                        ViolationKind.HOUSEHOLD_NO_GRID,
                        unit,
                        _(
                            "Household %(number)s lies in no current lowest-level grid: its point "
                            "(%(lng).6f, %(lat).6f) is outside every grid boundary."
                        )
                        % {"number": number, "lng": households.lng[i], "lat": households.lat[i]},
                        other_code=number,
                    )
                )
        if len(interior) >= 2:
            owner = unit if unit in interior else interior[0]
            found.append(
                _violation(
                    ViolationKind.HOUSEHOLD_TWO_GRIDS,
                    owner,
                    _("Household %(number)s lies inside %(count)d grids at once: %(grids)s.")
                    % {
                        "number": number,
                        "count": len(interior),
                        "grids": "、".join(g.label for g in sorted(interior, key=attrgetter("path"))),
                    },
                    other_code=number,
                    measure=len(interior),
                )
            )
    return found


# --- GRID-3: household standards --------------------------------------------------------------------


def _standard_text(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return _("%(min)d–%(max)d households") % {"min": low, "max": high}
    if low is not None:
        return _("at least %(min)d households") % {"min": low}
    return _("at most %(max)d households") % {"max": high}


def _household_standards(tree: _Tree, households: _Households) -> list[Violation]:
    standards = HouseholdStandard.table()
    counts = households.counts_by_path()
    found = []
    for node in tree.nodes:
        if node.kind != UnitKind.COMPREHENSIVE:  # dedicated grids follow their site, not a standard
            continue
        applies = household_range(node, standards)
        if applies is None:
            continue
        low, high, _source = applies
        count = counts[node.path]
        if (low is not None and count < low) or (high is not None and count > high):
            found.append(
                _violation(
                    ViolationKind.HOUSEHOLD_STANDARD,
                    node,
                    _("Holds %(count)d households, outside its standard of %(standard)s.")
                    % {"count": count, "standard": _standard_text(low, high)},
                    measure=count,
                )
            )
    return found


# --- GRID-5: the code rule --------------------------------------------------------------------------


def _code_rule(tree: _Tree) -> list[Violation]:
    levels = {level.pk: level for level in UnitLevel.objects.prefetch_related("allowed_parents")}
    allowed_parents = {pk: {x.pk for x in level.allowed_parents.all()} for pk, level in levels.items()}
    found = []
    for node in tree.nodes:
        level = levels[node.level_id]
        parent = node.parent
        if not _DIGITS.fullmatch(node.code):
            found.append(
                _violation(
                    ViolationKind.CODE_RULE,
                    node,
                    _("The code %(code)s has characters other than digits.") % {"code": node.code},
                )
            )
        # Codes are stable: a unit moved to another parent keeps its code, so only the length is checked
        # against the parent, never the parent's prefix.
        length = expected_code_length(level, parent)
        if len(node.code) != length:
            found.append(
                _violation(
                    ViolationKind.CODE_RULE,
                    node,
                    _(
                        "The code %(code)s has %(actual)d digits; a %(level)s code has %(length)d "
                        "(its parent's code plus %(digits)d)."
                    )
                    % {
                        "code": node.code,
                        "actual": len(node.code),
                        "level": level.name,
                        "length": length,
                        "digits": level.code_digits,
                    },
                    other_code=parent.code if parent else None,
                    measure=len(node.code),
                )
            )
        allowed = allowed_parents[level.pk]
        allowed_names = "、".join(
            levels[pk].name for pk in sorted(allowed, key=lambda pk: levels[pk].rank)
        ) or _("none")
        if parent is None and allowed:
            found.append(
                _violation(
                    ViolationKind.CODE_RULE,
                    node,
                    _("A %(level)s must hang under: %(allowed)s, but it has no parent.")
                    % {"level": level.name, "allowed": allowed_names},
                )
            )
        elif parent is not None and parent.level_id not in allowed:
            found.append(
                _violation(
                    ViolationKind.CODE_RULE,
                    node,
                    _("A %(level)s must hang under: %(allowed)s (not under a %(parent)s).")
                    % {"level": level.name, "allowed": allowed_names, "parent": levels[parent.level_id].name},
                    other_code=parent.code,
                )
            )
    return found
