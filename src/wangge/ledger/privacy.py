"""Showing personal data: masked by default, unmasked only for roles with VIEW_PERSONAL_DATA, and every
unmasked view or export written to core's PersonalDataAccess log.

Lists and search results are always masked, whoever looks: a list is for finding a person, not for
reading their numbers, and logging a whole page of residents per look would drown the log. The record's
own page (and an export the user explicitly asks to be unmasked) shows the numbers to those allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from wangge.core.audit import log_personal_data_access
from wangge.core.models import AccessPurpose
from wangge.core.pii import mask_id_number, mask_phone
from wangge.people.roles import Capability

# Which encrypted fields each ledger model holds, and how each is masked.
PERSONAL_FIELDS = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "landlord_phone": mask_phone,
    "guardian_phone": mask_phone,
}


def can_unmask(user, obj=None) -> bool:
    """Whether the user may see personal numbers unmasked — of `obj` when given: the record must lie under
    a post whose role grants VIEW_PERSONAL_DATA (a second post elsewhere does not lend its right)."""
    if user is None or not user.is_authenticated or not user.has_capability(Capability.VIEW_PERSONAL_DATA):
        return False
    if obj is None or user.scope.is_global:
        return True
    return unmaskable(type(obj).objects.filter(pk=obj.pk), user).exists()


def unmaskable(queryset, user):
    """The rows of a ledger queryset whose numbers the user may see unmasked."""
    return queryset.visible_to(user, Capability.VIEW_PERSONAL_DATA)


def masked(value: str, field: str) -> str:
    return PERSONAL_FIELDS[field](value) if value else ""


@dataclass(frozen=True)
class Shown:
    """One personal value as a template shows it."""

    value: str
    is_masked: bool

    def __str__(self):
        return self.value


def personal_values(obj, fields: list[str], user, *, reveal: bool) -> dict[str, Shown]:
    """The object's personal fields, unmasked (and the view logged) when `reveal` and the role allows."""
    unmask = reveal and can_unmask(user, obj)
    present = [f for f in fields if getattr(obj, f, "")]
    if unmask and present:
        log_personal_data_access(user, [obj], present, AccessPurpose.VIEW)
    return {
        f: Shown(getattr(obj, f, "") or "", False)
        if unmask
        else Shown(masked(getattr(obj, f, "") or "", f), bool(getattr(obj, f, "")))
        for f in fields
    }


def log_export(user, records, fields: list[str]) -> int:
    """An unmasked export: one access row per exported record."""
    return log_personal_data_access(user, records, fields, AccessPurpose.EXPORT)
