"""The staff ledger as an .xlsx file: the page's rows and filters, one row per active post.

Work phones are published on the grids' notice boards (TEAM-6), so they are not masked. Texts a
spreadsheet would run as a formula get an apostrophe before them (as in the ledger exports).
"""

from __future__ import annotations

import datetime

import openpyxl
from django.utils.translation import gettext as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from wangge.ledger.columns import escape_formula

from .choices import FlagKind

CHUNK = 2000


def headers(year: int) -> list[tuple[str, int]]:
    return [
        (_("Name"), 12),
        (_("Role"), 18),
        (_("Title"), 22),
        (_("Unit"), 22),
        (_("Unit code"), 20),
        (_("Level"), 12),
        (_("Work phone"), 16),
        (_("Start date"), 12),
        (_("Agreement %(year)s") % {"year": year}, 14),
        (_("Badge number"), 16),
        (_("Last training"), 12),
        (_("Trained"), 10),
        (_("Flags"), 24),
    ]


def flag_labels(post) -> str:
    labels = []
    if post.party_flag:
        labels.append(str(FlagKind.PARTY_DEVELOPMENT.label))
    if post.reserve_flag:
        labels.append(str(FlagKind.CADRE_RESERVE.label))
    return "、".join(labels)


def row_values(post) -> list:
    return [
        escape_formula(post.user.full_name or post.user.username),
        str(post.get_role_display()),
        escape_formula(post.title),
        escape_formula(post.unit.name),
        post.unit.code,
        post.unit.level.name,
        escape_formula(post.user.phone),
        post.start_date,
        _("Signed") if post.has_agreement else _("Missing"),
        escape_formula(post.badge_number or ""),
        post.last_trained,
        _("Yes") if post.is_trained else _("No"),
        flag_labels(post),
    ]


def write_ledger_xlsx(posts, out, *, year: int) -> int:
    """Write the ledger rows of `posts` (services.ledger_posts) to `out`; returns the number of rows."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Staff ledger"))
    columns = headers(year)
    for index, (_title, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for title, _width in columns:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    count = 0
    for post in posts.iterator(chunk_size=CHUNK):
        values = row_values(post)
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, datetime.date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
        count += 1
    workbook.save(out)
    return count


def file_name(unit, today: datetime.date) -> str:
    return f"{_('Staff ledger')}-{unit.name}-{today:%Y%m%d}.xlsx"
