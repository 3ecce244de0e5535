"""Every write to the household, resident, place and organisation ledgers.

Each function checks the actor's capability and scope, validates with messages naming the field and the
rule, runs in one transaction, checks the written row is still inside the actor's scope (so nobody moves
a record out of their own reach) and writes a change-log row with masked personal data. Views, the API,
the import and the demo's small scale call these; the import reuses `identity` and `validate_*` for its
bulk path so a row is judged by the same rules either way.
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import diff, record_change, snapshot
from wangge.core.models import ChangeAction
from wangge.core.pii import (
    birth_date_from_id,
    blind_index,
    id_number_problem,
    normalise_id_number,
    sex_from_id,
    validate_phone,
)
from wangge.people.roles import Capability
from wangge.units.models import Unit

from .choices import PARTY_ORGANISATION_KINDS, PARTY_STATUSES, HouseholdStatus, ResidentStatus, Sex
from .models import AttentionTag, Household, Organisation, Place, Resident

# Household numbers go into URLs and file names: nothing that needs escaping.
HOUSEHOLD_NUMBER = re.compile(r"[0-9A-Za-z_-]{1,40}")

ID_INDEX_KIND = "id_number"
PHONE_INDEX_KIND = "phone"

HOUSEHOLD_FIELDS = (
    "number",
    "grid",
    "registered_grid",
    "address",
    "door_number",
    "lng",
    "lat",
    "is_rental",
    "landlord_name",
    "landlord_phone",
    "notes",
)
RESIDENT_FIELDS = (
    "name",
    "sex",
    "birth_date",
    "id_number",
    "phone",
    "relation",
    "ethnicity",
    "residence_type",
    "registered_grid",
    "registered_address",
    "occupation",
    "political_status",
    "party_organisation",
    "notes",
)
PLACE_FIELDS = (
    "unit",
    "kind",
    "name",
    "address",
    "lng",
    "lat",
    "contact_name",
    "contact_phone",
    "risk_level",
    "notes",
)
ORGANISATION_FIELDS = (
    "unit",
    "kind",
    "name",
    "address",
    "lng",
    "lat",
    "contact_name",
    "contact_phone",
    "member_count",
    "notes",
)


# --- permission and scope -----------------------------------------------------------------------------


def require(user, capability: str) -> None:
    if user is None or not user.has_capability(capability):
        raise PermissionDenied(_("Your role does not allow this."))


def ledger_units(user, capability: str = Capability.MANAGE_LEDGERS):
    """The current units where `capability` holds for the user (by default: whose ledgers they keep)."""
    return Unit.objects.current().granting(user, capability)


def check_grid(user, unit: Unit | None, field: str, *, required: bool = True, in_area: bool = True) -> None:
    """A household lives in a current grid inside the user's territory. A registration grid (GRID-8)
    may lie anywhere: the residence grid records where the person's 户籍 is, wherever that is."""
    if unit is None:
        if required:
            raise ValidationError({field: _("Choose the grid.")})
        return
    if not unit.is_grid or not unit.is_current:
        raise ValidationError({field: _("%(unit)s is not a current grid.") % {"unit": unit}})
    if in_area and not ledger_units(user).filter(pk=unit.pk).exists():
        raise ValidationError({field: _("%(unit)s is outside your area.") % {"unit": unit}})


def check_unit(user, unit: Unit | None, field: str = "unit") -> None:
    """Places and organisations may sit on any current unit inside the user's territory."""
    if unit is None:
        raise ValidationError({field: _("Choose the unit.")})
    if not unit.is_current or not ledger_units(user).filter(pk=unit.pk).exists():
        raise ValidationError({field: _("%(unit)s is outside your area.") % {"unit": unit}})


def keeps(user, obj) -> bool:
    """Whether the user may change this ledger record: MANAGE_LEDGERS, and the record lives under a post
    granting it (`writable_by`) — registration-grid staff and other posts only read."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.has_capability(Capability.MANAGE_LEDGERS)
        and type(obj).objects.writable_by(user).filter(pk=obj.pk).exists()
    )


def lock_visible(model, pk, user):
    """Lock the bare row after checking the user keeps it: DoesNotExist (like a missing row) when they
    cannot see it, PermissionDenied when they see it but do not keep it (registration-grid staff, or a
    post without MANAGE_LEDGERS there).

    The scope filter joins the optional registration grids; PostgreSQL refuses FOR UPDATE on the
    nullable side of an outer join, and a lock should hold one row anyway (decision 0004).
    """
    if not model.objects.writable_by(user).filter(pk=pk).exists():
        if not model.objects.visible_to(user).filter(pk=pk).exists():
            raise model.DoesNotExist
        raise PermissionDenied(_("This record is kept where it lives; you may read it but not change it."))
    return model.objects.select_for_update().get(pk=pk)


def _still_visible(obj, user) -> None:
    """After a write: the row must still be inside the actor's scope, or the whole step is undone."""
    if not type(obj).objects.writable_by(user).filter(pk=obj.pk).exists():
        raise PermissionDenied(_("The change would move the record outside your area."))


# --- personal data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """What an ID number gives: its normalised form, blind index, birth date and sex."""

    id_number: str
    index: str | None
    birth_date: datetime.date | None
    sex: str


def identity(value: str, field: str = "id_number", today: datetime.date | None = None) -> Identity:
    """Validate an ID number (GB 11643) and derive what it encodes; blank gives an empty identity."""
    value = normalise_id_number(value)
    if not value:
        return Identity("", None, None, "")
    problem = id_number_problem(value, today)
    if problem:
        raise ValidationError({field: problem})
    sex = Sex.MALE if sex_from_id(value) == "male" else Sex.FEMALE
    return Identity(value, blind_index(ID_INDEX_KIND, value), birth_date_from_id(value), sex)


def phone_and_index(value: str, field: str = "phone") -> tuple[str, str]:
    value = (value or "").strip()
    if not value:
        return "", ""
    phone = validate_phone(value, field)
    return phone, blind_index(PHONE_INDEX_KIND, phone)


def find_by_id_number(queryset, value: str):
    """Exact search through the blind index; an invalid number finds nothing."""
    value = normalise_id_number(value)
    return queryset.filter(id_number_index=blind_index(ID_INDEX_KIND, value)) if value else queryset.none()


def find_by_phone(queryset, value: str, field: str = "phone_index"):
    from wangge.core.pii import normalise_phone

    value = normalise_phone(value)
    return queryset.filter(**{field: blind_index(PHONE_INDEX_KIND, value)}) if value else queryset.none()


def _duplicate_id_error(resident: Resident, user) -> ValidationError:
    """The ID is registered already: name the household only when the user may see it."""
    other = Resident.objects.filter(id_number_index=resident.id_number_index).exclude(pk=resident.pk).first()
    if other and Resident.objects.visible_to(user).filter(pk=other.pk).exists():
        return ValidationError(
            {
                "id_number": _("This ID number is already registered for %(name)s of household %(number)s.")
                % {"name": other.name, "number": other.household.number}
            }
        )
    return ValidationError(
        {"id_number": _("This ID number is already registered in another area; ask the level above.")}
    )


# --- households ----------------------------------------------------------------------------------


def _validate_household(household: Household, user) -> None:
    errors = {}
    if not household.number.strip():
        errors["number"] = _("A household needs a number.")
    elif not HOUSEHOLD_NUMBER.fullmatch(household.number.strip()):
        errors["number"] = _("A household number is made of letters, digits, '-' and '_' only.")
    if not household.address.strip():
        errors["address"] = _("A household needs an address.")
    if (household.lng is None) != (household.lat is None):
        errors["lng"] = _("Give both longitude and latitude, or neither.")
    if household.landlord_phone:
        try:
            household.landlord_phone, household.landlord_phone_index = phone_and_index(
                household.landlord_phone, "landlord_phone"
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    else:
        household.landlord_phone_index = ""
    if not household.is_rental and (household.landlord_name or household.landlord_phone):
        errors["is_rental"] = _("A landlord is only recorded for a rented household.")
    if errors:
        raise ValidationError(errors)
    check_grid(user, household.grid, "grid")
    if household.registered_grid_id == household.grid_id:
        household.registered_grid = None
    check_grid(user, household.registered_grid, "registered_grid", required=False, in_area=False)


def create_household(*, by, **fields) -> Household:
    require(by, Capability.MANAGE_LEDGERS)
    household = Household(**{k: v for k, v in fields.items() if k in HOUSEHOLD_FIELDS})
    household.number = household.number.strip()
    _validate_household(household, by)
    with transaction.atomic():
        if Household.objects.filter(number=household.number).exists():
            raise ValidationError(
                {"number": _("Household number %(number)s exists.") % {"number": household.number}}
            )
        household.save()
        _still_visible(household, by)
        record_change(household, ChangeAction.CREATE, by, {"after": snapshot(household)})
    return household


def update_household(household: Household, *, by, **changes) -> Household:
    """Edit a household; a change of grid is a move and is recorded as one."""
    require(by, Capability.MANAGE_LEDGERS)
    with transaction.atomic():
        household = lock_visible(Household, household.pk, by)
        before = snapshot(household)
        for name, value in changes.items():
            if name not in HOUSEHOLD_FIELDS or name == "number":
                raise ValidationError({name: _("This field cannot be changed here.")})
            setattr(household, name, value)
        _validate_household(household, by)
        # Whoever edits the record has checked it: an update counts as a review (核查, INFO-2).
        household.reviewed_at, household.reviewed_by = timezone.now(), by
        household.save()
        _still_visible(household, by)
        changed = diff(before, snapshot(household))
        if changed:
            action = ChangeAction.MOVE if "grid_id" in changed else ChangeAction.UPDATE
            record_change(household, action, by, changed)
    return household


def move_household(household: Household, grid: Unit, *, by, note: str = "") -> Household:
    """搬迁: the household now lives in another grid; its members move with it, history stays."""
    with transaction.atomic():
        household = update_household(household, by=by, grid=grid)
        if note:
            record_change(household, ChangeAction.MOVE, by, {"note": note})
    return household


def close_household(household: Household, *, by, note: str = "") -> Household:
    """销户: kept with its history; refused while members are still on the register."""
    require(by, Capability.MANAGE_LEDGERS)
    with transaction.atomic():
        household = lock_visible(Household, household.pk, by)
        if household.status == HouseholdStatus.CLOSED:
            raise ValidationError({"status": _("The household is closed already.")})
        if household.members.filter(status=ResidentStatus.PRESENT).exists():
            raise ValidationError(
                {
                    "status": _(
                        "Move out or mark the members first: a household with people on the register stays."
                    )
                }
            )
        household.status = HouseholdStatus.CLOSED
        household.save(update_fields=["status", "updated_at"])
        record_change(household, ChangeAction.RETIRE, by, {"note": note})
    return household


# --- residents --------------------------------------------------------------------------------------


def _validate_resident(resident: Resident, user) -> None:
    errors = {}
    if not resident.name.strip():
        errors["name"] = _("A resident needs a name.")
    resident.name = resident.name.strip()
    try:
        ident = identity(resident.id_number or "")
        resident.id_number, resident.id_number_index = ident.id_number, ident.index
        if ident.index:
            resident.birth_date = ident.birth_date
            resident.sex = ident.sex
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        resident.phone, resident.phone_index = phone_and_index(resident.phone or "")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if resident.birth_date and resident.birth_date > timezone.localdate():
        errors["birth_date"] = _("The date of birth lies in the future.")
    org = resident.party_organisation
    if org is not None:
        if resident.political_status not in PARTY_STATUSES:
            errors["party_organisation"] = _("Only a party member is linked to a party organisation.")
        elif org.kind not in PARTY_ORGANISATION_KINDS:
            errors["party_organisation"] = _("%(org)s is not a party branch or group.") % {"org": org}
        elif not _party_organisation_reachable(org, resident.household, user):
            errors["party_organisation"] = _("%(org)s is outside your area.") % {"org": org}
    if errors:
        raise ValidationError(errors)
    if resident.registered_grid_id == resident.household.grid_id:
        resident.registered_grid = None
    check_grid(user, resident.registered_grid, "registered_grid", required=False, in_area=False)


def _party_organisation_reachable(org: Organisation, household: Household, user) -> bool:
    """A member joins a cell on their own grid or above it (the village's branch), or one the user keeps."""
    grid_path = household.grid.path if household.grid_id else ""
    if grid_path and grid_path.startswith(org.unit.path):
        return True
    return Organisation.objects.visible_to(user).filter(pk=org.pk).exists()


def _save_resident(resident: Resident, user) -> None:
    try:
        with transaction.atomic():
            resident.save()
    except IntegrityError as exc:
        if resident.id_number_index and (
            Resident.objects.filter(id_number_index=resident.id_number_index).exclude(pk=resident.pk).exists()
        ):
            raise _duplicate_id_error(resident, user) from exc
        raise


def create_resident(*, by, household: Household, tags: Iterable[AttentionTag] = (), **fields) -> Resident:
    require(by, Capability.MANAGE_LEDGERS)
    with transaction.atomic():
        household = lock_visible(Household, household.pk, by)
        if household.status != HouseholdStatus.ACTIVE:
            raise ValidationError({"household": _("The household is closed.")})
        resident = Resident(household=household, **{k: v for k, v in fields.items() if k in RESIDENT_FIELDS})
        _validate_resident(resident, by)
        earlier = _earlier_record(resident)
        if earlier is not None:
            return _transfer_in(earlier, resident, tags, by)
        _save_resident(resident, by)
        if tags:
            resident.tags.set(tags)
        _still_visible(resident, by)
        after = snapshot(resident)
        after["tags"] = sorted(t.code for t in tags)
        record_change(resident, ChangeAction.CREATE, by, {"after": after})
    return resident


def _earlier_record(resident: Resident) -> Resident | None:
    """The record of a person who moved out somewhere and now registers here (迁入): one person keeps one
    record and its history. A deceased person's number is refused; one on a register elsewhere is the
    duplicate that _save_resident reports."""
    if not resident.id_number_index:
        return None
    earlier = Resident.objects.filter(id_number_index=resident.id_number_index).first()
    if earlier is None or earlier.status == ResidentStatus.PRESENT:
        return None
    if earlier.status == ResidentStatus.DECEASED:
        raise ValidationError({"id_number": _("This ID number belongs to a person registered as deceased.")})
    return earlier


def _transfer_in(earlier: Resident, arriving: Resident, tags, by) -> Resident:
    earlier = Resident.objects.select_for_update().get(pk=earlier.pk)
    before = snapshot(earlier)
    for name in RESIDENT_FIELDS:
        setattr(earlier, name, getattr(arriving, name))
    earlier.household = arriving.household
    earlier.status, earlier.status_date = ResidentStatus.PRESENT, timezone.localdate()
    earlier.save()
    if tags:
        earlier.tags.set(tags)
    _still_visible(earlier, by)
    changed = diff(before, snapshot(earlier))
    changed["note"] = _("Moved in (迁入) from another household")
    record_change(earlier, ChangeAction.MOVE, by, changed)
    return earlier


def update_resident(
    resident: Resident, *, by, tags: Iterable[AttentionTag] | None = None, **changes
) -> Resident:
    require(by, Capability.MANAGE_LEDGERS)
    with transaction.atomic():
        resident = lock_visible(Resident, resident.pk, by)
        before = snapshot(resident)
        before_tags = sorted(resident.tags.values_list("code", flat=True))
        for name, value in changes.items():
            if name not in RESIDENT_FIELDS and name != "household":
                raise ValidationError({name: _("This field cannot be changed here.")})
            setattr(resident, name, value)
        if "household" in changes and (
            not Household.objects.visible_to(by)
            .filter(pk=resident.household.pk, status=HouseholdStatus.ACTIVE)
            .exists()
        ):
            raise ValidationError({"household": _("Choose an active household in your area.")})
        _validate_resident(resident, by)
        _save_resident(resident, by)
        changed = diff(before, snapshot(resident))
        if tags is not None:
            tags = list(tags)
            after_tags = sorted(t.code for t in tags)
            if after_tags != before_tags:
                resident.tags.set(tags)
                changed["tags"] = [before_tags, after_tags]
        _still_visible(resident, by)
        if changed:
            action = ChangeAction.MOVE if "household_id" in changed else ChangeAction.UPDATE
            record_change(resident, action, by, changed)
    return resident


def set_resident_status(
    resident: Resident, status: str, *, by, on: datetime.date | None = None, note: str = ""
) -> Resident:
    """迁出 / 死亡 / back on the register: the record stays, with the date and the change logged."""
    require(by, Capability.MANAGE_LEDGERS)
    if status not in ResidentStatus.values:
        raise ValidationError({"status": _("Unknown status.")})
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise ValidationError({"status_date": _("The date lies in the future.")})
    with transaction.atomic():
        resident = lock_visible(Resident, resident.pk, by)
        if resident.status == status:
            raise ValidationError({"status": _("The resident already has this status.")})
        if status == ResidentStatus.PRESENT and resident.household.status != HouseholdStatus.ACTIVE:
            raise ValidationError(
                {"status": _("The household is closed; move the person to another household.")}
            )
        changed = {
            "status": [resident.status, status],
            "status_date": [str(resident.status_date or ""), str(on)],
        }
        if note:
            changed["note"] = note
        resident.status, resident.status_date = status, on
        resident.save(update_fields=["status", "status_date", "updated_at"])
        record_change(resident, ChangeAction.UPDATE, by, changed)
        if status == ResidentStatus.DECEASED:
            from .specials import close_on_death  # specials builds on this module

            close_on_death(resident, by=by)
    return resident


def add_tag(resident: Resident, code: str, *, by) -> None:
    """Set one attention tag (special records and key-person listing keep theirs in step)."""
    tag = AttentionTag.objects.filter(code=code).first()
    if tag is not None and not resident.tags.filter(pk=tag.pk).exists():
        resident.tags.add(tag)
        record_change(resident, ChangeAction.UPDATE, by, {"tags": [[], [code]]})


def remove_tag(resident: Resident, code: str, *, by) -> None:
    tag = AttentionTag.objects.filter(code=code).first()
    if tag is not None and resident.tags.filter(pk=tag.pk).exists():
        resident.tags.remove(tag)
        record_change(resident, ChangeAction.UPDATE, by, {"tags": [[code], []]})


# --- places and organisations -------------------------------------------------------------------------


def _validate_point_and_unit(obj, user) -> None:
    errors = {}
    if not obj.name.strip():
        errors["name"] = _("A name is required.")
    if (obj.lng is None) != (obj.lat is None):
        errors["lng"] = _("Give both longitude and latitude, or neither.")
    if obj.contact_phone:
        try:
            obj.contact_phone = validate_phone(obj.contact_phone, "contact_phone")
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    check_unit(user, obj.unit, "unit")


def _save_unique(obj) -> None:
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise ValidationError(
            {
                "name": _("%(unit)s already has a %(kind)s named %(name)s.")
                % {"unit": obj.unit, "kind": obj.get_kind_display(), "name": obj.name}
            }
        ) from exc


def _create_on_unit(model, allowed: tuple[str, ...], *, by, **fields):
    require(by, Capability.MANAGE_LEDGERS)
    obj = model(**{k: v for k, v in fields.items() if k in allowed})
    _validate_point_and_unit(obj, by)
    with transaction.atomic():
        _save_unique(obj)
        _still_visible(obj, by)
        record_change(obj, ChangeAction.CREATE, by, {"after": snapshot(obj)})
    return obj


def _update_on_unit(obj, allowed: tuple[str, ...], *, by, **changes):
    require(by, Capability.MANAGE_LEDGERS)
    model = type(obj)
    with transaction.atomic():
        obj = lock_visible(model, obj.pk, by)
        before = snapshot(obj)
        for name, value in changes.items():
            if name not in allowed:
                raise ValidationError({name: _("This field cannot be changed here.")})
            setattr(obj, name, value)
        _validate_point_and_unit(obj, by)
        _save_unique(obj)
        _still_visible(obj, by)
        changed = diff(before, snapshot(obj))
        if changed:
            record_change(
                obj, ChangeAction.MOVE if "unit_id" in changed else ChangeAction.UPDATE, by, changed
            )
    return obj


def create_place(*, by, **fields) -> Place:
    return _create_on_unit(Place, PLACE_FIELDS, by=by, **fields)


def update_place(place: Place, *, by, **changes) -> Place:
    return _update_on_unit(place, PLACE_FIELDS, by=by, **changes)


def create_organisation(*, by, **fields) -> Organisation:
    return _create_on_unit(Organisation, ORGANISATION_FIELDS, by=by, **fields)


def update_organisation(organisation: Organisation, *, by, **changes) -> Organisation:
    return _update_on_unit(organisation, ORGANISATION_FIELDS, by=by, **changes)


# --- review (核查): the record checked and found unchanged (INFO-2) ------------------------------------

REVIEW_NOTE_LENGTH = 500


def review_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    """The oldest review that is still current: WANGGE_REVIEW_MONTHS calendar months before `now`, in
    local time (31 March less one month is the last day of February). Older or no review is overdue."""
    from django.conf import settings

    local = timezone.localtime(now or timezone.now())
    months = local.year * 12 + local.month - 1 - settings.WANGGE_REVIEW_MONTHS
    year, month = divmod(months, 12)
    month += 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def review_household(household: Household, *, by, note: str = "") -> Household:
    """核查无变化: the keeper confirms an unchanged record. Marks when and who, writes a history row; the
    record's data and its time of last change stay as they are."""
    require(by, Capability.MANAGE_LEDGERS)
    note = (note or "").strip()
    if len(note) > REVIEW_NOTE_LENGTH:
        raise ValidationError({"note": _("At most %(max)s characters.") % {"max": REVIEW_NOTE_LENGTH}})
    with transaction.atomic():
        household = lock_visible(Household, household.pk, by)
        if household.status != HouseholdStatus.ACTIVE:
            raise ValidationError({"status": _("A closed household is not reviewed any more.")})
        household.reviewed_at, household.reviewed_by = timezone.now(), by
        household.save(update_fields=["reviewed_at", "reviewed_by"])
        record_change(household, ChangeAction.UPDATE, by, {"reviewed": note})
    return household
