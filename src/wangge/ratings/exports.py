"""The rating results as .xlsx files: the same rows as the results pages (services.department_results,
services.provider_results over the same scoped querysets). Names of departments and providers get an
apostrophe before a leading = + - @ so no spreadsheet runs them as formulas (as in the ledger exports)."""

from __future__ import annotations

import datetime

import openpyxl
from django.utils.translation import gettext as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from wangge.ledger.columns import escape_formula

from .choices import DepartmentDimension, ProviderDimension

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _headers(labels: list[str], *, with_kind: bool) -> list[tuple[str, int]]:
    columns = [(_("Rank"), 8), (_("Name"), 28)]
    if with_kind:
        columns.append((_("Kind"), 12))
    columns.append((_("Ratings"), 10))
    columns += [(str(label), 14) for label in labels]
    columns += [(_("Overall average"), 14), (_("Share of 4–5 stars"), 16)]
    return columns


def write_results_xlsx(rows, out, *, title: str, period: str, providers: bool = False) -> int:
    """Write result rows (services.ResultRow) to `out`; returns the number of rows."""
    labels = ProviderDimension.labels if providers else DepartmentDimension.labels
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    columns = _headers(labels, with_kind=providers)
    for index, (_title, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A3"
    caption = WriteOnlyCell(sheet, value=f"{title} {period}")
    caption.font = Font(bold=True)
    sheet.append([caption])
    header = []
    for text, _width in columns:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in rows:
        values = [row.rank, escape_formula(row.name)]
        if providers:
            values.append(row.kind_label)
        values.append(row.count)
        values += row.average_list
        values.append(row.overall)
        share = WriteOnlyCell(sheet, value=row.good_share)
        share.number_format = "0.00%"
        sheet.append([*values, share])
    workbook.save(out)
    return len(rows)


def file_name(stem: str, start: datetime.date, end: datetime.date) -> str:
    return f"{stem}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"
