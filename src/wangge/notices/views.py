"""The in-app inbox (秒通知, COMM-2): one's own notifications, the unread badge, marking read.

Every query filters on recipient=request.user: a notification is never shown, opened or marked by
anyone else, and someone else's id answers 404 like a missing one.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .models import Notification
from .services import mark_read

PAGE_SIZE = 30
# htmx stops polling on this status: a signed-out page's badge goes quiet instead of loading the sign-in page.
HTMX_STOP_POLLING = 286


@login_required
def inbox(request):
    """Unread first, each group newest first."""
    rows = (
        Notification.objects.filter(recipient=request.user)
        .annotate(unread=ExpressionWrapper(Q(read_at__isnull=True), output_field=BooleanField()))
        .order_by("-unread", "-created_at", "-id")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notices/inbox.html", {"page": page})


@login_required
def open_notification(request, pk):
    """Following a notification marks it read, then goes where it points (a page of this site only)."""
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    if notification.read_at is None:
        mark_read(request.user, [notification.pk])
    target = notification.url
    if not target or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect("notices:inbox")
    return redirect(target)


@login_required
@require_POST
def read(request):
    """Mark read: the notifications named by `id`, or all unread ones when none is named."""
    # Only ASCII digits that fit a database id: "²".isdigit() is true and 10**30 overflows the column.
    ids = [int(v) for v in request.POST.getlist("id") if v.isascii() and v.isdigit() and 0 < int(v) < 2**63]
    count = mark_read(request.user, ids or None)
    if count:
        messages.success(
            request,
            ngettext("%(count)d notification marked read.", "%(count)d notifications marked read.", count)
            % {"count": count},
        )
    return redirect("notices:inbox")


@never_cache
def badge(request):
    """The unread count fragment the top bar polls with htmx every minute."""
    if not request.user.is_authenticated:
        return HttpResponse(status=HTMX_STOP_POLLING)
    count = Notification.objects.filter(recipient=request.user, read_at__isnull=True).count()
    return render(request, "notices/_badge.html", {"unread_notifications": count})
