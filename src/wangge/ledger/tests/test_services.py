"""The ledger services: dual-grid membership, moves and statuses with history, personal data at rest."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from wangge.core.audit import history_for
from wangge.core.models import ChangeAction, ChangeLog
from wangge.core.pii import blind_index
from wangge.ledger import services
from wangge.ledger.choices import ResidentStatus, Sex
from wangge.ledger.models import Household, Resident
from wangge.ledger.testing import make_id_number

pytestmark = pytest.mark.django_db


def numbers(queryset):
    return set(queryset.values_list("number", flat=True))


def names(queryset):
    return set(queryset.values_list("name", flat=True))


class TestDualGrid:
    def test_a_household_registered_in_another_grid_belongs_to_both(self, ledger, county):
        assert "B1-1" in numbers(Household.objects.visible_to(county.users.grid_worker))
        assert "B1-1" in numbers(Household.objects.visible_to(county.users.village_b))
        assert "孙丽" in names(Resident.objects.visible_to(county.users.grid_worker))
        assert "孙丽" in names(Resident.objects.visible_to(county.users.village_b))

    def test_the_other_villages_people_stay_out_of_sight(self, ledger, county):
        assert names(Resident.objects.visible_to(county.users.village_b)) == {"孙丽"}
        assert "A12-1" not in numbers(Household.objects.visible_to(county.users.grid_worker))

    def test_a_resident_registered_elsewhere_is_seen_from_that_grid(self, ledger, county):
        services.update_resident(
            ledger.residents.zhao, by=county.users.sysadmin, registered_grid=county.grid_b1
        )
        assert "赵强" in names(Resident.objects.visible_to(county.users.village_b))
        assert "A12-1" not in numbers(Household.objects.visible_to(county.users.village_b))

    def test_registration_in_the_residence_grid_is_not_dual(self, ledger, county):
        household = services.update_household(
            ledger.households.a12_1, by=county.users.sysadmin, registered_grid=county.cell_a12
        )
        assert household.registered_grid is None

    def test_department_users_see_no_ledger(self, ledger, county):
        assert not Resident.objects.visible_to(county.users.department).exists()
        assert not Household.objects.visible_to(county.users.department).exists()


class TestHouseholds:
    def test_a_grid_worker_cannot_place_a_household_outside_his_grid(self, county):
        with pytest.raises(ValidationError) as exc:
            services.create_household(
                by=county.users.grid_worker, number="X-1", grid=county.cell_a12, address="二格9号"
            )
        assert "grid" in exc.value.message_dict
        assert not Household.objects.filter(number="X-1").exists()

    def test_a_household_lives_in_a_grid_not_a_village(self, county):
        with pytest.raises(ValidationError) as exc:
            services.create_household(
                by=county.users.village_a, number="X-2", grid=county.village_a, address="村委会"
            )
        assert "甲一村" in exc.value.message_dict["grid"][0]

    def test_moving_keeps_history_and_takes_members_along(self, ledger, county):
        household = services.move_household(
            ledger.households.a11_1, county.cell_a12, by=county.users.village_a, note="搬到二格"
        )
        assert household.grid == county.cell_a12
        assert "张伟" not in names(Resident.objects.visible_to(county.users.grid_worker))
        moves = history_for(household).filter(action=ChangeAction.MOVE)
        assert moves.filter(changes__grid_id=[county.cell_a11.pk, county.cell_a12.pk]).exists()
        assert moves.filter(changes__note="搬到二格").exists()

    def test_nobody_moves_a_household_out_of_their_own_reach(self, ledger, county):
        with pytest.raises(ValidationError):
            services.move_household(ledger.households.a11_1, county.grid_b1, by=county.users.grid_worker)
        assert Household.objects.get(number="A11-1").grid == county.cell_a11

    def test_a_landlord_needs_a_rented_household(self, county):
        with pytest.raises(ValidationError) as exc:
            services.create_household(
                by=county.users.village_a,
                number="X-3",
                grid=county.cell_a11,
                address="一格3号",
                landlord_name="某人",
            )
        assert "is_rental" in exc.value.message_dict

    def test_a_household_with_people_on_the_register_is_not_closed(self, ledger, county):
        with pytest.raises(ValidationError) as exc:
            services.close_household(ledger.households.a11_1, by=county.users.village_a)
        assert "status" in exc.value.message_dict

    def test_out_of_scope_households_cannot_be_edited(self, ledger, county):
        with pytest.raises(Household.DoesNotExist):
            services.update_household(ledger.households.a11_1, by=county.users.village_b, address="x")

    def test_viewers_without_the_manage_capability_are_refused(self, ledger, county):
        with pytest.raises(PermissionDenied):
            services.update_household(ledger.households.a11_1, by=county.users.county, address="x")


class TestResidents:
    def test_birth_date_and_sex_come_from_the_id_number(self, ledger):
        zhang = ledger.residents.zhang
        assert zhang.birth_date == datetime.date(1970, 1, 1)
        assert zhang.sex == Sex.MALE  # order code 111: odd
        assert ledger.residents.li.sex == Sex.FEMALE  # 222: even

    def test_a_mistyped_id_is_refused_with_the_rule(self, ledger, county):
        good = make_id_number(born="19880808", order="771")
        bad = good[:-1] + ("0" if good[-1] != "0" else "1")
        with pytest.raises(ValidationError) as exc:
            services.create_resident(
                by=county.users.village_a, household=ledger.households.a11_1, name="错号", id_number=bad
            )
        assert "GB 11643" in exc.value.message_dict["id_number"][0]
        assert not Resident.objects.filter(name="错号").exists()

    def test_one_id_number_is_one_person(self, ledger, county):
        with pytest.raises(ValidationError) as exc:
            services.create_resident(
                by=county.users.village_a,
                household=ledger.households.a12_1,
                name="重复",
                id_number=ledger.residents.zhang.id_number,
            )
        assert "张伟" in exc.value.message_dict["id_number"][0]

    def test_a_duplicate_elsewhere_does_not_name_the_other_household(self, ledger, county):
        with pytest.raises(ValidationError) as exc:
            services.create_resident(
                by=county.users.village_b,
                household=ledger.households.b1_1,
                name="重复",
                id_number=ledger.residents.zhao.id_number,
            )
        message = exc.value.message_dict["id_number"][0]
        assert "赵强" not in message and "A12-1" not in message

    def test_moved_out_and_deceased_stay_with_their_history(self, ledger, county):
        resident = services.set_resident_status(
            ledger.residents.li,
            ResidentStatus.DECEASED,
            by=county.users.village_a,
            on=datetime.date(2026, 3, 1),
        )
        assert Resident.objects.filter(pk=resident.pk, status=ResidentStatus.DECEASED).exists()
        entry = history_for(resident).first()
        assert entry.changes["status"] == ["present", "deceased"]
        assert entry.user == county.users.village_a

    def test_a_status_date_in_the_future_is_refused(self, ledger, county):
        with pytest.raises(ValidationError) as exc:
            services.set_resident_status(
                ledger.residents.li,
                ResidentStatus.MOVED_OUT,
                by=county.users.village_a,
                on=datetime.date.today() + datetime.timedelta(days=3),
            )
        assert "status_date" in exc.value.message_dict

    def test_only_party_members_join_a_party_organisation(self, ledger, county):
        with pytest.raises(ValidationError) as exc:
            services.update_resident(
                ledger.residents.li, by=county.users.village_a, party_organisation=ledger.branch
            )
        assert "party_organisation" in exc.value.message_dict

    def test_tag_changes_are_in_the_history(self, ledger, county):
        services.update_resident(
            ledger.residents.zhang, by=county.users.village_a, tags=[ledger.tags["veteran"]]
        )
        entry = history_for(ledger.residents.zhang).first()
        assert entry.changes["tags"] == [[], ["veteran"]]


class TestPersonalDataAtRest:
    def test_the_id_number_is_found_by_its_blind_index(self, ledger):
        found = services.find_by_id_number(Resident.objects.all(), ledger.residents.zhang.id_number.lower())
        assert list(found) == [ledger.residents.zhang]
        assert list(services.find_by_phone(Resident.objects.all(), "138-0000-1234")) == [
            ledger.residents.zhang
        ]

    def test_no_plaintext_id_or_phone_in_the_database(self, ledger):
        zhang = ledger.residents.zhang
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id_number, phone, id_number_index FROM ledger_resident WHERE id = %s", [zhang.pk]
            )
            stored_id, stored_phone, index = cursor.fetchone()
        assert zhang.id_number not in stored_id and stored_id.startswith("k1$")
        assert "13800001234" not in stored_phone
        assert index == blind_index("id_number", zhang.id_number)

    def test_the_change_log_holds_masked_values_only(self, ledger, county):
        services.update_resident(ledger.residents.zhang, by=county.users.village_a, phone="13811112222")
        for entry in ChangeLog.objects.all():
            text = str(entry.changes)
            assert ledger.residents.zhang.id_number not in text
            assert "13811112222" not in text and "13800001234" not in text
        latest = history_for(ledger.residents.zhang).first()
        assert latest.changes["phone"] == ["138****1234", "138****2222"]


class TestEditsByTheGridWorker:
    def test_a_party_member_of_the_village_branch_can_be_edited_from_the_grid(self, ledger, county):
        zhao = services.update_resident(ledger.residents.zhao, by=county.users.grid_leader, occupation="农民")
        assert zhao.party_organisation == ledger.branch

    def test_a_registration_grid_elsewhere_does_not_block_edits(self, ledger, county):
        sun = services.update_resident(ledger.residents.sun, by=county.users.village_b, occupation="教师")
        assert sun.household.registered_grid == county.cell_a11

    def test_a_closed_household_is_not_closed_twice(self, county):
        household = services.create_household(
            by=county.users.village_a, number="X-9", grid=county.cell_a11, address="一格9号"
        )
        services.close_household(household, by=county.users.village_a)
        with pytest.raises(ValidationError) as exc:
            services.close_household(household, by=county.users.village_a)
        assert Household.objects.get(number="X-9").status == "closed"
        assert list(exc.value.message_dict) == ["status"]


class TestRightsFollowThePostThatGrantsThem:
    """A county-centre post (reads the county, no numbers) plus a grid post (keeps one grid, numbers)."""

    @pytest.fixture
    def both(self, county):
        from wangge.core.testing import make_user
        from wangge.people.roles import Role

        return make_user(
            "both", (county.county, Role.COUNTY_COMMAND), (county.cell_a11, Role.GRID_WORKER_FULL_TIME)
        )

    def test_numbers_unmask_only_under_the_grid_post(self, ledger, both):
        from wangge.ledger.privacy import can_unmask

        assert can_unmask(both, ledger.residents.zhang)
        assert not can_unmask(both, ledger.residents.zhao)  # 二格: seen through the county post only

    def test_writes_reach_only_the_grid_post(self, ledger, both):
        services.update_household(ledger.households.a11_1, by=both, address="一格1号之一")
        with pytest.raises(PermissionDenied):
            services.update_household(ledger.households.a12_1, by=both, address="x")
        assert Household.objects.get(number="A12-1").address == "二格1号"

    def test_the_grids_for_new_records_are_the_kept_ones(self, ledger, both, county):
        assert set(services.ledger_units(both).values_list("code", flat=True)) == {county.cell_a11.code}


class TestRegistrationGridStaffRead:
    def test_they_see_the_household_but_do_not_change_it(self, ledger, county):
        # B1-1 lives in 乙一村 and is registered in 一格: the grid worker of 一格 reads, 乙一村 keeps.
        assert Household.objects.visible_to(county.users.grid_worker).filter(number="B1-1").exists()
        with pytest.raises(PermissionDenied):
            services.update_household(ledger.households.b1_1, by=county.users.grid_worker, address="x")
        with pytest.raises(PermissionDenied):
            services.set_resident_status(
                ledger.residents.sun, ResidentStatus.DECEASED, by=county.users.grid_worker
            )
        with pytest.raises(PermissionDenied):
            services.create_resident(
                by=county.users.grid_worker, household=ledger.households.b1_1, name="新人"
            )


def test_the_change_log_keeps_only_the_birth_year_beside_a_masked_id(ledger):
    created = history_for(ledger.residents.zhang).get(action=ChangeAction.CREATE)
    assert created.changes["after"]["birth_date"] == 1970
    assert "1970-01-01" not in str(created.changes)


class TestMovingInAndDying:
    def test_a_person_who_moved_out_registers_in_another_village_with_one_record(self, ledger, county):
        zhao = services.set_resident_status(
            ledger.residents.zhao, ResidentStatus.MOVED_OUT, by=county.users.village_a
        )
        arrived = services.create_resident(
            by=county.users.village_b, household=ledger.households.b1_1, name="赵强", id_number=zhao.id_number
        )
        assert arrived.pk == zhao.pk and arrived.household == ledger.households.b1_1
        assert arrived.status == ResidentStatus.PRESENT
        assert Resident.objects.filter(id_number_index=zhao.id_number_index).count() == 1
        assert history_for(arrived).filter(action=ChangeAction.MOVE).exists()

    def test_a_deceased_persons_number_is_refused(self, ledger, county):
        li = services.set_resident_status(
            ledger.residents.li, ResidentStatus.DECEASED, by=county.users.village_a
        )
        with pytest.raises(ValidationError) as exc:
            services.create_resident(
                by=county.users.village_b,
                household=ledger.households.b1_1,
                name="李娜",
                id_number=li.id_number,
            )
        assert "id_number" in exc.value.message_dict

    def test_death_closes_special_records_and_the_key_person_listing(self, ledger, county):
        from wangge.ledger import specials
        from wangge.ledger.choices import DrugControlStatus, ListingState

        zhang = ledger.residents.zhang
        specials.save_special_record(
            zhang, "drug_user", by=county.users.village_a, control_status=DrugControlStatus.COMMUNITY_REHAB
        )
        listing = specials.apply_listing(
            zhang, by=county.users.village_a, category="dispute", reason="纠纷", attention_level="medium"
        )
        specials.approve_listing(listing, by=county.users.township_a)
        services.set_resident_status(zhang, ResidentStatus.DECEASED, by=county.users.village_a)
        zhang.refresh_from_db()
        listing.refresh_from_db()
        assert listing.state == ListingState.DELISTED
        assert zhang.drug_user.is_closed
        assert not zhang.tags.filter(code__in=["drug_user", "key_person"]).exists()

    def test_a_household_number_with_a_slash_is_refused(self, county):
        with pytest.raises(ValidationError) as exc:
            services.create_household(
                by=county.users.village_a, number="A11/9", grid=county.cell_a11, address="x"
            )
        assert "number" in exc.value.message_dict


@pytest.mark.parametrize(
    "who", ["county", "township_a", "village_a", "village_b", "grid_worker", "grid_leader"]
)
def test_both_ways_of_matching_a_subtree_give_the_same_rows(ledger, county, who, monkeypatch):
    """Small subtrees are matched by unit ids, large ones by path prefix: the same rows either way."""
    from wangge.ledger import models as ledger_models
    from wangge.ledger.models import KeyPersonListing, Organisation, Place
    from wangge.people.models import User

    def rows(limit):
        monkeypatch.setattr(ledger_models, "SUBTREE_IDS_LIMIT", limit)
        user = User.objects.get(username=who)  # a fresh user: nothing remembered
        return [
            (
                sorted(model.objects.visible_to(user).values_list("pk", flat=True)),
                sorted(model.objects.writable_by(user).values_list("pk", flat=True)),
            )
            for model in (Household, Resident, Place, Organisation, KeyPersonListing)
        ]

    by_ids, by_paths = rows(10**6), rows(-1)
    assert by_ids == by_paths
    assert any(seen for seen, _kept in by_ids)
