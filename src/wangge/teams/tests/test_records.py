"""TEAM-5 and TEAM-9 through the services: agreements by year, badges, pipeline flags; who may write."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from wangge.core.audit import history_for
from wangge.core.models import ChangeAction
from wangge.teams import services
from wangge.teams.choices import FlagKind
from wangge.teams.models import AppointmentAgreement, Badge, PipelineFlag

pytestmark = pytest.mark.django_db
D = datetime.date


def field_of(excinfo) -> str:
    return next(iter(excinfo.value.message_dict))


def sign(county, by=None, unit=None, year=2026, **kw):
    return services.sign_agreement(
        by=by or county.users.township_a,
        user=kw.pop("user", county.users.grid_worker),
        unit=unit or county.town_a,
        year=year,
        signed_on=kw.pop("signed_on", D(year, 1, 5)),
        **kw,
    )


# --- agreements -----------------------------------------------------------------------------------------


def test_one_agreement_per_person_unit_and_year(county):
    first = sign(county)
    assert (first.valid_from, first.valid_to) == (D(2026, 1, 1), D(2026, 12, 31))
    assert [e.action for e in history_for(first)] == [ChangeAction.CREATE]
    with pytest.raises(ValidationError) as err:
        sign(county)
    assert field_of(err) == "year" and "grid_worker" in err.value.messages[0]
    sign(county, year=2025)
    sign(county, by=county.users.village_a, unit=county.village_a)
    assert AppointmentAgreement.objects.filter(user=county.users.grid_worker).count() == 3
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentAgreement.objects.create(
            user=county.users.grid_worker,
            unit=county.town_a,
            year=2026,
            signed_on=D(2026, 2, 1),
            valid_from=D(2026, 2, 1),
            valid_to=D(2026, 12, 31),
        )


def test_the_validity_lies_within_the_year(county):
    with pytest.raises(ValidationError) as err:
        sign(county, valid_from=D(2025, 12, 1))
    assert field_of(err) == "valid_from"
    with pytest.raises(ValidationError) as err:
        sign(county, valid_from=D(2026, 6, 1), valid_to=D(2026, 3, 1))
    assert field_of(err) == "valid_to"
    with pytest.raises(ValidationError) as err:
        sign(county, signed_on=D(2027, 1, 2))
    assert field_of(err) == "signed_on"


def test_the_employer_is_a_township_or_village_above_the_post(county):
    post = county.users.grid_worker.posts.get()
    with pytest.raises(ValidationError) as err:
        sign(county, unit=county.grid_a1)
    assert field_of(err) == "unit"
    with pytest.raises(ValidationError) as err:
        sign(county, unit=county.town_a, post=county.users.grid_leader.posts.get())
    assert field_of(err) == "post"
    with pytest.raises(ValidationError) as err:
        sign(county, by=county.users.county, unit=county.town_b, post=post)
    assert field_of(err) == "post"
    assert sign(county, post=post).post == post


def test_the_village_signs_with_the_township_for_its_own_worker_only(county):
    post = county.users.grid_worker.posts.get()
    assert sign(county, by=county.users.village_a, post=post).unit == county.town_a
    with pytest.raises(PermissionDenied):
        sign(county, by=county.users.village_b, year=2025, post=post)
    with pytest.raises(PermissionDenied):
        sign(county, by=county.users.village_a, year=2025)  # no post: the township's ledger
    with pytest.raises(PermissionDenied):
        sign(county, by=county.users.grid_leader, year=2024)  # no MANAGE_STAFF


# --- badges ------------------------------------------------------------------------------------------------


def test_a_badge_number_is_unique_and_a_person_holds_one_badge(county):
    worker, leader = county.users.grid_worker, county.users.grid_leader
    badge = services.issue_badge(
        by=county.users.township_a, user=worker, number=" WG001 ", issued_on=D(2026, 1, 1), unit=county.town_a
    )
    assert badge.number == "WG001"
    with pytest.raises(ValidationError) as err:
        services.issue_badge(
            by=county.users.township_a,
            user=leader,
            number="WG001",
            issued_on=D(2026, 1, 1),
            unit=county.town_a,
        )
    assert field_of(err) == "number"
    with pytest.raises(ValidationError) as err:
        services.issue_badge(
            by=county.users.township_a,
            user=worker,
            number="WG002",
            issued_on=D(2026, 2, 1),
            unit=county.town_a,
        )
    assert field_of(err) == "user" and "WG001" in err.value.messages[0]
    with pytest.raises(ValidationError) as err:
        services.return_badge(badge, by=county.users.township_a, returned_on=D(2025, 12, 1))
    assert field_of(err) == "returned_on"
    services.return_badge(badge, by=county.users.township_a, returned_on=D(2026, 3, 1))
    with pytest.raises(ValidationError):
        services.return_badge(badge, by=county.users.township_a, returned_on=D(2026, 3, 2))
    services.issue_badge(
        by=county.users.township_a, user=worker, number="WG002", issued_on=D(2026, 3, 2), unit=county.town_a
    )
    assert list(Badge.objects.filter(user=worker).values_list("number", "returned_on")) == [
        ("WG002", None),
        ("WG001", D(2026, 3, 1)),
    ]


def test_a_badge_goes_to_someone_serving_under_the_issuing_unit(county):
    with pytest.raises(ValidationError) as err:
        services.issue_badge(
            by=county.users.county,
            user=county.users.village_b,
            number="X1",
            issued_on=D(2026, 1, 1),
            unit=county.town_a,
        )
    assert field_of(err) == "user"
    with pytest.raises(PermissionDenied):
        services.issue_badge(
            by=county.users.township_b,
            user=county.users.grid_worker,
            number="X2",
            issued_on=D(2026, 1, 1),
            unit=county.town_a,
        )
    badge = services.issue_badge(
        by=county.users.county,
        user=county.users.grid_worker,
        number="X3",
        issued_on=D(2026, 1, 1),
        unit=county.town_a,
    )
    with pytest.raises(PermissionDenied):
        services.return_badge(badge, by=county.users.village_b)


# --- pipeline flags (TEAM-9) ---------------------------------------------------------------------------------


def test_a_worker_is_flagged_once_per_kind_until_withdrawn(county):
    worker, village = county.users.grid_worker, county.users.village_a
    flag = services.flag_worker(
        by=village, user=worker, kind=FlagKind.PARTY_DEVELOPMENT, reason="表现突出", unit=county.village_a
    )
    assert flag.flagged_on == D(2026, 5, 16) and flag.is_open
    with pytest.raises(ValidationError) as err:
        services.flag_worker(
            by=village, user=worker, kind=FlagKind.PARTY_DEVELOPMENT, reason="再次", unit=county.village_a
        )
    assert field_of(err) == "kind"
    services.flag_worker(
        by=village, user=worker, kind=FlagKind.CADRE_RESERVE, reason="后备", unit=county.village_a
    )
    services.withdraw_flag(flag, by=village)
    with pytest.raises(ValidationError):
        services.withdraw_flag(flag, by=village)
    again = services.flag_worker(
        by=village, user=worker, kind=FlagKind.PARTY_DEVELOPMENT, reason="再次推荐", unit=county.village_a
    )
    assert PipelineFlag.objects.filter(user=worker).count() == 3 and again.is_open
    assert [e.action for e in history_for(flag)] == [ChangeAction.UPDATE, ChangeAction.CREATE]


def test_only_grid_workers_in_reach_are_flagged(county):
    with pytest.raises(ValidationError) as err:
        services.flag_worker(
            by=county.users.village_a,
            user=county.users.village_a,
            kind=FlagKind.CADRE_RESERVE,
            reason="x",
            unit=county.village_a,
        )
    assert field_of(err) == "user"
    with pytest.raises(ValidationError) as err:
        services.flag_worker(
            by=county.users.village_a,
            user=county.users.grid_worker,
            kind="award",
            reason="",
            unit=county.village_a,
        )
    assert set(err.value.message_dict) == {"kind", "reason"}
    with pytest.raises(PermissionDenied):
        services.flag_worker(
            by=county.users.village_b,
            user=county.users.grid_worker,
            kind=FlagKind.CADRE_RESERVE,
            reason="x",
            unit=county.village_a,
        )
    flag = services.flag_worker(
        by=county.users.township_a,
        user=county.users.grid_worker,
        kind=FlagKind.CADRE_RESERVE,
        reason="x",
        unit=county.town_a,
    )
    with pytest.raises(PermissionDenied):
        services.withdraw_flag(flag, by=county.users.village_a)  # flagged by the township: its to withdraw


# --- scope of the records ------------------------------------------------------------------------------------


def test_records_are_read_where_the_unit_or_the_person_serves(county):
    sign(county)  # with the township, for the worker of village A
    b_worker_agreement = sign(
        county, by=county.users.township_b, user=county.users.village_b, unit=county.town_b
    )
    assert AppointmentAgreement.objects.visible_to(county.users.village_a).count() == 1
    assert AppointmentAgreement.objects.visible_to(county.users.township_a).count() == 1
    assert list(AppointmentAgreement.objects.visible_to(county.users.village_b)) == [b_worker_agreement]
    assert AppointmentAgreement.objects.visible_to(county.users.county).count() == 2
    assert AppointmentAgreement.objects.visible_to(county.users.department).count() == 0
    assert AppointmentAgreement.objects.visible_to(county.users.outsider).count() == 0
