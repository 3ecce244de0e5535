"""The columns of the ledger files: one tuple per ImportKind, shared by the template, the import and the
export, so an exported file re-imports unchanged.

Headers are fixed Chinese strings, not translated: a file written in one UI language must read back in
any other. Each column also has an English key (accepted in a header row too, for scripts). A column
knows whether it is required, how a cell is parsed (raising `CellError` with a rule code and the
message a user reads), how a record's value is written out, and whether it holds personal data that is
masked in reports and masked exports.

Choice columns take the Chinese labels of ledger/choices.py (their zh-hans translations); the English
labels and the stored value keys are accepted as well.

A cell's text goes through `Column.text_of` first: a number Excel stored in a code column is refused when
it lost digits (IDs always, phones that lost their leading 0, anything of 15 digits or more), and the
apostrophe an export puts before a text starting with = + - @ (so no spreadsheet runs it as a formula) is
taken off again. An empty cell means "keep the value on record" in an update; the word 清空 clears it.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.core.pii import (
    ID_PATTERN,
    MOBILE_PATTERN,
    birth_date_from_id,
    mask_id_number,
    mask_phone,
    normalise_id_number,
    normalise_phone,
    validate_phone,
)

from . import services
from .choices import (
    OrganisationKind,
    PlaceKind,
    PoliticalStatus,
    Relation,
    ResidenceType,
    ResidentStatus,
    RiskLevel,
    Sex,
)
from .models import ImportKind

LABEL_LANGUAGE = "zh-hans"
TRUE_WORDS = {"是", "y", "yes", "true", "1", "√", "✓"}
FALSE_WORDS = {"否", "n", "no", "false", "0"}
YES, NO = "是", "否"
TAG_SEPARATORS = re.compile(r"[、,，;；]")
# 2024-05-31, 2024/5/31, 2024年5月31日, and the time Excel adds when it saves a date into a CSV
# ("2024/5/31 0:00", "2024-05-31 00:00:00"): the time is dropped.
DATE_PATTERN = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
# A number written in any free-text cell that looks like an ID or mobile number is masked in reports.
ID_LIKE = re.compile(r"(?<![\dXx])\d{17}[\dXx](?![\dXx])")
LEGACY_ID_LIKE = re.compile(r"(?<!\d)\d{15}(?!\d)")
MOBILE_LIKE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
LEGACY_ID = re.compile(r"^\d{15}$")
REPORT_VALUE_LENGTH = 60
# A phone mask of a long value (a number typed into the wrong column) shows at most this many digits first.
REPORT_PHONE_HEAD = 3
# The cell text that clears a value in an update (an empty cell keeps it).
CLEAR = "清空"
# A text starting with one of these is a formula to a spreadsheet: exports put an apostrophe before it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What Excel writes into a CSV for a long number it holds as a number: 5.00229E+17.
SCIENTIFIC = re.compile(r"^[-+]?\d+(?:\.\d+)?[Ee][+-]?\d+$")
# Numbers of 15 digits or more lose digits in Excel (it keeps 15 significant digits).
EXACT_LIMIT = 10**15


class CellError(Exception):
    """A cell breaks a rule: `code` is stable (tests, scripts), `message` is what the user reads."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Masked:
    """A masked number from an export (5002********1234, 138****5678): it may stand for the number on record."""

    text: str


# --- cell text -------------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell of either format as the text a user typed: numbers without a trailing .0, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).replace("\u3000", " ").strip()


def escape_formula(value: Any) -> Any:
    """An exported text that a spreadsheet would run as a formula gets an apostrophe before it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unescape_formula(text: str) -> str:
    """The import takes the export's apostrophe off again, so a round trip changes nothing."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def _looks_like_id(value: str) -> bool:
    """18 characters whose digits 7–14 are a plausible birth date: an ID number, maybe mistyped (a unit
    code of the same length has no date there: 500229100001001001 would be born in the year 1000)."""
    born = birth_date_from_id(value)
    return born is not None and 1880 <= born.year <= timezone.localdate().year


def _looks_like_legacy_id(value: str) -> bool:
    """15 digits whose digits 7–12 are a plausible date (yymmdd): an ID number from before 1999."""
    try:
        datetime.date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))
    except ValueError:
        return False
    return True


def scrub(text: str, *, phones: bool = True) -> str:
    """Mask whatever looks like an ID number (or, unless told otherwise, a mobile number or a 15-digit ID
    of before 1999), so no report keeps one in clear even when it was typed into the wrong column. Code
    columns pass phones=False: their 11- and 15-digit values are unit codes and household numbers."""
    text = ID_LIKE.sub(lambda m: mask_id_number(m.group()) if _looks_like_id(m.group()) else m.group(), text)
    if not phones:
        return text
    text = LEGACY_ID_LIKE.sub(
        lambda m: mask_id_number(m.group()) if _looks_like_legacy_id(m.group()) else m.group(), text
    )
    return MOBILE_LIKE.sub(lambda m: mask_phone(m.group()), text)


def report_phone_mask(value: str) -> str:
    """The mask a report shows for a phone cell: an ID number typed there gets the ID mask, and a long
    value shows at most three digits before the stars."""
    if ID_PATTERN.match(normalise_id_number(value)) or LEGACY_ID.match(normalise_id_number(value)):
        return mask_id_number(value)
    digits = normalise_phone(value)
    if len(digits) > 12:
        return f"{digits[:REPORT_PHONE_HEAD]}{'*' * (len(digits) - REPORT_PHONE_HEAD - 4)}{digits[-4:]}"
    return mask_phone(value)


# --- parsers ---------------------------------------------------------------------------------------------


def text(max_length: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise CellError("too_long", _("At most %(max)s characters.") % {"max": max_length})
        return value

    return parse


def code(value: str) -> str:
    """A unit code as written; the import resolves it inside the importing unit's subtree."""
    return value.replace(" ", "")


def decimal_in(low: float, high: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise CellError("number", _("Not a number.")) from None
        if not low <= number <= high:
            raise CellError(
                "range", _("The number must lie between %(low)s and %(high)s.") % {"low": low, "high": high}
            )
        return number

    return parse


def count(value: str) -> int:
    try:
        number = float(value)
    except ValueError:
        raise CellError("number", _("Not a whole number.")) from None
    if not number.is_integer() or number < 0:
        raise CellError("number", _("Not a whole number."))
    return int(number)


def boolean(value: str) -> bool:
    word = value.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError("choice", _("Write %(yes)s or %(no)s.") % {"yes": YES, "no": NO})


def household_number(value: str) -> str:
    """户编号: it goes into page addresses and file names, so letters, digits, '-' and '_' only."""
    text(40)(value)
    if not services.HOUSEHOLD_NUMBER.fullmatch(value):
        raise CellError(
            "number_format", _("A household number is made of letters, digits, '-' and '_' only.")
        )
    return value


def date(value: str) -> datetime.date:
    match = DATE_PATTERN.match(value) or re.match(r"^(\d{4})(\d{2})(\d{2})$", value)
    try:
        if not match:
            raise ValueError
        day = datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        raise CellError("date", _("Not a date: write it as 2024-05-31.")) from None
    if day > timezone.localdate():
        raise CellError("future_date", _("The date lies in the future."))
    return day


def id_number(value: str):
    """A full ID number gives a services.Identity (checked per GB 11643); a masked one a `Masked`."""
    if "*" in value:
        return Masked(value)
    if LEGACY_ID.match(normalise_id_number(value)):
        raise CellError("legacy_id", _("A 15-digit ID from before 1999: give the 18-digit number."))
    try:
        return services.identity(value)
    except ValidationError as exc:
        raise CellError("id_number", " ".join(exc.messages)) from None


def phone(value: str):
    if "*" in value:
        return Masked(value)
    try:
        return services.phone_and_index(value)
    except ValidationError as exc:
        raise CellError("phone", " ".join(exc.messages)) from None


def plain_phone(value: str) -> str:
    """A published duty phone (places, organisations): checked, kept in clear."""
    try:
        return validate_phone(value)
    except ValidationError as exc:
        raise CellError("phone", " ".join(exc.messages)) from None


def tag_names(value: str) -> list[str]:
    return [name.strip() for name in TAG_SEPARATORS.split(value) if name.strip()]


@cache
def _choice_maps(choices) -> tuple[dict[str, str], dict[str, str]]:
    """(accepted word → value, value → Chinese label) of a TextChoices class."""
    accepted: dict[str, str] = {}
    for language in ("en", LABEL_LANGUAGE):
        with translation.override(language):
            for value, label in choices.choices:
                accepted[str(label).lower()] = value
    labels = {}
    with translation.override(LABEL_LANGUAGE):
        for value, label in choices.choices:
            labels[value] = str(label)
    for value in choices.values:
        if value:
            accepted[value.lower()] = value
    return accepted, labels


def choice_label(choices, value: str) -> str:
    """The label a file carries for a stored value: the Chinese one."""
    return _choice_maps(choices)[1].get(value, value) if value else ""


def allowed_labels(choices) -> list[str]:
    return [label for value, label in _choice_maps(choices)[1].items() if value]


def choice(choices) -> Callable[[str], str]:
    def parse(value: str) -> str:
        found = _choice_maps(choices)[0].get(value.lower())
        if found is None:
            raise CellError(
                "choice",
                _("Not one of the allowed values: %(allowed)s.")
                % {"allowed": "、".join(allowed_labels(choices))},
            )
        return found

    return parse


# --- columns ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    parse: Callable[[str], Any]
    rule: Any  # a lazy translatable description, for the template's 说明 sheet
    required: bool = False
    blank: Any = ""  # the value of an empty cell
    choices: Any = None
    # "id_number" or "phone": masked in every report; `personal` also masks it in a masked export.
    mask: str = ""
    personal: bool = False
    text_format: bool = False  # digits that must stay text in Excel (IDs, codes, phones)
    numeric: bool = False  # the cell holds a number, a date or 是/否, not text
    width: int = 14
    export: Callable[[Any], Any] = lambda obj: ""

    def text_of(self, raw: Any) -> str:
        """The cell as the text the user meant; CellError when Excel stored a number in this text column
        and lost digits on the way (or would have: an ID as a number has lost its X and last digits)."""
        is_number = isinstance(raw, int | float) and not isinstance(raw, bool)
        if is_number and not self.numeric and self._lost_digits(raw):
            raise CellError("number_cell", str(NUMBER_CELL_RULE))
        value = cell_text(raw)
        if self.text_format and SCIENTIFIC.match(value):
            raise CellError("number_cell", str(NUMBER_CELL_RULE))
        return unescape_formula(value)

    def _lost_digits(self, number: int | float) -> bool:
        if self.mask == "id_number":
            return True
        if isinstance(number, float) and not number.is_integer():
            return self.text_format
        if abs(number) >= EXACT_LIMIT:
            return True
        if self.mask == "phone":  # a landline stored as a number has lost its leading 0
            return not MOBILE_PATTERN.match(str(int(number)))
        return False

    def masked_value(self, value: str) -> str:
        """The cell as a report may show it: personal numbers masked, long text cut."""
        if not value:
            return ""
        if self.mask == "id_number":
            return mask_id_number(value)
        if self.mask == "phone":
            return report_phone_mask(value)
        value = scrub(value, phones=not self.text_format)  # codes and numbers of the ledger are no phones
        return value if len(value) <= REPORT_VALUE_LENGTH else value[:REPORT_VALUE_LENGTH] + "…"

    @property
    def allowed(self) -> list[str]:
        return allowed_labels(self.choices) if self.choices else []


def _code_of(unit) -> str:
    return unit.code if unit is not None else ""


def _choice_column(key, header, choices, rule, *, required=False, default="", width=14, attr=None) -> Column:
    attr = attr or key
    return Column(
        key,
        header,
        choice(choices),
        rule,
        required=required,
        blank=default,
        choices=choices,
        width=width,
        export=lambda obj: choice_label(choices, getattr(obj, attr)),
    )


NUMBER_CELL_RULE = gettext_lazy("Excel stored this as a number and lost digits: format the column as text.")
RULE_TEXT = gettext_lazy("Text.")
RULE_LNG = gettext_lazy("Decimal degrees (WGS 84), between -180 and 180; give the latitude too.")
RULE_LAT = gettext_lazy("Decimal degrees (WGS 84), between -90 and 90; give the longitude too.")
RULE_PHONE = gettext_lazy("An 11-digit mobile number or a landline with area code.")
RULE_NOTES = gettext_lazy("Free text.")


HOUSEHOLD_COLUMNS = (
    Column(
        "number",
        "户编号",
        household_number,
        gettext_lazy(
            "Unique number of the household, of letters, digits, '-' and '_'; the key: a row with a known "
            "number updates it."
        ),
        required=True,
        text_format=True,
        width=18,
        export=lambda h: h.number,
    ),
    Column(
        "grid",
        "居住网格编码",
        code,
        gettext_lazy("Code of the grid the household lives in (a current grid inside the importing unit)."),
        required=True,
        text_format=True,
        width=18,
        export=lambda h: _code_of(h.grid),
    ),
    Column(
        "registered_grid",
        "户籍网格编码",
        code,
        gettext_lazy("Code of the grid of the household register (户籍), when it differs."),
        text_format=True,
        width=18,
        export=lambda h: _code_of(h.registered_grid),
    ),
    Column("address", "地址", text(200), RULE_TEXT, required=True, width=30, export=lambda h: h.address),
    Column("door_number", "门牌号", text(40), RULE_TEXT, text_format=True, export=lambda h: h.door_number),
    Column("lng", "经度", decimal_in(-180, 180), RULE_LNG, blank=None, numeric=True, export=lambda h: h.lng),
    Column("lat", "纬度", decimal_in(-90, 90), RULE_LAT, blank=None, numeric=True, export=lambda h: h.lat),
    Column(
        "is_rental",
        "是否出租屋",
        boolean,
        gettext_lazy("是 or 否 (empty: 否)."),
        blank=False,
        numeric=True,
        export=lambda h: YES if h.is_rental else NO,
    ),
    Column(
        "landlord_name",
        "房东姓名",
        text(64),
        gettext_lazy("Only for a rented household."),
        export=lambda h: h.landlord_name,
    ),
    Column(
        "landlord_phone",
        "房东电话",
        phone,
        RULE_PHONE,
        mask="phone",
        personal=True,
        text_format=True,
        export=lambda h: h.landlord_phone,
    ),
    Column("notes", "备注", text(2000), RULE_NOTES, width=30, export=lambda h: h.notes),
)

RESIDENT_COLUMNS = (
    Column(
        "id_number",
        "身份证号",
        id_number,
        gettext_lazy(
            "18-character citizen ID number (GB 11643, check digit verified); the key: a row with a known "
            "number updates that person. Without it the person is matched by household number and name."
        ),
        mask="id_number",
        personal=True,
        text_format=True,
        width=22,
        export=lambda r: r.id_number,
    ),
    Column(
        "household",
        "户编号",
        household_number,
        gettext_lazy("Number of an existing household inside the importing unit."),
        required=True,
        text_format=True,
        width=18,
        export=lambda r: r.household.number,
    ),
    Column("name", "姓名", text(64), RULE_TEXT, required=True, export=lambda r: r.name),
    Column(
        "sex",
        "性别",
        choice(Sex),
        gettext_lazy("Derived from the ID number when there is one; must agree with it."),
        choices=Sex,
        width=8,
        export=lambda r: choice_label(Sex, r.sex),
    ),
    Column(
        "birth_date",
        "出生日期",
        date,
        gettext_lazy("2024-05-31; derived from the ID number when there is one; not in the future."),
        blank=None,
        numeric=True,
        export=lambda r: r.birth_date.isoformat() if r.birth_date else "",
    ),
    Column(
        "phone",
        "联系电话",
        phone,
        RULE_PHONE,
        mask="phone",
        personal=True,
        text_format=True,
        export=lambda r: r.phone,
    ),
    _choice_column("relation", "与户主关系", Relation, gettext_lazy("Empty: other."), default=Relation.OTHER),
    Column("ethnicity", "民族", text(16), RULE_TEXT, width=10, export=lambda r: r.ethnicity),
    _choice_column(
        "residence_type",
        "居住类型",
        ResidenceType,
        gettext_lazy("Empty: registered and living here."),
        default=ResidenceType.REGISTERED,
        width=20,
    ),
    Column(
        "registered_grid",
        "户籍网格编码",
        code,
        gettext_lazy(
            "Code of the grid where the person is registered, when it differs from the household's."
        ),
        text_format=True,
        width=18,
        export=lambda r: _code_of(r.registered_grid),
    ),
    Column(
        "registered_address",
        "户籍地址",
        text(200),
        RULE_TEXT,
        width=30,
        export=lambda r: r.registered_address,
    ),
    Column("occupation", "职业", text(64), RULE_TEXT, export=lambda r: r.occupation),
    _choice_column(
        "political_status",
        "政治面貌",
        PoliticalStatus,
        gettext_lazy("Empty: masses."),
        default=PoliticalStatus.MASSES,
        width=18,
    ),
    Column(
        "party_organisation",
        "党组织",
        text(100),
        gettext_lazy(
            "Name of a party branch or group on the household's grid or a unit above it; party members only."
        ),
        width=22,
        export=lambda r: r.party_organisation.name if r.party_organisation_id else "",
    ),
    Column(
        "tags",
        "关注标签",
        tag_names,
        gettext_lazy(
            "Names of attention tags separated by 、 or a comma. The special-population tags (社区矫正, "
            "刑满释放 …) follow their records and the approved key-person listing: an import neither adds "
            "nor removes them. 清空 removes all the others."
        ),
        blank=(),
        width=24,
        export=lambda r: "、".join(tag.name for tag in r.tags.all()),
    ),
    _choice_column(
        "status",
        "状态",
        ResidentStatus,
        gettext_lazy("Empty: on the register."),
        default=ResidentStatus.PRESENT,
    ),
    Column("notes", "备注", text(2000), RULE_NOTES, width=30, export=lambda r: r.notes),
)


def _on_unit_columns(kind_choices, *, extra: tuple[Column, ...]) -> tuple[Column, ...]:
    return (
        Column(
            "unit",
            "单位编码",
            code,
            gettext_lazy("Code of a current unit (village, grid …) inside the importing unit."),
            required=True,
            text_format=True,
            width=18,
            export=lambda obj: obj.unit.code,
        ),
        _choice_column(
            "kind",
            "类型",
            kind_choices,
            gettext_lazy("Unit code, type and name together are the key: a known one is updated."),
            required=True,
            width=20,
        ),
        Column("name", "名称", text(100), RULE_TEXT, required=True, width=24, export=lambda obj: obj.name),
        Column("address", "地址", text(200), RULE_TEXT, width=30, export=lambda obj: obj.address),
        Column(
            "lng",
            "经度",
            decimal_in(-180, 180),
            RULE_LNG,
            blank=None,
            numeric=True,
            export=lambda obj: obj.lng,
        ),
        Column(
            "lat", "纬度", decimal_in(-90, 90), RULE_LAT, blank=None, numeric=True, export=lambda obj: obj.lat
        ),
        Column("contact_name", "联系人", text(64), RULE_TEXT, export=lambda obj: obj.contact_name),
        Column(
            "contact_phone",
            "联系电话",
            plain_phone,
            gettext_lazy("The published duty phone: an 11-digit mobile number or a landline with area code."),
            mask="phone",
            text_format=True,
            export=lambda obj: obj.contact_phone,
        ),
        *extra,
        Column("notes", "备注", text(2000), RULE_NOTES, width=30, export=lambda obj: obj.notes),
    )


PLACE_COLUMNS = _on_unit_columns(
    PlaceKind,
    extra=(_choice_column("risk_level", "风险等级", RiskLevel, gettext_lazy("Empty: not assessed.")),),
)
ORGANISATION_COLUMNS = _on_unit_columns(
    OrganisationKind,
    extra=(
        Column(
            "member_count",
            "成员数",
            count,
            gettext_lazy("A whole number."),
            blank=None,
            numeric=True,
            export=lambda o: o.member_count,
        ),
    ),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    ImportKind.HOUSEHOLDS: HOUSEHOLD_COLUMNS,
    ImportKind.RESIDENTS: RESIDENT_COLUMNS,
    ImportKind.PLACES: PLACE_COLUMNS,
    ImportKind.ORGANISATIONS: ORGANISATION_COLUMNS,
}


def columns_for(kind: str) -> tuple[Column, ...]:
    return COLUMNS[kind]


def column_by_key(kind: str, key: str) -> Column:
    return next(column for column in COLUMNS[kind] if column.key == key)


def match_header(kind: str, cells: list[str]) -> tuple[list[tuple[int, Column]], list[tuple[str, str]]]:
    """Map a header row to the kind's columns. Returns ([(cell index, column)], [(rule code, message)]):
    every column must be present once (by its Chinese header or English key) and no other may be."""
    columns = COLUMNS[kind]
    by_name = {}
    for column in columns:
        by_name[column.header] = column
        by_name[column.key.lower()] = column
    found: list[tuple[int, Column]] = []
    seen: set[str] = set()
    unknown, repeated = [], []
    for index, cell in enumerate(cells):
        name = cell_text(cell)
        if not name:
            continue
        column = by_name.get(name) or by_name.get(name.lower())
        if column is None:
            unknown.append(name)
        elif column.key in seen:
            repeated.append(name)
        else:
            seen.add(column.key)
            found.append((index, column))
    problems = []
    missing = [column.header for column in columns if column.key not in seen]
    if missing:
        problems.append(
            ("missing_columns", _("Missing columns: %(columns)s.") % {"columns": "、".join(missing)})
        )
    if unknown:
        problems.append(
            (
                "unknown_columns",
                _("Unknown columns: %(columns)s.") % {"columns": "、".join(scrub(u) for u in unknown)},
            )
        )
    if repeated:
        problems.append(
            ("repeated_columns", _("Columns given twice: %(columns)s.") % {"columns": "、".join(repeated)})
        )
    return found, problems
