"""Ledger files out: the import templates and the exports, in the columns of columns.py.

An export has exactly the template's columns, so it re-imports unchanged (a masked export too: a masked
number stands for the number on record). Personal numbers are masked unless the user asks for them
unmasked (a POST) and may see them: a row is unmasked only where `privacy.unmaskable` holds for it, the
others stay masked in the same file, and each record shown unmasked is logged with the fields that held a
value, chunk by chunk as it is written, so what left the server is what the log names. A text starting
with = + - @ (or a tab or carriage return) gets an apostrophe before it, so no spreadsheet runs it as a
formula; the import takes it off again. Large exports stream: the .xlsx through openpyxl's write-only
workbook into a temporary file, the .csv row by row.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

import openpyxl
from django.db.models import Q
from django.utils.translation import gettext as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from . import privacy
from .columns import NO, YES, Column, columns_for, escape_formula
from .models import AttentionTag, Household, ImportKind, Organisation, Place, Resident
from .privacy import masked

CHUNK = 1000
BOM = "\ufeff"
HELP_SHEET = "说明"
# Fixed Chinese like the headers: a file's name and sheets do not change with the UI language.
SHEET_TITLES = {
    ImportKind.HOUSEHOLDS: "住户",
    ImportKind.RESIDENTS: "居民",
    ImportKind.PLACES: "场所",
    ImportKind.ORGANISATIONS: "组织",
}
FILE_STEMS = {
    ImportKind.HOUSEHOLDS: "住户台账",
    ImportKind.RESIDENTS: "居民台账",
    ImportKind.PLACES: "场所台账",
    ImportKind.ORGANISATIONS: "组织台账",
}
MODELS = {
    ImportKind.HOUSEHOLDS: Household,
    ImportKind.RESIDENTS: Resident,
    ImportKind.PLACES: Place,
    ImportKind.ORGANISATIONS: Organisation,
}
PERSONAL_FIELDS = {
    ImportKind.HOUSEHOLDS: ["landlord_phone"],
    ImportKind.RESIDENTS: ["id_number", "phone"],
    ImportKind.PLACES: [],
    ImportKind.ORGANISATIONS: [],
}
SCOPE_LOOKUPS = {
    ImportKind.HOUSEHOLDS: ("grid__path", "registered_grid__path"),
    ImportKind.RESIDENTS: (
        "household__grid__path",
        "household__registered_grid__path",
        "registered_grid__path",
    ),
    ImportKind.PLACES: ("unit__path",),
    ImportKind.ORGANISATIONS: ("unit__path",),
}


# --- what is exported ---------------------------------------------------------------------------------


def export_queryset(kind: str, user, unit=None):
    """The kind's rows the user sees, optionally only those under `unit`, ready for streaming."""
    if kind == ImportKind.HOUSEHOLDS:
        queryset = Household.objects.select_related("grid", "registered_grid").order_by("number")
    elif kind == ImportKind.RESIDENTS:
        queryset = (
            Resident.objects.select_related("household", "registered_grid", "party_organisation")
            .prefetch_related("tags")
            .order_by("household__number", "id")
        )
    elif kind == ImportKind.PLACES:
        queryset = Place.objects.select_related("unit").order_by("unit__path", "kind", "name", "id")
    else:
        queryset = Organisation.objects.select_related("unit").order_by("unit__path", "kind", "name", "id")
    queryset = queryset.visible_to(user)
    if unit is not None:
        condition = Q()
        for lookup in SCOPE_LOOKUPS[kind]:
            condition |= Q(**{f"{lookup}__startswith": unit.path})
        queryset = queryset.filter(condition)
    return queryset


def row_values(kind: str, columns: tuple[Column, ...], obj, *, unmasked: bool) -> list:
    values = []
    for column in columns:
        value = column.export(obj)
        if column.personal and not unmasked:
            value = masked(value, column.key) if value else ""
        elif kind == ImportKind.RESIDENTS and column.key == "birth_date" and not unmasked and obj.id_number:
            value = ""  # part of the masked ID number; it comes back from the number on re-import
        values.append("" if value is None else escape_formula(value))
    return values


Reveal = Callable[[list], set]


def revealer(kind: str, user) -> Reveal:
    """For an unmasked export: given a chunk of records, the pks to write unmasked — those the user may
    unmask (`privacy.unmaskable`) that hold a personal value — after logging each of them with exactly
    the fields that held a value."""
    model, fields = MODELS[kind], PERSONAL_FIELDS[kind]

    def reveal(chunk: list) -> set:
        if not fields or not chunk:
            return set()
        allowed = set(
            privacy.unmaskable(model.objects.filter(pk__in=[obj.pk for obj in chunk]), user).values_list(
                "pk", flat=True
            )
        )
        shown: dict[tuple[str, ...], list] = defaultdict(list)
        for obj in chunk:
            present = tuple(name for name in fields if getattr(obj, name, ""))
            if obj.pk in allowed and present:
                shown[present].append(obj)
        for present, records in shown.items():
            privacy.log_export(user, records, list(present))
        return {obj.pk for records in shown.values() for obj in records}

    return reveal


def chunks(objects: Iterable, size: int = CHUNK) -> Iterator[list]:
    iterator = iter(objects)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _iterate(queryset) -> Iterable:
    return queryset.iterator(chunk_size=CHUNK) if hasattr(queryset, "iterator") else queryset


# --- .xlsx ---------------------------------------------------------------------------------------------


def _header_cells(sheet, columns: tuple[Column, ...]) -> list:
    cells = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def _widths(sheet, columns: tuple[Column, ...]) -> None:
    for index, column in enumerate(columns, start=1):
        dimension = sheet.column_dimensions[get_column_letter(index)]
        dimension.width = column.width
        if column.text_format:
            dimension.number_format = "@"


def write_xlsx(kind: str, objects: Iterable, out, *, reveal: Reveal | None = None) -> None:
    """Write an export to `out` (a path or a binary file) with openpyxl's write-only workbook; masked
    but for the records `reveal` picks in each chunk."""
    columns = columns_for(kind)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLES[kind])
    _widths(sheet, columns)
    sheet.freeze_panes = "A2"
    sheet.append(_header_cells(sheet, columns))
    for chunk in chunks(_iterate(objects)):
        shown = reveal(chunk) if reveal is not None else set()
        for obj in chunk:
            sheet.append(row_values(kind, columns, obj, unmasked=obj.pk in shown))
    workbook.save(out)


def _allowed(kind: str, column: Column) -> str:
    if column.choices is not None:
        return "、".join(column.allowed)
    if column.key == "is_rental":
        return f"{YES}、{NO}"
    if column.key == "tags":
        return "、".join(AttentionTag.objects.filter(is_active=True).values_list("name", flat=True))
    return ""


def template_xlsx(kind: str, out) -> None:
    """The import template: the header row (bold, sized, codes as text) and a 说明 sheet of rules."""
    columns = columns_for(kind)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLES[kind]
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font = Font(bold=True)
    _widths(sheet, columns)
    sheet.freeze_panes = "A2"

    rules = workbook.create_sheet(HELP_SHEET)
    rules.append([_("Column"), _("Required"), _("Rule"), _("Allowed values")])
    for cell in rules[1]:
        cell.font = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for column in columns:
        rules.append(
            [column.header, YES if column.required else NO, str(column.rule), _allowed(kind, column)]
        )
    for row in rules.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = wrap
    rules.append([])
    for note in (
        _("Row 1 of the first sheet is the header: keep it. Every row below it is one record."),
        _("Importing first checks every row and lists the problems; nothing is written until you choose."),
        _("Importing the same file again updates the records it names and creates no duplicates."),
        _(
            "In a row that updates a record, an empty cell keeps the value on record: a sheet of a few "
            "columns changes only those. Write 清空 in a cell to clear the value. In 关注标签, 清空 removes "
            "every tag except the special-population ones, which follow their records."
        ),
        _(
            "Import the households first, then the residents: a resident row names the number of a "
            "household that exists already."
        ),
        _(
            "Keep the code, ID number and phone columns formatted as text: Excel keeps only 15 digits of "
            "a number, and a number that lost digits is refused."
        ),
    ):
        rules.append([note])
    for letter, width in zip("ABCD", (16, 8, 60, 60), strict=True):
        rules.column_dimensions[letter].width = width
    workbook.save(out)


def template_xlsx_bytes(kind: str) -> bytes:
    buffer = io.BytesIO()
    template_xlsx(kind, buffer)
    return buffer.getvalue()


# --- .csv ----------------------------------------------------------------------------------------------


class _Line:
    """A file-like that hands back what csv.writer writes."""

    def write(self, value: str) -> str:
        return value


def template_csv(kind: str) -> bytes:
    """The header row with a UTF-8 BOM, so Excel opens the Chinese headers correctly."""
    writer = csv.writer(_Line())
    return (BOM + writer.writerow([column.header for column in columns_for(kind)])).encode("utf-8")


def csv_chunks(kind: str, objects: Iterable, *, reveal: Reveal | None = None) -> Iterator[bytes]:
    """An export as UTF-8 (with BOM) byte chunks, for a StreamingHttpResponse; masked but for the
    records `reveal` picks in each chunk."""
    columns = columns_for(kind)
    writer = csv.writer(_Line())
    yield (BOM + writer.writerow([column.header for column in columns])).encode("utf-8")
    for chunk in chunks(_iterate(objects)):
        shown = reveal(chunk) if reveal is not None else set()
        yield "".join(
            writer.writerow(row_values(kind, columns, obj, unmasked=obj.pk in shown)) for obj in chunk
        ).encode("utf-8")
