"""Importing ledger files (.xlsx, .csv): read, check every row, then write all or only the valid rows.

    check(source, kind, user=…, unit=…)              the dry run: a report of every bad row, nothing written
    apply(source, kind, user=…, unit=…, mode=…)      the same checks, then the writes, in one transaction
    start_run(upload, kind, …) / apply_run(run, …)  the same through an ImportRun, as the pages use them

The file is streamed (openpyxl read-only, the csv module) and handled in batches of BATCH_SIZE rows:
each batch is parsed cell by cell (columns.py), looked up in a few queries for the whole batch (existing
households by number, residents by the ID blind index, places by unit and name), checked, and — when
writing — written with bulk_create / bulk_update, with one change-log row per created or updated
record. Nothing is queried per row, so 100,000 households and 300,000 residents go through in bounded
memory.

Rows write only what lives inside the importing unit (one of `services.ledger_units(user)`: under a post
granting MANAGE_LEDGERS): a residence grid or a place's unit outside it is "unknown", exactly like a code
that does not exist, so the report reveals nothing about other areas; a registration grid (户籍) may be any
current grid. A record the user only reads there (through its registration grid) may stand in the file
unchanged — as an export holds it — and a row changing it is refused: the grid where it lives keeps it.
A person whose ID number is on a register elsewhere is "registered in another area"; one who moved out
elsewhere moves in (迁入) with their record and history; one registered as deceased is refused.
Reports mask ID and phone numbers: an ImportRun's errors never hold personal data in clear.

Re-importing a file updates instead of duplicating: households are keyed on the household number,
residents on the ID number's blind index (without one: household number + name; a number nobody holds
yet falls back to the same name in the household without a number), places and organisations on unit +
type + name. A row equal to its record is counted as unchanged and not written. In an update an empty
cell keeps the value on record and 清空 clears it; special-population tags are never added or removed.
A masked number from a masked export stands for the number on record when the masks agree.
"""

from __future__ import annotations

import codecs
import csv
import io
import uuid
import zipfile
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import openpyxl
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl.utils.exceptions import InvalidFileException

from wangge.core.audit import diff, record_changes, snapshot
from wangge.core.models import ChangeAction
from wangge.core.pii import mask_id_number, mask_phone, normalise_id_number, normalise_phone
from wangge.people.models import Post
from wangge.people.roles import Capability, Role
from wangge.units.choices import UnitKind
from wangge.units.models import Unit

from . import services
from .choices import PARTY_ORGANISATION_KINDS, PARTY_STATUSES, HouseholdStatus, ResidentStatus, Sex, TagGroup
from .columns import CLEAR, CellError, Masked, cell_text, choice_label, columns_for, match_header, scrub
from .models import (
    AttentionTag,
    Household,
    ImportKind,
    ImportRun,
    ImportStatus,
    Organisation,
    Place,
    Resident,
)

BATCH_SIZE = 1000
# The report lists at most this many problems (the counts stay exact): a file that is wrong throughout
# says so long before the end, and the stored report stays small.
MAX_REPORTED_ERRORS = 20_000
FORMATS = ("xlsx", "csv")
UPLOAD_FOLDER = "imports"


class ImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", gettext_lazy("All or nothing: import only when every row is valid")
    VALID_ONLY = "valid_only", gettext_lazy("Valid rows only: import them and skip the rows with errors")


@dataclass
class ImportResult:
    """What a check or an import found and did. In a check, created/updated/unchanged are what an
    import would do now."""

    kind: str
    mode: str = ""
    row_count: int = 0
    error_row_count: int = 0
    error_count: int = 0
    errors: list[dict] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    applied: bool = False
    refused: bool = False

    @property
    def ok(self) -> bool:
        return not self.error_count

    @property
    def has_file_errors(self) -> bool:
        return any(error["row"] == 0 for error in self.errors)

    @property
    def errors_truncated(self) -> bool:
        return self.error_count > len(self.errors)

    def add_error(self, row: int, column: str, code: str, rule: str, value: str = "") -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"row": row, "column": column, "code": code, "rule": rule, "value": value})


class FileProblem(Exception):
    """The file as a whole cannot be read: reported on row 0."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class _Rollback(Exception):
    """Raised inside the import's transaction to undo it (all-or-nothing with errors)."""


# --- reading the file ------------------------------------------------------------------------------------


def file_format(source, fmt: str | None = None) -> str:
    if fmt:
        fmt = fmt.lower().lstrip(".")
    else:
        name = str(source) if isinstance(source, str | PathLike) else getattr(source, "name", "") or ""
        fmt = Path(name).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise FileProblem("format", _("Only .xlsx and .csv files can be imported."))
    return fmt


@contextmanager
def _binary(source):
    if isinstance(source, str | PathLike):
        with open(source, "rb") as stream:
            yield stream
    else:
        if hasattr(source, "seek"):
            source.seek(0)
        yield source


def _xlsx_rows(stream) -> Iterator[list]:
    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError, ParseError) as exc:
        raise FileProblem("unreadable", _("The file cannot be read as an .xlsx workbook.")) from exc
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some programs write a wrong size; read every row there is
        yield from (list(row) for row in sheet.iter_rows(values_only=True))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, ParseError) as exc:
        raise FileProblem("unreadable", _("The file cannot be read as an .xlsx workbook.")) from exc
    finally:
        workbook.close()


def _csv_encoding(stream) -> str:
    """UTF-8 (with or without the BOM Excel writes) or GB18030 (what Excel in China saves by default)."""
    head = stream.read(64 * 1024)
    stream.seek(0)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _csv_rows(stream) -> Iterator[list]:
    text = io.TextIOWrapper(stream, encoding=_csv_encoding(stream), newline="")
    try:
        yield from csv.reader(text)
    except UnicodeDecodeError as exc:
        raise FileProblem("encoding", _("The file is neither UTF-8 nor GB18030 text.")) from exc
    except csv.Error as exc:
        raise FileProblem("unreadable", _("The file cannot be read as CSV.")) from exc
    finally:
        text.detach()


@contextmanager
def read_rows(source, fmt: str | None = None):
    """The file's rows as lists of raw cell values, the header first (sheet row 1)."""
    fmt = file_format(source, fmt)
    with _binary(source) as stream:
        rows = _xlsx_rows(stream) if fmt == "xlsx" else _csv_rows(stream)
        try:
            yield rows
        finally:
            rows.close()


# --- rows -----------------------------------------------------------------------------------------------


@dataclass
class Row:
    number: int
    text: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    # Optional cells left empty (an update keeps the value on record) and cells holding 清空 (cleared).
    blank: set[str] = field(default_factory=set)
    cleared: set[str] = field(default_factory=set)
    action: str = ""  # "create", "update" or "unchanged" once checked
    obj: Any = None
    changes: dict | None = None
    tags: set[int] | None = None

    def fail(self, key: str, code: str, message: str) -> None:
        self.problems.append((key, code, message))

    def has(self, *keys: str) -> bool:
        return all(key in self.values for key in keys)

    def value(self, key: str, current=None, attr: str | None = None) -> Any:
        """The cell's value; for an empty cell in an update, the value on record."""
        if key in self.blank and current is not None:
            return getattr(current, attr or key)
        return self.values[key]


@dataclass(frozen=True)
class UnitRef:
    id: int
    code: str
    path: str
    is_grid: bool = True


def _ref(unit) -> UnitRef | None:
    return UnitRef(unit.pk, unit.code, unit.path, unit.is_grid) if unit is not None else None


def _unit_of(ref: UnitRef | None):
    """A bare Unit carrying only the id, for assigning a foreign key without a query."""
    return None if ref is None else Unit(pk=ref.id, code=ref.code, path=ref.path)


KEPT_ELSEWHERE = gettext_lazy("This record is kept where it lives; you may read it but not change it.")


class Importer(ABC):
    """Checks and writes one kind of ledger row; subclasses supply the lookups and the writes.

    A row may write only what the user keeps inside the importing unit (a unit of
    `services.ledger_units(user)`, so under a post granting MANAGE_LEDGERS): households and people whose
    residence grid lies there, places and organisations on its units. A record the user only reads there
    (through its registration grid) may stand in the file unchanged, as an export holds it; a row that
    would change it is refused.
    """

    kind = ""
    model: type[models.Model]
    fields: tuple[str, ...] = ()

    def __init__(self, user, unit, result: ImportResult):
        self.user, self.unit, self.result = user, unit, result
        self.columns = {column.key: column for column in columns_for(self.kind)}
        self.seen: dict[Any, int] = {}
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.other_grids: dict[str, UnitRef | None] = {}

    # prefetched once per file
    def prefetch(self) -> None:
        self.units: dict[str, UnitRef] = {}
        rows = (
            services.ledger_units(self.user)
            .filter(path__startswith=self.unit.path)
            .values_list("id", "code", "path", "kind")
        )
        for pk, unit_code, path, kind in rows:
            self.units[unit_code] = UnitRef(pk, unit_code, path, kind != UnitKind.DIVISION)

    def reaches(self, *refs) -> bool:
        """Whether any of the units (UnitRef, Unit or None) lies inside the importing unit's subtree."""
        return any(ref is not None and ref.path.startswith(self.unit.path) for ref in refs)

    def keeps(self, grid) -> bool:
        """Whether a record living in `grid` is kept (may be written) by this import."""
        return self.reaches(grid)

    def load_registration_grids(self, rows: list[Row]) -> None:
        """Registration grids (户籍, GRID-8) may be any current grid of the deployment: look up the codes
        of a batch that are not under the importing unit, once."""
        codes = {
            row.values["registered_grid"]
            for row in rows
            if row.values.get("registered_grid")
            and row.values["registered_grid"] not in self.units
            and row.values["registered_grid"] not in self.other_grids
        }
        if not codes:
            return
        found = Unit.objects.current().filter(code__in=codes).values_list("id", "code", "path", "kind")
        for pk, unit_code, path, kind in found:
            self.other_grids[unit_code] = UnitRef(pk, unit_code, path, kind != UnitKind.DIVISION)
        for unit_code in codes - set(self.other_grids):
            self.other_grids[unit_code] = None

    def read(self, number: int, cells: dict[str, Any]) -> Row:
        row = Row(number)
        for key, column in self.columns.items():
            try:
                value = column.text_of(cells.get(key))
            except CellError as exc:
                row.text[key] = cell_text(cells.get(key))
                row.fail(key, exc.code, exc.message)
                continue
            row.text[key] = value
            if not value or value == CLEAR:
                if column.required:
                    row.fail(key, "required", _("Required: the cell is empty."))
                else:
                    row.values[key] = column.blank
                    (row.cleared if value else row.blank).add(key)
                continue
            try:
                row.values[key] = column.parse(value)
            except CellError as exc:
                row.fail(key, exc.code, exc.message)
        return row

    def point(self, row: Row, current) -> tuple[Any, Any] | None:
        """Longitude and latitude after empty cells keep the values on record: both or neither."""
        if not row.has("lng", "lat"):
            return None
        lng, lat = row.value("lng", current), row.value("lat", current)
        if (lng is None) != (lat is None):
            missing = "lat" if lat is None else "lng"
            row.fail(missing, "lng_lat", _("Give both longitude and latitude, or neither."))
            return None
        return lng, lat

    def once(self, row: Row, key: Any, column: str, code: str, message: str) -> bool:
        """In-file duplicates: the first row with a key wins, later ones are errors naming it."""
        first = self.seen.get(key)
        if first is not None:
            row.fail(column, code, message % {"row": first})
            return False
        self.seen[key] = row.number
        return True

    def grid(self, row: Row, key: str, current=None) -> UnitRef | bool | None:
        """The grid a code names inside the importing unit; the record's own grid (even outside, as
        the user sees the record anyway) is accepted unchanged. False when the cell is wrong."""
        if key not in row.values:
            return False
        value = row.values[key]
        if not value:
            return None
        ref = self.units.get(value)
        if ref is not None:
            if not ref.is_grid:
                row.fail(key, "not_a_grid", _("This unit is not a grid: give the code of a grid."))
                return False
            return ref
        if current is not None and current.code == value:
            return _ref(current)
        row.fail(
            key,
            "unknown_grid",
            _("Unknown grid code: no current grid with this code in %(unit)s.") % {"unit": self.unit.name},
        )
        return False

    def registration_grid(self, row: Row, current_obj) -> UnitRef | bool | None:
        """户籍网格编码: any current grid of the deployment (a person's 户籍 may lie in another village).
        An empty cell keeps the grid on record in an update. False when the cell is wrong."""
        key = "registered_grid"
        if key not in row.values:
            return False
        if key in row.blank and current_obj is not None:
            return _ref(current_obj.registered_grid)
        value = row.values[key]
        if not value:
            return None
        ref = self.units.get(value) or self.other_grids.get(value)
        if ref is None and current_obj is not None and _code_of(current_obj.registered_grid) == value:
            return _ref(current_obj.registered_grid)  # a grid retired since: kept as it is
        if ref is None:
            row.fail(key, "unknown_grid", _("Unknown grid code: no current grid has this code."))
            return False
        if not ref.is_grid:
            row.fail(key, "not_a_grid", _("This unit is not a grid: give the code of a grid."))
            return False
        return ref

    def personal(self, row: Row, key: str, current_value: str, current_index: str, exists: bool):
        """A phone cell: (phone, index), or the number on record when a masked cell matches its mask or
        the cell is empty in an update; None when the cell is wrong."""
        if key not in row.values:
            return None
        if key in row.blank and exists:
            return current_value, current_index
        value = row.values[key]
        if not isinstance(value, Masked):
            return value or ("", "")
        if current_value and mask_phone(current_value) == normalise_phone(value.text):
            return current_value, current_index
        row.fail(
            key,
            "masked",
            _("A masked number can only stand for the number on record: enter the full number."),
        )
        return None

    def compare(self, row: Row, obj, before: dict | None) -> None:
        """Decide create / update / unchanged and keep the masked change for the log."""
        if before is None:
            row.action, row.obj = "create", obj
            return
        changed = diff(before, snapshot(obj, list(self.fields)))
        row.obj, row.changes = obj, changed
        row.action = "update" if changed else "unchanged"

    @abstractmethod
    def check_batch(self, rows: list[Row]) -> None:
        """Look up what a batch of rows refers to (one query per lookup, never per row) and judge each."""

    def write_batch(self, rows: list[Row]) -> None:
        created = [row for row in rows if row.action == "create"]
        updated = [row for row in rows if row.action == "update"]
        if created:
            self.model.objects.bulk_create([row.obj for row in created], batch_size=BATCH_SIZE)
        if updated:
            for row in updated:
                row.obj.updated_at = self.now
            self.model.objects.bulk_update(
                [row.obj for row in updated], [*self.fields, "updated_at"], batch_size=BATCH_SIZE // 2
            )
        self.after_write(created, updated)
        record_changes(
            [
                *((row.obj, ChangeAction.CREATE, {"after": self.created_snapshot(row)}) for row in created),
                *((row.obj, self.update_action(row), row.changes) for row in updated),
            ],
            self.user,
            acting_unit=self.unit,
        )

    def after_write(self, created: list[Row], updated: list[Row]) -> None:  # noqa: B027 - optional hook
        """What a kind writes beside its rows once they have ids (residents: their tags)."""

    def created_snapshot(self, row: Row) -> dict:
        return snapshot(row.obj)

    def update_action(self, row: Row) -> str:
        return ChangeAction.UPDATE


def _code_of(unit) -> str:
    return unit.code if unit is not None else ""


# --- households -----------------------------------------------------------------------------------------


HOUSEHOLD_VALUE_KEYS = ("address", "door_number", "is_rental", "landlord_name", "notes")


class HouseholdImporter(Importer):
    kind = ImportKind.HOUSEHOLDS
    model = Household
    fields = (
        "grid",
        "registered_grid",
        "address",
        "door_number",
        "lng",
        "lat",
        "is_rental",
        "landlord_name",
        "landlord_phone",
        "landlord_phone_index",
        "notes",
    )

    def check_batch(self, rows: list[Row]) -> None:
        numbers = [row.values["number"] for row in rows if row.has("number")]
        existing = {
            household.number: household
            for household in Household.objects.filter(number__in=numbers).select_related(
                "grid", "registered_grid"
            )
        }
        self.load_registration_grids(rows)
        for row in rows:
            self.check_row(row, existing)

    def check_row(self, row: Row, existing: dict) -> None:
        values = row.values
        household = existing.get(values.get("number"))
        if row.has("number"):
            self.once(
                row,
                values["number"],
                "number",
                "duplicate_household",
                _("The same household number is on row %(row)s."),
            )
        kept = household is None or self.keeps(household.grid)
        if not kept and not self.reaches(household.registered_grid):
            row.fail(
                "number",
                "other_area",
                _("This household number is used in another area; ask the level above."),
            )
            return
        grid = self.grid(row, "grid", household.grid if household else None)
        registered = self.registration_grid(row, household)
        landlord = self.personal(
            row,
            "landlord_phone",
            household.landlord_phone if household else "",
            household.landlord_phone_index if household else "",
            household is not None,
        )
        point = self.point(row, household)
        if row.has(*HOUSEHOLD_VALUE_KEYS) and landlord is not None:
            rented, name = row.value("is_rental", household), row.value("landlord_name", household)
            if not rented and (name or landlord[0]):
                row.fail("is_rental", "landlord", _("A landlord is only recorded for a rented household."))
        if row.problems or grid is False or registered is False or landlord is None or point is None:
            return
        if registered is not None and registered.id == grid.id:
            registered = None
        obj = household if household is not None else Household(number=values["number"])
        before = snapshot(household, list(self.fields)) if household is not None else None
        obj.grid, obj.registered_grid = _unit_of(grid), _unit_of(registered)
        for key in HOUSEHOLD_VALUE_KEYS:
            setattr(obj, key, row.value(key, household))
        obj.lng, obj.lat = point
        obj.landlord_phone, obj.landlord_phone_index = landlord
        self.compare(row, obj, before)
        if not kept and row.action != "unchanged":
            row.fail("number", "kept_elsewhere", str(KEPT_ELSEWHERE))

    def update_action(self, row: Row) -> str:
        return ChangeAction.MOVE if "grid_id" in row.changes else ChangeAction.UPDATE


# --- residents ------------------------------------------------------------------------------------------


RESIDENT_VALUE_KEYS = (
    "name",
    "relation",
    "ethnicity",
    "residence_type",
    "registered_address",
    "occupation",
    "political_status",
    "notes",
)
# How a row stands to the person it names.
NEW, KEPT, READ_ONLY, TRANSFER = "new", "kept", "read_only", "transfer"


@dataclass
class Match:
    """The person a row names (None: a new one), how the import may treat them, and the household the
    row puts them in (None when the row cannot be written)."""

    resident: Resident | None = None
    standing: str = NEW
    household: Household | None = None


class ResidentImporter(Importer):
    kind = ImportKind.RESIDENTS
    model = Resident
    fields = (
        "household",
        "name",
        "sex",
        "id_number",
        "id_number_index",
        "birth_date",
        "phone",
        "phone_index",
        "relation",
        "ethnicity",
        "residence_type",
        "registered_grid",
        "registered_address",
        "occupation",
        "political_status",
        "party_organisation",
        "status",
        "status_date",
        "notes",
    )
    through = Resident.tags.through

    def prefetch(self) -> None:
        super().prefetch()
        self.tags: dict[str, AttentionTag] = {}
        for tag in AttentionTag.objects.all():
            self.tags[tag.name] = tag
            self.tags[tag.code] = tag
        self.tag_codes = {tag.pk: tag.code for tag in self.tags.values()}
        self.tag_names = {tag.pk: tag.name for tag in self.tags.values()}
        self.special_tags = {tag.pk for tag in self.tags.values() if tag.group == TagGroup.SPECIAL}
        self.party_orgs: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.party_org_ids: set[int] = set()
        orgs = (
            Organisation.objects.visible_to(self.user)
            .filter(kind__in=PARTY_ORGANISATION_KINDS)
            .values_list("name", "unit__path", "id")
        )
        for name, path, pk in orgs:
            self.party_orgs[name].append((path, pk))
            self.party_org_ids.add(pk)

    def resident_reaches(self, resident: Resident) -> bool:
        household = resident.household
        return self.reaches(household.grid, household.registered_grid, resident.registered_grid)

    def standing(self, resident: Resident, named) -> str:
        """KEPT: the person lives here. TRANSFER: they moved out of a household kept elsewhere and the
        row puts them into another one (迁入). READ_ONLY: seen here through a registration grid, in their
        own household. "": none of these, the row cannot name them."""
        if self.keeps(resident.household.grid):
            return KEPT
        moving = named is None or named.pk != resident.household_id
        if resident.status == ResidentStatus.MOVED_OUT and moving:
            return TRANSFER
        return READ_ONLY if self.resident_reaches(resident) else ""

    def check_batch(self, rows: list[Row]) -> None:
        related = (
            "household__grid",
            "household__registered_grid",
            "registered_grid",
            "party_organisation__unit",
        )
        numbers = {row.values["household"] for row in rows if row.has("household")}
        # Every household the rows name; which ones the rows may use is decided per row (match).
        households = {
            h.number: h
            for h in Household.objects.filter(number__in=numbers).select_related("grid", "registered_grid")
        }
        indexes = [
            row.values["id_number"].index
            for row in rows
            if isinstance(row.values.get("id_number"), services.Identity) and row.values["id_number"].index
        ]
        by_index = {
            r.id_number_index: r
            for r in Resident.objects.filter(id_number_index__in=indexes).select_related(*related)
        }
        # Rows without a full ID number, or with one nobody holds yet, find their person by household
        # and name (the second: a person entered without a number whose number is now filled in).
        by_name: dict[tuple[int, str], list[Resident]] = defaultdict(list)
        pairs = [
            (households[row.values["household"]].pk, row.values["name"])
            for row in rows
            if row.has("household", "name", "id_number")
            and row.values["household"] in households
            and (
                not isinstance(row.values["id_number"], services.Identity)
                or row.values["id_number"].index not in by_index
            )
        ]
        if pairs:
            for resident in Resident.objects.filter(
                household_id__in={p[0] for p in pairs}, name__in={p[1] for p in pairs}
            ).select_related(*related):
                by_name[(resident.household_id, resident.name)].append(resident)
        self.load_registration_grids(rows)
        matches = [self.match(row, households, by_index, by_name) for row in rows]
        ids = [m.resident.pk for m in matches if m.resident is not None]
        tags: dict[int, dict[int, int]] = defaultdict(dict)
        for pk, resident_id, tag_id in self.through.objects.filter(resident_id__in=ids).values_list(
            "id", "resident_id", "attentiontag_id"
        ):
            tags[resident_id][tag_id] = pk
        self.current_tags = tags
        for row, found in zip(rows, matches, strict=True):
            self.check_row(row, found, tags.get(found.resident.pk, {}) if found.resident else {})

    def match(self, row: Row, households: dict, by_index: dict, by_name: dict) -> Match:
        """The existing person a row stands for and where the row puts them; in-file duplicates, people
        of other areas and households the user does not keep fail here."""
        values = row.values
        named = households.get(values.get("household"))
        problems = len(row.problems)
        resident = self.find(row, named, by_index, by_name)
        if len(row.problems) > problems:
            return Match()
        if resident is None:
            return Match(None, NEW, self.target(row, named))
        standing = self.standing(resident, named)
        if not standing:
            if resident.status == ResidentStatus.DECEASED:
                row.fail(
                    "id_number",
                    "deceased",
                    _("This ID number belongs to a person registered as deceased."),
                )
            else:
                row.fail(
                    "id_number",
                    "other_area",
                    _("This ID number is already registered in another area; ask the level above."),
                )
            return Match()
        self.once(
            row, ("person", resident.pk), "name", "duplicate_person", _("The same person is on row %(row)s.")
        )
        if standing == READ_ONLY:
            # The person's own record, seen through their registration grid: the row must name their
            # own household, and may not change anything (checked once the row is compared).
            if named is None or named.pk != resident.household_id:
                if named is not None and self.reaches(named.grid, named.registered_grid):
                    row.fail("household", "kept_elsewhere", str(KEPT_ELSEWHERE))
                else:
                    self.unknown_household(row)
                return Match(resident, standing)
            return Match(resident, standing, resident.household)
        if standing == KEPT and named is not None and named.pk == resident.household_id:
            return Match(resident, standing, named)  # stays in their household, even a closed one
        return Match(resident, standing, self.target(row, named))

    def find(self, row: Row, named, by_index: dict, by_name: dict) -> Resident | None:
        """The person on record a row names: by the ID number's blind index; a number nobody holds yet
        falls back to the same name in the same household without a number; a row without a full
        number is matched on household and name (a masked number must agree with the one on record)."""
        values = row.values
        ident = values.get("id_number")
        if isinstance(ident, services.Identity) and ident.index:
            if not self.once(
                row,
                ("id", ident.index),
                "id_number",
                "duplicate_id",
                _("The same ID number is on row %(row)s."),
            ):
                return None
            resident = by_index.get(ident.index)
            if resident is not None or named is None or not row.has("name"):
                return resident
            unnumbered = [
                r
                for r in by_name.get((named.pk, values["name"]), [])
                if not r.id_number_index and self.resident_reaches(r)
            ]
            if len(unnumbered) > 1:
                row.fail(
                    "id_number",
                    "ambiguous",
                    _(
                        "Several residents of this household have this name and no ID number on record: "
                        "give each one's number on their page."
                    ),
                )
                return None
            return unnumbered[0] if unnumbered else None
        if named is None or not row.has("name", "id_number"):
            return None
        self.once(
            row,
            ("name", named.pk, values["name"]),
            "name",
            "duplicate_resident",
            _("The same household number and name without an ID number are on row %(row)s."),
        )
        # Only people the user sees: a name in a household of another area finds nobody.
        candidates = [r for r in by_name.get((named.pk, values["name"]), []) if self.resident_reaches(r)]
        if isinstance(ident, Masked):
            mask = normalise_id_number(ident.text)
            found = [r for r in candidates if r.id_number and mask_id_number(r.id_number) == mask]
            if len(found) == 1:
                return found[0]
            row.fail(
                "id_number",
                "masked",
                _("A masked number can only stand for the number on record: enter the full number."),
            )
            return None
        if len(candidates) > 1:
            candidates = [r for r in candidates if not r.id_number_index]
        if len(candidates) > 1:
            row.fail(
                "id_number",
                "ambiguous",
                _("Several residents of this household have this name: give the ID number."),
            )
            return None
        return candidates[0] if candidates else None

    def unknown_household(self, row: Row) -> None:
        if row.has("household"):
            row.fail(
                "household",
                "unknown_household",
                _("Unknown household number: no household with this number in %(unit)s.")
                % {"unit": self.unit.name},
            )

    def target(self, row: Row, named) -> Household | None:
        """The household a row puts a person into: one the user keeps here, active."""
        if named is None or not (self.keeps(named.grid) or self.reaches(named.registered_grid)):
            self.unknown_household(row)
            return None
        if not self.keeps(named.grid):
            row.fail("household", "kept_elsewhere", str(KEPT_ELSEWHERE))
            return None
        if named.status != HouseholdStatus.ACTIVE:
            row.fail("household", "household_closed", _("The household is closed."))
            return None
        return named

    def check_row(self, row: Row, found: Match, current_tags: dict[int, int]) -> None:
        values = row.values
        resident, household = found.resident, found.household
        ident = values.get("id_number")
        if not isinstance(ident, services.Identity) or not ident.index:
            # No full number in the row: the person keeps the number on record (清空 removes it).
            cleared = "id_number" in row.cleared
            ident = services.Identity("", None, None, "") if cleared else self.identity_on_record(resident)
        if ident.index:
            if values.get("sex") and values["sex"] != ident.sex:
                row.fail(
                    "sex",
                    "sex_mismatch",
                    _("The ID number gives %(sex)s.") % {"sex": choice_label(Sex, ident.sex)},
                )
            if values.get("birth_date") and values["birth_date"] != ident.birth_date:
                row.fail(
                    "birth_date",
                    "birth_mismatch",
                    _("The ID number gives the date of birth %(date)s.")
                    % {"date": ident.birth_date.isoformat()},
                )
        phone = self.personal(
            row,
            "phone",
            resident.phone if resident else "",
            resident.phone_index if resident else "",
            resident is not None,
        )
        registered = self.registration_grid(row, resident)
        status = self.status(row, found)
        party = self.party_organisation(row, household, resident)
        tags = self.tag_set(row, current_tags, resident is not None)
        if (
            row.problems
            or household is None
            or phone is None
            or registered is False
            or party is False
            or status is None
        ):
            return
        if registered is not None and registered.id == household.grid_id:
            registered = None
        obj = resident if resident is not None else Resident()
        before = snapshot(resident, list(self.fields)) if resident is not None else None
        obj.household = household
        for key in RESIDENT_VALUE_KEYS:
            setattr(obj, key, row.value(key, resident))
        obj.id_number, obj.id_number_index = ident.id_number, ident.index
        obj.sex = ident.sex if ident.index else row.value("sex", resident)
        obj.birth_date = ident.birth_date if ident.index else row.value("birth_date", resident)
        obj.phone, obj.phone_index = phone
        obj.registered_grid = _unit_of(registered)
        obj.party_organisation_id = party
        if resident is None or resident.status != status:
            obj.status_date = self.today if status != ResidentStatus.PRESENT or resident else None
        obj.status = status
        self.compare(row, obj, before)
        row.tags = tags
        before_tags = set(current_tags)
        if resident is not None and tags != before_tags:
            row.changes["tags"] = [self.codes(before_tags), self.codes(tags)]
            row.action = "update"
        if found.standing == READ_ONLY and row.action != "unchanged":
            row.fail("household", "kept_elsewhere", str(KEPT_ELSEWHERE))
        elif found.standing == TRANSFER:
            row.changes["note"] = _("Moved in (迁入) from another household")

    def status(self, row: Row, found: Match) -> str | None:
        """The status a row gives; a person moving in from another area is on the register."""
        if "status" not in row.values:
            return None
        if found.standing != TRANSFER:
            return row.value("status", found.resident)
        if row.values["status"] != ResidentStatus.PRESENT and "status" not in row.blank:
            row.fail(
                "status",
                "transfer_status",
                _(
                    "A person moving in (迁入) is on the register: leave the status empty or write %(present)s."
                )
                % {"present": choice_label(ResidentStatus, ResidentStatus.PRESENT)},
            )
            return None
        return ResidentStatus.PRESENT

    def identity_on_record(self, resident: Resident | None) -> services.Identity:
        if resident is None or not resident.id_number:
            return services.Identity("", None, None, "")
        try:
            return services.identity(resident.id_number)
        except ValidationError:  # a number on record that no longer passes: keep it as it is
            return services.Identity(
                resident.id_number, resident.id_number_index, resident.birth_date, resident.sex
            )

    def party_organisation(self, row: Row, household, resident: Resident | None) -> int | bool | None:
        """The party branch or group a row names (the nearest of that name above the household's grid);
        an empty cell keeps the one on record while the person is a member and it is still theirs."""
        if "party_organisation" not in row.values or "political_status" not in row.values:
            return False
        political_status = row.value("political_status", resident)
        name = row.values["party_organisation"]
        if not name:
            if "party_organisation" not in row.blank or resident is None:
                return None
            current = resident.party_organisation
            if current is None or political_status not in PARTY_STATUSES or household is None:
                return None
            grid_path = household.grid.path if household.grid_id else ""
            reachable = grid_path.startswith(current.unit.path) or current.pk in self.party_org_ids
            return current.pk if reachable else None
        if political_status not in PARTY_STATUSES:
            row.fail(
                "party_organisation",
                "not_party_member",
                _("Only a party member is linked to a party organisation."),
            )
            return False
        if (
            resident is not None
            and resident.party_organisation_id
            and resident.party_organisation.name == name
        ):
            return resident.party_organisation_id
        grid_path = household.grid.path if household is not None and household.grid_id else None
        if grid_path is None:
            return False
        found = [(path, pk) for path, pk in self.party_orgs.get(name, ()) if grid_path.startswith(path)]
        if not found:
            row.fail(
                "party_organisation",
                "unknown_party_organisation",
                _("No party branch or group of this name on the household's grid or a unit above it."),
            )
            return False
        return max(found)[1]  # the nearest: the longest path

    def tag_set(self, row: Row, current_tags: dict[int, int], exists: bool) -> set[int]:
        """The tags after the row. An empty cell keeps them, 清空 removes the ordinary ones; the special-
        population tags follow their records and the approved key-person listing, so an import neither
        adds nor removes them."""
        before = set(current_tags)
        kept_special = before & self.special_tags
        if "tags" in row.blank:
            return before if exists else set()
        if "tags" in row.cleared or "tags" not in row.values:
            return kept_special
        names = row.values["tags"]
        unknown = [name for name in names if name not in self.tags]
        if unknown:
            known = "、".join(sorted({tag.name for tag in self.tags.values()}, key=lambda n: n))
            row.fail(
                "tags",
                "unknown_tag",
                _("Unknown attention tags: %(names)s. Known tags: %(known)s.")
                % {"names": "、".join(unknown), "known": known},
            )
        named = {self.tags[name].pk for name in names if name in self.tags}
        added_special = (named & self.special_tags) - before
        if added_special:
            row.fail(
                "tags",
                "special_tag",
                _(
                    "%(names)s: these tags follow the special-population record or the approved "
                    "key-person listing, and an import cannot add them."
                )
                % {"names": "、".join(sorted(self.tag_names[pk] for pk in added_special))},
            )
        return (named - self.special_tags) | kept_special

    def codes(self, tag_ids) -> list[str]:
        return sorted(self.tag_codes[pk] for pk in tag_ids)

    def created_snapshot(self, row: Row) -> dict:
        after = snapshot(row.obj)
        after["tags"] = self.codes(row.tags)
        return after

    def update_action(self, row: Row) -> str:
        return ChangeAction.MOVE if "household_id" in row.changes else ChangeAction.UPDATE

    def after_write(self, created: list[Row], updated: list[Row]) -> None:
        through = self.through
        links = [
            through(resident_id=row.obj.pk, attentiontag_id=tag_id) for row in created for tag_id in row.tags
        ]
        stale = []
        for row in updated:
            current = self.current_tags.get(row.obj.pk, {})
            links += [through(resident_id=row.obj.pk, attentiontag_id=t) for t in row.tags - set(current)]
            stale += [pk for tag_id, pk in current.items() if tag_id not in row.tags]
        if stale:
            through.objects.filter(pk__in=stale).delete()
        if links:
            through.objects.bulk_create(links, batch_size=BATCH_SIZE)


# --- places and organisations ---------------------------------------------------------------------------


class OnUnitImporter(Importer):
    """Places and organisations: on any current unit inside the importing unit, keyed on unit+type+name."""

    extra: tuple[str, ...] = ()

    def check_batch(self, rows: list[Row]) -> None:
        unit_ids = {
            self.units[r.values["unit"]].id for r in rows if r.has("unit") and r.values["unit"] in self.units
        }
        names = {row.values["name"] for row in rows if row.has("name")}
        existing = {
            (obj.unit_id, obj.kind, obj.name): obj
            for obj in self.model.objects.filter(unit_id__in=unit_ids, name__in=names).select_related("unit")
        }
        for row in rows:
            self.check_row(row, existing)

    def check_row(self, row: Row, existing: dict) -> None:
        values = row.values
        unit = None
        if row.has("unit"):
            unit = self.units.get(values["unit"])
            if unit is None:
                row.fail(
                    "unit",
                    "unknown_unit",
                    _("Unknown unit code: no current unit with this code in %(unit)s.")
                    % {"unit": self.unit.name},
                )
        if unit is not None and row.has("kind", "name"):
            self.once(
                row,
                (unit.id, values["kind"], values["name"]),
                "name",
                "duplicate_key",
                _("The same unit code, type and name are on row %(row)s."),
            )
        current = (
            existing.get((unit.id, values["kind"], values["name"]))
            if unit and row.has("kind", "name")
            else None
        )
        point = self.point(row, current)
        if row.problems or point is None:
            return
        obj = (
            current
            if current is not None
            else self.model(unit=_unit_of(unit), kind=values["kind"], name=values["name"])
        )
        before = snapshot(current, list(self.fields)) if current is not None else None
        for key in self.fields:
            setattr(obj, key, row.value(key, current))
        obj.lng, obj.lat = point
        self.compare(row, obj, before)

    def created_snapshot(self, row: Row) -> dict:
        return snapshot(row.obj)


class PlaceImporter(OnUnitImporter):
    kind = ImportKind.PLACES
    model = Place
    fields = ("address", "lng", "lat", "contact_name", "contact_phone", "risk_level", "notes")


class OrganisationImporter(OnUnitImporter):
    kind = ImportKind.ORGANISATIONS
    model = Organisation
    fields = ("address", "lng", "lat", "contact_name", "contact_phone", "member_count", "notes")


IMPORTERS: dict[str, type[Importer]] = {
    ImportKind.HOUSEHOLDS: HouseholdImporter,
    ImportKind.RESIDENTS: ResidentImporter,
    ImportKind.PLACES: PlaceImporter,
    ImportKind.ORGANISATIONS: OrganisationImporter,
}


# --- the runs -------------------------------------------------------------------------------------------


def authorise(user, unit) -> None:
    services.require(user, Capability.MANAGE_LEDGERS)
    if unit is None or not services.ledger_units(user).filter(pk=unit.pk).exists():
        raise PermissionDenied(_("You do not keep the ledgers of this unit."))


def importing_units(user) -> list[Unit]:
    """The units a user imports for: those of their territorial posts, the highest first."""
    posts = (
        Post.objects.active()
        .filter(user=user)
        .exclude(role=Role.DEPARTMENT_USER)
        .select_related("unit")
        .order_by("unit__depth", "unit__path", "id")
    )
    current = set(services.ledger_units(user).values_list("pk", flat=True))
    return list({post.unit_id: post.unit for post in posts if post.unit_id in current}.values())


def _process(source, kind: str, *, user, unit, fmt: str | None, mode: str | None) -> ImportResult:
    if kind not in ImportKind.values:
        raise ValueError(f"unknown import kind {kind!r}")
    if mode is not None and mode not in ImportMode.values:
        raise ValueError(f"unknown import mode {mode!r}")
    authorise(user, unit)
    result = ImportResult(kind=kind, mode=mode or "")
    importer = IMPORTERS[kind](user, unit, result)
    writing = mode is not None
    try:
        with transaction.atomic() if writing else nullcontext():
            _stream(source, fmt, importer, result, writing, mode)
            if writing and (
                result.has_file_errors or (mode == ImportMode.ALL_OR_NOTHING and result.error_count)
            ):
                raise _Rollback
    except _Rollback:
        result.refused = True
        result.created = result.updated = result.unchanged = 0
        result.skipped = result.row_count
        return result
    if writing:
        result.applied = True
    return result


def _stream(source, fmt, importer: Importer, result: ImportResult, writing: bool, mode: str | None) -> None:
    try:
        with read_rows(source, fmt) as rows:
            header = next(rows, None)
            if header is None:
                result.add_error(0, "", "empty", _("The file is empty."))
                return
            found, problems = match_header(importer.kind, header)
            for code, message in problems:
                result.add_error(0, "", code, message)
            if problems:
                return
            importer.prefetch()
            batch: list[Row] = []
            for number, cells in enumerate(rows, start=2):
                raw = {column.key: cells[i] if i < len(cells) else None for i, column in found}
                if not any(cell_text(value) for value in raw.values()):
                    continue
                result.row_count += 1
                batch.append(importer.read(number, raw))
                if len(batch) >= BATCH_SIZE:
                    _handle(importer, batch, result, writing, mode)
                    batch = []
            if batch:
                _handle(importer, batch, result, writing, mode)
            if not result.row_count:
                result.add_error(0, "", "empty", _("The file has no rows below the header."))
    except FileProblem as problem:
        result.add_error(0, "", problem.code, problem.message)


def _handle(
    importer: Importer, rows: list[Row], result: ImportResult, writing: bool, mode: str | None
) -> None:
    importer.check_batch(rows)
    good = []
    for row in rows:
        if row.problems:
            result.error_row_count += 1
            for key, code, message in row.problems:
                column = importer.columns[key]
                result.add_error(
                    row.number,
                    column.header,
                    code,
                    scrub(message),
                    column.masked_value(row.text.get(key, "")),
                )
            continue
        good.append(row)
        if row.action == "create":
            result.created += 1
        elif row.action == "update":
            result.updated += 1
        else:
            result.unchanged += 1
    if not writing:
        return
    result.skipped += len(rows) - len(good)
    if mode == ImportMode.ALL_OR_NOTHING and result.error_count:
        return  # the whole import is refused at the end; stop writing now
    importer.write_batch(good)


def check(source, kind: str, *, user, unit, fmt: str | None = None) -> ImportResult:
    """The dry run: every problem of every row, and what an import would create and update."""
    return _process(source, kind, user=user, unit=unit, fmt=fmt, mode=None)


def apply(source, kind: str, *, user, unit, mode: str, fmt: str | None = None) -> ImportResult:
    """Check again and write, in one transaction: all-or-nothing refuses a file with any bad row and
    writes nothing; valid-only writes the good rows and skips the bad ones."""
    return _process(source, kind, user=user, unit=unit, fmt=fmt, mode=mode)


def stored_path(run: ImportRun) -> Path:
    return Path(settings.MEDIA_ROOT) / run.stored_file


def start_run(upload, kind: str, *, user, unit) -> ImportRun:
    """Keep an uploaded file under a random name, dry-run it and record the report in an ImportRun."""
    authorise(user, unit)
    if kind not in ImportKind.values:
        raise ValidationError({"kind": _("Choose what the file holds.")})
    suffix = Path(upload.name or "").suffix.lower()
    if suffix.lstrip(".") not in FORMATS:
        raise ValidationError({"file": _("Only .xlsx and .csv files can be imported.")})
    limit = settings.WANGGE_MAX_IMPORT_BYTES
    if upload.size > limit:
        raise ValidationError(
            {"file": _("The file is larger than %(size)s MB.") % {"size": limit // (1024 * 1024)}}
        )
    name = f"{UPLOAD_FOLDER}/{uuid.uuid4().hex}{suffix}"
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        result = check(path, kind, user=user, unit=unit)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if result.has_file_errors:
        path.unlink(missing_ok=True)  # nothing in it can be imported: do not keep it
        name = ""
    return ImportRun.objects.create(
        kind=kind,
        unit=unit,
        user=user,
        file_name=Path(upload.name).name[:200],
        stored_file=name,
        status=ImportStatus.CHECKED,
        row_count=result.row_count,
        error_row_count=result.error_row_count,
        created_count=result.created,
        updated_count=result.updated,
        errors=result.errors,
    )


def apply_run(run: ImportRun, *, user, mode: str) -> tuple[ImportRun, ImportResult]:
    """Import a checked run's file: checked again (the ledger may have changed since the dry run),
    written or refused, and the stored file deleted either way."""
    services.require(user, Capability.MANAGE_LEDGERS)
    if run.user_id != user.pk:
        raise PermissionDenied(_("Only the person who uploaded the file can import it."))
    if mode not in ImportMode.values:
        raise ValidationError({"mode": _("Choose how to import.")})
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().select_related("unit").get(pk=run.pk)
        path = stored_path(run) if run.stored_file else None
        if run.status != ImportStatus.CHECKED or path is None or not path.is_file():
            raise ValidationError(_("This file has been dealt with already: upload it again to import it."))
        result = apply(path, run.kind, user=user, unit=run.unit, mode=mode)
        run.mode = mode
        run.status = ImportStatus.REFUSED if result.refused else ImportStatus.APPLIED
        run.row_count, run.error_row_count = result.row_count, result.error_row_count
        run.created_count, run.updated_count = result.created, result.updated
        run.errors = result.errors
        run.applied_at = timezone.now() if result.applied else None
        run.stored_file = ""
        run.save()
    path.unlink(missing_ok=True)
    return run, result
