"""The one scoping rule: what a user may see is the subtrees below the units of their active posts.

Every query that returns data to a user goes through `ScopedQuerySet.visible_to(user)`, which calls
`Scope.filter()` here; the UI, the API, exports and the admin all use it. An object outside the scope is
answered with 404, the same as a missing one (see `get_visible_or_404`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import NamedTuple

from django.db import models
from django.db.models import Q
from django.http import Http404


class Covering(NamedTuple):
    """One A post a user covers today (AB岗, TEAM-3): its holder is away and this user is the B."""

    post_id: int
    role: str
    path: str
    unit_name: str
    absent_name: str
    until: datetime.date


@dataclass(frozen=True)
class Scope:
    """The unit subtrees one user may see, as materialized-path prefixes."""

    paths: tuple[str, ...] = ()
    is_global: bool = False
    roles: frozenset[str] = field(default_factory=frozenset)
    # Departments the user works for, and the subtrees of their posts that are not department posts:
    # a department user sees the cases assigned to the department, not every case under its unit.
    department_ids: frozenset[int] = field(default_factory=frozenset)
    territorial_paths: tuple[str, ...] = ()
    # (role, unit path) of every active post: a right reaches only the subtrees of the posts whose role
    # grants it, not every subtree the user sees through some other post.
    posts: tuple[tuple[str, str], ...] = ()
    # The A posts the user covers today as their B (AB岗): their (role, path) are in `posts` and their
    # paths in `paths` and `territorial_paths`, for the days of the absence only.
    covering: tuple[Covering, ...] = ()

    def paths_for(self, capability: str) -> tuple[str, ...]:
        """The subtrees where `capability` holds: those of the posts whose role grants it."""
        from wangge.people.roles import ROLE_CAPABILITIES

        return minimal_prefixes(
            path for role, path in self.posts if capability in ROLE_CAPABILITIES.get(role, frozenset())
        )

    def grants(self, capability: str, path: str) -> bool:
        """Whether `capability` holds at the unit of `path`: globally, or through a post at it or above it
        whose role grants it."""
        return self.is_global or any(path.startswith(prefix) for prefix in self.paths_for(capability))

    @property
    def is_empty(self) -> bool:
        return not self.is_global and not self.paths

    def covers_path(self, path: str) -> bool:
        return self.is_global or any(path.startswith(prefix) for prefix in self.paths)

    def filter(self, queryset: models.QuerySet, path_lookup: str) -> models.QuerySet:
        """Restrict `queryset` to rows whose unit path (reached by `path_lookup`) lies in the scope."""
        if self.is_global:
            return queryset
        if not self.paths:
            return queryset.none()
        return queryset.filter(self.path_q(path_lookup))

    def path_q(self, path_lookup: str, paths: tuple[str, ...] | None = None) -> Q:
        """A condition matching rows under any of `paths` (default: all the scope's subtrees)."""
        paths = self.paths if paths is None else paths
        if not paths:
            return Q(pk__in=[])
        return reduce(or_, (Q(**{f"{path_lookup}__startswith": p}) for p in paths))


def minimal_prefixes(paths) -> tuple[str, ...]:
    """Drop every path that lies below another one: a post in a village and one in its grid is one subtree."""
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not kept or not path.startswith(kept[-1]):
            kept.append(path)
    return tuple(kept)


def scope_for(user) -> Scope:
    """The user's scope, computed once per user object (one request) from their active posts."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Scope()
    cached = getattr(user, "_wangge_scope", None)
    if cached is not None:
        return cached
    from wangge.people.roles import GLOBAL_ROLES, Role

    posts, covering = _posts_and_covering(user)
    roles = frozenset(role for role, _, _ in posts)
    # Only a holder of a territorial post covers (the AB pair's rule). A covered post opens its subtree
    # and lends its role there only: `roles` (what the user may do anywhere) stays that of their own posts.
    if not any(role != Role.DEPARTMENT_USER for role in roles):
        covering = ()
    posts += [(c.role, c.path, None) for c in covering]
    scope = Scope(
        paths=minimal_prefixes(path for _, path, _ in posts),
        is_global=user.is_superuser or bool(roles & GLOBAL_ROLES),
        roles=roles,
        department_ids=frozenset(dept for _, _, dept in posts if dept),
        territorial_paths=minimal_prefixes(path for role, path, _ in posts if role != Role.DEPARTMENT_USER),
        posts=tuple((role, path) for role, path, _ in posts),
        covering=covering,
    )
    user._wangge_scope = scope
    return scope


def _posts_and_covering(user) -> tuple[list[tuple[str, str, int | None]], tuple[Covering, ...]]:
    """The user's active posts as (role, unit path, department id), and the A posts they cover today as
    the B of an absent colleague (AB岗) — both in one query (a UNION), so covering costs no extra query."""
    from django.utils import timezone

    from wangge.people.models import Absence, Post  # the people app depends on core, not the reverse

    today = timezone.localdate()
    no_date = models.Value(None, output_field=models.DateField())
    own = (
        Post.objects.active(today)
        .filter(user=user)
        .order_by()
        .annotate(
            s_kind=models.Value(0, output_field=models.IntegerField()),
            s_role=models.F("role"),
            s_path=models.F("unit__path"),
            s_department=models.F("department_id"),
            s_post=models.F("pk"),
            s_unit=models.Value("", output_field=models.CharField()),
            s_name=models.Value("", output_field=models.CharField()),
            s_username=models.Value("", output_field=models.CharField()),
            s_until=no_date,
        )
    )
    covered = (
        Absence.objects.on(today)
        .filter(cover=user, post__start_date__lte=today)
        .filter(Q(post__end_date__isnull=True) | Q(post__end_date__gte=today))
        .order_by()
        .annotate(
            s_kind=models.Value(1, output_field=models.IntegerField()),
            s_role=models.F("post__role"),
            s_path=models.F("post__unit__path"),
            s_department=models.Value(None, output_field=models.IntegerField()),
            s_post=models.F("post_id"),
            s_unit=models.F("post__unit__name"),
            s_name=models.F("post__user__full_name"),
            s_username=models.F("post__user__username"),
            s_until=models.F("end"),
        )
    )
    columns = (
        "s_kind",
        "s_role",
        "s_path",
        "s_department",
        "s_post",
        "s_unit",
        "s_name",
        "s_username",
        "s_until",
    )
    rows = list(own.values_list(*columns).union(covered.values_list(*columns), all=True))
    # In the order of Post's own (unit path, role, id), which callers of `Scope.posts` may rely on.
    own_rows = sorted((row for row in rows if row[0] == 0), key=lambda row: (row[2], row[1], row[4]))
    posts = [(role, path, dept) for _kind, role, path, dept, *_rest in own_rows]
    covering = sorted(
        (
            Covering(post_id, role, path, unit, name or username, until)
            for kind, role, path, _dept, post_id, unit, name, username, until in rows
            if kind == 1
        ),
        key=lambda c: (c.path, c.post_id),
    )
    return posts, tuple(covering)


class ScopedQuerySet(models.QuerySet):
    """Base queryset of every model that holds data of a unit.

    A model says how its rows reach a unit path with `scope_path_lookup` (e.g. "grid__path"); the Unit
    model itself uses "path".
    """

    def visible_to(self, user) -> models.QuerySet:
        return scope_for(user).filter(self, self.model.scope_path_lookup)


def get_visible_or_404(queryset: models.QuerySet, user, **lookup):
    """Fetch one object the user may see; a missing and a forbidden object give the same 404."""
    try:
        return queryset.visible_to(user).get(**lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404 from exc
