"""Special-population records and the key-person listing lifecycle (services and the resident panel)."""

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone, translation

from wangge.core.audit import history_for
from wangge.core.models import ChangeAction, ChangeLog
from wangge.ledger import specials
from wangge.ledger.choices import (
    AttentionLevel,
    CorrectionKind,
    DrugControlStatus,
    KeyPersonCategory,
    ListingState,
    MentalRiskGrade,
    ReleaseRisk,
    ResidentStatus,
    TreatmentStatus,
    YouthKind,
)
from wangge.ledger.models import KeyPersonListing, MentalHealthRecord, Resident
from wangge.notices.models import Notification
from wangge.people.models import Post
from wangge.people.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)

KIND_DATA = {
    "released_prisoner": {
        "original_offence": "盗窃罪",
        "sentence": "三年",
        "release_date": TODAY - 30 * DAY,
        "risk": ReleaseRisk.LOW,
        "handed_over": True,
        "handover_date": TODAY - 28 * DAY,
    },
    "community_correction": {
        "correction_kind": CorrectionKind.PROBATION,
        "original_offence": "危险驾驶罪",
        "start_date": TODAY - 60 * DAY,
        "end_date": TODAY + 300 * DAY,
    },
    "mental_health": {
        "diagnosis": "精神分裂症",
        "guardian_name": "李娜",
        "guardian_phone": "13911112222",
        "risk_grade": MentalRiskGrade.G1,
        "treatment": TreatmentStatus.OUTPATIENT,
    },
    "drug_user": {
        "first_found": TODAY - 400 * DAY,
        "control_status": DrugControlStatus.COMMUNITY_REHAB,
        "drug_kind": "冰毒",
    },
    "key_youth": {
        "youth_kind": YouthKind.LEFT_BEHIND,
        "guardian_name": "李娜",
        "guardian_phone": "13911112222",
        "help_means": "结对帮扶",
    },
}


def tag_codes(resident):
    return set(resident.tags.values_list("code", flat=True))


def set_status(resident, status):
    Resident.objects.filter(pk=resident.pk).update(status=status, status_date=TODAY)


def subject(ledger, kind):
    # Key youth must be young: 张小明 (born 2015); everyone else is recorded on 张伟.
    return ledger.residents.child if kind == "key_youth" else ledger.residents.zhang


# --- special records ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(specials.SPECIAL_KINDS))
def test_each_kind_saves_its_fields_sets_and_clears_the_tag(county, ledger, kind):
    resident = subject(ledger, kind)
    model = specials.SPECIAL_KINDS[kind]
    record = specials.save_special_record(
        resident,
        kind,
        by=county.users.village_a,
        attention_level=AttentionLevel.HIGH,
        helper_name="王帮扶",
        **KIND_DATA[kind],
    )
    record.refresh_from_db()
    for name, value in KIND_DATA[kind].items():
        assert getattr(record, name) == value
    assert record.attention_level == AttentionLevel.HIGH and record.helper_name == "王帮扶"
    assert model.tag_code in tag_codes(resident)
    assert history_for(record).filter(action=ChangeAction.CREATE).count() == 1

    specials.save_special_record(resident, kind, by=county.users.grid_worker, is_closed=True)
    assert model.tag_code not in tag_codes(resident)
    assert history_for(record).filter(action=ChangeAction.UPDATE, changes__has_key="is_closed").exists()

    # Reopened: the tag comes back; still one record.
    specials.save_special_record(resident, kind, by=county.users.grid_worker, is_closed=False)
    assert model.tag_code in tag_codes(resident)
    assert model.objects.filter(resident=resident).count() == 1


def test_guardian_phone_is_masked_in_the_change_log(county, ledger):
    record = specials.save_special_record(
        ledger.residents.zhang, "mental_health", by=county.users.village_a, **KIND_DATA["mental_health"]
    )
    log = history_for(record).get(action=ChangeAction.CREATE)
    assert "13911112222" not in str(log.changes)
    assert MentalHealthRecord.objects.get(pk=record.pk).guardian_phone == "13911112222"


def _error(exc_info, field):
    return " ".join(exc_info.value.message_dict[field])


@pytest.mark.parametrize(
    ("kind", "changes", "field", "words"),
    [
        ("released_prisoner", {"release_date": TODAY + DAY}, "release_date", "future"),
        ("released_prisoner", {"handover_date": TODAY - 40 * DAY}, "handover_date", "before the release"),
        ("released_prisoner", {"handed_over": False}, "handed_over", "handed over"),
        (
            "released_prisoner",
            {"original_offence": ""},
            "original_offence",
            "Original offence (原罪名) is required",
        ),
        ("community_correction", {"end_date": TODAY - 60 * DAY}, "end_date", "end after it starts"),
        (
            "community_correction",
            {"start_date": TODAY + DAY, "end_date": TODAY + 400 * DAY},
            "start_date",
            "future",
        ),
        ("community_correction", {"correction_kind": "jail"}, "correction_kind", "choose one of the listed"),
        ("mental_health", {"guardian_phone": "12345"}, "guardian_phone", ""),
        ("drug_user", {"first_found": TODAY + DAY}, "first_found", "future"),
        ("key_youth", {"guardian_phone": "abc"}, "guardian_phone", ""),
    ],
)
def test_each_kind_refuses_bad_values_naming_the_field(county, ledger, kind, changes, field, words):
    resident = subject(ledger, kind)
    with pytest.raises(ValidationError) as exc_info:
        specials.save_special_record(
            resident, kind, by=county.users.village_a, **{**KIND_DATA[kind], **changes}
        )
    assert words in _error(exc_info, field)
    assert not specials.SPECIAL_KINDS[kind].objects.exists()
    assert specials.SPECIAL_KINDS[kind].tag_code not in tag_codes(resident)


def test_key_youth_must_be_young(county, ledger):
    with pytest.raises(ValidationError) as exc_info:
        specials.save_special_record(
            ledger.residents.zhang, "key_youth", by=county.users.village_a, **KIND_DATA["key_youth"]
        )
    assert "25" in _error(exc_info, "youth_kind")


def test_a_deceased_or_moved_out_resident_gets_no_new_record(county, ledger):
    zhang = ledger.residents.zhang
    set_status(zhang, ResidentStatus.DECEASED)
    with pytest.raises(ValidationError) as exc_info:
        specials.save_special_record(zhang, "drug_user", by=county.users.village_a, **KIND_DATA["drug_user"])
    assert "deceased" in _error(exc_info, "resident")


def test_an_existing_record_of_a_moved_out_resident_can_still_be_closed(county, ledger):
    zhang = ledger.residents.zhang
    specials.save_special_record(zhang, "drug_user", by=county.users.village_a, **KIND_DATA["drug_user"])
    set_status(zhang, ResidentStatus.MOVED_OUT)
    specials.save_special_record(zhang, "drug_user", by=county.users.village_a, is_closed=True)
    assert "drug_user" not in tag_codes(zhang)
    with pytest.raises(ValidationError) as exc_info:
        specials.save_special_record(zhang, "drug_user", by=county.users.village_a, is_closed=False)
    assert "reopened" in _error(exc_info, "is_closed")


def test_unknown_fields_and_kinds_are_refused(county, ledger):
    with pytest.raises(ValidationError) as exc_info:
        specials.save_special_record(
            ledger.residents.zhang, "drug_user", by=county.users.village_a, diagnosis="x"
        )
    assert "diagnosis" in exc_info.value.message_dict
    with pytest.raises(ValidationError) as exc_info:
        specials.save_special_record(ledger.residents.zhang, "vip", by=county.users.village_a)
    assert "kind" in exc_info.value.message_dict


def test_records_need_manage_capability_and_scope(county, ledger):
    with pytest.raises(PermissionDenied):
        specials.save_special_record(
            ledger.residents.zhang, "drug_user", by=county.users.county, **KIND_DATA["drug_user"]
        )
    with pytest.raises(PermissionDenied):
        specials.save_special_record(
            ledger.residents.zhang, "drug_user", by=county.users.department, **KIND_DATA["drug_user"]
        )
    with pytest.raises(PermissionDenied):
        specials.save_special_record(
            ledger.residents.zhang, "drug_user", by=county.users.village_b, **KIND_DATA["drug_user"]
        )
    assert not specials.SPECIAL_KINDS["drug_user"].objects.exists()


# --- key persons ------------------------------------------------------------------------------------


def apply(county, ledger, who="village_a", resident=None):
    return specials.apply_listing(
        resident or ledger.residents.zhang,
        by=getattr(county.users, who),
        category=KeyPersonCategory.PETITION,
        reason="多次越级上访",
        attention_level=AttentionLevel.HIGH,
    )


def test_lifecycle_happy_path(county, ledger):
    zhang = ledger.residents.zhang
    listing = apply(county, ledger)
    assert listing.state == ListingState.APPLIED
    assert listing.applying_unit == county.village_a
    assert "key_person" not in tag_codes(zhang)
    # The township above is told; the applicant is not.
    assert Notification.objects.filter(recipient=county.users.township_a, title__contains="张伟").exists()
    assert not Notification.objects.filter(recipient=county.users.village_a).exists()

    listing = specials.approve_listing(listing, by=county.users.township_a, note="同意列管")
    assert listing.state == ListingState.LISTED
    assert listing.listed_by == county.users.township_a and listing.listed_at
    assert "key_person" in tag_codes(zhang)
    assert Notification.objects.filter(recipient=county.users.village_a, title__contains="approved").exists()

    listing = specials.apply_delisting(listing, by=county.users.village_a, reason="已息访三年")
    assert listing.state == ListingState.DELISTING_APPLIED
    assert listing.delisting_applied_by == county.users.village_a
    listing = specials.approve_delisting(listing, by=county.users.township_a, note="同意撤管")
    assert listing.state == ListingState.DELISTED
    assert listing.closed_by == county.users.township_a
    assert "key_person" not in tag_codes(zhang)

    logs = history_for(listing)
    assert logs.filter(action=ChangeAction.CREATE).count() == 1
    states = [log.changes["state"] for log in logs.filter(action=ChangeAction.UPDATE).order_by("id")]
    assert states == [
        ["applied", "listed"],
        ["listed", "delisting_applied"],
        ["delisting_applied", "delisted"],
    ]
    assert ChangeLog.objects.filter(object_id=str(zhang.pk), changes__tags=[[], ["key_person"]]).exists()

    # Closed listings stay as history; a new application may follow.
    again = apply(county, ledger)
    assert again.state == ListingState.APPLIED
    assert KeyPersonListing.objects.filter(resident=zhang).count() == 2


def test_a_grid_worker_applies_from_the_lowest_covering_unit(county, ledger):
    listing = apply(county, ledger, who="grid_worker")
    assert listing.applying_unit == county.cell_a11
    # The village above the cell's grid may decide: it is strictly above the applying unit.
    specials.approve_listing(listing, by=county.users.township_a)
    assert KeyPersonListing.objects.get(pk=listing.pk).state == ListingState.LISTED


def test_a_system_administrator_applies_as_the_grid_and_the_levels_above_decide(county, ledger):
    listing = apply(county, ledger, who="sysadmin")
    assert listing.applying_unit == county.cell_a11
    assert Notification.objects.filter(recipient=county.users.grid_leader).exists() is False
    with pytest.raises(PermissionDenied):
        specials.approve_listing(listing, by=county.users.sysadmin)  # their own application
    specials.approve_listing(listing, by=county.users.township_a)
    assert KeyPersonListing.objects.get(pk=listing.pk).state == ListingState.LISTED


def test_village_cannot_approve(county, ledger):
    listing = apply(county, ledger, who="grid_worker")
    with pytest.raises(PermissionDenied):
        specials.approve_listing(listing, by=county.users.village_a)
    assert KeyPersonListing.objects.get(pk=listing.pk).state == ListingState.APPLIED


def test_other_township_cannot_approve(county, ledger):
    listing = apply(county, ledger)
    with pytest.raises(PermissionDenied):
        specials.approve_listing(listing, by=county.users.township_b)
    assert KeyPersonListing.objects.get(pk=listing.pk).state == ListingState.APPLIED
    assert "key_person" not in tag_codes(ledger.residents.zhang)


def test_the_applicant_never_approves_their_own_application(county, ledger):
    listing = apply(county, ledger, who="township_a")
    assert listing.applying_unit == county.town_a
    with pytest.raises(PermissionDenied) as exc_info:
        specials.approve_listing(listing, by=county.users.township_a)
    assert "yourself" in str(exc_info.value)
    # Nor does a colleague at the same level: the county above decides.
    colleague = county.users.village_b
    Post.objects.create(user=colleague, unit=county.town_a, role=Role.TOWNSHIP_ADMIN)
    colleague = type(colleague).objects.get(pk=colleague.pk)
    with pytest.raises(PermissionDenied):
        specials.approve_listing(listing, by=colleague)
    specials.approve_listing(listing, by=county.users.county)
    assert KeyPersonListing.objects.get(pk=listing.pk).state == ListingState.LISTED


def test_the_delisting_applicant_cannot_approve_it(county, ledger):
    listing = specials.approve_listing(apply(county, ledger), by=county.users.township_a)
    listing = specials.apply_delisting(listing, by=county.users.township_a, reason="已稳定")
    with pytest.raises(PermissionDenied):
        specials.approve_delisting(listing, by=county.users.township_a)
    specials.approve_delisting(listing, by=county.users.county)
    assert KeyPersonListing.objects.get(pk=listing.pk).state == ListingState.DELISTED


def test_a_second_open_listing_is_refused(county, ledger):
    apply(county, ledger)
    with pytest.raises(ValidationError) as exc_info:
        apply(county, ledger, who="grid_worker")
    assert "open listing" in _error(exc_info, "resident")
    assert KeyPersonListing.objects.count() == 1


def test_the_partial_unique_constraint_holds_even_past_the_service(county, ledger):
    from django.db import IntegrityError, transaction

    listing = apply(county, ledger)
    with pytest.raises(IntegrityError), transaction.atomic():
        KeyPersonListing.objects.create(
            resident=listing.resident,
            category=KeyPersonCategory.OTHER,
            reason="x",
            applying_unit=county.village_a,
            applied_by=county.users.village_a,
        )


def test_wrong_state_steps_are_refused_naming_the_state(county, ledger):
    listing = apply(county, ledger)
    with pytest.raises(ValidationError) as exc_info:
        specials.apply_delisting(listing, by=county.users.village_a, reason="x")
    assert "Listing applied for" in _error(exc_info, "state")
    with pytest.raises(ValidationError) as exc_info:
        specials.approve_delisting(listing, by=county.users.township_a)
    assert "state" in exc_info.value.message_dict
    specials.approve_listing(listing, by=county.users.township_a)
    with pytest.raises(ValidationError) as exc_info:
        specials.approve_listing(listing, by=county.users.township_a)
    assert "Listed" in _error(exc_info, "state")


def test_refusals_need_a_note_and_a_refused_delisting_stays_listed(county, ledger):
    listing = apply(county, ledger)
    with pytest.raises(ValidationError) as exc_info:
        specials.refuse_listing(listing, by=county.users.township_a, note=" ")
    assert "refused" in _error(exc_info, "note")
    listing = specials.approve_listing(listing, by=county.users.township_a)
    listing = specials.apply_delisting(listing, by=county.users.village_a, reason="已稳定")
    listing = specials.refuse_delisting(listing, by=county.users.township_a, note="仍需关注")
    assert listing.state == ListingState.LISTED
    assert listing.decision_note == "仍需关注"
    assert "key_person" in tag_codes(ledger.residents.zhang)
    assert Notification.objects.filter(
        recipient=county.users.village_a, title__contains="Delisting refused"
    ).exists()


def test_a_refused_listing_is_closed_and_sets_no_tag(county, ledger):
    listing = specials.refuse_listing(apply(county, ledger), by=county.users.township_a, note="证据不足")
    assert listing.state == ListingState.REFUSED
    assert listing.closed_by == county.users.township_a
    assert "key_person" not in tag_codes(ledger.residents.zhang)
    apply(county, ledger)  # no longer open: may apply again


def test_apply_validates_its_fields_and_permissions(county, ledger):
    zhang = ledger.residents.zhang
    with pytest.raises(ValidationError) as exc_info:
        specials.apply_listing(
            zhang, by=county.users.village_a, category="vip", reason="", attention_level="x"
        )
    assert set(exc_info.value.message_dict) == {"category", "reason", "attention_level"}
    with pytest.raises(PermissionDenied):
        apply(county, ledger, who="county")  # county command does not keep ledgers
    with pytest.raises(PermissionDenied):
        apply(county, ledger, who="village_b")  # out of scope
    set_status(zhang, ResidentStatus.DECEASED)
    with pytest.raises(ValidationError):
        apply(county, ledger)
    assert not KeyPersonListing.objects.exists()


def test_awaiting_decision_lists_what_the_user_may_decide(county, ledger):
    mine = apply(county, ledger)
    other = apply(county, ledger, who="village_b", resident=ledger.residents.sun)
    assert list(specials.awaiting_decision(county.users.township_a)) == [mine]
    assert list(specials.awaiting_decision(county.users.township_b)) == [other]
    assert set(specials.awaiting_decision(county.users.county)) == {mine, other}
    assert not specials.awaiting_decision(county.users.village_a).exists()
    own = apply(county, ledger, who="township_a", resident=ledger.residents.li)
    assert own not in specials.awaiting_decision(county.users.township_a)
    assert own in specials.awaiting_decision(county.users.county)


def test_a_stale_second_approval_is_refused_under_the_lock(county, ledger):
    listing = apply(county, ledger)
    stale = KeyPersonListing.objects.get(pk=listing.pk)
    specials.approve_listing(listing, by=county.users.township_a)
    with pytest.raises(ValidationError) as exc_info:
        specials.approve_listing(stale, by=county.users.county)
    assert "Listed" in _error(exc_info, "state")
    assert KeyPersonListing.objects.get(pk=listing.pk).listed_by == county.users.township_a
    assert history_for(listing).filter(action=ChangeAction.UPDATE).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("restore_migrated_rows")
@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="row locks need a database server; SQLite serialises writers anyway"
)
def test_two_approvers_at_once_approve_once(county, ledger):
    listing = apply(county, ledger)
    results = []

    def approve(user):
        try:
            specials.approve_listing(listing, by=user)
            results.append("ok")
        except ValidationError:
            results.append("refused")
        finally:
            connection.close()  # this thread's own connection

    threads = [
        threading.Thread(target=approve, args=(u,)) for u in (county.users.township_a, county.users.county)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "refused"]
    assert history_for(listing).filter(action=ChangeAction.UPDATE).count() == 1


# --- the panel ----------------------------------------------------------------------------------------


def render_panel(user, resident):
    request = RequestFactory().get("/")
    request.user = user
    return Template("{% load ledger_special %}{% special_panel resident %}").render(
        Context({"request": request, "resident": resident})
    )


def test_panel_shows_records_masked_and_links_for_managers(county, ledger):
    zhang = ledger.residents.zhang
    specials.save_special_record(
        zhang, "mental_health", by=county.users.village_a, helper_name="王帮扶", **KIND_DATA["mental_health"]
    )
    html = render_panel(county.users.village_a, zhang)
    assert "精神分裂症" in html and "王帮扶" in html
    assert "13911112222" not in html and "139****2222" in html
    assert f"/ledger/residents/{zhang.pk}/special/mental_health/" in html
    assert f"/ledger/residents/{zhang.pk}/special/drug_user/" in html
    assert f"/ledger/residents/{zhang.pk}/key-person/apply/" in html
    # A viewer without MANAGE_LEDGERS sees the record but no link to write.
    html = render_panel(county.users.county, zhang)
    assert "精神分裂症" in html
    assert "/special/" not in html and "key-person/apply" not in html


def test_panel_shows_listing_history_and_the_buttons_each_user_may_use(county, ledger):
    zhang = ledger.residents.zhang
    listing = apply(county, ledger)
    html = render_panel(county.users.township_a, zhang)
    assert f"/ledger/key-persons/{listing.pk}/approve_listing/" in html
    assert "多次越级上访" in html
    html = render_panel(county.users.village_a, zhang)
    assert "approve_listing" not in html and "key-person/apply" not in html
    specials.approve_listing(listing, by=county.users.township_a)
    html = render_panel(county.users.village_a, zhang)
    assert f"/ledger/key-persons/{listing.pk}/apply_delisting/" in html
    assert 'data-state="listed"' in html
