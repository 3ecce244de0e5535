"""Special population (GB/T 31000-2015 "9+X") records and the 重点人员 listing lifecycle.

Special records: one record per person and kind, written by staff who keep ledgers (MANAGE_LEDGERS). The
record keeps the resident's attention tag in step: an open record sets the kind's tag, closing the record
(no longer followed) removes it, reopening sets it again.

Key persons (重点人员): 列管申请 → 已列管 → 撤管申请 → 已撤管, or refused. A unit that keeps the ledger applies;
"the level above" decides: a user holding APPROVE_KEY_PERSONS through an active post at a unit strictly
above the applying unit, in whose subtree the applying unit lies. Nobody decides on their own application.
Every step locks the listing row and checks the state under the lock, so a double click or two approvers
at once cannot approve twice. Approvers are notified of applications, applicants of decisions.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import diff, record_change, snapshot
from wangge.core.models import ChangeAction
from wangge.core.pii import validate_phone
from wangge.notices.models import NotificationKind
from wangge.notices.services import nearest_staff, notify, roles_with
from wangge.people.roles import GLOBAL_ROLES, Capability, Role
from wangge.units.models import Unit

from .choices import (
    OPEN_LISTING_STATES,
    AttentionLevel,
    KeyPersonCategory,
    ListingState,
    ResidentStatus,
)
from .models import (
    CommunityCorrectionRecord,
    DrugUserRecord,
    KeyPersonListing,
    KeyYouthRecord,
    MentalHealthRecord,
    ReleasedPrisonerRecord,
    Resident,
)
from .services import add_tag, lock_visible, remove_tag, require

KEY_PERSON_TAG = "key_person"

# URL slug → record model. The slug is also the name of the reverse accessor on Resident.
SPECIAL_KINDS: dict[str, type[models.Model]] = {
    "released_prisoner": ReleasedPrisonerRecord,
    "community_correction": CommunityCorrectionRecord,
    "mental_health": MentalHealthRecord,
    "drug_user": DrugUserRecord,
    "key_youth": KeyYouthRecord,
}

COMMON_FIELDS = ("attention_level", "helper_name", "help_notes", "is_closed")
# Personal values kept encrypted on a record; masked everywhere except the edit form of those who may see.
SPECIAL_PERSONAL_FIELDS = ("guardian_phone",)
# 重点青少年 of GB/T 31000 are people aged 6 to 25.
KEY_YOUTH_MAX_AGE = 25


def kind_fields(kind: str) -> tuple[str, ...]:
    """The kind's own data items, in model order, then the fields every record shares."""
    model = SPECIAL_KINDS[kind]
    own = [
        f.name
        for f in model._meta.concrete_fields
        if f.editable and not f.primary_key and f.name != "resident" and f.name not in COMMON_FIELDS
    ]
    return (*own, *COMMON_FIELDS)


def kind_of(record) -> str:
    for slug, model in SPECIAL_KINDS.items():
        if isinstance(record, model):
            return slug
    raise ValueError(record)


def record_for(resident: Resident, kind: str):
    """The resident's record of one kind, or None."""
    try:
        return getattr(resident, kind)
    except ObjectDoesNotExist:
        return None


def records_of(resident: Resident) -> list[tuple[str, type[models.Model], object | None]]:
    """(slug, model, record or None) for every kind, in the order of SPECIAL_KINDS."""
    return [(slug, model, record_for(resident, slug)) for slug, model in SPECIAL_KINDS.items()]


def _kept_resident(resident: Resident, user) -> Resident:
    """The resident row locked for a write by someone who keeps it (services.lock_visible: staff of where
    the person lives; registration-grid staff only read)."""
    try:
        lock_visible(Resident, resident.pk, user)
    except Resident.DoesNotExist as exc:
        raise PermissionDenied(_("This resident is outside your area.")) from exc
    return Resident.objects.select_related("household", "household__grid").get(pk=resident.pk)


# --- special records ----------------------------------------------------------------------------------


def _field_message(record, field: str, error: ValidationError) -> str:
    """A model-level error said with the field's name and the rule it breaks."""
    label = record._meta.get_field(field).verbose_name
    if error.code in ("blank", "null", "required"):
        return _("%(field)s is required.") % {"field": str(label).capitalize()}
    if error.code == "invalid_choice":
        return _("%(field)s: choose one of the listed values.") % {"field": str(label).capitalize()}
    if error.code == "max_length":
        return _("%(field)s is too long (at most %(limit)s characters).") % {
            "field": str(label).capitalize(),
            "limit": error.params["limit_value"],
        }
    return "; ".join(error.messages)


def _validate_record(record, kind: str, resident: Resident, *, creating: bool) -> None:
    errors: dict[str, str] = {}
    today = timezone.localdate()
    try:
        record.full_clean(exclude=["resident"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, field_errors in exc.error_dict.items():
            errors[field] = _field_message(record, field, field_errors[0])
    for field in SPECIAL_PERSONAL_FIELDS:
        value = getattr(record, field, None)
        if value and field not in errors:
            try:
                setattr(record, field, validate_phone(value, field))
            except ValidationError as exc:
                errors.update({f: m[0] for f, m in exc.message_dict.items()})

    if kind == "released_prisoner":
        if record.release_date and record.release_date > today:
            errors.setdefault("release_date", _("The release date lies in the future."))
        if record.handover_date:
            if record.release_date and record.handover_date < record.release_date:
                errors.setdefault("handover_date", _("The handover cannot come before the release date."))
            elif record.handover_date > today:
                errors.setdefault("handover_date", _("The handover date lies in the future."))
            elif not record.handed_over:
                errors.setdefault("handed_over", _("Tick “handed over” when a date of handover is given."))
        if record.resettlement and not record.resettled:
            errors.setdefault("resettled", _("Tick “resettled” when the resettlement is described."))
    elif kind == "community_correction":
        if record.start_date and record.start_date > today:
            errors.setdefault("start_date", _("The correction start date lies in the future."))
        if record.start_date and record.end_date and record.end_date <= record.start_date:
            errors.setdefault("end_date", _("The correction must end after it starts."))
    elif kind == "drug_user":
        if record.first_found and record.first_found > today:
            errors.setdefault("first_found", _("The date first found lies in the future."))
    elif kind == "key_youth" and creating:
        age = resident.age
        if age is not None and age > KEY_YOUTH_MAX_AGE:
            errors.setdefault(
                "youth_kind",
                _("Key youth are people aged up to %(age)s; this resident is %(years)s.")
                % {"age": KEY_YOUTH_MAX_AGE, "years": age},
            )
    if errors:
        raise ValidationError(errors)


def save_special_record(resident: Resident, kind: str, *, by, **data):
    """Create the resident's record of `kind`, or update it; keeps the kind's attention tag in step."""
    require(by, Capability.MANAGE_LEDGERS)
    if kind not in SPECIAL_KINDS:
        raise ValidationError({"kind": _("Unknown kind of special-population record.")})
    model = SPECIAL_KINDS[kind]
    allowed = kind_fields(kind)
    unknown = [name for name in data if name not in allowed]
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in unknown})
    with transaction.atomic():
        resident = _kept_resident(resident, by)
        record = model.objects.select_for_update().filter(resident=resident).first()
        creating = record is None
        if creating:
            if resident.status != ResidentStatus.PRESENT:
                raise ValidationError(
                    {
                        "resident": _("%(name)s is %(status)s: no new record can be opened.")
                        % {"name": resident.name, "status": resident.get_status_display().lower()}
                    }
                )
            record = model(resident=resident)
            before, was_closed = {}, True
        else:
            before, was_closed = snapshot(record), record.is_closed
        for name, value in data.items():
            setattr(record, name, "" if value is None and name in SPECIAL_PERSONAL_FIELDS else value)
        _validate_record(record, kind, resident, creating=creating)
        if not creating and was_closed and not record.is_closed and resident.status != ResidentStatus.PRESENT:
            raise ValidationError(
                {
                    "is_closed": _("%(name)s is %(status)s: the record cannot be reopened.")
                    % {"name": resident.name, "status": resident.get_status_display().lower()}
                }
            )
        try:
            with transaction.atomic():
                record.save()
        except IntegrityError as exc:
            raise ValidationError(
                {"resident": _("%(name)s already has this record.") % {"name": resident.name}}
            ) from exc
        if creating:
            record_change(record, ChangeAction.CREATE, by, {"after": snapshot(record)})
        else:
            changed = diff(before, snapshot(record))
            if changed:
                record_change(record, ChangeAction.UPDATE, by, changed)
        if record.is_closed and not was_closed:
            remove_tag(resident, model.tag_code, by=by)
        elif not record.is_closed and was_closed:
            add_tag(resident, model.tag_code, by=by)
    return record


# --- key persons: who decides -------------------------------------------------------------------------


def _role_posts(user, capability: str) -> list[tuple[str, str]]:
    """(unit path, role) of the user's active territorial posts whose role grants `capability` — every
    post, not only the topmost (Scope.paths_for), because the lowest covering post is the applicant."""
    granting = set(roles_with(capability)) - {Role.DEPARTMENT_USER}
    return [(path, role) for role, path in user.scope.posts if role in granting]


def _role_paths(user, capability: str) -> list[str]:
    return [path for path, _role in _role_posts(user, capability)]


def applicant_of(listing: KeyPersonListing):
    """Who applied for the step now waiting: the listing's applicant, or the delisting's."""
    if listing.state == ListingState.DELISTING_APPLIED:
        return listing.delisting_applied_by
    return listing.applied_by


def _applicant_id(listing: KeyPersonListing):
    if listing.state == ListingState.DELISTING_APPLIED:
        return listing.delisting_applied_by_id
    return listing.applied_by_id


def decision_problem(user, listing: KeyPersonListing) -> str:
    """Why `user` may not decide the step waiting on `listing`; empty when they may."""
    if user is None or not user.is_authenticated or not user.has_capability(Capability.APPROVE_KEY_PERSONS):
        return _("Your role does not allow this.")
    if _applicant_id(listing) == user.pk:
        return _("You applied for this yourself; the level above decides.")
    if user.scope.is_global:
        return ""
    unit_path = listing.applying_unit.path
    if any(unit_path.startswith(p) and len(unit_path) > len(p) for p in _approver_paths(user)):
        return ""
    return _("Only the level above %(unit)s decides on its applications.") % {"unit": listing.applying_unit}


def _approver_paths(user) -> list[str]:
    cached = getattr(user, "_wangge_key_person_approver_paths", None)
    if cached is None:
        cached = _role_paths(user, Capability.APPROVE_KEY_PERSONS)
        user._wangge_key_person_approver_paths = cached
    return cached


def may_decide(user, listing: KeyPersonListing) -> bool:
    return listing.state in (ListingState.APPLIED, ListingState.DELISTING_APPLIED) and not decision_problem(
        user, listing
    )


def awaiting_decision(user):
    """Listings in the user's scope waiting for a decision that the user may take."""
    waiting = KeyPersonListing.objects.visible_to(user).filter(
        state__in=[ListingState.APPLIED, ListingState.DELISTING_APPLIED]
    )
    if user is None or not user.has_capability(Capability.APPROVE_KEY_PERSONS):
        return waiting.none()
    waiting = waiting.exclude(state=ListingState.APPLIED, applied_by=user).exclude(
        state=ListingState.DELISTING_APPLIED, delisting_applied_by=user
    )
    if user.scope.is_global:
        return waiting
    paths = _approver_paths(user)
    if not paths:
        return waiting.none()
    below = models.Q(pk__in=[])
    for path in paths:
        # Strictly below the approver's unit: the applying unit's path is longer and starts with it.
        below |= models.Q(applying_unit__path__startswith=path) & ~models.Q(applying_unit__path=path)
    return waiting.filter(below)


def applying_unit_for(user, resident: Resident) -> Unit:
    """The lowest unit among the applicant's ledger-keeping posts that covers the resident's grid
    (the residence grid first, then the grids of registration)."""
    # A system administrator's post is no level of the hierarchy: they apply as the grid's own level would.
    paths = [path for path, role in _role_posts(user, Capability.MANAGE_LEDGERS) if role not in GLOBAL_ROLES]
    household = resident.household
    grids = [household.grid, resident.registered_grid, household.registered_grid]
    for grid in grids:
        if grid is None:
            continue
        covering = [p for p in paths if grid.path.startswith(p)]
        if covering:
            return Unit.objects.get(path=max(covering, key=len))
    if user.scope.is_global and household.grid is not None:
        return household.grid
    raise PermissionDenied(_("None of your posts keeps the ledger of this resident's grid."))


def _approvers(listing: KeyPersonListing) -> list:
    parent = listing.applying_unit.parent_unit()
    if parent is None:
        return []
    return [
        user
        for user in nearest_staff(parent, Capability.APPROVE_KEY_PERSONS)
        if user.pk != _applicant_id(listing)
    ]


def _listing_url(listing: KeyPersonListing) -> str:
    return reverse("ledger:resident", args=[listing.resident_id])


# --- key persons: the steps -----------------------------------------------------------------------------


def _check_choice(value, choices, field: str, errors: dict) -> None:
    if value not in choices.values:
        errors[field] = _("Choose one of the listed values.")


def apply_listing(
    resident: Resident, *, by, category: str, reason: str, attention_level: str = AttentionLevel.MEDIUM
) -> KeyPersonListing:
    """列管申请: ask the level above to list the resident as a key person."""
    require(by, Capability.MANAGE_LEDGERS)
    errors: dict[str, str] = {}
    _check_choice(category, KeyPersonCategory, "category", errors)
    _check_choice(attention_level, AttentionLevel, "attention_level", errors)
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = _("Say why the person should be listed.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        resident = _kept_resident(resident, by)
        if resident.status != ResidentStatus.PRESENT:
            raise ValidationError(
                {
                    "resident": _("%(name)s is %(status)s and cannot be listed.")
                    % {"name": resident.name, "status": resident.get_status_display().lower()}
                }
            )
        open_listing = resident.key_listings.filter(state__in=OPEN_LISTING_STATES).first()
        if open_listing is not None:
            raise ValidationError(
                {
                    "resident": _("%(name)s already has an open listing (%(state)s).")
                    % {"name": resident.name, "state": open_listing.get_state_display()}
                }
            )
        listing = KeyPersonListing(
            resident=resident,
            category=category,
            reason=reason,
            attention_level=attention_level,
            state=ListingState.APPLIED,
            applying_unit=applying_unit_for(by, resident),
            applied_by=by,
            applied_at=timezone.now(),
        )
        try:
            with transaction.atomic():
                listing.save()
        except IntegrityError as exc:
            raise ValidationError(
                {"resident": _("%(name)s already has an open listing.") % {"name": resident.name}}
            ) from exc
        record_change(listing, ChangeAction.CREATE, by, {"after": snapshot(listing)})
        notify(
            _approvers(listing),
            NotificationKind.KEY_PERSON_APPLIED,
            _("Key person listing to approve: %(name)s") % {"name": resident.name},
            _("%(unit)s applies to list %(name)s as a key person (%(category)s).")
            % {
                "unit": listing.applying_unit,
                "name": resident.name,
                "category": listing.get_category_display(),
            },
            _listing_url(listing),
        )
    return listing


def _locked(listing: KeyPersonListing, user) -> KeyPersonListing:
    """The listing row locked for this step; outside the user's scope is refused."""
    if not KeyPersonListing.objects.visible_to(user).filter(pk=listing.pk).exists():
        raise PermissionDenied(_("This listing is outside your area."))
    return (
        KeyPersonListing.objects.select_for_update(of=("self",))
        .select_related("resident", "applying_unit", "applied_by", "delisting_applied_by")
        .get(pk=listing.pk)
    )


def _expect_state(listing: KeyPersonListing, expected: str) -> None:
    if listing.state != expected:
        raise ValidationError(
            {
                "state": _("The listing is %(state)s; this step needs it to be %(expected)s.")
                % {"state": listing.get_state_display(), "expected": ListingState(expected).label}
            }
        )


def _require_note(note: str, field: str, message: str) -> str:
    note = (note or "").strip()
    if not note:
        raise ValidationError({field: message})
    return note


@dataclass(frozen=True)
class _Decision:
    expected: str
    new_state: str
    approved: bool


_DECISIONS = {
    "approve_listing": _Decision(ListingState.APPLIED, ListingState.LISTED, True),
    "refuse_listing": _Decision(ListingState.APPLIED, ListingState.REFUSED, False),
    "approve_delisting": _Decision(ListingState.DELISTING_APPLIED, ListingState.DELISTED, True),
    "refuse_delisting": _Decision(ListingState.DELISTING_APPLIED, ListingState.LISTED, False),
}


def _decide(listing: KeyPersonListing, step: str, *, by, note: str) -> KeyPersonListing:
    decision = _DECISIONS[step]
    require(by, Capability.APPROVE_KEY_PERSONS)
    note = (note or "").strip()
    if not decision.approved:
        note = _require_note(note, "note", _("Say why the application is refused."))
    with transaction.atomic():
        listing = _locked(listing, by)
        _expect_state(listing, decision.expected)
        problem = decision_problem(by, listing)
        if problem:
            raise PermissionDenied(problem)
        applicant = applicant_of(listing)
        before = snapshot(listing)
        now = timezone.now()
        listing.state = decision.new_state
        listing.decision_note = note
        if step == "approve_listing":
            listing.listed_by, listing.listed_at = by, now
        elif step in ("refuse_listing", "approve_delisting"):
            listing.closed_by, listing.closed_at = by, now
        listing.save()
        record_change(listing, ChangeAction.UPDATE, by, diff(before, snapshot(listing)))
        if step == "approve_listing":
            add_tag(listing.resident, KEY_PERSON_TAG, by=by)
        elif step == "approve_delisting":
            remove_tag(listing.resident, KEY_PERSON_TAG, by=by)
        titles = {
            "approve_listing": _("Listing approved: %(name)s"),
            "refuse_listing": _("Listing refused: %(name)s"),
            "approve_delisting": _("Delisting approved: %(name)s"),
            "refuse_delisting": _("Delisting refused: %(name)s"),
        }
        notify(
            [applicant],
            NotificationKind.KEY_PERSON_DECIDED,
            titles[step] % {"name": listing.resident.name},
            note,
            _listing_url(listing),
        )
    return listing


def approve_listing(listing: KeyPersonListing, *, by, note: str = "") -> KeyPersonListing:
    """已列管: the level above approves; the resident gets the key-person tag."""
    return _decide(listing, "approve_listing", by=by, note=note)


def refuse_listing(listing: KeyPersonListing, *, by, note: str = "") -> KeyPersonListing:
    return _decide(listing, "refuse_listing", by=by, note=note)


def apply_delisting(listing: KeyPersonListing, *, by, reason: str) -> KeyPersonListing:
    """撤管申请: ask the level above to take a listed person off the list."""
    require(by, Capability.MANAGE_LEDGERS)
    reason = _require_note(reason, "reason", _("Say why the person should be delisted."))
    with transaction.atomic():
        listing = _locked(listing, by)
        _expect_state(listing, ListingState.LISTED)
        before = snapshot(listing)
        listing.state = ListingState.DELISTING_APPLIED
        listing.delisting_reason = reason
        listing.delisting_applied_by = by
        listing.delisting_applied_at = timezone.now()
        listing.save()
        record_change(listing, ChangeAction.UPDATE, by, diff(before, snapshot(listing)))
        notify(
            _approvers(listing),
            NotificationKind.KEY_PERSON_APPLIED,
            _("Key person delisting to approve: %(name)s") % {"name": listing.resident.name},
            reason,
            _listing_url(listing),
        )
    return listing


def approve_delisting(listing: KeyPersonListing, *, by, note: str = "") -> KeyPersonListing:
    """已撤管: the level above approves; the key-person tag is removed."""
    return _decide(listing, "approve_delisting", by=by, note=note)


def refuse_delisting(listing: KeyPersonListing, *, by, note: str = "") -> KeyPersonListing:
    """The person stays listed."""
    return _decide(listing, "refuse_delisting", by=by, note=note)


def listing_actions(user, listing: KeyPersonListing) -> list[str]:
    """The steps `user` may take on `listing` now (for buttons; the services check again)."""
    if user is None or not user.is_authenticated:
        return []
    if listing.state == ListingState.APPLIED:
        return ["approve_listing", "refuse_listing"] if may_decide(user, listing) else []
    if listing.state == ListingState.DELISTING_APPLIED:
        return ["approve_delisting", "refuse_delisting"] if may_decide(user, listing) else []
    if listing.state == ListingState.LISTED and user.has_capability(Capability.MANAGE_LEDGERS):
        return ["apply_delisting"]
    return []


def action_labels() -> dict[str, str]:
    return {
        "approve_listing": _("Approve the listing"),
        "refuse_listing": _("Refuse the listing"),
        "apply_delisting": _("Apply for delisting"),
        "approve_delisting": _("Approve the delisting"),
        "refuse_delisting": _("Refuse the delisting"),
    }


ACTIONS = {
    "approve_listing": approve_listing,
    "refuse_listing": refuse_listing,
    "apply_delisting": apply_delisting,
    "approve_delisting": approve_delisting,
    "refuse_delisting": refuse_delisting,
}


def close_on_death(resident: Resident, *, by) -> None:
    """A person marked deceased is followed no more: open special records close (their tags go) and an
    open key-person listing ends as delisted, each with a change-log row. Called inside the status
    change's transaction by services.set_resident_status."""
    for model in SPECIAL_KINDS.values():
        record = model.objects.select_for_update().filter(resident=resident, is_closed=False).first()
        if record is None:
            continue
        record.is_closed = True
        record.save(update_fields=["is_closed", "updated_at"])
        record_change(record, ChangeAction.UPDATE, by, {"is_closed": [False, True], "note": _("Deceased")})
        remove_tag(resident, model.tag_code, by=by)
    listing = (
        KeyPersonListing.objects.select_for_update(of=("self",))
        .filter(resident=resident, state__in=OPEN_LISTING_STATES)
        .first()
    )
    if listing is not None:
        before = listing.state
        listing.state = ListingState.DELISTED
        listing.closed_by, listing.closed_at = by, timezone.now()
        listing.decision_note = _("Deceased")
        listing.save(update_fields=["state", "closed_by", "closed_at", "decision_note", "updated_at"])
        record_change(
            listing, ChangeAction.UPDATE, by, {"state": [before, listing.state], "note": _("Deceased")}
        )
        remove_tag(resident, "key_person", by=by)
