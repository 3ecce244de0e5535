"""The monthly ranking as an .xlsx file: the page's rows, each indicator's value and points."""

from __future__ import annotations

from decimal import Decimal

import openpyxl
from django.utils.translation import gettext as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from wangge.ledger.columns import escape_formula

from .indicators import RATES


def _value(indicator: str, raw):
    if raw is None:
        return None
    if indicator in RATES:
        return float(Decimal(raw))
    return float(Decimal(str(raw)))


def write_ranking_xlsx(context: dict, out) -> int:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Monthly ranking"))
    items = context["items"]
    header = [_("Rank"), _("Name"), _("Unit"), _("Unit code"), _("Score")]
    for item in items:
        header += [
            f"{item.get_indicator_display()}",
            _("%(indicator)s (points)") % {"indicator": item.get_indicator_display()},
        ]
    bold = []
    for title in header:
        cell = WriteOnlyCell(sheet, value=str(title))
        cell.font = Font(bold=True)
        bold.append(cell)
    sheet.append(bold)
    count = 0
    for _level, rows in context["groups"]:
        for ranked in rows:
            score = ranked.score
            name = score.user.full_name if score.user else score.unit.name
            row = [
                ranked.rank,
                escape_formula(name),
                escape_formula(score.unit.name),
                score.unit.code,
                float(score.total),
            ]
            for item in items:
                raw = score.values.get(item.indicator)
                value = _value(item.indicator, raw)
                cell = WriteOnlyCell(sheet, value=value)
                if item.indicator in RATES:
                    cell.number_format = "0.0%"
                row += [cell, float(Decimal(score.points.get(item.indicator, "0")))]
            sheet.append(row)
            count += 1
    workbook.save(out)
    return count


def file_name(context: dict, extension: str) -> str:
    return f"{_('Monthly ranking')}-{context['unit'].name}-{context['subject_label']}-{context['month']:%Y%m}.{extension}"
