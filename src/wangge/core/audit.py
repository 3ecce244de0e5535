"""Writing the change log. Services call `record_change` inside their transaction."""

from __future__ import annotations

from asgiref.local import Local
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from .models import ChangeLog
from .pii import EncryptedTextField, mask_personal_value

_current = Local()


def set_request_id(value: str) -> None:
    _current.request_id = value


def current_request_id() -> str:
    return getattr(_current, "request_id", "")


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict:
    """The concrete field values of a model instance, JSON-ready, for before/after records.

    Encrypted personal data goes in masked: the change log must not become a readable copy of it. A
    change that keeps the mask (a middle digit corrected) still shows through the blind-index column.
    """
    data = {}
    for f in instance._meta.concrete_fields:
        if fields is not None and f.name not in fields:
            continue
        value = f.value_from_object(instance)
        if isinstance(f, EncryptedTextField):
            value = mask_personal_value(value) if value else value
        elif f.name in getattr(instance, "audit_year_only", ()) and value and _holds_id_number(instance):
            value = value.year  # with the masked ID, the full date would give the number back
        data[f.attname] = DjangoJSONEncoder().default(value) if not _is_json_native(value) else value
    return data


def _holds_id_number(instance) -> bool:
    return bool(getattr(instance, "id_number", ""))


def _is_json_native(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool | list | dict)


def diff(before: dict, after: dict) -> dict:
    return {key: [before.get(key), after.get(key)] for key in after if before.get(key) != after.get(key)}


def record_change(
    instance: models.Model, action: str, user=None, changes: dict | None = None, acting_unit=None
) -> ChangeLog:
    if acting_unit is None and user is not None and getattr(user, "is_authenticated", False):
        acting_unit = user.primary_unit()
    return ChangeLog.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        acting_unit=acting_unit,
        request_id=current_request_id(),
        action=action,
        content_type=ContentType.objects.get_for_model(instance, for_concrete_model=True),
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        changes=changes or {},
    )


def history_for(instance: models.Model):
    return ChangeLog.objects.filter(
        content_type=ContentType.objects.get_for_model(instance, for_concrete_model=True),
        object_id=str(instance.pk),
    ).select_related("user", "acting_unit")


def log_personal_data_access(user, records, fields: list[str], purpose: str) -> int:
    """One access row per record shown or exported unmasked; returns how many were written."""
    from .models import PersonalDataAccess

    records = list(records)
    if not records:
        return 0
    acting_unit = user.primary_unit() if getattr(user, "is_authenticated", False) else None
    content_type = ContentType.objects.get_for_model(records[0], for_concrete_model=True)
    rows = [
        PersonalDataAccess(
            user=user if getattr(user, "is_authenticated", False) else None,
            acting_unit=acting_unit,
            purpose=purpose,
            content_type=content_type,
            object_id=str(record.pk),
            object_repr=str(record)[:200],
            fields=list(fields),
            request_id=current_request_id(),
        )
        for record in records
    ]
    PersonalDataAccess.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def record_changes(rows, user=None, acting_unit=None) -> int:
    """Many change-log rows in bulk (imports): `rows` yields (instance, action, changes); returns how many."""
    if acting_unit is None and user is not None and getattr(user, "is_authenticated", False):
        acting_unit = user.primary_unit()
    actor = user if getattr(user, "is_authenticated", False) else None
    request_id = current_request_id()
    entries = [
        ChangeLog(
            user=actor,
            acting_unit=acting_unit,
            request_id=request_id,
            action=action,
            content_type=ContentType.objects.get_for_model(instance, for_concrete_model=True),
            object_id=str(instance.pk),
            object_repr=str(instance)[:200],
            changes=changes or {},
        )
        for instance, action, changes in rows
    ]
    ChangeLog.objects.bulk_create(entries, batch_size=1000)
    return len(entries)
