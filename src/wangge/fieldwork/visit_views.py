"""Pages of household visits, patrols and publicity: the grid worker's due list and forms on the phone,
the desk's visit list and the coverage of a unit by period."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from wangge.core.forms import apply_service_errors
from wangge.ledger.models import Household
from wangge.people.roles import Capability

from . import services, visits
from .forms import CoverageForm, LogFilterForm, PatrolForm, PublicityForm, VisitForm
from .models import PatrolRecord, PublicityRecord, Visit
from .views import chosen_unit, in_territory, territorial, territorial_roots

PAGE_SIZE = 50
RECENT = 20


def _visits_in_scope(request):
    """The visits the user reads (the rule is `VisitQuerySet.visible_to`); without the ledger right
    anywhere the page is refused rather than empty."""
    territorial(request)
    if not request.user.has_capability(Capability.VIEW_LEDGERS):
        raise PermissionDenied(_("Your posts do not allow reading household visits."))
    return Visit.objects.visible_to(request.user)


# --- the grid worker's pages ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def my_visits(request):
    """走访: what is still due this period under each rule, and my recent visits and patrols."""
    user = request.user
    if not services.grid_posts(user).exists():
        raise PermissionDenied(_("Only a holder of an active grid post has a visit list."))
    duties = visits.due_list(user)
    recent = (
        Visit.objects.filter(visitor=user)
        .select_related("household", "case")
        .order_by("-date", "-id")[:RECENT]
    )
    patrols = PatrolRecord.objects.filter(patroller=user).select_related("grid", "case")[:5]
    return render(
        request,
        "fieldwork/visits.html",
        {"duties": duties, "recent": recent, "patrols": patrols, "today": timezone.localdate()},
    )


@login_required
@never_cache  # Back after sending must fetch a fresh form (a new client id), not replay the old one
@require_http_methods(["GET", "POST"])
def new_visit(request, number):
    """Record a visit of one household, optionally raising a case from what was found."""
    user = request.user
    # The form shows the household and its last visits: ledger readers only, in their ledger subtrees.
    if not user.has_capability(Capability.VIEW_LEDGERS):
        raise PermissionDenied(_("Your posts do not allow reading household visits."))
    household = (
        Household.objects.visible_to(user, Capability.VIEW_LEDGERS)
        .select_related("grid")
        .filter(number=number)
        .first()
    )
    if household is None:
        raise Http404
    if request.method == "POST":
        form = VisitForm(request.POST, household=household)
        if form.is_valid():
            data = form.cleaned_data
            try:
                visit, created = visits.record_visit(
                    by=user,
                    household=household,
                    date=data["date"],
                    purposes=data["purposes"],
                    findings=data["findings"],
                    people_met=data.get("people_met") or (),
                    others_met=data["others_met"],
                    case=form.case_draft(),
                    client_uuid=data["client_uuid"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                if not created:
                    messages.info(request, _("This visit had already been recorded."))
                elif visit.case_id:
                    messages.success(
                        request,
                        _("The visit is recorded and case %(number)s raised.")
                        % {"number": visit.case.display_number},
                    )
                else:
                    messages.success(request, _("The visit of %(number)s is recorded.") % {"number": number})
                return redirect("fieldwork:visit", pk=visit.pk)
    else:
        # The form is shown to anyone who sees the household; the service decides who may record.
        form = VisitForm(
            household=household, initial={"client_uuid": uuid.uuid4(), "date": timezone.localdate()}
        )
    last = Visit.objects.filter(household=household).select_related("visitor").order_by("-date", "-id")[:3]
    return render(request, "fieldwork/visit_form.html", {"form": form, "household": household, "last": last})


@login_required
@require_http_methods(["GET"])
def visit_detail(request, pk):
    visit = _visits_in_scope(request).select_related("household", "grid", "visitor", "case", "post_level")
    visit = visit.filter(pk=pk).first()
    if visit is None:
        raise Http404
    return render(
        request,
        "fieldwork/visit_detail.html",
        {"visit": visit, "people": [p.name for p in visit.people_met.all()]},
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def new_patrol(request):
    """巡查: where the patrol went and what it found; a case can be raised from it."""
    user = request.user
    grids = services.log_grids(user)
    if not grids:
        raise PermissionDenied(_("Only a holder of an active grid post records patrols."))
    by_pk = {grid.pk: grid for grid in grids}
    if request.method == "POST":
        form = PatrolForm(request.POST, grids=grids)
        if form.is_valid():
            data = form.cleaned_data
            try:
                _patrol, created = visits.record_patrol(
                    by=user,
                    grid=by_pk[data["grid"].pk],
                    date=data["date"],
                    route=data["route"],
                    minutes=data["minutes"],
                    findings=data["findings"],
                    case=form.case_draft(),
                    client_uuid=data["client_uuid"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                if created:
                    messages.success(request, _("The patrol is recorded."))
                return redirect("fieldwork:visits")
    else:
        form = PatrolForm(
            grids=grids, initial={"client_uuid": uuid.uuid4(), "date": timezone.localdate(), "grid": grids[0]}
        )
    return render(request, "fieldwork/patrol_form.html", {"form": form})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def publicity(request):
    """政策宣传 (WORK-6): the records of the user's area and a form for a new one."""
    user = request.user
    scope = territorial(request)
    units = [post.unit for post in user.active_posts() if post.role != "department_user"]
    form = None
    if user.has_capability(Capability.REPORT_CASES) and units:
        if request.method == "POST":
            form = PublicityForm(request.POST, units=units)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    _record, created = visits.record_publicity(
                        by=user,
                        unit=data["unit"],
                        date=data["date"],
                        topic=data["topic"],
                        method=data["method"],
                        audience=data["audience"],
                        reached=data["reached"],
                        notes=data["notes"],
                        client_uuid=data["client_uuid"],
                    )
                except ValidationError as error:
                    apply_service_errors(form, error)
                else:
                    if created:
                        messages.success(request, _("The publicity record is saved."))
                    return redirect("fieldwork:publicity")
        else:
            form = PublicityForm(
                units=units,
                initial={"client_uuid": uuid.uuid4(), "date": timezone.localdate(), "unit": units[0]},
            )
    elif request.method == "POST":
        raise PermissionDenied(_("Your posts do not allow recording field work."))
    records = in_territory(PublicityRecord.objects.visible_to(user), scope, "unit__path")
    page = Paginator(records.select_related("unit", "author"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "fieldwork/publicity.html", {"form": form, "page": page})


# --- desk pages -----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def visit_list(request):
    """The visits recorded in the user's area over a period, by unit."""
    user = request.user
    rows = _visits_in_scope(request)
    scope = user.scope
    form = LogFilterForm(request.GET or None)
    today = timezone.localdate()
    start, end = today.replace(day=1), today
    unit = None
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        unit = chosen_unit(form, scope)
    if form.is_bound and form.errors:
        rows = rows.none()
    else:
        rows = rows.filter(date__gte=start, date__lte=end)
        if unit is not None:
            rows = rows.filter(grid__path__startswith=unit.path)
    rows = rows.select_related("household", "grid", "visitor", "case").order_by("-date", "-id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "fieldwork/visit_list.html",
        {"form": form, "page": page, "page_query": params.urlencode(), "start": start, "end": end},
    )


@login_required
@require_http_methods(["GET"])
def coverage(request):
    """走访覆盖率: per rule, this period's share of households visited (posts patrolled) in a unit and
    each of its child units, and the trend over the last periods."""
    scope = territorial(request)
    form = CoverageForm(request.GET or None)
    today = timezone.localdate()
    on, unit = today, None
    if form.is_bound and form.is_valid():
        on = form.cleaned_data["on"] or today
        if on > today:
            form.add_error("on", _("Coverage is measured up to today."))
            on = today
        unit = chosen_unit(form, scope)
    roots = territorial_roots(scope)
    if unit is None:
        unit = roots[0] if len(roots) == 1 else None
    report = visits.coverage_report(unit, on) if unit is not None else []
    return render(
        request,
        "fieldwork/coverage.html",
        {"form": form, "unit": unit, "roots": roots, "report": report, "on": on},
    )
