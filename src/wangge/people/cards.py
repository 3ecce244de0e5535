"""民情联系卡 (TEAM-6, INFO-4): one card per household — who serves it, how to reach them, how to report —
and the QR code, shared with the notice board, that leads to the grid's resident report page.

"我服务谁、谁服务我、服务什么": the card names the household's grid, its grid worker(s) and grid leader
with their work phones, the supervision phone, and a line on what the grid staff do.
"""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass, field

import segno
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from wangge.units.models import Unit

from .models import Post, User
from .roles import Role
from .services import LEADER_ROLES, WORKER_ROLES, supervision_phones


def report_url(request, unit: Unit) -> str:
    """The absolute address of `unit`'s resident report page, as printed and encoded in QR codes:
    under settings.WANGGE_PUBLIC_BASE_URL when set (cards are printed from an office machine but scanned
    by residents on the internet), else under the address of the request."""
    path = reverse("public:report", args=[unit.code])
    base = getattr(settings, "WANGGE_PUBLIC_BASE_URL", "").rstrip("/")
    return f"{base}{path}" if base else request.build_absolute_uri(path)


def qr_code(url: str) -> segno.QRCode:
    return segno.make(url, error="m", micro=False)


def qr_svg(url: str) -> SafeString:
    """The QR code as an inline SVG (no size: the stylesheet sizes it; no style attribute: the CSP)."""
    return mark_safe(qr_code(url).svg_inline(scale=1, border=2, omitsize=True, svgclass="qr"))


def photo_data_uri(user: User) -> str:
    """A staff photo inlined for the PDF renderer, which fetches nothing over the network."""
    if not user.photo:
        return ""
    try:
        with user.photo.open("rb") as handle:
            data = handle.read()
    except (FileNotFoundError, OSError):
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


@dataclass
class GridStaff:
    """Who serves one grid's households: its grid workers and its leader, from the nearest unit up that
    has them (a grid without its own worker is served by the one posted above it, 多格一员)."""

    workers: list[User] = field(default_factory=list)
    leaders: list[User] = field(default_factory=list)


def grid_staff(grids, on: datetime.date | None = None) -> dict[int, GridStaff]:
    """{grid id: GridStaff} for many grids, in one query."""
    on = on or timezone.localdate()
    grids = list(grids)
    prefixes = {prefix for grid in grids for prefix in Unit.path_prefixes(grid.path)}
    posts = (
        Post.objects.active(on)
        .filter(unit__path__in=prefixes, role__in=[*WORKER_ROLES, *LEADER_ROLES], user__is_active=True)
        .select_related("user", "unit")
        .order_by("unit__path", "role", "user__full_name", "id")
    )
    by_path: dict[str, list[Post]] = {}
    for post in posts:
        by_path.setdefault(post.unit.path, []).append(post)
    result = {}
    for grid in grids:
        staff = GridStaff()
        for path in reversed(Unit.path_prefixes(grid.path)):
            here = by_path.get(path, [])
            if not staff.workers:
                staff.workers = _distinct([p.user for p in here if p.role in WORKER_ROLES])
            if not staff.leaders:
                leaders = [p.user for p in here if p.role == Role.GRID_LEADER]
                deputies = [p.user for p in here if p.role == Role.DEPUTY_GRID_LEADER]
                staff.leaders = _distinct(leaders or deputies)
            if staff.workers and staff.leaders:
                break
        result[grid.pk] = staff
    return result


def _distinct(users: list[User]) -> list[User]:
    seen, kept = set(), []
    for user in users:
        if user.pk not in seen:
            seen.add(user.pk)
            kept.append(user)
    return kept


@dataclass
class Card:
    household: object
    grid: Unit
    place: str  # the grid's village and the grids between, e.g. 甲一村 · 一组 · 一格
    staff: GridStaff
    supervision_phone: str
    report_url: str
    qr: SafeString


def build_cards(request, households, on: datetime.date | None = None) -> list[Card]:
    """One card per household (with their `grid` loaded); a handful of queries for the whole batch and one
    QR code per grid."""
    households = [h for h in households if h.grid_id]
    grids = {h.grid_id: h.grid for h in households}
    prefixes = {prefix for grid in grids.values() for prefix in Unit.path_prefixes(grid.path)}
    names = dict(Unit.objects.filter(path__in=prefixes, level__rank__gte=3).values_list("path", "name"))
    staff = grid_staff(grids.values(), on)
    phones = supervision_phones(grids.values())
    urls = {pk: report_url(request, grid) for pk, grid in grids.items()}
    codes = {pk: qr_svg(url) for pk, url in urls.items()}
    cards = []
    for household in households:
        grid = grids[household.grid_id]
        place = " · ".join(names[p] for p in Unit.path_prefixes(grid.path) if p in names)
        cards.append(
            Card(
                household=household,
                grid=grid,
                place=place,
                staff=staff[grid.pk],
                supervision_phone=phones[grid.pk],
                report_url=urls[grid.pk],
                qr=codes[grid.pk],
            )
        )
    return cards
