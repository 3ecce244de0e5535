"""Personal data at rest (PIPL): encryption, key rotation, blind index, masks, GB 11643 ID numbers."""

import base64
import datetime
import secrets

import pytest
from django.core.exceptions import FieldError, ImproperlyConfigured, ValidationError
from django.db import connection, models
from django.test.utils import isolate_apps

from wangge.core import pii
from wangge.core.audit import log_personal_data_access
from wangge.core.models import PersonalDataAccess

VALID_ID = "11010519491231002X"  # the standard's own example
MOBILE = "13812345678"


def new_key(key_id):
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def test_values_round_trip_and_never_encrypt_the_same_way_twice():
    first, second = pii.encrypt(VALID_ID), pii.encrypt(VALID_ID)
    assert first != second and VALID_ID not in first
    assert pii.decrypt(first) == pii.decrypt(second) == VALID_ID


def test_keys_rotate_by_putting_a_new_one_first(settings):
    old = pii.encrypt(MOBILE)
    settings.WANGGE_PII_KEYS = f"{new_key('k2')},{settings.WANGGE_PII_KEYS}"
    fresh = pii.encrypt(MOBILE)
    assert fresh.startswith("k2$") and old.startswith("k1$")
    assert pii.decrypt(old) == pii.decrypt(fresh) == MOBILE


def test_a_damaged_value_or_a_missing_key_is_an_error_not_garbage(settings):
    token = pii.encrypt(MOBILE)
    key_id, body = token.split("$")
    tampered = f"{key_id}${body[:-4]}AAAA"
    with pytest.raises(pii.PersonalDataError):
        pii.decrypt(tampered)
    settings.WANGGE_PII_KEYS = new_key("k9")
    with pytest.raises(pii.PersonalDataError):
        pii.decrypt(token)
    settings.WANGGE_PII_KEYS = "k1:not-base64!"
    with pytest.raises(ImproperlyConfigured):
        pii.encrypt(MOBILE)


def test_the_blind_index_finds_equal_values_only_and_keeps_kinds_apart(settings):
    assert pii.blind_index("id", VALID_ID) == pii.blind_index("id", VALID_ID)
    assert pii.blind_index("id", VALID_ID) != pii.blind_index("id", "110105194912310029")
    assert pii.blind_index("id", MOBILE) != pii.blind_index("phone", MOBILE)
    before = pii.blind_index("phone", MOBILE)
    settings.WANGGE_PII_INDEX_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
    assert pii.blind_index("phone", MOBILE) != before  # keyed: nobody without the key can build one


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("11010519491231002", "17 digits"),
        ("110105194913310021", "not a date"),
        ("110105209912310020", "not plausible"),
        ("110105194912310021", "check digit"),
    ],
)
def test_id_numbers_are_checked_by_gb_11643(value, rule):
    from django.utils import translation

    with translation.override("en"):
        assert rule in pii.id_number_problem(value)
        with pytest.raises(ValidationError) as error:
            pii.validate_id_number(value, field="id_number")
    assert "id_number" in error.value.message_dict


def test_birth_date_sex_and_normalisation_come_from_the_number():
    assert pii.validate_id_number(" 11010519491231002x ") == VALID_ID
    assert pii.birth_date_from_id(VALID_ID) == datetime.date(1949, 12, 31)
    assert pii.sex_from_id(VALID_ID) == "female"  # order code 002: even
    assert pii.id_check_code("11010519491231002") == "X"


def test_masks_keep_only_what_identifies_nobody():
    assert pii.mask_id_number("510104198001011234") == "5101********1234"
    assert pii.mask_phone("+86 138-1234-5678") == "138****5678"
    assert pii.mask_phone("023-68881234") == "023****1234"
    assert pii.validate_phone("+86 138 1234 5678") == MOBILE
    with pytest.raises(ValidationError):
        pii.validate_phone("12345")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("restore_migrated_rows")
def test_an_encrypted_column_holds_no_plaintext_and_refuses_lookups():
    with isolate_apps("wangge.core"):

        class Person(models.Model):
            id_number = pii.EncryptedTextField(blank=True)
            id_number_index = models.CharField(max_length=40, db_index=True)

            class Meta:
                app_label = "core"

            def __str__(self):
                return str(self.pk)

        with connection.schema_editor() as editor:
            editor.create_model(Person)
        try:
            person = Person.objects.create(
                id_number=VALID_ID, id_number_index=pii.blind_index("id", VALID_ID)
            )
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT id_number FROM {Person._meta.db_table}")
                (stored,) = cursor.fetchone()
            assert VALID_ID not in stored and stored.startswith("k1$")
            found = Person.objects.get(id_number_index=pii.blind_index("id", VALID_ID))
            assert found.pk == person.pk and found.id_number == VALID_ID
            with pytest.raises(FieldError):
                Person.objects.filter(id_number=VALID_ID).exists()
            assert Person.objects.filter(id_number__isnull=False).count() == 1
        finally:
            with connection.schema_editor() as editor:
                editor.delete_model(Person)


def test_unmasked_views_are_logged_per_record(county):
    users = [county.users.grid_worker, county.users.village_a]
    written = log_personal_data_access(county.users.village_a, users, ["phone"], "view")
    assert written == 2
    rows = list(PersonalDataAccess.objects.all())
    assert sorted(r.object_repr for r in rows) == ["grid_worker", "village_a"]
    assert all(r.user == county.users.village_a and r.acting_unit == county.village_a for r in rows)
    assert rows[0].fields == ["phone"]


def test_full_width_digits_are_the_same_number():
    from wangge.core.pii import blind_index, id_number_problem, normalise_id_number, normalise_phone

    ascii_id = "11010519491231002X"
    full_width = "１１０１０５１９４９１２３１００２ｘ"
    assert normalise_id_number(full_width) == ascii_id
    assert id_number_problem(full_width) is None
    assert blind_index("id_number", normalise_id_number(full_width)) == blind_index("id_number", ascii_id)
    assert normalise_phone("１３８００００１２３４") == "13800001234"


def test_other_unicode_digits_are_not_an_id_number():
    from wangge.core.pii import id_number_problem

    assert id_number_problem("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X") is not None  # Arabic-Indic digits
