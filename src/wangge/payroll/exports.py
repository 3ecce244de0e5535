"""A payroll sheet as an .xlsx file (the PDF is the `sheet_print.html` template): one row per line, in the
sheet's order, then the totals. The views fetch the sheet through the same scoped queryset as its page.

Amounts are written as numbers with two decimals, so the spreadsheet sums them; texts a spreadsheet would
run as a formula get an apostrophe before them (as in the ledger exports).
"""

from __future__ import annotations

import openpyxl
from django.utils.translation import gettext as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from wangge.ledger.columns import escape_formula

CHUNK = 2000
MONEY_FORMAT = "#,##0.00"


def sheet_lines(sheet):
    return sheet.lines.select_related("person", "unit").prefetch_related("items").order_by("id")


def post_types(line) -> str:
    """The post types of a line, with the days held when prorated: 专职网格员 (16/31)."""
    labels = []
    for item in line.items.all():
        label = str(item.get_role_display())
        if item.is_prorated:
            label += f" ({item.days}/{item.month_days})"
        labels.append(label)
    return "、".join(labels)


def headers() -> list[tuple[str, int]]:
    return [
        (_("Name"), 12),
        (_("Unit"), 22),
        (_("Unit code"), 20),
        (_("Post types"), 28),
        (_("Base pay"), 12),
        (_("Insurance"), 12),
        (_("Cases paid"), 10),
        (_("Case allowances"), 14),
        (_("Rewards"), 12),
        (_("Total"), 14),
    ]


def _cell(sheet, value, *, bold=False, money=False):
    cell = WriteOnlyCell(sheet, value=value)
    if bold:
        cell.font = Font(bold=True)
    if money:
        cell.number_format = MONEY_FORMAT
    return cell


def write_sheet_xlsx(pay_sheet, lines, out) -> int:
    """Write the lines of `pay_sheet` to `out`; returns the number of lines written."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(f"{pay_sheet.month:%Y-%m}")
    columns = headers()
    for index, (_title, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    status = pay_sheet.get_status_display()
    title = _("Payroll of %(unit)s for %(month)s") % {
        "unit": pay_sheet.unit.name,
        "month": f"{pay_sheet.month:%Y-%m}",
    }
    sheet.append([_cell(sheet, escape_formula(title), bold=True), _cell(sheet, str(status))])
    sheet.append([_cell(sheet, title, bold=True) for title, _width in columns])
    count = 0
    for line in lines.iterator(chunk_size=CHUNK):
        sheet.append(
            [
                _cell(sheet, escape_formula(line.person.full_name or line.person.username)),
                _cell(sheet, escape_formula(line.unit.name)),
                _cell(sheet, line.unit.code),
                _cell(sheet, post_types(line)),
                _cell(sheet, line.base, money=True),
                _cell(sheet, line.insurance, money=True),
                _cell(sheet, line.allowance_count),
                _cell(sheet, line.allowance, money=True),
                _cell(sheet, line.rewards, money=True),
                _cell(sheet, line.total, money=True),
            ]
        )
        count += 1
    sheet.append(
        [
            _cell(sheet, _("Total"), bold=True),
            _cell(sheet, _("%(people)s people") % {"people": pay_sheet.people}),
            _cell(sheet, ""),
            _cell(sheet, ""),
            _cell(sheet, pay_sheet.base_total, bold=True, money=True),
            _cell(sheet, pay_sheet.insurance_total, bold=True, money=True),
            _cell(sheet, pay_sheet.allowance_count, bold=True),
            _cell(sheet, pay_sheet.allowance_total, bold=True, money=True),
            _cell(sheet, pay_sheet.reward_total, bold=True, money=True),
            _cell(sheet, pay_sheet.total, bold=True, money=True),
        ]
    )
    sheet.append(
        [
            _cell(sheet, _("Yearly budget"), bold=True),
            *[_cell(sheet, "") for _i in range(8)],
            _cell(sheet, pay_sheet.budget_total, bold=True, money=True),
        ]
    )
    workbook.save(out)
    return count


def file_name(sheet, extension: str) -> str:
    return f"{_('Payroll')}-{sheet.unit.name}-{sheet.month:%Y%m}.{extension}"
