"""Sending in-app notifications (秒通知, COMM-2). Callers pass recipients; helpers find them by unit."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.people.models import Post, User
from wangge.people.roles import ROLE_CAPABILITIES, Role

from .models import Notification


def roles_with(capability: str) -> list[str]:
    return [role for role, caps in ROLE_CAPABILITIES.items() if capability in caps]


def unit_staff(unit, capability: str) -> list[User]:
    """Users holding a territorial post with `capability` at `unit` itself."""
    return list(
        User.objects.filter(
            is_active=True,
            posts__in=Post.objects.active()
            .filter(unit=unit, role__in=roles_with(capability))
            .exclude(role=Role.DEPARTMENT_USER),
        ).distinct()
    )


def nearest_staff(unit, capability: str) -> list[User]:
    """The staff with `capability` at `unit`, or, if it has none, at its nearest ancestor that has some.

    A grid without its own worker (多格一员) is served by the worker posted at the grid above it.
    """
    posts = (
        Post.objects.active()
        .filter(unit__path__in=unit.path_prefixes(unit.path), role__in=roles_with(capability))
        .exclude(role=Role.DEPARTMENT_USER)
    )
    deepest = posts.aggregate(depth=Max("unit__depth"))["depth"]
    if deepest is None:
        return []
    return list(User.objects.filter(is_active=True, posts__in=posts.filter(unit__depth=deepest)).distinct())


def department_staff(department) -> list[User]:
    return list(
        User.objects.filter(
            is_active=True, posts__in=Post.objects.active().filter(department=department)
        ).distinct()
    )


def notify(
    recipients: Iterable[User], kind: str, title: str, body: str = "", url: str = "", case=None
) -> int:
    """One unread notification per distinct recipient; returns how many were written.

    AB岗 (TEAM-3): a recipient who is away today keeps the notification, and the colleague covering for
    them gets it too, marked "covering for …" — new cases and every reminder pass through here.
    """
    from wangge.people.services import away_cover  # people.services does not import notices

    seen: set[int] = set()
    rows = []
    direct = []
    for user in recipients:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        direct.append(user)
        rows.append(Notification(recipient=user, kind=kind, title=title[:200], body=body, url=url, case=case))
    covers = away_cover([user.pk for user in direct], timezone.localdate()) if direct else {}
    for user in direct:
        cover = covers.get(user.pk)
        if cover is None or cover.pk in seen or not cover.is_active:
            continue
        seen.add(cover.pk)
        marker = _("[covering for %(name)s]") % {"name": user.get_full_name()}
        rows.append(
            Notification(
                recipient=cover, kind=kind, title=f"{marker} {title}"[:200], body=body, url=url, case=case
            )
        )
    Notification.objects.bulk_create(rows)
    return len(rows)


def mark_read(user, ids: Iterable[int] | None = None) -> int:
    rows = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=timezone.now())
