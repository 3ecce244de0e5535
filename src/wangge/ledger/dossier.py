"""一格一档: what a unit's dossier shows, computed in a fixed number of queries (INFO-2, INFO-4, GRID-8…10).

`build_dossier(unit, user)` is the one source of the dossier's figures: the page, its PDF and the bench
call it. The number of queries does not depend on how many households, residents or grids lie below the
unit: every figure is an aggregate or a grouped count, and every list is capped.

Rules it follows:
- Every ledger and case query passes through `visible_to(user)`. Rows "below the unit" are matched with
  `grid__in=<the units of the subtree>` (one subquery on the path index, then the foreign-key indexes).
- Dual-grid membership (GRID-8) is defined once, in filters (`household_membership`,
  `resident_membership`), and the lists' `membership` filter uses the same conditions: every figure that
  links to a list links with the filter that gives the same count. A resident belongs to the unit's
  dossier when they live in the subtree or are registered there; day-to-day figures (residents living
  here, party members) follow residence, and people away from home (户在人不在) do not live here: they
  count with those registered here and living elsewhere. A person's own grid of registration wins over
  the household's.
- "我服务谁、谁服务我" (INFO-4) looks upwards: the staff of the unit and of the levels above it up to the
  village, with their work phones (published on the notice board), and the service stations sited there.
- Review (核查, INFO-2): the share of the active households living here whose record was reviewed or
  changed within WANGGE_REVIEW_MONTHS, beside the overdue ones; both link to the household list's
  `review` filter, which uses the same conditions (filters.household_review).
- Names only: no ID number and no resident's phone appears in a dossier.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from wangge.cases.choices import CaseState
from wangge.cases.models import Case
from wangge.core.scope import minimal_prefixes, scope_for
from wangge.people.models import Post
from wangge.people.roles import GRID_ROLES, Role
from wangge.units.models import Unit

from . import services
from .choices import (
    PARTY_ORGANISATION_KINDS,
    PARTY_STATUSES,
    HouseholdStatus,
    OrganisationKind,
    PlaceKind,
    Relation,
    ResidenceType,
    ResidentStatus,
)
from .filters import (
    MEMBERSHIP_ANY,
    MEMBERSHIP_LIVING,
    MEMBERSHIP_REGISTERED,
    REVIEW_CURRENT,
    REVIEW_OVERDUE,
    household_membership,
    household_review,
    resident_membership,
    resident_registered_in,
)
from .models import Household, Organisation, Place, Resident

VILLAGE_RANK = 3  # 村/社区 in every scheme: the staff and stations of the levels above it are not the grid's
HOUSEHOLD_LIMIT = 100  # households listed on a grid's dossier; the full list is one link away
AWAY_LIMIT = 50  # residents registered here but living elsewhere, listed on a grid's dossier
RECENT_CASES = 10
CASE_PERIOD_DAYS = 365
# Residence types of people who live in their household (户在人不在 are registered there, living away).
AT_HOME = [value for value in ResidenceType.values if value != ResidenceType.ABROAD]
# Roles that are not "who serves the grid": the technical administrator and department desks.
NOT_SERVING_ROLES = (Role.SYSTEM_ADMIN, Role.DEPARTMENT_USER)


@dataclass
class Figure:
    """One labelled figure of a grouped count (a tag, a kind, a case status …)."""

    key: str
    label: str
    count: int
    group: str = ""  # a tag's TagGroup value


@dataclass
class StaffMember:
    post: Post
    households: int | None = None  # grid roles only: the active households under all their grid posts


@dataclass
class ChildUnit:
    unit: Unit
    households: int = 0
    residents: int = 0


@dataclass
class Dossier:
    unit: Unit
    ancestors: list[tuple[Unit, bool]]  # from the root down, with whether the user may open each
    generated_at: datetime.datetime
    is_leaf: bool
    households: dict[str, int]
    residents: dict[str, int]
    residence_types: list[Figure]
    tags: list[Figure]
    party_organisations: list[Organisation]
    places_by_kind: list[Figure]
    service_stations: list[Place]
    organisations_by_kind: list[Figure]
    staff: list[StaffMember]
    recent_cases: list[Case]
    case_counts: list[Figure]
    children: list[ChildUnit] = field(default_factory=list)
    household_rows: list[Household] = field(default_factory=list)
    away_residents: list[Resident] = field(default_factory=list)
    review_months: int = 12
    review_cutoff: datetime.datetime | None = None  # reviews at or after it are within the period

    @property
    def reviewed_percent(self) -> int | None:
        """The share of the active households living here reviewed within the period, in whole percent
        (rounded down, so 100 means every one); None without households."""
        active = self.households["active"]
        return self.households["reviewed"] * 100 // active if active else None

    @property
    def case_total(self) -> int:
        return sum(c.count for c in self.case_counts)

    @property
    def households_truncated(self) -> bool:
        return self.is_leaf and len(self.household_rows) < self.households["active"]

    @property
    def away_truncated(self) -> bool:
        return self.is_leaf and len(self.away_residents) < self.residents["registered_away"]


def ledger_covers(user, path: str) -> bool:
    """Whether the user's ledger scope (territorial posts) holds the unit at `path`: its pages may be linked."""
    scope = scope_for(user)
    return scope.is_global or any(path.startswith(p) for p in scope.territorial_paths)


def subtree_ids(unit: Unit):
    """The units of the subtree (retired versions too) as a subquery for `…__in`."""
    return Unit.objects.filter(path__startswith=unit.path).values("pk")


def build_dossier(
    unit: Unit, user, *, household_limit: int = HOUSEHOLD_LIMIT, now: datetime.datetime | None = None
) -> Dossier:
    """Everything the dossier of `unit` shows to `user`. The unit must be one the user may see."""
    now = now or timezone.now()
    sub = subtree_ids(unit)
    ancestors = list(unit.ancestors())
    scope = scope_for(user)
    children = list(unit.children().current().select_related("level").order_by("code"))
    is_leaf = not children
    cutoff = services.review_cutoff(now)
    households = household_figures(user, sub, cutoff)
    residents = resident_figures(user, sub)
    dossier = Dossier(
        unit=unit,
        ancestors=[(a, scope.covers_path(a.path)) for a in ancestors],
        generated_at=now,
        is_leaf=is_leaf,
        households=households,
        residents=residents,
        residence_types=[
            Figure(value, label, residents[f"type_{value}"])
            for value, label in ResidenceType.choices
            if residents[f"type_{value}"]
        ],
        tags=tag_counts(user, sub),
        party_organisations=party_organisations(user, sub),
        places_by_kind=grouped_kinds(Place.objects.visible_to(user).filter(unit__in=sub), PlaceKind),
        service_stations=service_stations(user, unit, sub, ancestors),
        organisations_by_kind=grouped_kinds(
            Organisation.objects.visible_to(user).filter(unit__in=sub), OrganisationKind
        ),
        staff=staff(unit, ancestors),
        recent_cases=list(
            Case.objects.visible_to(user)
            .filter(unit__in=sub)
            .select_related("category", "unit", "owner_unit")
            .order_by("-created_at", "-id")[:RECENT_CASES]
        ),
        case_counts=case_counts(user, sub, now),
        review_months=settings.WANGGE_REVIEW_MONTHS,
        review_cutoff=cutoff,
    )
    if children:
        dossier.children = child_counts(user, unit, children)
    else:
        dossier.household_rows = household_rows(user, sub, household_limit)
        dossier.away_residents = away_residents(user, sub)
    return dossier


# --- households and residents -----------------------------------------------------------------------


def household_figures(user, sub, cutoff: datetime.datetime | None = None) -> dict[str, int]:
    """Active households living here (and rented out, reviewed within the period or overdue), closed ones,
    and those registered here and living elsewhere: the counts of the household list with `membership`
    living / registered and `review` current / overdue."""
    membership = household_membership(sub)
    here = membership[MEMBERSHIP_LIVING]
    active = Q(status=HouseholdStatus.ACTIVE)
    review = household_review(cutoff or services.review_cutoff())
    return (
        Household.objects.visible_to(user)
        .filter(membership[MEMBERSHIP_ANY])
        .aggregate(
            active=Count("pk", filter=here & active),
            rented=Count("pk", filter=here & active & Q(is_rental=True)),
            reviewed=Count("pk", filter=here & active & review[REVIEW_CURRENT]),
            review_overdue=Count("pk", filter=here & active & review[REVIEW_OVERDUE]),
            closed=Count("pk", filter=here & ~active),
            registered_away=Count("pk", filter=membership[MEMBERSHIP_REGISTERED] & active),
        )
    )


def _membership(sub) -> tuple[Q, Q, Q]:
    """(living here, registered here and living elsewhere, belonging here) for residents: GRID-8's dual
    membership, as the resident list's `membership` filter has it.

    "Belonging" says the same as the filter's "any" in a form the database can answer from the
    foreign-key indexes (the households of the subtree, then their members), instead of reading every
    resident of the county to compare the grids of their households."""
    membership = resident_membership(sub)
    households = Household.objects.filter(Q(grid__in=sub) | Q(registered_grid__in=sub)).values("pk")
    return (
        membership[MEMBERSHIP_LIVING],
        membership[MEMBERSHIP_REGISTERED],
        Q(household__in=households) | Q(registered_grid__in=sub),
    )


def resident_figures(user, sub) -> dict[str, int]:
    living, registered_away, belonging = _membership(sub)
    # Living here and registered in another grid, or outside the county (floating, 人户分离 without a grid).
    elsewhere = living & ~resident_registered_in(sub)
    party = Q(political_status__in=PARTY_STATUSES)
    figures = {
        "belonging": Count("pk"),
        "living": Count("pk", filter=living),
        "registered_away": Count("pk", filter=registered_away),
        "registered_elsewhere": Count("pk", filter=elsewhere),
        "party_members": Count("pk", filter=living & party),
        "party_unaffiliated": Count("pk", filter=living & party & Q(party_organisation__isnull=True)),
    }
    for value in ResidenceType.values:
        figures[f"type_{value}"] = Count("pk", filter=living & Q(residence_type=value))
    return (
        Resident.objects.visible_to(user)
        .filter(belonging, status=ResidentStatus.PRESENT)
        .aggregate(**figures)
    )


def _members(user, sub):
    """The residents on the register who belong to the subtree (live or are registered there)."""
    return (
        Resident.objects.visible_to(user)
        .filter(_membership(sub)[2], status=ResidentStatus.PRESENT)
        .values("pk")
    )


def tag_counts(user, sub) -> list[Figure]:
    """Residents per attention tag, in the tags' own order; tags nobody here carries are left out."""
    rows = (
        Resident.tags.through.objects.filter(resident__in=_members(user, sub))
        .values("attentiontag__code", "attentiontag__name", "attentiontag__group", "attentiontag__sort_order")
        .annotate(n=Count("pk"))
        .order_by("attentiontag__sort_order", "attentiontag__code")
    )
    return [
        Figure(row["attentiontag__code"], row["attentiontag__name"], row["n"], row["attentiontag__group"])
        for row in rows
    ]


def household_rows(user, sub, limit: int) -> list[Household]:
    """A grid's active households with their householder's name and how many members are on the register."""
    head = Resident.objects.filter(
        household=OuterRef("pk"), relation=Relation.HEAD, status=ResidentStatus.PRESENT
    ).values("name")[:1]
    return list(
        Household.objects.visible_to(user)
        .filter(grid__in=sub, status=HouseholdStatus.ACTIVE)
        .defer("landlord_phone")
        .annotate(
            member_count=Count("members", filter=Q(members__status=ResidentStatus.PRESENT)),
            head_name=Subquery(head),
        )
        .order_by("number")[:limit]
    )


def away_residents(user, sub) -> list[Resident]:
    """Residents registered in a grid of the subtree but living elsewhere (GRID-8), names only."""
    registered_away = _membership(sub)[1]
    return list(
        Resident.objects.visible_to(user)
        .filter(registered_away, status=ResidentStatus.PRESENT)
        .select_related("household__grid")
        .defer("id_number", "phone", "household__landlord_phone")
        .order_by("household__number", "pk")[:AWAY_LIMIT]
    )


def child_counts(user, unit: Unit, children: list[Unit]) -> list[ChildUnit]:
    """Active households and residents living below each child, from one query grouped by grid. People
    away from home (户在人不在) do not live there."""
    rows = (
        Household.objects.visible_to(user)
        .filter(grid__path__startswith=unit.path, grid__depth__gt=unit.depth, status=HouseholdStatus.ACTIVE)
        .values_list("grid__path")
        .annotate(
            households=Count("pk", distinct=True),
            residents=Count(
                "members",
                filter=Q(members__status=ResidentStatus.PRESENT, members__residence_type__in=AT_HOME),
            ),
        )
        .order_by()
    )
    prefix_length = len(unit.path) + Unit.steplen
    totals: dict[str, list[int]] = {}
    for path, n_households, n_residents in rows:
        total = totals.setdefault(path[:prefix_length], [0, 0])
        total[0] += n_households
        total[1] += n_residents
    return [ChildUnit(child, *totals.get(child.path, (0, 0))) for child in children]


@dataclass
class ReviewShare:
    """Active households living in a unit's subtree and how many were reviewed within the period."""

    unit: Unit
    households: int = 0
    reviewed: int = 0

    @property
    def overdue(self) -> int:
        return self.households - self.reviewed

    @property
    def percent(self) -> int | None:
        """Whole percent, rounded down (100 means every one); None without households."""
        return self.reviewed * 100 // self.households if self.households else None


def review_by_child(
    user, unit: Unit, children: list[Unit], cutoff: datetime.datetime
) -> tuple[ReviewShare, list[ReviewShare]]:
    """Checked level by level (逐级核查, INFO-5): the review share of the unit and of each child, from one query grouped by grid, so
    a township sees which villages lag. Each figure is the household list's count with `unit`=<code>,
    `membership=living` and `review=overdue` (the overdue ones) for the same user."""
    rows = (
        Household.objects.visible_to(user)
        .filter(grid__path__startswith=unit.path, status=HouseholdStatus.ACTIVE)
        .values_list("grid__path")
        .annotate(n=Count("pk"), reviewed=Count("pk", filter=household_review(cutoff)[REVIEW_CURRENT]))
        .order_by()
    )
    total = ReviewShare(unit)
    shares = {child.path: ReviewShare(child) for child in children}
    prefix_length = len(unit.path) + Unit.steplen
    for path, n, reviewed in rows:
        total.households += n
        total.reviewed += reviewed
        share = shares.get(path[:prefix_length])
        if share is not None:
            share.households += n
            share.reviewed += reviewed
    return total, [shares[child.path] for child in children]


# --- party, places, organisations ---------------------------------------------------------------------


def party_organisations(user, sub) -> list[Organisation]:
    """Party branches and groups in the subtree with the party members living here linked to each (GRID-9)."""
    living = Q(
        party_members__household__grid__in=sub,
        party_members__status=ResidentStatus.PRESENT,
        party_members__residence_type__in=AT_HOME,
    )
    return list(
        Organisation.objects.visible_to(user)
        .filter(unit__in=sub, kind__in=PARTY_ORGANISATION_KINDS)
        .select_related("unit")
        .annotate(
            linked_members=Count(
                "party_members", filter=Q(party_members__status=ResidentStatus.PRESENT), distinct=True
            ),
            members_here=Count("party_members", filter=living, distinct=True),
        )
        .order_by("unit__path", "kind", "name")
    )


def grouped_kinds(queryset, kinds) -> list[Figure]:
    """Rows per kind, in the order of the kinds' vocabulary."""
    counts = dict(queryset.values_list("kind").annotate(n=Count("pk")).order_by())
    return [Figure(value, label, counts[value]) for value, label in kinds.choices if counts.get(value)]


def service_stations(user, unit: Unit, sub, ancestors: list[Unit]) -> list[Place]:
    """党群服务站 in the subtree, and those of the levels above up to the village that serve it (GRID-10).

    The stations above are shown like the staff above: a station's name, address and duty phone are
    published for the people it serves."""
    serving = [a.path for a in ancestors if a.level.rank >= VILLAGE_RANK]
    return list(
        Place.objects.filter(kind=PlaceKind.SERVICE_STATION)
        .filter(
            Q(pk__in=Place.objects.visible_to(user).filter(unit__in=sub).values("pk"))
            | Q(unit__path__in=serving)
        )
        .select_related("unit")
        .order_by("unit__path", "name")
    )


# --- staff: who serves the unit -------------------------------------------------------------------


def staff(unit: Unit, ancestors: list[Unit]) -> list[StaffMember]:
    """The active posts of the unit and of its ancestors up to the village, nearest first (INFO-4).

    For a grid, each grid-role post also carries how many active households its holder serves: those
    under all their grid posts (多格一员), a workload figure like the household counts of the unit pages."""
    chain = [unit.path, *(a.path for a in reversed(ancestors) if a.level.rank >= VILLAGE_RANK)]
    posts = list(
        Post.objects.active()
        .filter(unit__path__in=chain)
        .exclude(role__in=NOT_SERVING_ROLES)
        .select_related("user", "unit")
        .order_by("-unit__depth", "role", "id")
    )
    members = [StaffMember(post) for post in posts]
    grid_workers = {post.user_id for post in posts if post.role in GRID_ROLES}
    if not unit.is_grid or not grid_workers:
        return members
    served = households_served(grid_workers)
    for member in members:
        if member.post.role in GRID_ROLES:
            member.households = served.get(member.post.user_id, 0)
    return members


def households_served(user_ids: set[int]) -> dict[int, int]:
    """Active households under each user's grid posts: one query for the posts, one grouped count."""
    prefixes: dict[int, list[str]] = {}
    for user_id, path in (
        Post.objects.active()
        .filter(user_id__in=user_ids, role__in=GRID_ROLES)
        .values_list("user_id", "unit__path")
    ):
        prefixes.setdefault(user_id, []).append(path)
    roots = minimal_prefixes(p for paths in prefixes.values() for p in paths)
    if not roots:
        return {}
    condition = Q()
    for root in roots:
        condition |= Q(grid__path__startswith=root)
    rows = (
        Household.objects.filter(condition, status=HouseholdStatus.ACTIVE)
        .values_list("grid__path")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_grid = list(rows)
    served = {}
    for user_id, paths in prefixes.items():
        own = minimal_prefixes(paths)
        served[user_id] = sum(n for path, n in by_grid if any(path.startswith(p) for p in own))
    return served


# --- cases ------------------------------------------------------------------------------------------


def case_counts(user, sub, now: datetime.datetime) -> list[Figure]:
    """Cases reported in the last twelve months by status, in the order of the loop."""
    since = now - datetime.timedelta(days=CASE_PERIOD_DAYS)
    counts = dict(
        Case.objects.visible_to(user)
        .filter(unit__in=sub, created_at__gte=since)
        .values_list("state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [Figure(value, label, counts[value]) for value, label in CaseState.choices if counts.get(value)]
