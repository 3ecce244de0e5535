"""The demo county's ledgers: plausible households and people, valid and unique ID numbers, dual grids,
Party members in their branches, attention tags with their special-population records, key-person
listings waiting for the demo township, places and organisations in every village, determinism.

One small demo county (without its case history) is built per module and rolled back at its end.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from io import StringIO
from types import SimpleNamespace

import pytest
import shapely
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from wangge.core.pii import MOBILE_PATTERN, birth_date_from_id, id_number_problem, sex_from_id
from wangge.demo import cases as demo_cases
from wangge.demo.generator import SCALES, generate, read_standards
from wangge.demo.ledger import plan_ledger
from wangge.ledger import specials
from wangge.ledger.choices import (
    PARTY_ORGANISATION_KINDS,
    PARTY_STATUSES,
    ListingState,
    OrganisationKind,
    PlaceKind,
    Relation,
    ResidenceType,
)
from wangge.ledger.models import (
    SPECIAL_RECORD_MODELS,
    Household,
    KeyPersonListing,
    Organisation,
    Place,
    Resident,
)
from wangge.people.models import Post, User
from wangge.units import geometry as geo
from wangge.units.choices import AreaType, UnitKind
from wangge.units.models import Unit

pytestmark = pytest.mark.django_db

SEED = 3


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The small demo county with its ledgers, without the year of cases; rolled back after the module."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        original = demo_cases.build_case_history
        demo_cases.build_case_history = lambda *args, **kwargs: demo_cases.HistorySummary()
        out = StringIO()
        try:
            call_command("demo", scale="small", seed=SEED, stdout=out)
        finally:
            demo_cases.build_case_history = original
        yield SimpleNamespace(output=out.getvalue(), today=timezone.localdate())
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def people(demo, django_db_blocker):
    """Every resident as plain values (ID numbers and phones decrypted), with their tags."""
    with django_db_blocker.unblock():
        tags = defaultdict(set)
        for resident_id, code in Resident.tags.through.objects.values_list(
            "resident_id", "attentiontag__code"
        ):
            tags[resident_id].add(code)
        rows = Resident.objects.values(
            "pk",
            "household_id",
            "household__grid_id",
            "household__grid__area_type",
            "name",
            "sex",
            "id_number",
            "birth_date",
            "phone",
            "relation",
            "residence_type",
            "registered_grid_id",
            "political_status",
            "party_organisation_id",
        )
        return [
            SimpleNamespace(**row, tags=tags[row["pk"]], age=age(row["birth_date"], demo.today))
            for row in rows
        ]


def age(born: datetime.date, today: datetime.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def share(people, test) -> float:
    return sum(1 for p in people if test(p)) / len(people)


# --- households and people ----------------------------------------------------------------------------


def test_the_demo_says_what_its_ledgers_hold(demo):
    assert "Ledgers:" in demo.output and "residents" in demo.output


def test_every_household_has_one_to_six_members_and_one_householder(people):
    households = defaultdict(list)
    for p in people:
        households[p.household_id].append(p)
    assert len(households) == Household.objects.count()
    sizes = [len(members) for members in households.values()]
    assert min(sizes) >= 1 and max(sizes) <= 6
    assert 2.5 <= sum(sizes) / len(sizes) <= 4
    assert all(sum(p.relation == Relation.HEAD for p in members) == 1 for members in households.values())


def test_every_id_number_is_valid_unique_and_agrees_with_sex_and_birth_date(people, demo):
    numbers = [p.id_number for p in people]
    assert len(set(numbers)) == len(numbers)
    for p in people:
        assert id_number_problem(p.id_number, demo.today) is None, p.id_number
        assert birth_date_from_id(p.id_number) == p.birth_date
        assert sex_from_id(p.id_number) == p.sex
    local = [p for p in people if p.residence_type != ResidenceType.FLOATING]
    assert all(p.id_number.startswith("500229") for p in local)


def test_ages_fit_relations(people):
    by_household = defaultdict(dict)
    for p in people:
        by_household[p.household_id].setdefault(p.relation, []).append(p)
    for members in by_household.values():
        head = members[Relation.HEAD][0]
        for parent in members.get(Relation.PARENT, []):
            assert parent.age >= head.age + 15
        mothers = [p for p in [*members.get(Relation.SPOUSE, []), head] if p.sex == "female"]
        for child in members.get(Relation.CHILD, []):
            assert any(m.age >= child.age + 15 for m in mothers) or head.age >= child.age + 15
    assert max(p.age for p in people) <= 105


def test_adults_mostly_have_mobile_phones(people):
    adults = [p for p in people if 18 <= p.age < 80]
    assert share(adults, lambda p: p.phone) > 0.9
    assert all(MOBILE_PATTERN.match(p.phone) for p in people if p.phone)
    assert not any(p.phone for p in people if p.age < 16)


def test_residence_types_come_in_plausible_shares(people):
    shares = Counter(p.residence_type for p in people)
    n = len(people)
    assert 0.83 <= shares[ResidenceType.REGISTERED] / n <= 0.93
    assert 0.035 <= shares[ResidenceType.SEPARATED] / n <= 0.09
    assert 0.03 <= shares[ResidenceType.FLOATING] / n <= 0.08
    assert 0.004 <= shares[ResidenceType.ABROAD] / n <= 0.02


def test_rented_homes_have_a_landlord_and_house_the_floating_population(people):
    rented = set(Household.objects.filter(is_rental=True).values_list("pk", flat=True))
    assert 0.05 <= len(rented) / Household.objects.count() <= 0.11
    for name, phone in Household.objects.filter(is_rental=True).values_list(
        "landlord_name", "landlord_phone"
    ):
        assert name and MOBILE_PATTERN.match(phone)
    floating = [p for p in people if p.residence_type == ResidenceType.FLOATING]
    assert all(p.household_id in rented and "floating" in p.tags for p in floating)
    assert all(p.residence_type == ResidenceType.FLOATING for p in people if "floating" in p.tags)


def test_a_dual_grid_resident_is_registered_in_another_current_grid_whose_staff_see_them(people):
    separated = [p for p in people if p.residence_type == ResidenceType.SEPARATED]
    grids = {u.pk: u for u in Unit.objects.filter(pk__in={p.registered_grid_id for p in separated})}
    for p in separated:
        grid = grids[p.registered_grid_id]
        assert grid.pk != p.household__grid_id and grid.is_grid and grid.is_current
    assert not any(p.registered_grid_id for p in people if p.residence_type != ResidenceType.SEPARATED)
    p = separated[0]
    post = Post.objects.filter(unit_id=p.registered_grid_id).select_related("user").first()
    assert Resident.objects.visible_to(post.user).filter(pk=p.pk).exists()
    household = Household.objects.filter(registered_grid__isnull=False).first()
    post = Post.objects.filter(unit=household.registered_grid).select_related("user").first()
    assert Household.objects.visible_to(post.user).filter(pk=household.pk).exists()


# --- party members ------------------------------------------------------------------------------------


def test_about_seven_percent_are_adult_party_members_linked_to_their_villages_party_cells(people):
    members = [p for p in people if p.political_status in PARTY_STATUSES]
    assert 0.055 <= len(members) / len(people) <= 0.085
    assert all(p.age >= 18 for p in members)
    organisations = {o.pk: o for o in Organisation.objects.select_related("unit")}
    grids = dict(Unit.objects.values_list("pk", "path"))
    linked = [p for p in members if p.party_organisation_id]
    assert len(linked) > 0.9 * len(members)
    for p in linked:
        organisation = organisations[p.party_organisation_id]
        assert organisation.kind in PARTY_ORGANISATION_KINDS
        assert grids[p.household__grid_id].startswith(organisation.unit.path)
    assert not any(p.party_organisation_id for p in people if p.political_status not in PARTY_STATUSES)
    counts = Counter(p.party_organisation_id for p in linked)
    for pk, organisation in organisations.items():
        if organisation.kind in PARTY_ORGANISATION_KINDS:
            assert organisation.member_count == counts[pk], organisation


def test_every_village_has_a_party_branch_councils_a_service_station_and_its_grids_party_groups(demo):
    villages = list(Unit.objects.filter(level__key="village"))
    organisations = defaultdict(set)
    for unit_id, kind in Organisation.objects.values_list("unit_id", "kind"):
        organisations[unit_id].add(kind)
    stations = Counter(Place.objects.filter(kind=PlaceKind.SERVICE_STATION).values_list("unit_id", flat=True))
    for village in villages:
        assert {
            OrganisationKind.PARTY_BRANCH,
            OrganisationKind.VILLAGERS_COUNCIL,
            OrganisationKind.WEDDINGS_FUNERALS,
            OrganisationKind.MORAL_REVIEW,
            OrganisationKind.ANTI_DRUGS_GAMBLING,
        } <= organisations[village.pk], village
        assert stations[village.pk] == 1, village
    for grid3 in Unit.objects.filter(level__key="grid3", kind=UnitKind.COMPREHENSIVE):
        assert OrganisationKind.PARTY_GROUP in organisations[grid3.pk], grid3
    assert all(o.contact_name and o.contact_phone for o in Organisation.objects.all())


# --- attention tags and special-population records ----------------------------------------------------


def test_attention_tags_come_in_plausible_shares_and_fit_age_and_sex(people):
    def tagged(code):
        return [p for p in people if code in p.tags]

    def fraction(code):
        return len(tagged(code)) / len(people)

    assert 0.02 <= fraction("dibao") <= 0.045
    assert 0.035 <= fraction("disabled") <= 0.07
    assert 0.001 <= fraction("tekun") <= 0.006
    assert 0.002 <= fraction("severe_mental_disorder") <= 0.006
    assert all(p.age >= 80 for p in tagged("advanced_age"))
    assert {p.pk for p in people if p.age >= 80} == {p.pk for p in tagged("advanced_age")}
    assert all(p.age >= 65 for p in tagged("living_alone_elderly") + tagged("empty_nest_elderly"))
    assert all(p.age < 16 for p in tagged("left_behind_child"))
    assert all(p.sex == "female" for p in tagged("left_behind_woman"))
    assert all(p.sex == "male" and 25 <= p.age <= 70 for p in tagged("veteran"))
    assert all(p.household__grid__area_type == AreaType.URBAN for p in tagged("new_employment"))
    for code in (
        "left_behind_child",
        "left_behind_elderly",
        "empty_nest_elderly",
        "veteran",
        "new_employment",
    ):
        assert tagged(code), code


def test_every_special_tag_has_its_record_and_every_record_its_tag(people):
    for model in SPECIAL_RECORD_MODELS:
        with_tag = {p.pk for p in people if model.tag_code in p.tags}
        with_record = set(model.objects.values_list("resident_id", flat=True))
        assert with_tag and with_tag == with_record, model.tag_code


def test_special_records_hold_plausible_values(demo, people):
    ages = {p.pk: p.age for p in people}
    today = demo.today
    for record in specials.SPECIAL_KINDS["released_prisoner"].objects.all():
        assert record.release_date <= today and record.original_offence
        assert not record.handover_date or record.release_date <= record.handover_date <= today
    for record in specials.SPECIAL_KINDS["community_correction"].objects.all():
        assert record.start_date <= today < record.end_date
    for record in specials.SPECIAL_KINDS["mental_health"].objects.all():
        assert record.diagnosis and record.guardian_name and MOBILE_PATTERN.match(record.guardian_phone)
    for record in specials.SPECIAL_KINDS["key_youth"].objects.all():
        assert ages[record.resident_id] <= specials.KEY_YOUTH_MAX_AGE
    for model in SPECIAL_RECORD_MODELS:
        assert all(r.helper_name and not r.is_closed for r in model.objects.all())


def test_key_person_listings_in_every_state_and_the_demo_township_has_some_to_approve(people):
    states = Counter(KeyPersonListing.objects.values_list("state", flat=True))
    for state in (
        ListingState.APPLIED,
        ListingState.LISTED,
        ListingState.DELISTING_APPLIED,
        ListingState.DELISTED,
    ):
        assert states[state], state
    listed = set(
        KeyPersonListing.objects.filter(
            state__in=[ListingState.LISTED, ListingState.DELISTING_APPLIED]
        ).values_list("resident_id", flat=True)
    )
    assert listed == {p.pk for p in people if "key_person" in p.tags}
    township = User.objects.get(username="demo-township")
    waiting = list(specials.awaiting_decision(township))
    assert len(waiting) >= 3
    assert all(specials.may_decide(township, listing) for listing in waiting)
    for listing in KeyPersonListing.objects.exclude(state=ListingState.APPLIED):
        assert listing.listed_at is None or listing.applied_at < listing.listed_at


# --- places and staff ---------------------------------------------------------------------------------


def test_places_lie_inside_their_unit_and_the_blocks_match_the_buildings(demo):
    shapes = {u.pk: geo.to_shape(u.geometry) for u in Unit.objects.all()}
    places = list(Place.objects.exclude(lng__isnull=True))
    assert places
    for place in places:
        assert shapely.contains_xy(shapes[place.unit_id], place.lng, place.lat), place
    buildings = {
        (grid_id, address[: address.index("栋") + 1])
        for grid_id, address in Household.objects.filter(address__contains="栋").values_list(
            "grid_id", "address"
        )
    }
    blocks = set(Place.objects.filter(kind=PlaceKind.BLOCK).values_list("unit_id", "address"))
    assert blocks == buildings
    kinds = set(Place.objects.values_list("kind", flat=True))
    assert {
        PlaceKind.SCHOOL,
        PlaceKind.HOSPITAL,
        PlaceKind.SHOP,
        PlaceKind.GEOHAZARD,
        PlaceKind.WATER_SOURCE,
    } <= kinds


def test_every_demo_staff_member_has_a_work_phone(demo):
    phones = list(User.objects.filter(posts__isnull=False).values_list("phone", flat=True).distinct())
    assert phones and all(MOBILE_PATTERN.match(phone) for phone in phones)


def test_most_households_were_reviewed_within_the_year_and_some_are_overdue(demo):
    from wangge.ledger.models import Household

    cutoff = timezone.now() - datetime.timedelta(days=365)
    total = Household.objects.count()
    current = Household.objects.filter(reviewed_at__gte=cutoff).count()
    never = Household.objects.filter(reviewed_at__isnull=True).count()
    assert 0.65 < current / total < 0.85
    assert 0.05 < never / total < 0.2
    assert Household.objects.filter(reviewed_at__lt=cutoff).exists()


# --- personal data at rest ------------------------------------------------------------------------------


def test_id_numbers_and_phones_are_stored_encrypted(people):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, id_number, phone FROM {Resident._meta.db_table} WHERE phone <> '' LIMIT 200"
        )
        stored = cursor.fetchall()
    plain = {p.pk: p for p in people}
    key_id = settings.WANGGE_PII_KEYS.split(":")[0]  # "k1" unless the environment names another key
    for pk, id_number, phone in stored:
        assert id_number.startswith(f"{key_id}$") and phone.startswith(f"{key_id}$")
        assert plain[pk].id_number not in id_number and plain[pk].phone not in phone


# --- determinism --------------------------------------------------------------------------------------


def test_the_plan_is_deterministic_and_is_what_was_loaded(demo):
    county = generate(SCALES["small"], SEED, read_standards())
    first = plan_ledger(county, SEED, demo.today)
    assert first.fingerprint() == plan_ledger(county, SEED, demo.today).fingerprint()
    assert first.fingerprint() != plan_ledger(county, SEED + 1, demo.today).fingerprint()
    stored = Resident.objects.order_by("pk").values_list("name", "household__number")
    assert [(p.name, p.household) for p in first.people] == list(stored)
