"""Pages of the special-population records and key-person listings: forms, lists, actions, closed paths."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from wangge.core.models import PersonalDataAccess
from wangge.ledger import specials
from wangge.ledger.choices import AttentionLevel, KeyPersonCategory, ListingState, MentalRiskGrade
from wangge.ledger.models import KeyPersonListing, MentalHealthRecord
from wangge.people.models import User

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def special_url(resident, kind):
    return reverse("ledger:special_record", args=[resident.pk, kind])


def act_url(listing, action):
    return reverse("ledger:key_person_act", args=[listing.pk, action])


def mental_health_post(**changes):
    data = {
        "diagnosis": "精神分裂症",
        "guardian_name": "李娜",
        "guardian_phone": "13911112222",
        "risk_grade": MentalRiskGrade.G2,
        "treatment": "outpatient",
        "attention_level": AttentionLevel.HIGH,
        "helper_name": "王帮扶",
        "help_notes": "每月走访",
    }
    data.update(changes)
    return data


def apply(county, ledger, who="village_a"):
    return specials.apply_listing(
        ledger.residents.zhang,
        by=getattr(county.users, who),
        category=KeyPersonCategory.PETITION,
        reason="多次越级上访",
        attention_level=AttentionLevel.HIGH,
    )


# --- the panel on the resident page -----------------------------------------------------------------


def test_panel_shows_on_the_resident_page(county, ledger, login):
    zhang = ledger.residents.zhang
    specials.save_special_record(
        zhang, "mental_health", by=county.users.village_a, **{**mental_health_post(), "risk_grade": "2"}
    )
    response = login(county.users.grid_worker).get(zhang.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="special-population"' in html and 'id="key-person"' in html
    assert "精神分裂症" in html and "王帮扶" in html
    assert "139****2222" in html and "13911112222" not in html
    assert special_url(zhang, "mental_health") in html


# --- special record form ----------------------------------------------------------------------------


def test_add_a_record_posts_and_redirects_to_the_resident(county, ledger, login):
    zhang = ledger.residents.zhang
    client = login(county.users.grid_worker)
    response = client.get(special_url(zhang, "mental_health"))
    assert response.status_code == 200
    assert 'name="diagnosis"' in response.content.decode()
    response = client.post(special_url(zhang, "mental_health"), mental_health_post())
    assert response.status_code == 302 and response.url == zhang.get_absolute_url()
    record = MentalHealthRecord.objects.get(resident=zhang)
    assert record.guardian_phone == "13911112222" and record.helper_name == "王帮扶"
    assert zhang.tags.filter(code="severe_mental_disorder").exists()
    # Closing from the form removes the tag.
    client.post(special_url(zhang, "mental_health"), mental_health_post(is_closed="on"))
    assert not zhang.tags.filter(code="severe_mental_disorder").exists()


def test_bad_values_come_back_on_the_named_field(county, ledger, login):
    zhang = ledger.residents.zhang
    tomorrow = (TODAY + datetime.timedelta(days=1)).isoformat()
    response = login(county.users.village_a).post(
        special_url(zhang, "released_prisoner"),
        {"original_offence": "盗窃罪", "release_date": tomorrow, "risk": "low", "attention_level": "low"},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "future" in form.errors["release_date"][0]
    assert not zhang.tags.filter(code="released_prisoner").exists()


def test_guardian_phone_unmasked_only_for_those_who_may_and_logged(county, ledger, login):
    zhang = ledger.residents.zhang
    specials.save_special_record(zhang, "mental_health", by=county.users.village_a, **mental_health_post())
    record = MentalHealthRecord.objects.get(resident=zhang)
    # A full-time grid worker may see the number: shown in the field, and the view is logged.
    html = login(county.users.grid_worker).get(special_url(zhang, "mental_health")).content.decode()
    assert 'value="13911112222"' in html
    assert PersonalDataAccess.objects.filter(user=county.users.grid_worker, object_id=str(record.pk)).exists()


def test_masked_placeholder_and_empty_keeps_the_number(county, ledger, login):
    zhang = ledger.residents.zhang
    specials.save_special_record(zhang, "mental_health", by=county.users.village_a, **mental_health_post())
    part_timer = User.objects.create(username="part_timer")
    from wangge.people.models import Post
    from wangge.people.roles import Role

    Post.objects.create(user=part_timer, unit=county.cell_a11, role=Role.GRID_WORKER_PART_TIME)
    client = login(part_timer)
    html = client.get(special_url(zhang, "mental_health")).content.decode()
    assert "13911112222" not in html and 'placeholder="139****2222"' in html
    response = client.post(
        special_url(zhang, "mental_health"), mental_health_post(guardian_phone="", diagnosis="双相")
    )
    assert response.status_code == 302
    record = MentalHealthRecord.objects.get(resident=zhang)
    assert record.diagnosis == "双相" and record.guardian_phone == "13911112222"
    assert not PersonalDataAccess.objects.filter(user=part_timer).exists()


def test_record_pages_are_closed_to_the_wrong_users(county, ledger, login, client):
    zhang = ledger.residents.zhang
    url = special_url(zhang, "drug_user")
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response.url
    assert login(county.users.village_b).get(url).status_code == 404  # 张伟 lives in 甲镇
    assert login(county.users.county).get(url).status_code == 403  # sees ledgers, may not write them
    assert login(county.users.department).get(url).status_code == 403
    assert login(county.users.outsider).get(url).status_code == 403  # no post
    assert login(county.users.village_a).get(special_url(zhang, "vip")).status_code == 404
    response = login(county.users.village_b).post(
        url, {"control_status": "uncontrolled", "attention_level": "low"}
    )
    assert response.status_code == 404
    assert not specials.SPECIAL_KINDS["drug_user"].objects.exists()


# --- key-person application --------------------------------------------------------------------------


def test_apply_for_listing_posts_and_redirects(county, ledger, login):
    zhang = ledger.residents.zhang
    client = login(county.users.village_a)
    url = reverse("ledger:key_person_apply", args=[zhang.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"category": "petition", "attention_level": "high", "reason": "多次越级上访"})
    assert response.status_code == 302 and response.url == zhang.get_absolute_url()
    listing = KeyPersonListing.objects.get(resident=zhang)
    assert listing.state == ListingState.APPLIED and listing.applying_unit == county.village_a
    # A second application shows the refusal on the form.
    response = client.post(url, {"category": "dispute", "attention_level": "low", "reason": "再次"})
    assert response.status_code == 200
    assert "open listing" in " ".join(response.context["form"].non_field_errors())
    assert KeyPersonListing.objects.count() == 1


def test_apply_page_is_closed_to_the_wrong_users(county, ledger, login, client):
    url = reverse("ledger:key_person_apply", args=[ledger.residents.zhang.pk])
    assert client.get(url).status_code == 302
    assert login(county.users.village_b).get(url).status_code == 404
    assert login(county.users.county).get(url).status_code == 403
    assert login(county.users.outsider).post(url, {"category": "petition", "reason": "x"}).status_code == 403


# --- the list and the actions -------------------------------------------------------------------------


def test_list_shows_listings_in_scope_and_what_waits_for_me(county, ledger, login):
    listing = apply(county, ledger)
    sun = specials.apply_listing(
        ledger.residents.sun,
        by=county.users.village_b,
        category="dispute",
        reason="纠纷",
        attention_level="low",
    )
    response = login(county.users.township_a).get(reverse("ledger:key_persons"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="awaiting-decision"' in html
    assert act_url(listing, "approve_listing") in html
    # 孙丽 lives in 乙镇 but is registered in 甲镇's grid: township_a sees the listing (dual grid) but only
    # 乙镇's level above decides on it.
    assert act_url(sun, "approve_listing") not in html
    assert {row["listing"].pk for row in response.context["waiting"]} == {listing.pk}
    assert {row.pk for row in response.context["page"]} == {listing.pk, sun.pk}
    # village_a sees the listing but has nothing to approve.
    html = login(county.users.village_a).get(reverse("ledger:key_persons")).content.decode()
    assert f'data-listing="{listing.pk}"' in html and 'id="awaiting-decision"' not in html
    # township_b: only 乙镇's listing, and it waits for them.
    response = login(county.users.township_b).get(reverse("ledger:key_persons"))
    assert [row.pk for row in response.context["page"]] == [sun.pk]
    assert act_url(sun, "approve_listing") in response.content.decode()


def test_list_filters_by_state_and_paginates_keeping_the_filter(county, ledger, login):
    listing = apply(county, ledger)
    specials.approve_listing(listing, by=county.users.township_a)
    client = login(county.users.village_a)
    page = client.get(reverse("ledger:key_persons"), {"state": "applied"}).context["page"]
    assert list(page) == []
    page = client.get(reverse("ledger:key_persons"), {"state": "listed"}).context["page"]
    assert [row.pk for row in page] == [listing.pk]
    response = client.get(reverse("ledger:key_persons"), {"state": "bogus"})
    assert list(response.context["page"]) == [] and response.context["form"].errors
    assert (
        client.get(reverse("ledger:key_persons"), {"state": "all", "q": "张"}).context["page_query"]
        == "state=all&q=%E5%BC%A0"
    )


def test_list_is_closed_to_the_wrong_users(county, ledger, login, client):
    url = reverse("ledger:key_persons")
    assert client.get(url).status_code == 302
    assert login(county.users.department).get(url).status_code == 403
    assert login(county.users.outsider).get(url).status_code == 403


def test_the_whole_lifecycle_through_the_pages(county, ledger, login):
    zhang = ledger.residents.zhang
    listing = apply(county, ledger)
    response = login(county.users.township_a).post(act_url(listing, "approve_listing"), {"note": "同意"})
    assert response.status_code == 302
    assert KeyPersonListing.objects.get(pk=listing.pk).state == ListingState.LISTED
    assert zhang.tags.filter(code="key_person").exists()
    login(county.users.village_a).post(act_url(listing, "apply_delisting"), {"reason": "已息访"})
    assert KeyPersonListing.objects.get(pk=listing.pk).state == ListingState.DELISTING_APPLIED
    back = reverse("ledger:key_persons")
    response = login(county.users.township_a).post(
        act_url(listing, "approve_delisting"), {"note": "", "next": back}
    )
    assert response.status_code == 302 and response.url == back
    assert KeyPersonListing.objects.get(pk=listing.pk).state == ListingState.DELISTED
    assert not zhang.tags.filter(code="key_person").exists()


def test_refusal_without_a_note_and_wrong_state_come_back_as_messages(county, ledger, login):
    listing = apply(county, ledger)
    client = login(county.users.township_a)
    response = client.post(act_url(listing, "refuse_listing"), {"note": ""}, follow=True)
    assert "Say why" in response.content.decode()
    assert KeyPersonListing.objects.get(pk=listing.pk).state == ListingState.APPLIED
    response = client.post(act_url(listing, "approve_delisting"), {}, follow=True)
    assert "Listing applied for" in response.content.decode()
    assert KeyPersonListing.objects.get(pk=listing.pk).state == ListingState.APPLIED


def test_approval_paths_are_closed_to_the_wrong_users(county, ledger, login, client):
    listing = apply(county, ledger)
    url = act_url(listing, "approve_listing")
    assert (
        client.post(url).status_code == 302 and KeyPersonListing.objects.get(pk=listing.pk).state == "applied"
    )
    assert login(county.users.grid_worker).post(url).status_code == 403
    assert login(county.users.village_a).post(url).status_code == 403
    assert login(county.users.township_b).post(url).status_code == 404
    assert login(county.users.outsider).post(url).status_code == 403
    assert login(county.users.township_a).get(url).status_code == 405
    assert login(county.users.township_a).post(act_url(listing, "delete")).status_code == 404
    assert KeyPersonListing.objects.get(pk=listing.pk).state == ListingState.APPLIED
    # The applicant's own application: 403 even for an approver.
    own = specials.apply_listing(
        ledger.residents.li, by=county.users.township_a, category="other", reason="x", attention_level="low"
    )
    assert login(county.users.township_a).post(act_url(own, "approve_listing")).status_code == 403
    assert KeyPersonListing.objects.get(pk=own.pk).state == ListingState.APPLIED


def test_an_unsafe_next_is_ignored(county, ledger, login):
    listing = apply(county, ledger)
    response = login(county.users.township_a).post(
        act_url(listing, "approve_listing"), {"next": "https://evil.example/"}
    )
    assert response.url == ledger.residents.zhang.get_absolute_url()


def test_registration_grid_staff_read_special_records_but_do_not_write(county, ledger, login):
    """孙丽 lives in 乙一村 and is registered in 一格: 一格's worker sees her panel without the buttons."""
    client = login(county.users.grid_worker)
    sun = ledger.residents.sun
    page = client.get(reverse("ledger:resident", args=[sun.pk])).content.decode()
    assert reverse("ledger:special_record", args=[sun.pk, "drug_user"]) not in page
    assert reverse("ledger:key_person_apply", args=[sun.pk]) not in page
    assert client.get(reverse("ledger:special_record", args=[sun.pk, "drug_user"])).status_code == 403
    assert client.post(reverse("ledger:key_person_apply", args=[sun.pk]), {}).status_code == 403
    with pytest.raises(PermissionDenied):
        specials.save_special_record(
            sun, "drug_user", by=county.users.grid_worker, control_status="abstinent"
        )
