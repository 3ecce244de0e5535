"""Appraisal pages: scorecards of units and grid workers, the monthly ranking with its exports, and the
weekly inspections. Who may see what is decided in `services` (Capability.APPRAISE over the unit; a grid
worker their own scorecard); a unit or person out of reach answers 404, no right at all 403."""

from __future__ import annotations

import datetime
import io
import uuid
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from wangge.people.roles import GRID_ROLES, Capability
from wangge.ratings import services as ratings_services
from wangge.units.models import Unit

from . import exports, services
from .choices import SUBJECT_RANKS, ScorePeriod, Subject
from .forms import FindingFormSet, InspectionFilterForm, InspectionForm, RankingForm, ScorecardForm
from .indicators import Indicator
from .models import Inspection, InspectionFinding, MonthlyScore
from .scorecards import Batch, period_range, previous_range, unit_scorecards, worker_scorecards

PAGE_SIZE = 50


def _require_appraiser(user) -> None:
    if not user.has_capability(Capability.APPRAISE):
        raise PermissionDenied


def _unit_or_default(user, code: str) -> Unit:
    """The unit asked for when the user may appraise it (404 otherwise), else their first such unit."""
    if code:
        unit = Unit.objects.current().select_related("level").filter(code=code.strip()).first()
        if unit is None or not services.may_appraise(user, unit):
            raise Http404
        return unit
    unit = services.appraisable_units(user).select_related("level").order_by("path").first()
    if unit is None:
        raise PermissionDenied
    return unit


def _breadcrumbs(user, unit: Unit) -> list[Unit]:
    paths = Unit.path_prefixes(unit.path)
    above = Unit.objects.filter(path__in=paths).order_by("path")
    return [u for u in above if services.may_appraise(user, u)]


@login_required
@require_safe
def index(request):
    """The hub of appraisal and incentives: each section shows what the user's posts allow."""
    user = request.user
    scope = user.scope
    if scope.is_empty:
        raise PermissionDenied
    today = timezone.localdate()
    units = list(services.appraisable_units(user).select_related("level").order_by("path")[:20])
    return render(
        request,
        "appraisal/index.html",
        {
            "units": units,
            "has_grid_post": bool(scope.roles & GRID_ROLES),
            "last_month": services.month_start(today.replace(day=1) - datetime.timedelta(days=1)),
            "can_appraise": bool(units),
            "ratings": ratings_services.ratings_nav(user),
            "can_award_points": user.has_capability(Capability.AWARD_POINTS),
            "keeps_points_shop": user.has_capability(Capability.MANAGE_POINTS_SHOP),
        },
    )


def _period(form) -> tuple[str, datetime.date, datetime.date]:
    today = timezone.localdate()
    period = ScorePeriod.MONTH
    day = today
    if form.is_valid():
        period = form.cleaned_data["period"] or ScorePeriod.MONTH
        day = form.cleaned_data["on"] or today
    start, end = period_range(period, day)
    return period, start, end


def _compare(current: list, previous: list) -> list[tuple]:
    """Pairs each scorecard with the same subject's card of the previous period."""
    return list(zip(current, previous, strict=True))


@login_required
@require_safe
def scorecard(request):
    """A unit's scorecard over a period next to the previous period, and its children's (drill-down);
    a grid's page lists the scorecards of its grid workers."""
    user = request.user
    form = ScorecardForm(request.GET or None)
    code = form.data.get("unit", "") if form.is_bound else ""
    if not user.has_capability(Capability.APPRAISE):
        if user.scope.roles & GRID_ROLES and not code:
            return redirect("appraisal:person", pk=user.pk)
        raise PermissionDenied
    unit = _unit_or_default(user, code)
    period, start, end = _period(form)
    before = previous_range(period, start)
    children = list(
        Unit.objects.current()
        .filter(path__startswith=unit.path, depth=unit.depth + 1)
        .select_related("level")
    )
    batch = Batch(unit, start, end)
    previous = Batch(unit, *before)
    cards = unit_scorecards(batch, [unit, *children])
    earlier = unit_scorecards(previous, [unit])
    workers = []
    if unit.is_grid:
        workers = sorted(worker_scorecards(batch), key=lambda card: card.user.full_name)
    return render(
        request,
        "appraisal/scorecard.html",
        {
            "form": form,
            "unit": unit,
            "breadcrumbs": _breadcrumbs(user, unit),
            "period": period,
            "start": start,
            "end": end,
            "card": cards[0],
            "previous": earlier[0],
            "rows": _figure_rows(cards[0], earlier[0]),
            "children": cards[1:],
            "workers": workers,
            "indicators": Indicator,
        },
    )


def _figure_rows(card, previous) -> list[tuple]:
    return [(figure, previous.figures.get(code)) for code, figure in card.figures.items()]


@login_required
@require_safe
def person(request, pk: int):
    """A grid worker's scorecard: for themself, and for whoever may appraise one of their grids."""
    worker = get_object_or_404(get_user_model(), pk=pk)
    form = ScorecardForm(request.GET or None)
    period, start, end = _period(form)
    if not services.may_see_worker(request.user, worker, start, end):
        raise Http404
    held = services.worker_posts_during(worker, start, end).values("unit_id")
    units = list(Unit.objects.filter(pk__in=held).order_by("path"))
    if not units:  # no post in the period: their own page still opens, on their last grid
        units = list(Unit.objects.filter(posts__user=worker, posts__role__in=GRID_ROLES).order_by("path")[:1])
    if not units:
        raise Http404
    # The deepest unit above all of their grids: one batch reads them all.
    shared = set(Unit.path_prefixes(units[0].path))
    for unit in units[1:]:
        shared &= set(Unit.path_prefixes(unit.path))
    root = Unit.objects.get(path=max(shared, key=len))
    cards = worker_scorecards(Batch(root, start, end), user_ids=[worker.pk])
    earlier = worker_scorecards(Batch(root, *previous_range(period, start)), user_ids=[worker.pk])
    scores = (
        MonthlyScore.objects.visible_to(request.user)
        .filter(user=worker)
        .select_related("scheme")
        .order_by("-month")[:12]
    )
    return render(
        request,
        "appraisal/person.html",
        {
            "form": form,
            "worker": worker,
            "period": period,
            "start": start,
            "end": end,
            "card": cards[0] if cards else None,
            "rows": _figure_rows(cards[0], earlier[0]) if cards and earlier else [],
            "scores": scores,
        },
    )


def _ranking_context(request):
    user = request.user
    _require_appraiser(user)
    form = RankingForm(request.GET or None)
    code = form.data.get("unit", "") if form.is_bound else ""
    unit = _unit_or_default(user, code)
    today = timezone.localdate()
    subject = Subject.WORKER
    last_month = services.month_start(today.replace(day=1) - datetime.timedelta(days=1))
    month = last_month
    if form.is_valid():
        subject = form.cleaned_data["subject"] or Subject.WORKER
        month = services.month_start(form.cleaned_data["month"] or month)
    groups = []
    ranks = SUBJECT_RANKS.get(subject, (None,))
    for rank in ranks:
        rows = services.ranking(month, subject, unit, rank=rank if subject == Subject.GRID else None)
        if rows:
            groups.append((rows[0].score.unit.level if subject == Subject.GRID else None, rows))
    # The scheme the stored scores were computed with; before scoring, the one in force.
    scheme = groups[0][1][0].score.scheme if groups else services.scheme_for(subject, month)
    return {
        "form": form,
        "unit": unit,
        "subject": subject,
        "subject_label": Subject(subject).label,
        "month": month,
        "groups": groups,
        "scheme": scheme,
        "items": list(scheme.items.all()) if scheme else [],
        "can_compute": _top_unit(user) is not None and month == last_month,
    }


RANKING_PAGE_SIZE = 100


@login_required
@require_safe
def ranking(request):
    """The month's stored scores under a unit, best first, per level, a hundred a page (the exports hold
    every row)."""
    context = _ranking_context(request)
    number = request.GET.get("page")
    pages = [
        (level, Paginator(rows, RANKING_PAGE_SIZE).get_page(number)) for level, rows in context["groups"]
    ]
    params = request.GET.copy()
    params.pop("page", None)
    context.update(
        {
            "groups": pages,
            "pager": max(
                (page for _level, page in pages), key=lambda page: page.paginator.num_pages, default=None
            ),
            "query": params.urlencode(),
        }
    )
    return render(request, "appraisal/ranking.html", context)


@login_required
@require_safe
def ranking_xlsx(request):
    context = _ranking_context(request)
    out = io.BytesIO()
    exports.write_ranking_xlsx(context, out)
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = content_disposition_header(True, exports.file_name(context, "xlsx"))
    return response


@login_required
@require_safe
def ranking_pdf(request):
    import weasyprint  # loads Pango and fonts: only the PDF needs it

    context = _ranking_context(request)
    context["generated_at"] = timezone.localtime()
    html = render_to_string("appraisal/ranking_print.html", context, request=request)
    pdf = weasyprint.HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, exports.file_name(context, "pdf"))
    return response


def _top_unit(user) -> Unit | None:
    """The top of the tree when the user appraises all of it (the county centre), else None."""
    top = Unit.objects.current().filter(depth=1).order_by("path").first()
    return top if top is not None and services.may_appraise(user, top) else None


@login_required
@require_POST
def compute(request):
    """Score last month again now, for the whole tree (the worker scores it on the first working day; late
    corrections are taken in this way). Only whoever appraises the whole county may: a partial run would
    rank one township's workers on fresher data than the rest."""
    user = request.user
    _require_appraiser(user)
    unit = _unit_or_default(user, request.POST.get("unit", ""))
    top = _top_unit(user)
    if top is None:
        raise PermissionDenied
    try:
        month = services.month_start(datetime.date.fromisoformat(request.POST.get("month", "") + "-01"))
    except ValueError:
        messages.error(request, _("Month: give a month as YYYY-MM."))
        return redirect("appraisal:ranking")
    try:
        written = services.compute_month(month, top)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(count)d scores computed for %(month)s.") % {"count": written, "month": f"{month:%Y-%m}"},
        )
    return redirect(
        f"{reverse('appraisal:ranking')}?unit={unit.code}&month={month:%Y-%m}&subject={request.POST.get('subject', '')}"
    )


# --- inspections ------------------------------------------------------------------------------------


@login_required
@require_safe
def inspections(request):
    user = request.user
    _require_appraiser(user)
    form = InspectionFilterForm(request.GET or None)
    rows = Inspection.objects.visible_to(user).select_related("unit", "inspecting_unit", "recorded_by")
    unit = None
    if form.is_valid():
        data = form.cleaned_data
        if data["unit"]:
            unit = Unit.objects.filter(code=data["unit"].strip()).first()
            if unit is None:
                raise Http404
            rows = rows.filter(unit__path__startswith=unit.path)
        if data["responsible"]:
            rows = rows.filter(findings__responsible__username=data["responsible"].strip()).distinct()
        if data["start"]:
            rows = rows.filter(inspected_on__gte=data["start"])
        if data["end"]:
            rows = rows.filter(inspected_on__lte=data["end"])
    page = Paginator(rows.prefetch_related("findings").order_by("-inspected_on", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    today = timezone.localdate()
    week_start, week_end = period_range(ScorePeriod.WEEK, today)
    roots = list(services.appraisable_units(user).order_by("path")[:10])
    not_inspected = []
    for root in roots:
        if root.level.rank < 3:
            not_inspected.extend(services.units_not_inspected(root, week_start, week_end)[:100])
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "appraisal/inspections.html",
        {
            "form": form,
            "page": page,
            "unit": unit,
            "week_start": week_start,
            "week_end": week_end,
            "not_inspected": not_inspected,
            "query": params.urlencode(),
        },
    )


def _findings(formset, unit: Unit) -> list[services.FindingDraft]:
    users = get_user_model().objects
    drafts = []
    for index, data in enumerate(formset.cleaned_data, start=1):
        if not data or not (data.get("description") or "").strip():
            continue
        responsible = None
        if data.get("responsible"):
            responsible = users.filter(username=data["responsible"].strip()).first()
            if responsible is None:
                raise ValidationError(
                    {"findings": _("Finding %(n)d names someone without a grid post here.") % {"n": index}}
                )
        drafts.append(
            services.FindingDraft(
                data["description"],
                data.get("deduction") or Decimal("0"),
                responsible,
                data.get("rectify_by"),
            )
        )
    return drafts


@login_required
@require_http_methods(["GET", "POST"])
def inspection_new(request):
    user = request.user
    _require_appraiser(user)
    if request.method == "POST":
        form = InspectionForm(request.POST)
        formset = FindingFormSet(request.POST, prefix="findings")
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            unit = Unit.objects.current().select_related("level").filter(code=data["unit"].strip()).first()
            if unit is None or not services.may_appraise(user, unit):
                form.add_error("unit", _("No unit with this code that you may inspect."))
            else:
                try:
                    inspection, _created = services.record_inspection(
                        by=user,
                        unit=unit,
                        inspected_on=data["inspected_on"],
                        checked=data["checked"],
                        summary=data["summary"],
                        findings=_findings(formset, unit),
                        client_uuid=data["client_uuid"],
                    )
                except PermissionDenied:
                    form.add_error("unit", _("Only a level above may inspect this unit."))
                except ValidationError as error:
                    for field, errors in error.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    messages.success(request, _("Inspection recorded."))
                    return redirect("appraisal:inspection", pk=inspection.pk)
    else:
        form = InspectionForm(
            initial={
                "client_uuid": uuid.uuid4(),
                "inspected_on": timezone.localdate(),
                "unit": request.GET.get("unit", ""),
            }
        )
        formset = FindingFormSet(prefix="findings")
    return render(request, "appraisal/inspection_form.html", {"form": form, "formset": formset})


@login_required
@require_safe
def inspection_detail(request, pk: int):
    inspection = get_object_or_404(
        Inspection.objects.visible_to(request.user).select_related("unit", "inspecting_unit", "recorded_by"),
        pk=pk,
    )
    findings = inspection.findings.select_related("responsible", "case")
    can_rectify = services.may_appraise(request.user, inspection.unit) or services.may_appraise(
        request.user, inspection.inspecting_unit
    )
    return render(
        request,
        "appraisal/inspection_detail.html",
        {
            "inspection": inspection,
            "findings": findings,
            "inspectors": inspection.inspectors.all(),
            "can_rectify": can_rectify,
        },
    )


@login_required
@require_POST
def rectified(request, pk: int):
    finding = get_object_or_404(
        InspectionFinding.objects.select_related("inspection__unit", "inspection__inspecting_unit"),
        pk=pk,
        inspection__in=Inspection.objects.visible_to(request.user),
    )
    try:
        services.mark_rectified(finding, by=request.user)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        messages.success(request, _("Marked as rectified."))
    return redirect("appraisal:inspection", pk=finding.inspection_id)
