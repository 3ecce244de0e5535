"""The daily work log pages: the grid worker's phone page and the desk overview of logs and gaps."""

from __future__ import annotations

import datetime
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from wangge.core.forms import apply_service_errors
from wangge.core.scope import minimal_prefixes
from wangge.people.roles import Capability
from wangge.units.models import Unit
from wangge.workdays.calendar import is_workday

from . import services
from .forms import LogFilterForm, WorkLogForm
from .models import WorkLog

PAGE_SIZE = 50
RECENT_WORKING_DAYS = 14


def territorial(request):
    """The user's territorial subtrees; departments and users without a post are refused."""
    user = request.user
    scope = user.scope
    if not user.has_capability(Capability.VIEW_UNITS):
        raise PermissionDenied(_("Your posts do not allow viewing units."))
    if not scope.is_global and not scope.territorial_paths:
        raise PermissionDenied(_("Field work is kept by the territorial units, not by departments."))
    return scope


def in_territory(queryset, scope, path_lookup: str):
    """Rows under the user's territorial subtrees (department posts do not widen what field work shows)."""
    if scope.is_global:
        return queryset
    return queryset.filter(scope.path_q(path_lookup, scope.territorial_paths))


def territorial_roots(scope) -> list[Unit]:
    """The top units of the user's territory: the roots of their subtrees (every county for the global)."""
    if scope.is_global:
        return list(Unit.objects.current().filter(depth=1).order_by("path"))
    return list(
        Unit.objects.current().filter(path__in=minimal_prefixes(scope.territorial_paths)).order_by("path")
    )


def chosen_unit(form, scope) -> Unit | None:
    """The current unit the valid form's "unit" code names inside the territory, or None for no code; a
    code outside it is an error on the field."""
    code = form.cleaned_data["unit"].strip()
    if not code:
        return None
    unit = (
        in_territory(Unit.objects.current(), scope, "path").select_related("level").filter(code=code).first()
    )
    if unit is None:
        form.add_error("unit", _("No unit with this code in your area."))
    return unit


@login_required
@never_cache  # Back after sending must fetch a fresh form (a new client id), not replay the old one
@require_http_methods(["GET", "POST"])
def work_log(request):
    """民情日志 (WORK-1): today's log, or an earlier day's within the edit window, and the last days' record."""
    user = request.user
    grids = services.log_grids(user)
    if not grids:
        raise PermissionDenied(_("Only a holder of an active grid post writes a daily work log."))
    today = timezone.localdate()
    by_pk = {grid.pk: grid for grid in grids}

    if request.method == "POST":
        form = WorkLogForm(request.POST, grids=grids)
        if form.is_valid():
            data = form.cleaned_data
            try:
                log, created = services.save_log(
                    by=user,
                    grid=by_pk[data["grid"].pk],
                    date=data["date"],
                    client_uuid=data["client_uuid"],
                    patrolled=data["patrolled"],
                    found=data["found"],
                    served=data["served"],
                    households_visited=data["households_visited"] or 0,
                    notes=data["notes"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                if created:
                    messages.success(
                        request, _("The log of %(date)s is saved.") % {"date": log.date.isoformat()}
                    )
                else:
                    messages.success(
                        request, _("The log of %(date)s is up to date.") % {"date": log.date.isoformat()}
                    )
                return redirect("fieldwork:log")
        day = form.cleaned_data.get("date") if hasattr(form, "cleaned_data") else None
        day = day or today
    else:
        day = parse_date(request.GET.get("date") or "") or today
        grid = by_pk.get(_int(request.GET.get("grid"))) or grids[0]
        existing = WorkLog.objects.filter(author=user, grid=grid, date=day).first()
        initial = {"grid": grid, "date": day, "client_uuid": uuid.uuid4()}
        if existing is not None:
            initial.update({name: getattr(existing, name) for name in services.EDITABLE_FIELDS})
        form = WorkLogForm(grids=grids, initial=initial) if services.can_edit_day(day, today) else None

    return render(
        request,
        "fieldwork/log.html",
        {
            "form": form,
            "day": day,
            "today": today,
            "is_today": day == today,
            "several_grids": len(grids) > 1,
            "recent": _recent_days(user, today),
            "edit_days": services.edit_window_start(today),
        },
    )


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _recent_days(user, today: datetime.date) -> list[dict]:
    """The last working days up to today, newest first, each with its logs (one query)."""
    days, day = [], today
    while len(days) < RECENT_WORKING_DAYS and (today - day).days < 60:
        if is_workday(day):
            days.append(day)
        day -= datetime.timedelta(days=1)
    if not days:
        return []
    logs: dict[datetime.date, list[WorkLog]] = {}
    for log in WorkLog.objects.filter(author=user, date__gte=days[-1], date__lte=today).select_related(
        "grid"
    ):
        logs.setdefault(log.date, []).append(log)
    window_start = services.edit_window_start(today)
    return [{"date": d, "logs": logs.get(d, []), "editable": d >= window_start} for d in days]


@login_required
@require_http_methods(["GET"])
def work_logs(request):
    """The desk overview for villages, townships and the county: logs in scope and who has not written."""
    # Department posts see the cases sent to the department, not the grid staff's logs.
    scope = territorial(request)
    logs = in_territory(WorkLog.objects.all(), scope, "grid__path").select_related("author", "grid")

    form = LogFilterForm(request.GET or None)
    today = timezone.localdate()
    start, end = today - datetime.timedelta(days=today.weekday()), today
    units: list[Unit] = []
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        unit = chosen_unit(form, scope)
        if unit is not None:
            units = [unit]
    valid = not form.is_bound or not form.errors
    if not units:
        units = territorial_roots(scope)

    if valid:
        logs = logs.filter(date__gte=start, date__lte=end)
        if len(units) == 1:
            logs = logs.filter(grid__path__startswith=units[0].path)
        missing = [row for unit in units for row in services.missing_logs(unit, start, end) if row.missing]
    else:
        logs, missing = logs.none(), []

    page = Paginator(logs.order_by("-date", "grid__path", "author__full_name"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    missing_page = Paginator(missing, PAGE_SIZE).get_page(request.GET.get("mpage"))
    return render(
        request,
        "fieldwork/logs.html",
        {
            "form": form,
            "page": page,
            "page_query": _query_without(request, "page"),
            "missing_page": missing_page,
            "missing_query": _query_without(request, "mpage"),
            "start": start,
            "end": end,
            "units": units,
            "working_days": services.working_days(start, end) if valid else [],
        },
    )


def _query_without(request, name: str) -> str:
    params = request.GET.copy()
    params.pop(name, None)
    return params.urlencode()
