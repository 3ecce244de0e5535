"""The monthly reports (月度通报) of a unit: the list of its stored months with their PDF and Excel, the
form that generates a finished month (again), and the downloads. Who may open a unit's dashboard may read
and generate its reports (`services.may_view`); a unit outside the user's scope answers 404, a user who
may open no dashboard at all 403."""

from __future__ import annotations

import datetime
import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from wangge.units.models import Unit

from . import report_exports, reports, services
from .models import MonthlyReport

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportMonthForm(forms.Form):
    month = forms.CharField(
        label=capfirst(gettext_lazy("month")),
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )

    def clean_month(self) -> datetime.date:
        text = self.cleaned_data["month"].strip()
        try:
            return datetime.date.fromisoformat(f"{text}-01")
        except ValueError:
            raise ValidationError(_("Month: give a month as YYYY-MM."), code="invalid") from None


def _unit(request, code: str) -> Unit:
    """Any version of the unit, so that a retired unit's reports stay readable."""
    return services.unit_for(request.user, code, current=False)


def _list(request, unit: Unit, form: ReportMonthForm, *, missing: datetime.date | None = None, status=200):
    stored = (
        MonthlyReport.objects.visible_to(request.user)
        .filter(unit=unit)
        .select_related("generated_by")
        .order_by("-month")
    )
    rows = [
        {
            "report": report,
            "month": f"{report.month:%Y-%m}",
            "on_time_closure": report_exports.percent(
                report.document.get("headline", {}).get("on_time_closure")
            ),
            "registered": report.document.get("headline", {}).get("registered"),
        }
        for report in stored
    ]
    context = {
        "unit": unit,
        "rows": rows,
        "form": form,
        "missing": missing,
        "may_issue": reports.may_issue(request.user, unit),
    }
    return render(request, "dashboard/report_list.html", context, status=status)


def _last_month() -> str:
    return f"{reports.previous_month(timezone.localdate()):%Y-%m}"


@login_required
@require_safe
def report_list(request, code: str):
    unit = _unit(request, code)
    return _list(request, unit, ReportMonthForm(initial={"month": _last_month()}))


@login_required
@require_POST
def report_generate(request, code: str):
    unit = _unit(request, code)
    if not reports.may_issue(request.user, unit):
        raise PermissionDenied
    form = ReportMonthForm(request.POST)
    if form.is_valid():
        month = form.cleaned_data["month"]
        try:
            reports.generate(unit, month, by=request.user)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request,
                _("The report of %(unit)s on %(month)s has been generated.")
                % {"unit": unit.name, "month": f"{month:%Y-%m}"},
            )
            return redirect("dashboard:reports", code=unit.code)
    return _list(request, unit, form, status=400)


def _stored(request, code: str, first: datetime.date):
    """The stored report, or the list page answering 404 with the month ready to generate."""
    unit = _unit(request, code)
    report = MonthlyReport.objects.visible_to(request.user).filter(unit=unit, month=first).first()
    if report is None:
        form = ReportMonthForm(initial={"month": f"{first:%Y-%m}"})
        return None, _list(request, unit, form, missing=first, status=404)
    return report, None


@login_required
@require_safe
def report_pdf(request, code: str, month: datetime.date):
    report, missing = _stored(request, code, month)
    if missing is not None:
        return missing
    pdf = report_exports.render_report_pdf(report.document, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        True, report_exports.file_name(report.document, "pdf")
    )
    return response


@login_required
@require_safe
def report_xlsx(request, code: str, month: datetime.date):
    report, missing = _stored(request, code, month)
    if missing is not None:
        return missing
    out = io.BytesIO()
    report_exports.write_report_xlsx(report.document, out)
    response = HttpResponse(out.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        True, report_exports.file_name(report.document, "xlsx")
    )
    return response
