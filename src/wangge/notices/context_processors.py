"""What every signed-in page's top bar needs: the unread count and which case links to show."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from wangge.people.roles import Capability

from .models import Notification

T = TypeVar("T")


def _once(compute: Callable[[], T]) -> Callable[[], T]:
    """A template calls a callable variable each time it is used; this computes on the first use only,
    and not at all on a page that never shows it."""
    cache: list[T] = []

    def value() -> T:
        if not cache:
            cache.append(compute())
        return cache[0]

    return value


def unread_notifications(request):
    """`unread_notifications`: one COUNT on the inbox index, for signed-in users only.

    Also the top bar's case links: `nav_has_post` (field:mine), `nav_can_report` (field:report) and
    `nav_can_work_cases` (the desk queue, for handlers and dispatchers). Anonymous visitors get nothing.
    """
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    return {
        "unread_notifications": _once(
            lambda: Notification.objects.filter(recipient=user, read_at__isnull=True).count()
        ),
        "nav_has_post": _once(lambda: not user.scope.is_empty),
        "nav_can_report": _once(lambda: user.has_capability(Capability.REPORT_CASES)),
        "nav_can_work_cases": _once(
            lambda: (
                user.has_capability(Capability.HANDLE_CASES) or user.has_capability(Capability.DISPATCH_CASES)
            )
        ),
    }
