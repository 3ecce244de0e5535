"""The staff's rating pages (以下看上, EVAL-3): what is left to rate and the rating form (grid staff, village
and township offices), the results by department and by provider with their .xlsx exports (county
command, township and village offices; a department reads its own anonymous aggregate only), the ratings
with their raters (for those who appraise), and the case detail's ratings panel.

Rating needs RATE_DEPARTMENTS (else 403); a case outside the subtrees of the posts that grant it answers
404, as does a department with no finished work on the case. Results need APPRAISE or a department post
(else 403); a unit code outside the area is an error on the field.
"""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from wangge.cases.models import Case
from wangge.core.forms import apply_service_errors
from wangge.core.scope import get_visible_or_404
from wangge.fieldwork.visits import period_label
from wangge.people.models import Department
from wangge.people.roles import Capability
from wangge.units.models import Unit

from . import exports, services
from .choices import DepartmentDimension, ProviderDimension, ResultPeriod
from .forms import DepartmentRatingForm, ResultsFilterForm
from .models import DepartmentRating

PAGE_SIZE = 50
RATING_FIELDS = ("speed", "result", "attitude", "comment")


def _require_rater(request) -> None:
    if not services.may_rate(request.user):
        raise PermissionDenied(_("Your posts do not allow rating departments."))


def _render(request, template: str, context: dict, status: int = 200):
    context["ratings_nav"] = services.ratings_nav(request.user)
    return render(request, template, context, status=status)


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return ""


def _query_without(request, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


# --- rating ---------------------------------------------------------------------------------------------


@login_required
@require_GET
def to_rate(request):
    """待评议: the departments' finished work in the user's area not rated yet, and their own ratings that
    can still be changed."""
    _require_rater(request)
    user, now = request.user, timezone.now()
    page = Paginator(services.pending_ratings(user, now), PAGE_SIZE).get_page(request.GET.get("page"))
    mine = Paginator(services.open_ratings(user, now), PAGE_SIZE).get_page(request.GET.get("mpage"))
    return _render(
        request,
        "ratings/to_rate.html",
        {
            "page": page,
            "slots": services.slots_for(page.object_list, now),
            "page_query": _query_without(request, "page"),
            "mine": mine,
            "mine_query": _query_without(request, "mpage"),
            "open_days": services.open_days(),
            "edit_days": services.edit_days(),
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def rate(request, case_id: int, department_id: int):
    """Rate one department's work on one case, or change one's rating while it is not frozen."""
    _require_rater(request)
    user, now = request.user, timezone.now()
    case = get_object_or_404(services.rateable_cases(user).select_related("unit", "category"), pk=case_id)
    department = get_object_or_404(Department, pk=department_id)
    slot = services.rating_slot(user, case, department, now)
    if slot is None:
        raise Http404
    next_url = _safe_next(request)
    if request.method == "POST":
        form = DepartmentRatingForm(request.POST)
        if form.is_valid():
            try:
                _rating, created = services.rate_department(
                    by=user, case=case, department=department, now=now, **form.cleaned_data
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                text = (
                    _("Your rating of %(dept)s is saved.")
                    if created
                    else _("Your rating of %(dept)s is up to date.")
                )
                messages.success(request, text % {"dept": department.name})
                return redirect(next_url or "ratings:to_rate")
    else:
        initial = {name: getattr(slot.rating, name) for name in RATING_FIELDS} if slot.rating else {}
        form = DepartmentRatingForm(initial=initial)
    return render(
        request,
        "ratings/rate.html",
        {"slot": slot, "case": case, "department": department, "form": form, "next": next_url},
    )


@login_required
@require_GET
def case_panel(request, pk: int):
    """The ratings panel of one case alone (`ratings/_case_ratings.html`), e.g. for lazy loading by htmx."""
    case = get_visible_or_404(Case.objects.select_related("unit"), request.user, pk=pk)
    return render(
        request, "ratings/_case_ratings.html", {"case_ratings": services.case_ratings(request.user, case)}
    )


# --- results ----------------------------------------------------------------------------------------------


def _filters(request, access: services.ResultsAccess):
    """The filter form and what it selects: (form, valid, period, start, end, unit)."""
    period, start, end = ResultsFilterForm.default_bounds()
    form = ResultsFilterForm(request.GET or None, initial={"period": period, "on": timezone.localdate()})
    unit = None
    if not form.is_bound:
        return form, True, period, start, end, unit
    if not form.is_valid():
        return form, False, period, start, end, unit
    data = form.cleaned_data
    period, start, end = data["period"], data["start"], data["end"]
    code = data["unit"].strip()
    if code:
        unit = Unit.objects.current().select_related("level").filter(code=code).first()
        if unit is None or not access.territorial or not access.covers(unit.path):
            form.add_error("unit", _("No unit with this code in your area."))
            return form, False, period, start, end, None
    return form, True, period, start, end, unit


def _label(period: str, start, end) -> str:
    if period == ResultPeriod.RANGE:
        return f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"
    return period_label(period, start)


def _department_tables(request):
    access = services.results_access(request.user)
    form, valid, period, start, end, unit = _filters(request, access)
    rows, own = [], []
    if valid:
        if access.territorial:
            rows = services.department_results(services.department_ratings_for(access, unit), start, end)
        own = [services.own_department_result(d, start, end) for d in access.departments]
    return {
        "access": access,
        "form": form,
        "valid": valid,
        "period": period,
        "start": start,
        "end": end,
        "unit": unit,
        "label": _label(period, start, end),
        "rows": rows,
        "own": own,
        "dimensions": DepartmentDimension.labels,
        "min_count": services.rank_min_count(),
        "export_query": request.GET.urlencode(),
    }


@login_required
@require_GET
def results(request):
    """部门评议结果: the departments' figures over a period in the user's area, and a department's own."""
    context = _department_tables(request)
    return _render(request, "ratings/results.html", context, status=200 if context["valid"] else 400)


@login_required
@require_GET
def results_export(request):
    context = _department_tables(request)
    if not context["valid"]:
        return _render(request, "ratings/results.html", context, status=400)
    # The area's table for who appraises; a department's own anonymous row(s) otherwise.
    rows = context["rows"] if context["access"].territorial else [r for o in context["own"] for r in o.rows]
    return _xlsx(
        rows,
        title=_("Department ratings"),
        context=context,
        providers=False,
    )


def _xlsx(rows, *, title: str, context: dict, providers: bool) -> HttpResponse:
    out = io.BytesIO()
    exports.write_results_xlsx(rows, out, title=title, period=context["label"], providers=providers)
    response = HttpResponse(out.getvalue(), content_type=exports.XLSX)
    name = exports.file_name(title, context["start"], context["end"])
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


def _provider_tables(request):
    access = services.results_access(request.user)
    if not access.territorial:
        raise PermissionDenied(
            _("The providers' results are read by the county, township and village offices.")
        )
    form, valid, period, start, end, unit = _filters(request, access)
    rows = services.provider_results(services.provider_ratings_for(access, unit), start, end) if valid else []
    return {
        "form": form,
        "valid": valid,
        "period": period,
        "start": start,
        "end": end,
        "unit": unit,
        "label": _label(period, start, end),
        "rows": rows,
        "dimensions": ProviderDimension.labels,
        "min_count": services.rank_min_count(),
        "export_query": request.GET.urlencode(),
    }


@login_required
@require_GET
def provider_results(request):
    """居民评价结果: the public service providers' figures over a period, from the units in the user's area."""
    context = _provider_tables(request)
    return _render(request, "ratings/provider_results.html", context, status=200 if context["valid"] else 400)


@login_required
@require_GET
def provider_results_export(request):
    context = _provider_tables(request)
    if not context["valid"]:
        return _render(request, "ratings/provider_results.html", context, status=400)
    return _xlsx(
        context["rows"],
        title=_("Provider ratings"),
        context=context,
        providers=True,
    )


@login_required
@require_GET
def given(request):
    """The department ratings with their raters: one's own, and those of one's area for who appraises.
    A department never sees who rated it."""
    user = request.user
    scope = user.scope
    if not (
        scope.is_global
        or scope.paths_for(Capability.APPRAISE)
        or scope.paths_for(Capability.RATE_DEPARTMENTS)
    ):
        raise PermissionDenied(_("Your posts do not allow reading the ratings given."))
    access = services.ResultsAccess(None if scope.is_global else scope.paths, [])
    form, valid, period, start, end, unit = _filters(request, access)
    ratings = DepartmentRating.objects.visible_to(user)
    department = None
    if valid:
        low, high = services.day_bounds(start, end)
        ratings = ratings.filter(rated_at__gte=low, rated_at__lt=high)
        if unit is not None:
            ratings = ratings.filter(unit__path__startswith=unit.path)
        try:
            department_id = int(request.GET.get("department") or 0)
        except ValueError:
            department_id = 0
        if department_id:
            department = Department.objects.filter(pk=department_id).first()
            ratings = ratings.filter(department_id=department_id)
    else:
        ratings = ratings.none()
    ratings = ratings.select_related("case", "department", "rater", "rater_unit", "unit").order_by(
        "-rated_at", "-id"
    )
    page = Paginator(ratings, PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(
        request,
        "ratings/given.html",
        {
            "form": form,
            "page": page,
            "page_query": _query_without(request, "page"),
            "department_query": _query_without(request, "page", "department"),
            "label": _label(period, start, end),
            "department": department,
        },
        status=200 if valid else 400,
    )
