"""The monthly report (月度通报) as an .xlsx workbook and as a PDF, both drawn from the document stored in
`MonthlyReport` (`wangge.dashboard.reports.build_report`): figures and names as they were when it was
generated; only the labels of codes (KPIs, states, severities) follow the reader's language."""

from __future__ import annotations

import datetime
from decimal import Decimal

import openpyxl
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from wangge.cases.choices import CaseState, Severity
from wangge.ledger.columns import escape_formula

from .kpis import Kpi
from .templatetags.dashboard_tags import percent_value

PERCENT_FORMAT = "0.0%"
DAYS_FORMAT = "0.00"
MOMENT_FORMAT = "yyyy-mm-dd hh:mm"
EMPTY = "—"


# ---------------------------------------------------------------------------------------------------
# Reading the document


def _label(choices, key: str) -> str:
    try:
        return str(choices(key).label)
    except ValueError:  # a code retired since the report was generated
        return key


def kpi_label(key: str) -> str:
    return _label(Kpi, key)


def state_label(key: str) -> str:
    return _label(CaseState, key)


def severity_label(key: str) -> str:
    return _label(Severity, key)


def fraction(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def percent(text: str | None) -> str:
    """A fraction of the document as a percentage with one decimal, "—" when nothing was measured."""
    value = fraction(text)
    if value is None:
        return EMPTY
    return f"{percent_value(value)}%"


def moment(text: str | None) -> datetime.datetime | None:
    """A time of the document, in local time."""
    return None if text is None else timezone.localtime(datetime.datetime.fromisoformat(text))


def moment_text(text: str | None) -> str:
    found = moment(text)
    return EMPTY if found is None else f"{found:%Y-%m-%d %H:%M}"


def met_text(meets: bool | None) -> str:
    if meets is None:
        return EMPTY
    return _("Met") if meets else _("Not met")


def report_title(document: dict) -> str:
    year, month = document["month"].split("-")
    return _("%(unit)s %(year)s-%(month)s report on grid-based service and management work") % {
        "unit": document["unit"]["name"],
        "year": year,
        "month": int(month),
    }


def file_name(document: dict, extension: str) -> str:
    """通报-<unit code>-2026-10.pdf"""
    return f"{pgettext('file name', 'Monthly report')}-{document['unit']['code']}-{document['month']}.{extension}"


def headline_rows(document: dict) -> list[tuple[str, str, object]]:
    """(label, kind, value) of the headline counts; kind is "count", "rate" or "days"."""
    h = document["headline"]
    return [
        (_("Registered"), "count", h["registered"]),
        (_("Closed"), "count", h["closed"]),
        (_("Not registered"), "count", h["rejected"]),
        (_("Fell due"), "count", h["due"]),
        (_("Closed by the deadline"), "count", h["due_met"]),
        (_("Overdue"), "count", h["overdue"]),
        (str(Kpi.ON_TIME_CLOSURE.label), "rate", h["on_time_closure"]),
        (_("Resolved in the grid"), "count", h["self_resolved"]),
        (_("Average working days"), "days", h["average_days"]),
        (_("Median working days"), "days", h["median_days"]),
    ]


def _trend(value: str | None, previous: str | None) -> str:
    if value is None or previous is None or Decimal(value) == Decimal(previous):
        return ""
    return "up" if Decimal(value) > Decimal(previous) else "down"


def report_context(document: dict) -> dict:
    """What the PDF template shows: the document with labels and percentages as text."""
    headline = []
    for label, kind, value in headline_rows(document):
        if kind == "rate":
            text = percent(value)
        elif value is None:
            text = EMPTY
        else:
            text = str(value)
        headline.append({"label": label, "text": text})
    kpis = [
        {
            "kpi": k["kpi"],
            "label": kpi_label(k["kpi"]),
            "numerator": k["numerator"],
            "denominator": k["denominator"],
            "value": percent(k["value"]),
            "target": percent(k["target"]) if k["target"] is not None else EMPTY,
            "meets_target": k["meets_target"],
            "met": met_text(k["meets_target"]),
            "previous": percent(k["previous"]),
            "trend": _trend(k["value"], k["previous"]),
        }
        for k in document["kpis"]
    ]
    ranking = [
        {
            **row,
            "on_time_closure_text": percent(row[Kpi.ON_TIME_CLOSURE]),
            "disputes_text": percent(row[Kpi.DISPUTES_RESOLVED_LOCALLY]),
            "satisfaction_text": percent(row[Kpi.SATISFACTION]),
            "average_days_text": row["average_days"] or EMPTY,
        }
        for row in document["ranking"]
    ]
    overdue = [
        {
            **case,
            "state_label": state_label(case["state"]),
            "stage_due_text": moment_text(case["stage_due_at"]),
        }
        for case in document["overdue"]["cases"]
    ]
    notable = [
        {
            **case,
            "severity_label": severity_label(case["severity"]),
            "state_label": state_label(case["state"]),
            "registered_text": moment_text(case["registered_at"]),
            "closed_text": moment_text(case["closed_at"]),
        }
        for case in document["notable"]["cases"]
    ]
    return {
        "document": document,
        "title": report_title(document),
        "unit": document["unit"],
        "generated_at": moment_text(document["generated_at"]),
        "headline": headline,
        "kpis": kpis,
        "ranking": ranking,
        "overdue": overdue,
        "overdue_total": document["overdue"]["total"],
        "notable": notable,
        "notable_total": document["notable"]["total"],
    }


# ---------------------------------------------------------------------------------------------------
# The workbook


def _header(sheet, titles) -> list[WriteOnlyCell]:
    cells = []
    for title in titles:
        cell = WriteOnlyCell(sheet, value=str(title))
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def _rate_cell(sheet, text: str | None) -> WriteOnlyCell:
    value = fraction(text)
    cell = WriteOnlyCell(sheet, value=None if value is None else float(value))
    cell.number_format = PERCENT_FORMAT
    return cell


def _days_cell(sheet, text: str | None) -> WriteOnlyCell:
    value = fraction(text)
    cell = WriteOnlyCell(sheet, value=None if value is None else float(value))
    cell.number_format = DAYS_FORMAT
    return cell


def _moment_cell(sheet, text: str | None) -> WriteOnlyCell:
    found = moment(text)
    cell = WriteOnlyCell(sheet, value=None if found is None else found.replace(tzinfo=None))
    cell.number_format = MOMENT_FORMAT
    return cell


def _amount(value):
    """A numerator or denominator: an integer, or a decimal stored as text."""
    return float(Decimal(value)) if isinstance(value, str) else value


def _truncated(sheet, shown: int, total: int) -> None:
    if total > shown:
        sheet.append([_("%(shown)s of %(total)s listed.") % {"shown": shown, "total": total}])


def write_report_xlsx(document: dict, out) -> None:
    """The report as a workbook of four sheets: 指标 (the KPIs, then the headline counts), 排名 (the
    subordinate units), 超期案件 and 重点案件. Rates are numbers formatted as percentages."""
    workbook = openpyxl.Workbook(write_only=True)
    workbook.properties.title = report_title(document)

    sheet = workbook.create_sheet(_("KPI"))
    sheet.append(
        _header(
            sheet,
            [
                _("KPI"),
                _("Numerator"),
                _("Denominator"),
                _("Value"),
                _("Target"),
                _("Meets target"),
                _("Previous month"),
            ],
        )
    )
    for k in document["kpis"]:
        sheet.append(
            [
                kpi_label(k["kpi"]),
                _amount(k["numerator"]),
                _amount(k["denominator"]),
                _rate_cell(sheet, k["value"]),
                _rate_cell(sheet, k["target"]),
                met_text(k["meets_target"]) if k["meets_target"] is not None else None,
                _rate_cell(sheet, k["previous"]),
            ]
        )
    sheet.append([])
    for label, kind, value in headline_rows(document):
        if kind == "rate":
            sheet.append([label, _rate_cell(sheet, value)])
        elif kind == "days":
            sheet.append([label, _days_cell(sheet, value)])
        else:
            sheet.append([label, value])

    sheet = workbook.create_sheet(_("Rank"))
    sheet.append(
        _header(
            sheet,
            [
                _("Rank"),
                _("Unit"),
                _("Unit code"),
                _("Registered"),
                _("Closed"),
                _("Fell due"),
                _("Overdue"),
                kpi_label(Kpi.ON_TIME_CLOSURE),
                kpi_label(Kpi.DISPUTES_RESOLVED_LOCALLY),
                kpi_label(Kpi.SATISFACTION),
                _("Resolved in the grid"),
                _("Average working days"),
            ],
        )
    )
    for row in document["ranking"]:
        sheet.append(
            [
                row["rank"],
                escape_formula(row["name"]),
                row["code"],
                row["registered"],
                row["closed"],
                row["due"],
                row["overdue"],
                _rate_cell(sheet, row[Kpi.ON_TIME_CLOSURE]),
                _rate_cell(sheet, row[Kpi.DISPUTES_RESOLVED_LOCALLY]),
                _rate_cell(sheet, row[Kpi.SATISFACTION]),
                row["self_resolved"],
                _days_cell(sheet, row["average_days"]),
            ]
        )

    sheet = workbook.create_sheet(pgettext("monthly report", "Overdue cases"))
    sheet.append(
        _header(
            sheet,
            [
                _("Case number"),
                pgettext("case", "Title"),
                _("Unit"),
                _("Responsible unit"),
                _("Category"),
                _("Status"),
                capfirst(_("stage deadline")),
                _("Working days overdue"),
            ],
        )
    )
    for case in document["overdue"]["cases"]:
        sheet.append(
            [
                case["number"],
                escape_formula(case["title"]),
                escape_formula(case["unit"]),
                escape_formula(case["owner_unit"]),
                escape_formula(case["category"]),
                state_label(case["state"]),
                _moment_cell(sheet, case["stage_due_at"]),
                _days_cell(sheet, case["overdue_days"]),
            ]
        )
    _truncated(sheet, len(document["overdue"]["cases"]), document["overdue"]["total"])

    sheet = workbook.create_sheet(_("Notable cases"))
    sheet.append(
        _header(
            sheet,
            [
                _("Case number"),
                pgettext("case", "Title"),
                _("Unit"),
                _("Category"),
                _("Severity"),
                _("Status"),
                _("Closed?"),
                _("Registered on"),
                _("Closed on"),
            ],
        )
    )
    for case in document["notable"]["cases"]:
        sheet.append(
            [
                case["number"],
                escape_formula(case["title"]),
                escape_formula(case["unit"]),
                escape_formula(case["category"]),
                severity_label(case["severity"]),
                state_label(case["state"]),
                _("Yes") if case["closed"] else _("No"),
                _moment_cell(sheet, case["registered_at"]),
                _moment_cell(sheet, case["closed_at"]),
            ]
        )
    _truncated(sheet, len(document["notable"]["cases"]), document["notable"]["total"])
    workbook.save(out)


# ---------------------------------------------------------------------------------------------------
# The PDF


def render_report_pdf(document: dict, *, base_url: str | None = None) -> bytes:
    """The report as an A4 PDF, rendered by WeasyPrint from dashboard/report_pdf.html."""
    import weasyprint  # loads Pango and fonts: only the PDF needs it

    html = render_to_string("dashboard/report_pdf.html", report_context(document))
    return weasyprint.HTML(string=html, base_url=base_url).write_pdf()
