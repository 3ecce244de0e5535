"""The demo county: a deterministic, synthetic county shaped like the policy seeds.

    generate(scale, seed, standards) -> DemoPlan     pure: geometry, codes, names, households, staff
    load(plan)                                      writes a plan with bulk inserts
    build_demo(scale, seed, stdout)                 both, in one transaction, for `wangge demo`

The same seed gives the same plan, byte for byte: all randomness comes from one `random.Random(seed)`
and one `numpy.random.Generator(seed)`, consumed in a fixed order.

Geometry is built in a local metric frame (so Voronoi cells are not stretched east–west) and turned into
WGS 84 by one affine map. Every level is a Voronoi partition of its parent clipped to the parent, so
children cover their parent exactly and never overlap; coordinates are not rounded, because rounding
the new vertices that clipping puts on a parent's edge would open slivers along it.

The load writes units, staff and households with bulk_create, computing treebeard's materialized paths
itself, and writes no change-log rows: it is a system load into an empty database, not a user's edit,
and going through `units.services` one unit at a time would make the county scale take many minutes.
"""

from __future__ import annotations

import datetime
import hashlib
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import NamedTuple

import numpy as np
import shapely
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from wangge.core.testing import PASSWORD
from wangge.ledger.models import Household
from wangge.people.models import Department, Post, User
from wangge.people.roles import Role
from wangge.units import geometry as geo
from wangge.units.choices import AreaType, UnitKind
from wangge.units.models import HouseholdStandard, Unit, UnitLevel

from . import names

COUNTY_CODE = "500229"
# Roughly where the county of that code lies (Daba Mountains); the shape itself is invented.
COUNTY_CENTRE = (108.6, 31.9)
# Boundaries and posts take effect on a fixed date so that two loads of one seed are identical.
DEMO_DATE = datetime.date(2024, 1, 1)
LEVEL_KEYS = ("county", "township", "village", "grid3", "grid4")
GRID_LEVELS = ("grid3", "grid4")

# The fixed demo logins, one per role, in the order `wangge demo-logins` lists them.
DEMO_LOGINS = (
    ("demo-admin", Role.SYSTEM_ADMIN),
    ("demo-county", Role.COUNTY_COMMAND),
    ("demo-township", Role.TOWNSHIP_ADMIN),
    ("demo-village", Role.VILLAGE_ADMIN),
    ("demo-gridleader", Role.GRID_LEADER),
    ("demo-gridworker", Role.GRID_WORKER_FULL_TIME),
    ("demo-department", Role.DEPARTMENT_USER),
)

DEPARTMENTS = (
    ("yingji", "县应急管理局"),
    ("gongan", "县公安局"),
    ("zhujian", "县住房和城乡建设局"),
    ("shengtai", "县生态环境局"),
    ("shijian", "县市场监督管理局"),
    ("minzheng", "县民政局"),
    ("weijian", "县卫生健康局"),
    ("chengguan", "县综合行政执法局"),
    ("shuili", "县水利局"),
    ("jiaotong", "县交通运输局"),
)

# The county seat's built-up area, which the 街道 covers: a few km across, however big the county.
STREET_RADIUS_M = 2_500
# Households per apartment building: 2 entrances (单元) × floors × 2 flats per landing.
ENTRANCES, FLATS_PER_LANDING = 2, 2

Standards = dict[tuple[str, str], tuple[int, int]]


class DemoError(Exception):
    """The demo cannot be built here (database not empty, level scheme missing or inconsistent)."""


@dataclass(frozen=True)
class Scale:
    """How big a county to build. Ranges are inclusive and drawn per parent."""

    townships: int
    communities: tuple[int, int]  # urban communities (社区) in the one 街道
    villages: tuple[int, int]  # villages (村) per 镇 or 乡
    grid3_rural: tuple[int, int]  # 三级网格 per village
    grid3_urban: tuple[int, int]  # comprehensive 三级网格 per community
    dedicated: tuple[int, int]  # 专属网格 per community
    # How many 四级网格 a 三级网格 splits into, by area type, as (count, weight); counts the household
    # standards cannot satisfy are dropped. Rural grid3 are mostly two 村民小组, which is what brings
    # ~1,700 grid3 to the seeds' ~150,000 households.
    grid4_rural: tuple[tuple[int, float], ...] = ((2, 0.9), (3, 0.09), (4, 0.01))
    grid4_urban: tuple[tuple[int, float], ...] = ((2, 0.2), (3, 0.5), (4, 0.3))
    xiang_share: float = 1 / 3  # share of the rural townships that are 乡 rather than 镇

    @property
    def radius_m(self) -> float:
        # ~60 km across for 36 townships; smaller counties keep townships of about the same size.
        return 30_000 * math.sqrt(self.townships / 36)


SCALES = {
    "small": Scale(
        townships=4,
        communities=(4, 4),
        villages=(4, 5),
        grid3_rural=(3, 5),
        grid3_urban=(3, 4),
        dedicated=(1, 2),
    ),
    "county": Scale(
        townships=36,
        communities=(8, 8),
        villages=(9, 12),
        grid3_rural=(4, 5),
        grid3_urban=(5, 6),
        dedicated=(1, 2),
    ),
}


# --- the plan -----------------------------------------------------------------------------------------


@dataclass
class UnitPlan:
    code: str
    name: str
    level: str
    area_type: str
    geometry: shapely.Geometry  # WGS 84
    centroid: tuple[float, float]
    kind: str = UnitKind.DIVISION
    dedicated_type: str = ""
    path: str = ""
    children: list[UnitPlan] = field(default_factory=list)

    @property
    def depth(self) -> int:
        return len(self.path) // Unit.steplen


class HouseholdPlan(NamedTuple):
    number: str
    grid: str  # code of the grid4
    address: str
    lng: float
    lat: float


class StaffPlan(NamedTuple):
    username: str
    full_name: str
    role: str
    unit: str  # unit code
    title: str
    department: str = ""  # department code, for department users
    is_superuser: bool = False


@dataclass
class DemoPlan:
    county: UnitPlan
    households: list[HouseholdPlan]
    departments: tuple[tuple[str, str], ...]
    staff: list[StaffPlan]

    def units(self) -> Iterator[UnitPlan]:
        """Every unit, depth first in code order: the order of their paths (and of their ids once loaded)."""
        stack = [self.county]
        while stack:
            unit = stack.pop()
            yield unit
            stack.extend(reversed(unit.children))

    def fingerprint(self) -> str:
        """A digest of everything the plan would write; equal digests mean identical demo data."""
        digest = hashlib.sha256()
        for u in self.units():
            fields = (u.code, u.name, u.level, u.kind, u.dedicated_type, u.area_type, u.path)
            digest.update("|".join(fields).encode())
            digest.update(shapely.to_wkb(u.geometry))
        for row in (*self.households, *self.staff, *self.departments):
            digest.update(repr(tuple(row)).encode())
        return digest.hexdigest()


# --- pure geometry ------------------------------------------------------------------------------------


def county_outline(gen: np.random.Generator, radius: float, vertices: int = 160) -> shapely.Polygon:
    """An irregular, star-shaped county boundary in metres around (0, 0): low harmonics give the lobes
    of a mountain county, high ones a ragged edge. Star-shaped with r > 0, so always a valid polygon."""
    theta = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    r = np.ones_like(theta)
    for k in range(2, 16):
        amplitude = gen.uniform(0.05, 0.2) / k
        r += amplitude * np.sin(k * theta + gen.uniform(0, 2 * np.pi))
    r = np.clip(r, 0.4, None) * radius
    return shapely.Polygon(np.column_stack([r * np.cos(theta), r * np.sin(theta)]))


def points_inside(
    area: shapely.Geometry,
    n: int,
    draw: Callable[[int], tuple[np.ndarray, np.ndarray]],
    decimals: int | None = None,
) -> np.ndarray:
    """n points strictly inside `area`, by rejection: `draw(m)` proposes m candidates at a time.

    With `decimals`, candidates are rounded before the test, so a stored (rounded) point is still inside.
    """
    shapely.prepare(area)
    found, total = [], 0
    while total < n:
        want = n - total
        xs, ys = draw(max(16, 3 * want))
        if decimals is not None:
            xs, ys = np.round(xs, decimals), np.round(ys, decimals)
        inside = shapely.contains_xy(area, xs, ys)
        chunk = np.column_stack([xs[inside], ys[inside]])[:want]
        found.append(chunk)
        total += len(chunk)
    return np.concatenate(found) if found else np.empty((0, 2))


def uniform_draw(area: shapely.Geometry, gen: np.random.Generator):
    minx, miny, maxx, maxy = area.bounds
    return lambda m: (gen.uniform(minx, maxx, m), gen.uniform(miny, maxy, m))


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Only the polygon parts of an overlay result (clipping can leave stray points or lines)."""
    if shapely.get_type_id(geom) in (3, 6):  # Polygon, MultiPolygon
        return geom
    polygons = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(polygons)


def partition(area: shapely.Geometry, n: int, gen: np.random.Generator, relax: int = 2) -> list:
    """Split `area` into n cells that cover it exactly without overlapping: a Voronoi diagram of n seeds
    inside it, clipped to it. `relax` rounds of Lloyd's algorithm even out the cell sizes."""
    if n == 1:
        return [area]
    seeds = points_inside(area, n, uniform_draw(area, gen))
    for round_ in range(relax + 1):
        diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=area)
        cells = [polygonal(c) for c in shapely.intersection(shapely.get_parts(diagram), area)]
        if len(cells) != n:  # only if two seeds coincide, which continuous sampling makes impossible
            raise DemoError(f"Voronoi partition made {len(cells)} cells from {n} seeds")
        if round_ == relax:
            return cells
        # Move each seed to its cell's centroid, or to a point inside when the centroid falls outside a
        # concave cell: a seed outside the parent could leave its cell empty after clipping.
        centroids = shapely.centroid(cells)
        inside = shapely.contains(area, centroids)
        points = np.where(inside, centroids, shapely.point_on_surface(cells))
        seeds = shapely.get_coordinates(points)
    raise AssertionError("unreachable")


class Frame:
    """An affine map from local metres around a centre to WGS 84 degrees (equirectangular)."""

    def __init__(self, lng: float, lat: float):
        self.origin = np.array([lng, lat])
        self.scale = np.array(
            [geo.METRES_PER_DEGREE_LNG_AT_EQUATOR * math.cos(math.radians(lat)), geo.METRES_PER_DEGREE_LAT]
        )

    def to_degrees(self, geoms: Sequence) -> list:
        array = np.empty(len(geoms), dtype=object)
        array[:] = list(geoms)
        return list(shapely.transform(array, lambda xy: xy / self.scale + self.origin))


# --- household counts ---------------------------------------------------------------------------------


def feasible_splits(standards: Standards, area_type: str) -> dict[int, tuple[int, int]]:
    """For each number k of grid4 in a grid3, the totals that satisfy both standards (k ≥ 2, non-empty)."""
    g3_min, g3_max = standards["grid3", area_type]
    g4_min, g4_max = standards["grid4", area_type]
    splits = {}
    for k in range(2, 10):
        low, high = max(g3_min, k * g4_min), min(g3_max, k * g4_max)
        if low <= high:
            splits[k] = (low, high)
    if not splits:
        raise DemoError(
            f"The {area_type} household standards cannot be met: no 2–9 四级网格 of {g4_min}–{g4_max} "
            f"households add up to {g3_min}–{g3_max}."
        )
    return splits


def split_total(total: int, k: int, low: int, high: int, rnd: random.Random) -> list[int]:
    """`total` split into k random parts, each within [low, high] (the caller ensures it can be)."""
    parts = [low] * k
    rest = total - k * low
    weights = [rnd.random() + 0.3 for _ in range(k)]
    for i, w in enumerate(weights):
        share = min(high - low, int(rest * w / sum(weights[i:])))
        parts[i] += share
        rest -= share
    while rest:  # whatever rounding and the caps left over, one household at a time
        i = rnd.choice([j for j in range(k) if parts[j] < high])
        parts[i] += 1
        rest -= 1
    return parts


# --- the generator ------------------------------------------------------------------------------------


class _Generator:
    def __init__(self, scale: Scale, seed: int, standards: Standards):
        self.scale = scale
        self.rnd = random.Random(seed)
        self.gen = np.random.default_rng(seed)
        self.standards = standards
        self.splits = {a: feasible_splits(standards, a) for a in (AreaType.RURAL, AreaType.URBAN)}
        self.frame = Frame(*COUNTY_CENTRE)
        self.metres: dict[str, shapely.Geometry] = {}
        self.households: list[HouseholdPlan] = []
        self.place_names: set[str] = set()

    # Children, in reading order, with codes -------------------------------------------------------

    def place(self, parent: UnitPlan | None, cells: Sequence, level: str, first: int, width: int, **kw):
        """UnitPlans for metric `cells`, ordered north→south, west→east, numbered from `first`."""
        items = []
        for metres, degrees in zip(cells, self.frame.to_degrees(cells), strict=True):
            items.append((geo.reading_order_key(*geo.centroid(degrees)), metres, degrees))
        items.sort(key=lambda item: item[0])
        units = []
        for number, (_key, metres, degrees) in enumerate(items, start=first):
            code = f"{parent.code if parent else ''}{number:0{width}d}"
            unit = UnitPlan(code, "", level, geometry=degrees, centroid=geo.centroid(degrees), **kw)
            self.metres[code] = metres
            units.append(unit)
        if parent is not None:
            parent.children.extend(units)
        return units

    def randint(self, bounds: tuple[int, int]) -> int:
        return self.rnd.randint(*bounds)

    # Levels ---------------------------------------------------------------------------------------

    def run(self) -> DemoPlan:
        outline = county_outline(self.gen, self.scale.radius_m)
        (county,) = self.place(None, [outline], "county", int(COUNTY_CODE), 6, area_type=AreaType.RURAL)
        county.name = self.rnd.choice(names.COUNTY_NAMES) + "县"
        self.county_short = county.name[:-1]
        self.townships(county, outline)
        for township in county.children:
            self.villages(township)
        assign_paths(county)
        plan = DemoPlan(county, self.households, DEPARTMENTS, [])
        plan.staff = self.staff(plan)
        return plan

    def townships(self, county: UnitPlan, outline) -> None:
        """One 街道 (the county seat: a compact town at the centre), then 镇, and 乡 in the remote rim.

        Codes follow GB/T 2260 practice: 街道 001–099, 镇 100–199, 乡 200–399.
        """
        town = county_outline(self.gen, STREET_RADIUS_M, vertices=48).intersection(outline)
        rest = outline.difference(town)
        cells = partition(rest, self.scale.townships - 1, self.gen)
        by_distance = sorted(cells, key=lambda c: shapely.distance(c.centroid, shapely.Point(0, 0)))
        n_xiang = round(len(by_distance) * self.scale.xiang_share) if len(by_distance) > 1 else 0
        zhen, xiang = by_distance[: len(by_distance) - n_xiang], by_distance[len(by_distance) - n_xiang :]
        for cells_, first, suffix, area in (
            ([town], 1, "街道", AreaType.URBAN),
            (zhen, 100, "镇", AreaType.RURAL),
            (xiang, 200, "乡", AreaType.RURAL),
        ):
            for unit in self.place(county, cells_, "township", first, 3, area_type=area):
                unit.name = names.place_name(self.rnd, self.place_names) + suffix

    def villages(self, township: UnitPlan) -> None:
        """Communities (居委会, codes 001–199) in the 街道; villages (村委会, 200–399) elsewhere."""
        urban = township.area_type == AreaType.URBAN
        count = self.randint(self.scale.communities if urban else self.scale.villages)
        cells = partition(self.metres[township.code], count, self.gen)
        first = 1 if urban else 200
        for unit in self.place(township, cells, "village", first, 3, area_type=township.area_type):
            if urban:
                fallback = lambda: names.place_name(self.rnd, self.place_names)  # noqa: E731
                unit.name = (
                    names.pick_unique(self.rnd, names.COMMUNITY_NAMES, self.place_names, fallback) + "社区"
                )
            else:
                unit.name = names.place_name(self.rnd, self.place_names) + "村"
            self.grids(township, unit)

    def grids(self, township: UnitPlan, village: UnitPlan) -> None:
        """三级网格 of the village: comprehensive ones split into 四级网格 that hold the households, and in
        urban communities a few 专属网格 (the smallest cells) with neither children nor households."""
        urban = village.area_type == AreaType.URBAN
        comprehensive = self.randint(self.scale.grid3_urban if urban else self.scale.grid3_rural)
        dedicated = self.randint(self.scale.dedicated) if urban else 0
        cells = partition(self.metres[village.code], comprehensive + dedicated, self.gen)
        grid3s = self.place(village, cells, "grid3", 1, 3, area_type=village.area_type)
        smallest = sorted(grid3s, key=lambda u: self.metres[u.code].area)[:dedicated]
        dedicated_codes = {u.code for u in smallest}
        sequence = 0
        context = {"groups": 0, "estates": set(), "address": township.name + village.name}
        for grid3 in grid3s:
            if grid3.code in dedicated_codes:
                grid3.kind = UnitKind.DEDICATED
                grid3.dedicated_type = self.rnd.choice(list(names.DEDICATED_PLACES))
                place = self.rnd.choice(names.DEDICATED_PLACES[grid3.dedicated_type])
                grid3.name = f"{self.county_short}{place}专属网格"
                continue
            sequence += 1
            grid3.kind = UnitKind.COMPREHENSIVE
            grid3.name = f"第{names.chinese_number(sequence)}网格"
            self.grid4s(grid3, context)

    def grid4s(self, grid3: UnitPlan, context: dict) -> None:
        area_type = grid3.area_type
        splits = self.splits[area_type]
        weights = dict(self.scale.grid4_urban if area_type == AreaType.URBAN else self.scale.grid4_rural)
        choices = [k for k in splits if weights.get(k)] or list(splits)
        k = self.rnd.choices(choices, weights=[weights.get(c, 1.0) for c in choices])[0]
        total = self.rnd.randint(*splits[k])
        counts = split_total(total, k, *self.standards["grid4", area_type], self.rnd)
        cells = partition(self.metres[grid3.code], k, self.gen)
        grid4s = self.place(grid3, cells, "grid4", 1, 2, area_type=area_type, kind=UnitKind.COMPREHENSIVE)
        for grid4, count in zip(grid4s, counts, strict=True):
            if area_type == AreaType.URBAN:
                estate = names.pick_unique(
                    self.rnd,
                    [a + b for a in names.ESTATE_FIRST for b in names.ESTATE_SECOND],
                    context["estates"],
                    lambda: f"{len(context['estates']) + 1}号小区",
                )
                grid4.name = estate
                self.urban_households(grid4, count, context["address"] + estate)
            else:
                context["groups"] += 1
                grid4.name = f"{context['groups']}组"
                self.rural_households(grid4, count, f"{context['address']}{grid4.name}")

    # Households -----------------------------------------------------------------------------------

    def rural_households(self, grid4: UnitPlan, count: int, prefix: str) -> None:
        """Houses cluster in one to three hamlets (村屯) rather than spreading evenly over the fields."""
        area = grid4.geometry
        hamlets = points_inside(area, self.rnd.randint(1, 3), uniform_draw(area, self.gen))
        spread = math.sqrt(area.area) / 6

        def draw(m):
            centres = hamlets[self.gen.integers(0, len(hamlets), m)]
            offsets = self.gen.normal(0, spread, (m, 2))
            return centres[:, 0] + offsets[:, 0], centres[:, 1] + offsets[:, 1]

        points = points_inside(area, count, draw, decimals=7)
        for i, (lng, lat) in enumerate(points.tolist(), start=1):
            self.households.append(
                HouseholdPlan(f"{grid4.code}{i:03d}", grid4.code, f"{prefix}{i}号", lng, lat)
            )

    def urban_households(self, grid4: UnitPlan, count: int, prefix: str) -> None:
        """Flats in apartment buildings: every household of a building shares the building's point."""
        floors = self.rnd.choice((6, 6, 11, 18))
        per_building = ENTRANCES * floors * FLATS_PER_LANDING
        buildings = -(-count // per_building)
        points = points_inside(grid4.geometry, buildings, uniform_draw(grid4.geometry, self.gen), decimals=7)
        for i in range(count):
            building, flat = divmod(i, per_building)
            entrance, flat = divmod(flat, floors * FLATS_PER_LANDING)
            floor, door = divmod(flat, FLATS_PER_LANDING)
            lng, lat = points[building].tolist()
            address = f"{prefix}{building + 1}栋{entrance + 1}单元{floor + 1}{door + 1:02d}"
            self.households.append(HouseholdPlan(f"{grid4.code}{i + 1:03d}", grid4.code, address, lng, lat))

    # Staff ----------------------------------------------------------------------------------------

    def staff(self, plan: DemoPlan) -> list[StaffPlan]:
        """A post at every unit; the demo logins are the first holder of each role in the 街道."""
        county = plan.county
        township = county.children[0]  # the 街道, code 001
        village = township.children[0]
        grid3 = next(g for g in village.children if g.kind == UnitKind.COMPREHENSIVE)
        demo = {township.code: "demo-township", village.code: "demo-village"}
        demo |= {grid3.code: "demo-gridleader", grid3.children[0].code: "demo-gridworker"}
        person = lambda: names.person_name(self.rnd)  # noqa: E731
        staff = [
            StaffPlan(
                "demo-admin", person(), Role.SYSTEM_ADMIN, county.code, "系统管理员", is_superuser=True
            ),
            StaffPlan("demo-county", person(), Role.COUNTY_COMMAND, county.code, "指挥中心值班长"),
        ]
        for i, (code, _name) in enumerate(plan.departments):
            username = "demo-department" if i == 0 else f"dept-{code}"
            staff.append(
                StaffPlan(username, person(), Role.DEPARTMENT_USER, county.code, "网格事件联络员", code)
            )
        for unit in plan.units():
            if unit.level == "township":
                role, title, prefix = Role.TOWNSHIP_ADMIN, "平安办主任", "ta"
            elif unit.level == "village":
                role, title, prefix = Role.VILLAGE_ADMIN, "党组织书记（二级网格长）", "va"
            elif unit.level == "grid3":
                title = "专属网格长" if unit.kind == UnitKind.DEDICATED else "三级网格长"
                role, prefix = Role.GRID_LEADER, "gl"
            elif unit.level == "grid4" and unit.area_type == AreaType.URBAN:
                role, title, prefix = Role.GRID_WORKER_FULL_TIME, "专职网格员", "gw"
            elif unit.level == "grid4":
                role, title, prefix = Role.GRID_WORKER_PART_TIME, "兼职网格员（村民小组长）", "gw"
            else:
                continue
            username = demo.get(unit.code, f"{prefix}-{unit.code}")
            staff.append(StaffPlan(username, person(), role, unit.code, title))
        return staff


def assign_paths(root: UnitPlan) -> None:
    """treebeard paths: children numbered 1, 2 … in code order, so path order is code order."""
    root.path = Unit._get_path("", 1, 1)
    stack = [root]
    while stack:
        unit = stack.pop()
        for position, child in enumerate(unit.children, start=1):
            child.path = Unit._get_path(unit.path, unit.depth + 1, position)
            stack.append(child)


def generate(scale: Scale, seed: int, standards: Standards) -> DemoPlan:
    """The whole demo county as data, without touching the database."""
    return _Generator(scale, seed, standards).run()


# --- loading ------------------------------------------------------------------------------------------


def read_standards() -> Standards:
    standards = {
        (s.level.key, s.area_type): (s.min_households, s.max_households)
        for s in HouseholdStandard.objects.select_related("level")
    }
    missing = [
        f"{level} {area}"
        for level in GRID_LEVELS
        for area in AreaType.values
        if (level, area) not in standards
    ]
    if missing:
        raise DemoError(f"Household standards are missing for: {', '.join(missing)}.")
    return standards


def read_levels() -> dict[str, UnitLevel]:
    levels = {level.key: level for level in UnitLevel.objects.filter(key__in=LEVEL_KEYS)}
    if missing := [key for key in LEVEL_KEYS if key not in levels]:
        raise DemoError(
            f"The demo needs the default level scheme; levels missing: {', '.join(missing)}. Run `wangge migrate`."
        )
    return levels


def batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def load(plan: DemoPlan, levels: dict[str, UnitLevel], batch_size: int = 2000) -> dict[str, int]:
    """Write a plan into an empty database with bulk inserts; returns row counts. Call inside a
    transaction. Units go in depth first, so each subtree's ids are one contiguous range."""
    Unit.objects.bulk_create(
        (
            Unit(
                path=u.path,
                depth=u.depth,
                numchild=len(u.children),
                name=u.name,
                code=u.code,
                level=levels[u.level],
                kind=u.kind,
                dedicated_type=u.dedicated_type,
                area_type=u.area_type,
                geometry=geo.to_geojson(u.geometry),
                centroid_lng=u.centroid[0],
                centroid_lat=u.centroid[1],
                effective_from=DEMO_DATE,
            )
            for u in plan.units()
        ),
        batch_size=batch_size,
    )
    unit_ids = dict(Unit.objects.values_list("code", "pk"))
    county_id = unit_ids[plan.county.code]
    Department.objects.bulk_create(
        Department(code=code, name=name, unit_id=county_id) for code, name in plan.departments
    )
    department_ids = dict(Department.objects.values_list("code", "pk"))
    # One hash for every account: hashing is deliberately slow, and thousands of demo users share one
    # known password anyway.
    password = make_password(PASSWORD)
    for batch in batched(plan.staff, batch_size):
        User.objects.bulk_create(
            User(
                username=s.username,
                full_name=s.full_name,
                password=password,
                is_superuser=s.is_superuser,
                is_staff=s.is_superuser,
            )
            for s in batch
        )
    user_ids = dict(
        User.objects.filter(username__in=[s.username for s in plan.staff]).values_list("username", "pk")
    )
    for batch in batched(plan.staff, batch_size):
        Post.objects.bulk_create(
            Post(
                user_id=user_ids[s.username],
                unit_id=unit_ids[s.unit],
                role=s.role,
                title=s.title,
                department_id=department_ids.get(s.department),
                start_date=DEMO_DATE,
            )
            for s in batch
        )
    for batch in batched(plan.households, batch_size * 5):
        Household.objects.bulk_create(
            Household(number=h.number, grid_id=unit_ids[h.grid], address=h.address, lng=h.lng, lat=h.lat)
            for h in batch
        )
    return {
        "units": len(unit_ids),
        "departments": len(department_ids),
        "users": len(user_ids),
        "posts": len(plan.staff),
        "households": len(plan.households),
    }


def analyze(*models) -> None:
    """Refresh the planner's statistics after a bulk load. Without them PostgreSQL plans a subtree count
    for the empty tables it last saw (a sequential scan of every household), and SQLite never gathers
    any on its own."""
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


@dataclass
class DemoSummary:
    county: UnitPlan
    counts: dict[str, int]
    by_level: dict[str, int]
    generate_seconds: float
    load_seconds: float

    def lines(self) -> list[str]:
        levels = ", ".join(f"{n} {key}" for key, n in self.by_level.items())
        return [
            f"Built the demo county {self.county.name} ({self.county.code}): {levels}; "
            f"{self.counts['households']} households, {self.counts['users']} users, "
            f"{self.counts['departments']} departments.",
            f"Generated in {self.generate_seconds:.1f} s, loaded in {self.load_seconds:.1f} s.",
        ]


def build_demo(scale: str, seed: int, stdout=None) -> DemoSummary:
    """Generate and load the demo county into an empty database, in one transaction."""
    if scale not in SCALES:
        raise DemoError(f"Unknown scale {scale!r}; choose one of: {', '.join(SCALES)}.")
    levels = read_levels()
    standards = read_standards()
    if Unit.objects.exists():
        raise DemoError("The database already holds units; the demo county loads only into an empty one.")
    started = time.perf_counter()
    plan = generate(SCALES[scale], seed, standards)
    generated = time.perf_counter()
    with transaction.atomic():
        counts = load(plan, levels)
        analyze(Unit, Department, User, Post, Household)
        loaded = time.perf_counter()
        from .ledger import build_ledger  # the people, places and organisations of the county just loaded

        ledger = build_ledger(plan, seed)
        from .cases import build_case_history  # a year of cases in the county just loaded

        history = build_case_history(scale, seed)
        # AB pairs, absences, duties, reserves: today's staffing, set up after the history, whose
        # notifications went out before anyone was away.
        from wangge.people.demo import build_cover_demo

        today = timezone.localdate()
        cover = build_cover_demo(seed, today)
        from wangge.cases.admission_demo import build_admission_demo
        from wangge.meetings.demo import build_meetings_demo

        admission = build_admission_demo(seed, today)  # the county's list admits what history dispatched
        meetings = build_meetings_demo(seed, today)
        from wangge.teams.demo import build_staffing_demo  # agreements, badges, training, flags

        staffing = build_staffing_demo(seed, today)
        from .fieldwork import build_field_work  # a year of logs, visits, patrols and publicity

        field_work = build_field_work(seed)
        # Appraisal and incentives read the year of cases, field work and staff built above.
        from wangge.appraisal.demo import build_appraisal_demo

        appraisal = build_appraisal_demo(seed, today)
        from wangge.ratings.demo import build_ratings_demo

        ratings = build_ratings_demo(seed, today)
        from wangge.payroll.demo import build_payroll_demo  # this year's pay sheets, from the posts and cases

        payroll = build_payroll_demo(seed, today)
        from wangge.points.demo import build_points_demo  # a year of residents' points and the shops

        points = build_points_demo(seed, today)
        # Last: last year's 不合格 people are dismissed, which ends their grid posts.
        from wangge.annual.demo import build_annual_demo

        annual = build_annual_demo(seed, today)
        # The command centre reads past days from the rollup: build it over the whole history just made.
        from wangge.dashboard.rollup import refresh

        rollup_cells = refresh(full=True)
    by_level = dict.fromkeys(LEVEL_KEYS, 0)
    for unit in plan.units():
        by_level[unit.level] += 1
    summary = DemoSummary(plan.county, counts, by_level, generated - started, loaded - generated)
    if stdout is not None:
        teams = [
            f"{title}: " + ", ".join(f"{count} {name}" for name, count in figures.items())
            for title, figures in (
                ("Staff", {**cover, **staffing}),
                ("Meetings", meetings),
                ("Admission list", admission),
                ("Appraisal", appraisal),
                ("Ratings", ratings),
                ("Pay", payroll),
                ("Resident points", points),
                ("Annual appraisal", annual),
                ("Command centre", {"daily rollup cells": rollup_cells or 0}),
            )
        ]
        for line in summary.lines() + ledger.lines() + history.lines() + teams + field_work.lines():
            stdout.write(line)
    return summary
