"""The meeting pages: the list in scope, one meeting with its resolutions, recording and correcting a
meeting, the resolution steps, and the weekly list of grids that have not met.

Lists start from `Meeting.objects.visible_to(user)`; one meeting or resolution is fetched with
`get_visible_or_404`, so another village's answers 404 like a missing one. A user with no post gets 403.
"""

from __future__ import annotations

import datetime
import uuid
from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from wangge.cases.models import Case
from wangge.core.forms import apply_service_errors
from wangge.core.scope import get_visible_or_404, minimal_prefixes
from wangge.units.models import Unit

from . import services
from .choices import MeetingKind, ResolutionStatus
from .forms import (
    ChooseUnitForm,
    CloseForm,
    DueFilterForm,
    MeetingFilterForm,
    MeetingForm,
    NewMeetingForm,
    ResolutionForm,
    SpawnForm,
    staff_choices,
)
from .models import Meeting, MeetingAttendee, Resolution

PAGE_SIZE = 50


def _require_post(request):
    if request.user.scope.is_empty:
        raise PermissionDenied(_("You hold no active post."))


def _query_without(request, name: str) -> str:
    params = request.GET.copy()
    params.pop(name, None)
    return params.urlencode()


def _visible_unit(user, code: str) -> Unit | None:
    return Unit.objects.visible_to(user).filter(code=code).select_related("level").first()


# ---------------------------------------------------------------------------------------------------
# List and detail


@login_required
@require_http_methods(["GET"])
def meeting_list(request):
    """Meetings in scope, newest first, filtered by kind, unit (with its subtree) and period."""
    _require_post(request)
    user = request.user
    meetings = Meeting.objects.visible_to(user).select_related("unit", "chaired_by")
    form = MeetingFilterForm(request.GET or None)
    unit = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["kind"]:
            meetings = meetings.filter(kind=data["kind"])
        if data["start"]:
            meetings = meetings.filter(held_on__gte=data["start"])
        if data["end"]:
            meetings = meetings.filter(held_on__lte=data["end"])
        code = data["unit"].strip()
        if code:
            unit = _visible_unit(user, code)
            if unit is None:
                form.add_error("unit", _("No unit with this code in your area."))
                meetings = meetings.none()
            else:
                meetings = meetings.filter(unit__path__startswith=unit.path)
    elif form.is_bound:
        meetings = meetings.none()
    page = Paginator(meetings.order_by("-held_on", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    ids = [m.pk for m in rows]
    attendees = dict(
        MeetingAttendee.objects.filter(meeting_id__in=ids)
        .values("meeting_id")
        .annotate(n=Count("id"))
        .values_list("meeting_id", "n")
    )
    resolutions: dict[int, Counter] = {}
    for meeting_id, status in Resolution.objects.filter(meeting_id__in=ids).values_list(
        "meeting_id", "status"
    ):
        resolutions.setdefault(meeting_id, Counter())[status] += 1
    for meeting in rows:
        meeting.attendee_count = attendees.get(meeting.pk, 0)
        counts = resolutions.get(meeting.pk, Counter())
        meeting.resolution_count = sum(counts.values())
        meeting.open_count = counts[ResolutionStatus.OPEN]
    return render(
        request,
        "meetings/list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "page_query": _query_without(request, "page"),
            "unit": unit,
            "can_record": bool(services.recordable_units(user)),
        },
    )


def _load_meeting(request, pk) -> Meeting:
    _require_post(request)
    return get_visible_or_404(
        Meeting.objects.select_related("unit__level", "chaired_by", "recorded_by"), request.user, pk=pk
    )


@login_required
@require_http_methods(["GET"])
def meeting_detail(request, pk):
    meeting = _load_meeting(request, pk)
    user = request.user
    resolutions = list(
        meeting.resolutions.select_related("responsible_unit", "responsible_department", "case", "closed_by")
    )
    visible_cases = set(
        Case.objects.visible_to(user)
        .filter(pk__in=[r.case_id for r in resolutions if r.case_id])
        .values_list("pk", flat=True)
    )
    may_record = services.may_record(user, meeting.kind, meeting.unit)
    editable = may_record and services.can_edit(meeting)
    for resolution in resolutions:
        resolution.case_visible = resolution.case_id in visible_cases
        resolution.can_spawn = (
            may_record and resolution.case_id is None and resolution.status == ResolutionStatus.OPEN
        )
        resolution.can_close = resolution.status != ResolutionStatus.DONE and services.may_close(
            user, resolution
        )
        if resolution.can_close:
            resolution.close_form = CloseForm(auto_id=f"close-{resolution.pk}-%s")
    return render(
        request,
        "meetings/detail.html",
        {
            "meeting": meeting,
            "attendees": list(meeting.attendees.order_by("full_name", "username")),
            "resolutions": resolutions,
            "editable": editable,
            "resolution_form": ResolutionForm(meeting=meeting) if editable else None,
            "edit_until": meeting.held_on + datetime.timedelta(days=services.edit_days()),
        },
    )


# ---------------------------------------------------------------------------------------------------
# Recording and correcting


def _target(request, user) -> tuple[str, Unit] | None:
    """The (kind, unit) named by ?kind=…&unit=… or by the chooser's "target"; None when not named."""
    raw = request.GET.get("target", "")
    if raw and ":" in raw:
        kind, code = raw.split(":", 1)
    else:
        kind, code = request.GET.get("kind", ""), request.GET.get("unit", "")
    if not code:
        return None
    unit = _visible_unit(user, code)
    if unit is None:
        raise Http404
    if kind not in MeetingKind.values:
        kind = (
            MeetingKind.WEEKLY
            if unit.is_grid or unit.level.rank == services.VILLAGE_RANK
            else MeetingKind.JOINT
        )
    return kind, unit


@login_required
@never_cache  # Back after sending must fetch a fresh form (a new client id), not replay the old one
@require_http_methods(["GET", "POST"])
def meeting_create(request):
    """Record a meeting: first choose which meeting and where, then fill in the record."""
    _require_post(request)
    user = request.user
    target = _target(request, user)
    if target is None:
        pairs = services.recordable_units(user)
        if not pairs:
            raise PermissionDenied(
                _(
                    "Weekly grid meetings are recorded by grid leaders and village administrators, joint "
                    "meetings by county and township dispatchers."
                )
            )
        return render(request, "meetings/choose.html", {"form": ChooseUnitForm(pairs=pairs)})
    kind, unit = target
    reason = services.refusal(user, kind, unit)
    if reason:
        raise PermissionDenied(reason)
    today = timezone.localdate()
    if request.method == "POST":
        held_on = _posted_date(request) or today
        attendees, chairs = staff_choices(unit, held_on)
        form = NewMeetingForm(request.POST, unit=unit, attendees=attendees, chairs=chairs)
        if form.is_valid():
            data = form.cleaned_data
            try:
                meeting, _created = services.record_meeting(
                    by=user,
                    kind=kind,
                    unit=unit,
                    held_on=data["held_on"],
                    chaired_by=data["chaired_by"],
                    place=data["place"],
                    agenda=data["agenda"],
                    minutes=data["minutes"],
                    attendees=list(data["attendees"]),
                    other_attendees=data["other_attendees"],
                    resolutions=data["resolutions"].splitlines(),
                    client_uuid=data["client_uuid"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(
                    request, _("The meeting of %(date)s is recorded.") % {"date": meeting.held_on.isoformat()}
                )
                return redirect("meetings:detail", pk=meeting.pk)
    else:
        attendees, chairs = staff_choices(unit, today)
        chair = user if any(u.pk == user.pk for u in chairs) else None
        form = NewMeetingForm(
            unit=unit,
            attendees=attendees,
            chairs=chairs,
            initial={"held_on": today, "client_uuid": uuid.uuid4(), "chaired_by": chair},
        )
    return render(
        request,
        "meetings/form.html",
        {
            "form": form,
            "unit": unit,
            "kind": MeetingKind(kind),
            "meeting": None,
            "since": services.edit_window_start(),
        },
    )


def _posted_date(request):
    from django.utils.dateparse import parse_date

    try:
        return parse_date(request.POST.get("held_on") or "")
    except ValueError:
        return None


@login_required
@require_http_methods(["GET", "POST"])
def meeting_edit(request, pk):
    meeting = _load_meeting(request, pk)
    user = request.user
    reason = services.refusal(user, meeting.kind, meeting.unit)
    if reason:
        raise PermissionDenied(reason)
    if not services.can_edit(meeting):
        messages.error(
            request,
            _(
                "The meeting of %(date)s can no longer be changed: meetings close %(days)s days after they are held."
            )
            % {"date": meeting.held_on.isoformat(), "days": services.edit_days()},
        )
        return redirect("meetings:detail", pk=meeting.pk)
    current = list(meeting.attendees.all())
    if request.method == "POST":
        held_on = _posted_date(request) or meeting.held_on
        attendees, chairs = staff_choices(meeting.unit, held_on, extra=current)
        form = MeetingForm(request.POST, unit=meeting.unit, attendees=attendees, chairs=chairs)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.update_meeting(
                    meeting,
                    by=user,
                    attendees=list(data["attendees"]),
                    held_on=data["held_on"],
                    chaired_by=data["chaired_by"],
                    place=data["place"],
                    agenda=data["agenda"],
                    minutes=data["minutes"],
                    other_attendees=data["other_attendees"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("The meeting record is updated."))
                return redirect("meetings:detail", pk=meeting.pk)
    else:
        attendees, chairs = staff_choices(meeting.unit, meeting.held_on, extra=current)
        form = MeetingForm(
            unit=meeting.unit,
            attendees=attendees,
            chairs=chairs,
            initial={
                "held_on": meeting.held_on,
                "chaired_by": meeting.chaired_by_id,
                "place": meeting.place,
                "agenda": meeting.agenda,
                "minutes": meeting.minutes,
                "attendees": [u.pk for u in current],
                "other_attendees": meeting.other_attendees,
            },
        )
    return render(
        request,
        "meetings/form.html",
        {
            "form": form,
            "unit": meeting.unit,
            "kind": MeetingKind(meeting.kind),
            "meeting": meeting,
            "since": services.edit_window_start(),
        },
    )


# ---------------------------------------------------------------------------------------------------
# Resolutions


def _errors_to_messages(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@login_required
@require_POST
def resolution_add(request, pk):
    meeting = _load_meeting(request, pk)
    form = ResolutionForm(request.POST, meeting=meeting)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.add_resolution(
                meeting,
                by=request.user,
                text=data["text"],
                responsible_unit=data["responsible_unit"],
                responsible_department=data["responsible_department"],
                due_on=data["due_on"],
            )
        except ValidationError as error:
            _errors_to_messages(request, error)
        else:
            messages.success(request, _("The resolution is added."))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("meetings:detail", pk=meeting.pk)


def _load_resolution(request, pk) -> Resolution:
    _require_post(request)
    return get_visible_or_404(
        Resolution.objects.select_related(
            "meeting__unit__level", "case", "responsible_unit", "responsible_department"
        ),
        request.user,
        pk=pk,
    )


@login_required
@require_http_methods(["GET", "POST"])
def resolution_spawn(request, pk):
    """Raise a case from a resolution; GET shows the form (the category is optional)."""
    resolution = _load_resolution(request, pk)
    meeting = resolution.meeting
    reason = services.refusal(request.user, meeting.kind, meeting.unit)
    if reason:
        raise PermissionDenied(reason)
    if resolution.case_id:
        return redirect("cases:detail", pk=resolution.case_id)
    form = SpawnForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case, _created = services.spawn_case(
                resolution, by=request.user, category=form.cleaned_data["category"]
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request, _("Case %(number)s raised from the resolution.") % {"number": case.display_number}
            )
            return redirect("cases:detail", pk=case.pk)
    return render(
        request, "meetings/spawn.html", {"form": form, "resolution": resolution, "meeting": meeting}
    )


@login_required
@require_POST
def resolution_close(request, pk):
    resolution = _load_resolution(request, pk)
    form = CloseForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.close_resolution(resolution, by=request.user, note=note)
    except ValidationError as error:
        _errors_to_messages(request, error)
    else:
        messages.success(request, _("The resolution is marked done."))
    return redirect("meetings:detail", pk=resolution.meeting_id)


# ---------------------------------------------------------------------------------------------------
# Who has not met


@login_required
@require_http_methods(["GET"])
def meetings_due(request):
    """网格周例会: the grids under the chosen unit (default: the user's own) with a leader posted and no
    weekly meeting recorded in the chosen week (default: this week)."""
    _require_post(request)
    user = request.user
    scope = user.scope
    if not scope.is_global and not scope.territorial_paths:
        raise PermissionDenied(_("Weekly meetings are kept by the territorial units, not by departments."))
    form = DueFilterForm(request.GET or None)
    week = timezone.localdate()
    units: list[Unit] = []
    valid = form.is_valid() if form.is_bound else True
    if form.is_bound and valid:
        week = form.cleaned_data["week"]
        code = form.cleaned_data["unit"].strip()
        if code:
            unit = Unit.objects.visible_to(user).current().filter(code=code).first()
            if unit is None or not (
                scope.is_global or any(unit.path.startswith(p) for p in scope.territorial_paths)
            ):
                form.add_error("unit", _("No unit with this code in your area."))
                valid = False
            else:
                units = [unit]
    if not units:
        if scope.is_global:
            roots = Unit.objects.current().filter(depth=1)
        else:
            roots = Unit.objects.current().filter(path__in=minimal_prefixes(scope.territorial_paths))
        units = list(roots.order_by("path"))
    due = [row for unit in units for row in services.meetings_due(unit, week)] if valid else []
    monday, sunday = services.week_bounds(week)
    page = Paginator(due, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "meetings/due.html",
        {
            "form": form,
            "page": page,
            "page_query": _query_without(request, "page"),
            "units": units,
            "monday": monday,
            "sunday": sunday,
            "iso_week": monday.isocalendar(),
            "working_week": services.is_working_week(week),
        },
    )
