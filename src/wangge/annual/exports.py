"""A round's report as an .xlsx file: one row per person with each step and the rating, and the counts
per rating. The PDF is the print template `annual/report_print.html` rendered by WeasyPrint (views).

Both are built from the round the user reached through `get_visible_or_404`, like the report page.
Texts a spreadsheet would run as a formula get an apostrophe before them (as in the ledger exports).
"""

from __future__ import annotations

import openpyxl
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from wangge.ledger.columns import escape_formula

from .choices import RoundStatus

CHUNK = 2000


def headers() -> list[tuple[str, int]]:
    return [
        (_("No."), 6),
        (pgettext("person", "Name"), 12),
        (_("Grid"), 20),
        (_("Post"), 20),
        (_("Self-report"), 40),
        (_("Votes for excellent"), 10),
        (_("Votes for competent"), 10),
        (_("Votes for incompetent"), 10),
        (_("On-site check score"), 10),
        (_("Findings of the on-site check"), 36),
        (pgettext("appraisal", "Rating"), 10),
        (_("Grounds for the rating"), 30),
        (_("Consequences"), 36),
    ]


def consequences(entry) -> str:
    """What followed the rating: dismissal, notice, awards — in words, for the files."""
    parts = []
    if entry.dismissed_on:
        parts.append(_("Dismissed: posts ended on %(date)s") % {"date": entry.dismissed_on.isoformat()})
    if entry.noticed_on:
        parts.append(_("Notice circulated on %(date)s") % {"date": entry.noticed_on.isoformat()})
    for honour in entry.awards.all():
        parts.append(f"{honour.title}（{honour.awarded_on.isoformat()}）")
    return "；".join(parts)


def row_values(number: int, entry) -> list:
    return [
        number,
        escape_formula(entry.user.full_name or entry.user.username),
        escape_formula(entry.unit.name),
        escape_formula(entry.post_label),
        escape_formula(entry.self_report),
        entry.votes_excellent,
        entry.votes_competent,
        entry.votes_incompetent,
        entry.onsite_score,
        escape_formula(entry.onsite_findings),
        str(entry.get_rating_display()) if entry.rating else "",
        escape_formula(entry.rating_note),
        escape_formula(consequences(entry)),
    ]


def _bold(sheet, value):
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = Font(bold=True)
    return cell


def write_report_xlsx(round, entries, figures, out) -> int:
    """Write the report of `round` to `out`: a sheet of people and a sheet of figures; returns the rows."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Annual appraisal"))
    columns = headers()
    for index, (_title, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_bold(sheet, title) for title, _width in columns])
    wrap = Alignment(wrap_text=True, vertical="top")
    count = 0
    for count, entry in enumerate(entries.iterator(chunk_size=CHUNK), start=1):
        cells = []
        for value in row_values(count, entry):
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str) and len(value) > 20:
                cell.alignment = wrap
            cells.append(cell)
        sheet.append(cells)

    summary = workbook.create_sheet(_("Figures"))
    summary.column_dimensions["A"].width = 30
    summary.column_dimensions["B"].width = 40
    status = str(RoundStatus(round.status).label)
    for label, value in (
        (_("Appraisal round"), round.title),
        (_("Organising unit"), round.unit.name),
        (_("Year appraised"), round.year),
        (_("Status"), status),
        (_("People appraised"), figures.people),
        (_("Most rated excellent (%(share)s%%)") % {"share": figures.share}, figures.cap),
    ):
        summary.append([_bold(summary, label), escape_formula(value) if isinstance(value, str) else value])
    for _value, label, n in figures.rating_rows():
        summary.append([_bold(summary, label), n])
    summary.append([_bold(summary, _("Not rated yet")), figures.unrated])
    workbook.save(out)
    return count
