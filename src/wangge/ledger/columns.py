"""The columns of the ledger files: one tuple per ImportKind, shared by the template, the import and the
export, so an exported file re-imports unchanged.

Headers are fixed Chinese strings, not translated: a file written in one UI language must read back in
any other. Each column also has an English key (accepted in a header row too, for scripts). A column
knows whether it is required, how a cell is parsed (raising `CellError` with a rule code and the
message a user reads), how a record's value is written out, and whether it holds personal data that is
masked in reports and masked exports.

Choice columns take the Chinese labels of ledger/choices.py (their zh-hans translations); the English
labels and the stored value keys are accepted as well.
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

from wangge.core.pii import birth_date_from_id, mask_id_number, mask_phone, validate_phone

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
DATE_PATTERN = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
# A number written in any free-text cell that looks like an ID or mobile number is masked in reports.
ID_LIKE = re.compile(r"(?<![\dXx])\d{17}[\dXx](?![\dXx])")
MOBILE_LIKE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
REPORT_VALUE_LENGTH = 60


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
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value).replace("\u3000", " ").strip()


def _looks_like_id(value: str) -> bool:
    """18 characters whose digits 7–14 are a plausible birth date: an ID number, maybe mistyped (a unit
    code of the same length has no date there: 500229100001001001 would be born in the year 1000)."""
    born = birth_date_from_id(value)
    return born is not None and 1880 <= born.year <= timezone.localdate().year


def scrub(text: str, *, phones: bool = True) -> str:
    """Mask whatever looks like an ID number (or, unless told otherwise, a mobile number), so no report
    keeps one in clear even when it was typed into the wrong column."""
    text = ID_LIKE.sub(lambda m: mask_id_number(m.group()) if _looks_like_id(m.group()) else m.group(), text)
    return MOBILE_LIKE.sub(lambda m: mask_phone(m.group()), text) if phones else text


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
    width: int = 14
    export: Callable[[Any], Any] = lambda obj: ""

    def masked_value(self, value: str) -> str:
        """The cell as a report may show it: personal numbers masked, long text cut."""
        if not value:
            return ""
        if self.mask == "id_number":
            return mask_id_number(value)
        if self.mask == "phone":
            return mask_phone(value)
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


RULE_TEXT = gettext_lazy("Text.")
RULE_LNG = gettext_lazy("Decimal degrees (WGS 84), between -180 and 180; give the latitude too.")
RULE_LAT = gettext_lazy("Decimal degrees (WGS 84), between -90 and 90; give the longitude too.")
RULE_PHONE = gettext_lazy("An 11-digit mobile number or a landline with area code.")
RULE_GRID = gettext_lazy("The code of a current grid inside the importing unit.")
RULE_NOTES = gettext_lazy("Free text.")


HOUSEHOLD_COLUMNS = (
    Column(
        "number",
        "户编号",
        text(40),
        gettext_lazy("Unique number of the household; the key: a row with a known number updates it."),
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
    Column("lng", "经度", decimal_in(-180, 180), RULE_LNG, blank=None, export=lambda h: h.lng),
    Column("lat", "纬度", decimal_in(-90, 90), RULE_LAT, blank=None, export=lambda h: h.lat),
    Column(
        "is_rental",
        "是否出租屋",
        boolean,
        gettext_lazy("是 or 否 (empty: 否)."),
        blank=False,
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
        text(40),
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
        gettext_lazy("Names of attention tags separated by 、 or a comma."),
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
        Column("lng", "经度", decimal_in(-180, 180), RULE_LNG, blank=None, export=lambda obj: obj.lng),
        Column("lat", "纬度", decimal_in(-90, 90), RULE_LAT, blank=None, export=lambda obj: obj.lat),
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
