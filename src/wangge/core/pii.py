"""Personal data (PIPL, DESIGN "Rules that hold everywhere"): encryption at rest, blind indexes, masks,
and the ID-number rules of GB 11643-1999.

- `encrypt`/`decrypt`: AES-256-GCM with a random nonce per value, under the first key of
  settings.WANGGE_PII_KEYS; every listed key still decrypts, so keys rotate by prepending a new one.
  Stored as "<key id>$<base64 nonce+ciphertext>".
- `blind_index`: HMAC-SHA256 of the normalised value under settings.WANGGE_PII_INDEX_KEY, so an exact
  ID or phone number is found without decrypting anything and without a readable copy in the database.
- `mask_id_number` / `mask_phone`: what a viewer without the right to see the value gets.
- `EncryptedTextField`: a model field that does the above transparently; only `isnull` lookups are
  allowed on it (search goes through the blind index column).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import os
import re
import unicodedata
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import FieldError, ImproperlyConfigured, ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

ASSOCIATED_DATA = b"wangge-pii-v1"
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CODES = "10X98765432"  # GB 11643: check code for (Σ digit × weight) mod 11
ID_PATTERN = re.compile(r"^[0-9]{17}[0-9X]$")
MOBILE_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")


class PersonalDataError(ValueError):
    """A stored value cannot be decrypted: wrong or missing key, or a damaged value."""


@lru_cache(maxsize=8)
def _parse_keys(spec: str) -> tuple[str, dict[str, AESGCM]]:
    keys: dict[str, AESGCM] = {}
    current = ""
    for entry in (item.strip() for item in spec.split(",")):
        if not entry:
            continue
        key_id, _sep, encoded = entry.partition(":")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise ImproperlyConfigured(f"WANGGE_PII_KEYS: key {key_id!r} is not base64") from exc
        if not key_id or len(raw) != 32 or "$" in key_id:
            raise ImproperlyConfigured(f"WANGGE_PII_KEYS: {key_id!r} must be 'id:<base64 of 32 bytes>'")
        keys[key_id] = AESGCM(raw)
        current = current or key_id
    if not keys:
        raise ImproperlyConfigured("WANGGE_PII_KEYS holds no key")
    return current, keys


def _index_key() -> bytes:
    return base64.b64decode(settings.WANGGE_PII_INDEX_KEY)


def encrypt(plaintext: str) -> str:
    current, keys = _parse_keys(settings.WANGGE_PII_KEYS)
    nonce = os.urandom(12)
    sealed = keys[current].encrypt(nonce, plaintext.encode("utf-8"), ASSOCIATED_DATA)
    return f"{current}${base64.b64encode(nonce + sealed).decode('ascii')}"


def decrypt(token: str) -> str:
    _current, keys = _parse_keys(settings.WANGGE_PII_KEYS)
    key_id, _sep, encoded = token.partition("$")
    if key_id not in keys:
        raise PersonalDataError(f"no key {key_id!r} in WANGGE_PII_KEYS")
    try:
        raw = base64.b64decode(encoded, validate=True)
        return keys[key_id].decrypt(raw[:12], raw[12:], ASSOCIATED_DATA).decode("utf-8")
    except (ValueError, InvalidTag) as exc:
        raise PersonalDataError("a stored personal-data value is damaged or under another key") from exc


def blind_index(kind: str, value: str) -> str:
    """The searchable stand-in of a normalised value; `kind` keeps an ID and a phone with equal digits apart."""
    digest = hmac.new(_index_key(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return digest[:40]


# --- ID numbers (GB 11643-1999) and phones -----------------------------------------------------------


def normalise_id_number(value: str) -> str:
    """Upper case without spaces, and full-width digits (全角, from Chinese input methods) made ASCII, so
    one number has one blind index however it was typed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or "")).upper()


def normalise_phone(value: str) -> str:
    digits = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", value or ""))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def id_check_code(first17: str) -> str:
    return ID_CHECK_CODES[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def birth_date_from_id(value: str) -> datetime.date | None:
    value = normalise_id_number(value)
    try:
        return datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def sex_from_id(value: str) -> str:
    """'male' or 'female' from the order code's last digit (odd for men), GB 11643 §4.3."""
    return "male" if int(normalise_id_number(value)[16]) % 2 else "female"


def id_number_problem(value: str, today: datetime.date | None = None) -> str | None:
    """Why a value is not a valid 18-digit citizen ID number, or None when it is."""
    value = normalise_id_number(value)
    if not ID_PATTERN.match(value):
        return _("An ID number has 17 digits followed by a digit or X.")
    born = birth_date_from_id(value)
    if born is None:
        return _("The birth date in the ID number (digits 7–14) is not a date.")
    if born > (today or timezone.localdate()) or born.year < 1880:
        return _("The birth date in the ID number (digits 7–14) is not plausible.")
    if id_check_code(value[:17]) != value[17]:
        return _("The check digit of the ID number is wrong (GB 11643): the number is mistyped.")
    return None


def validate_id_number(value: str, field: str = "id_number") -> str:
    """The normalised ID number, or a ValidationError naming the field and the rule."""
    problem = id_number_problem(value)
    if problem:
        raise ValidationError({field: problem})
    return normalise_id_number(value)


def validate_phone(value: str, field: str = "phone") -> str:
    """A mobile (11 digits from 13–19) or a landline with area code; returns the normalised digits."""
    phone = normalise_phone(value)
    if MOBILE_PATTERN.match(phone) or re.fullmatch(r"0[0-9]{2,3}-?[0-9]{7,8}", phone):
        return phone
    raise ValidationError(
        {field: _("A phone number is an 11-digit mobile number or a landline with area code.")}
    )


def mask_id_number(value: str) -> str:
    """5101********1234: the region's first four digits and the last four."""
    value = normalise_id_number(value)
    return f"{value[:4]}{'*' * 8}{value[-4:]}" if len(value) >= 8 else "*" * len(value)


def mask_phone(value: str) -> str:
    """138****5678 for a mobile; a landline keeps its area code and last four digits."""
    value = normalise_phone(value)
    if len(value) <= 4:
        return "*" * len(value)
    head = 3 if MOBILE_PATTERN.match(value) else max(0, len(value) - 8)
    return f"{value[:head]}{'*' * (len(value) - head - 4)}{value[-4:]}"


def mask_personal_value(value: str) -> str:
    """The mask of an ID number when the value looks like one, else the phone mask."""
    return mask_id_number(value) if ID_PATTERN.match(normalise_id_number(value)) else mask_phone(value)


# --- the model field -----------------------------------------------------------------------------------


class EncryptedTextField(models.TextField):
    """Plaintext in Python, ciphertext in the database. Every save writes a fresh ciphertext, so the
    column cannot be compared or searched: only `isnull` is allowed; search by the blind index."""

    description = "Text encrypted at rest (AES-GCM)"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            raise FieldError(
                f"{self.model.__name__}.{self.name} is encrypted: search it through its blind index"
            )
        return super().get_lookup(lookup_name)
