"""The one scoping rule: what a user may see is the subtrees below the units of their active posts.

Every query that returns data to a user goes through `ScopedQuerySet.visible_to(user)`, which calls
`Scope.filter()` here; the UI, the API, exports and the admin all use it. An object outside the scope is
answered with 404, the same as a missing one (see `get_visible_or_404`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db import models
from django.db.models import Q
from django.http import Http404


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

    def paths_for(self, capability: str) -> tuple[str, ...]:
        """The subtrees where `capability` holds: those of the posts whose role grants it."""
        from wangge.people.roles import ROLE_CAPABILITIES

        return minimal_prefixes(
            path for role, path in self.posts if capability in ROLE_CAPABILITIES.get(role, frozenset())
        )

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
    from wangge.people.models import Post  # the people app depends on core, not the other way round
    from wangge.people.roles import GLOBAL_ROLES, Role

    posts = list(Post.objects.active().filter(user=user).values_list("role", "unit__path", "department_id"))
    roles = frozenset(role for role, _, _ in posts)
    scope = Scope(
        paths=minimal_prefixes(path for _, path, _ in posts),
        is_global=user.is_superuser or bool(roles & GLOBAL_ROLES),
        roles=roles,
        department_ids=frozenset(dept for _, _, dept in posts if dept),
        territorial_paths=minimal_prefixes(path for role, path, _ in posts if role != Role.DEPARTMENT_USER),
        posts=tuple((role, path) for role, path, _ in posts),
    )
    user._wangge_scope = scope
    return scope


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
