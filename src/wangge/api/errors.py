"""Turn the domain layer's Django exceptions into API answers.

Services raise `django.core.exceptions.ValidationError` (with a dict naming the fields where they can)
and `PermissionDenied`. DRF already maps `PermissionDenied` to 403 but drops its message, and does not
know Django's `ValidationError` at all, so every service call from the API runs inside
`service_errors()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.settings import api_settings


def validation_detail(error: DjangoValidationError) -> dict[str, list[str]]:
    """`{field: [messages]}` for a Django ValidationError; errors without a field go under
    DRF's non-field key, the same place a serializer puts them."""
    if hasattr(error, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
            for field, messages in error.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: error.messages}


@contextmanager
def service_errors() -> Iterator[None]:
    try:
        yield
    except DjangoValidationError as exc:
        raise exceptions.ValidationError(validation_detail(exc)) from exc
    except PermissionDenied as exc:
        raise exceptions.PermissionDenied(str(exc) or None) from exc
