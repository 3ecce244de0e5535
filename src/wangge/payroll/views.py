"""The payroll pages (TEAM-7): sheets (list, compute, detail, finalise, exports), a line with what is behind
each figure, information rewards, the yearly budget of a unit, the rules in force, and "my pay".

Access: every page needs a signed-in user. Sheets, rewards and the budget need MANAGE_PAY (403 without it)
and answer 404 for a unit or a sheet outside the subtrees of the posts that grant it — through the same
`visible_to` querysets as the admin and the exports. "My pay" shows the user's own lines only; the rules
page shows the rules that concern the user's posts to anyone holding a post.
"""

from __future__ import annotations

import datetime
import io
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wangge.cases.models import Case
from wangge.core.forms import apply_service_errors
from wangge.core.scope import get_visible_or_404
from wangge.people.roles import Capability
from wangge.units.models import Unit

from . import exports, services
from .compute import month_start
from .forms import ComputeForm, FinaliseForm, RewardForm, UnitYearForm
from .models import AllowanceRule, InformationReward, PayLine, PayRule, PaySheet

PAGE_SIZE = 50


# --- access ---------------------------------------------------------------------------------------------


def _render(request, template: str, context: dict):
    user = request.user
    context["keeps_pay"] = user.has_capability(Capability.MANAGE_PAY) and not user.scope.is_empty
    return render(request, template, context)


def _require_keeper(request) -> None:
    user = request.user
    if user.scope.is_empty:
        raise PermissionDenied(_("You hold no active post."))
    if not user.has_capability(Capability.MANAGE_PAY):
        raise PermissionDenied(_("Your posts do not allow keeping pay and subsidies."))


def _pay_unit(request, code: str) -> Unit:
    """The unit asked for (by code) if the user keeps its pay, else 404; without a code, their top one."""
    units = services.pay_units(request.user).select_related("level")
    unit = units.filter(code=code).first() if code else units.order_by("depth", "path").first()
    if unit is None:
        raise Http404
    return unit


def _unit_and_year(request) -> tuple[Unit, int]:
    form = UnitYearForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    unit = _pay_unit(request, (data.get("unit") or "").strip())
    return unit, data.get("year") or timezone.localdate().year


def _children(request, unit):
    return (
        services.pay_units(request.user)
        .filter(path__startswith=unit.path, depth=unit.depth + 1)
        .order_by("path")
    )


def _ancestors(request, unit):
    return services.pay_units(request.user).filter(path__in=Unit.path_prefixes(unit.path, include_self=False))


def _sheet(request, pk: int) -> PaySheet:
    _require_keeper(request)
    return get_visible_or_404(
        PaySheet.objects.select_related("unit", "unit__level", "computed_by", "finalised_by"),
        request.user,
        pk=pk,
    )


def _months_open(year: int, today: datetime.date) -> list[datetime.date]:
    last = 12 if year < today.year else (today.month if year == today.year else 0)
    return [datetime.date(year, m, 1) for m in range(last, 0, -1)]


# --- sheets ---------------------------------------------------------------------------------------------


@login_required
@require_GET
def home(request):
    if request.user.has_capability(Capability.MANAGE_PAY) and not request.user.scope.is_empty:
        return redirect("payroll:sheets")
    return redirect("payroll:mine")


@login_required
@require_GET
def sheets(request):
    """The sheets of a unit's subtree for a year, and the form to compute one of the unit."""
    _require_keeper(request)
    unit, year = _unit_and_year(request)
    today = timezone.localdate()
    listed = (
        PaySheet.objects.visible_to(request.user)
        .filter(unit__path__startswith=unit.path, month__year=year)
        .select_related("unit", "unit__level")
        .order_by("-month", "unit__path")
    )
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    months = _months_open(year, today)
    return _render(
        request,
        "payroll/sheets.html",
        {
            "unit": unit,
            "year": year,
            "years": [today.year - 1, today.year],
            "page": page,
            "page_query": f"unit={unit.code}&year={year}",
            "children": _children(request, unit),
            "ancestors": _ancestors(request, unit),
            "months": months,
        },
    )


@login_required
@require_POST
def compute(request):
    _require_keeper(request)
    form = ComputeForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("payroll:sheets")
    unit = _pay_unit(request, form.cleaned_data["unit"])
    try:
        sheet = services.compute_sheet(by=request.user, unit=unit, month=form.cleaned_data["month"])
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(f"{reverse('payroll:sheets')}?unit={unit.code}")
    messages.success(
        request,
        _("The sheet of %(unit)s for %(month)s is computed.")
        % {"unit": unit.name, "month": f"{sheet.month:%Y-%m}"},
    )
    return redirect("payroll:sheet", sheet.pk)


@login_required
@require_GET
def sheet_detail(request, pk):
    sheet = _sheet(request, pk)
    lines = sheet.lines.select_related("person", "unit").prefetch_related("items").order_by("id")
    page = Paginator(lines, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    return _render(
        request,
        "payroll/sheet.html",
        {
            "sheet": sheet,
            "unit": sheet.unit,
            "page": page,
            "finalise_form": FinaliseForm(initial={"expected_total": sheet.total}),
            "can_finalise": not sheet.is_final and sheet.month < month_start(today),
            "ancestors": _ancestors(request, sheet.unit),
        },
    )


@login_required
@require_POST
def recompute(request, pk):
    sheet = _sheet(request, pk)
    try:
        services.compute_sheet(by=request.user, unit=sheet.unit, month=sheet.month)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The draft is recomputed from the rules and records of now."))
    return redirect("payroll:sheet", sheet.pk)


@login_required
@require_POST
def finalise(request, pk):
    sheet = _sheet(request, pk)
    form = FinaliseForm(request.POST)
    expected = form.cleaned_data["expected_total"] if form.is_valid() else None
    try:
        services.finalise_sheet(by=request.user, sheet=sheet, expected_total=expected)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The sheet is finalised: its figures no longer change."))
    return redirect("payroll:sheet", sheet.pk)


def _line_context(line: PayLine) -> dict:
    allowances = list(line.allowances.select_related("rule", "rule__category").prefetch_related("cases"))
    return {
        "line": line,
        "sheet": line.sheet,
        "items": list(line.items.select_related("rule", "rule__unit")),
        "allowances": allowances,
        "rewards": list(line.reward_records.select_related("case", "unit", "granted_by").order_by("pk")),
    }


@login_required
@require_GET
def line_detail(request, pk, line_pk):
    sheet = _sheet(request, pk)
    line = sheet.lines.select_related("person", "unit").filter(pk=line_pk).first()
    if line is None:
        raise Http404
    line.sheet = sheet
    return _render(request, "payroll/line.html", {**_line_context(line), "own": False})


@login_required
@require_GET
def export_xlsx(request, pk):
    sheet = _sheet(request, pk)
    out = io.BytesIO()
    exports.write_sheet_xlsx(sheet, exports.sheet_lines(sheet), out)
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = content_disposition_header(True, exports.file_name(sheet, "xlsx"))
    return response


@login_required
@require_GET
def export_pdf(request, pk):
    import weasyprint  # loads Pango and fonts: only this view needs it

    sheet = _sheet(request, pk)
    html = render_to_string(
        "payroll/sheet_print.html",
        {
            "sheet": sheet,
            "unit": sheet.unit,
            "lines": exports.sheet_lines(sheet),
            "today": timezone.localdate(),
        },
        request=request,
    )
    pdf = weasyprint.HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, exports.file_name(sheet, "pdf"))
    return response


# --- rewards --------------------------------------------------------------------------------------------


@login_required
@require_GET
def rewards(request):
    _require_keeper(request)
    unit, year = _unit_and_year(request)
    listed = (
        InformationReward.objects.visible_to(request.user)
        .filter(unit__path__startswith=unit.path, month__year=year)
        .select_related("person", "unit", "case", "granted_by")
        .order_by("-month", "-pk")
    )
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(
        request,
        "payroll/rewards.html",
        {
            "unit": unit,
            "year": year,
            "page": page,
            "page_query": f"unit={unit.code}&year={year}",
            "children": _children(request, unit),
            "ancestors": _ancestors(request, unit),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def reward_new(request):
    _require_keeper(request)
    unit = _pay_unit(request, (request.GET.get("unit") or "").strip())
    today = timezone.localdate()
    since = (month_start(today) - datetime.timedelta(days=1)).replace(day=1)
    if request.method == "POST":
        form = RewardForm(request.POST, unit=unit, since=since)
        if form.is_valid():
            data = form.cleaned_data
            case = None
            number = data["case_number"].strip()
            if number:
                case = Case.objects.visible_to(request.user).filter(number=number).first()
                if case is None:
                    form.add_error("case_number", _("No case with this number in your area."))
            if not form.errors:
                try:
                    reward = services.grant_reward(
                        by=request.user,
                        person=data["person"],
                        unit=unit,
                        month=data["month"],
                        amount=data["amount"],
                        reason=data["reason"],
                        case=case,
                    )
                except ValidationError as error:
                    apply_service_errors(form, error)
                else:
                    messages.success(
                        request,
                        _("A reward of %(amount)s yuan for %(person)s is paid in %(month)s.")
                        % {
                            "amount": reward.amount,
                            "person": reward.person,
                            "month": f"{reward.month:%Y-%m}",
                        },
                    )
                    return redirect(f"{reverse('payroll:rewards')}?unit={unit.code}&year={reward.month.year}")
    else:
        form = RewardForm(unit=unit, since=since, initial={"month": month_start(today)})
    return _render(request, "payroll/reward_form.html", {"form": form, "unit": unit})


@login_required
@require_POST
def reward_withdraw(request, pk):
    _require_keeper(request)
    reward = get_visible_or_404(InformationReward.objects.select_related("unit"), request.user, pk=pk)
    if not services.keeps_pay(request.user, reward.unit):
        raise Http404  # the person's own reward, seen through "my pay", is not theirs to withdraw
    try:
        services.withdraw_reward(by=request.user, reward=reward)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The reward is withdrawn."))
    return redirect(f"{reverse('payroll:rewards')}?unit={reward.unit.code}&year={reward.month.year}")


# --- the budget -----------------------------------------------------------------------------------------


@login_required
@require_GET
def budget(request):
    _require_keeper(request)
    unit, year = _unit_and_year(request)
    today = timezone.localdate()
    return _render(
        request,
        "payroll/budget.html",
        {
            "unit": unit,
            "year": year,
            "years": [today.year - 1, today.year],
            "budget": services.year_budget(unit, year),
            "children": _children(request, unit),
            "ancestors": _ancestors(request, unit),
        },
    )


# --- rules ----------------------------------------------------------------------------------------------


def _with_status(rules, identity, today: datetime.date) -> list:
    """Mark each version: in force this month, superseded, or from a later month."""
    rules = list(rules)
    month = month_start(today)
    latest: dict = {}
    for rule in rules:
        key = (*identity(rule), rule.unit_id)
        if rule.valid_from <= month and (key not in latest or latest[key] < rule.valid_from):
            latest[key] = rule.valid_from
    for rule in rules:
        key = (*identity(rule), rule.unit_id)
        if rule.valid_from > month:
            rule.status = "future"
        elif latest.get(key) == rule.valid_from:
            rule.status = "in_force"
        else:
            rule.status = "superseded"
    return rules


@login_required
@require_GET
def rules(request):
    """The pay and allowance rules that concern the user's posts: read-only (they are edited in the admin)."""
    user = request.user
    if user.scope.is_empty:
        raise PermissionDenied(_("You hold no active post."))
    today = timezone.localdate()
    pay = _with_status(
        PayRule.objects.visible_to(user).select_related("unit").order_by("role", "unit__path", "-valid_from"),
        lambda rule: (rule.role,),
        today,
    )
    allowance = _with_status(
        AllowanceRule.objects.visible_to(user)
        .select_related("unit", "category")
        .order_by("kind", "category__code", "unit__path", "-valid_from"),
        lambda rule: (rule.kind, rule.category_id),
        today,
    )
    return _render(
        request,
        "payroll/rules.html",
        {
            "pay_page": Paginator(pay, PAGE_SIZE).get_page(request.GET.get("page")),
            "allowance_page": Paginator(allowance, PAGE_SIZE).get_page(request.GET.get("apage")),
            "can_edit": user.has_capability(Capability.MANAGE_PAY)
            and user.has_capability(Capability.USE_ADMIN),
        },
    )


# --- my pay ---------------------------------------------------------------------------------------------


def own_lines(user):
    """The user's lines, one sheet per month: the most specific sheets holding a line of theirs (a village's
    before its township's), since the sheets of a unit and of the units above it list the same people."""
    lines = list(
        PayLine.objects.filter(person=user)
        .select_related("sheet", "sheet__unit", "unit")
        .prefetch_related("items")
        .order_by("-sheet__month", "sheet__unit__path")
    )
    by_month = defaultdict(list)
    for line in lines:
        by_month[line.sheet.month].append(line)
    kept = []
    for month_lines in by_month.values():
        paths = [line.sheet.unit.path for line in month_lines]
        kept.extend(
            line
            for line in month_lines
            if not any(
                other != line.sheet.unit.path and other.startswith(line.sheet.unit.path) for other in paths
            )
        )
    return kept


@login_required
@require_GET
def mine(request):
    page = Paginator(own_lines(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(request, "payroll/mine.html", {"page": page})


@login_required
@require_GET
def my_line(request, line_pk):
    line = PayLine.objects.filter(person=request.user).select_related(
        "sheet", "sheet__unit", "unit", "person"
    )
    line = line.filter(pk=line_pk).first()
    if line is None:
        raise Http404
    return _render(request, "payroll/line.html", {**_line_context(line), "own": True})
