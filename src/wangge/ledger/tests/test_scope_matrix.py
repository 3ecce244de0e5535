"""The scope matrix of every ledger route: in scope 200, out of scope 404, no ledger role 403, anonymous
to the login page — including routes added later (every name in ledger.urls must be listed here)."""

import pytest
from django.urls import reverse

from wangge.ledger import urls as ledger_urls
from wangge.ledger.models import ImportKind, ImportRun

pytestmark = pytest.mark.django_db


def import_run(ledger, county):
    return ImportRun.objects.create(
        kind=ImportKind.RESIDENTS, unit=county.village_a, user=county.users.village_a, file_name="a.xlsx"
    )


# name → (method, args builder). Every object belongs to 甲一村 (village_a), none to 乙一村 (village_b).
ROUTES = {
    "index": ("get", lambda lw, c: []),
    "households": ("get", lambda lw, c: []),
    "household_new": ("get", lambda lw, c: []),
    "household": ("get", lambda lw, c: [lw.households.a11_1.number]),
    "household_edit": ("get", lambda lw, c: [lw.households.a11_1.number]),
    "household_move": ("get", lambda lw, c: [lw.households.a11_1.number]),
    "household_close": ("post", lambda lw, c: [lw.households.a11_1.number]),
    "household_review": ("post", lambda lw, c: [lw.households.a11_1.number]),
    "resident_new": ("get", lambda lw, c: [lw.households.a11_1.number]),
    "residents": ("get", lambda lw, c: []),
    "resident": ("get", lambda lw, c: [lw.residents.zhang.pk]),
    "resident_edit": ("get", lambda lw, c: [lw.residents.zhang.pk]),
    "resident_status": ("get", lambda lw, c: [lw.residents.zhang.pk]),
    "places": ("get", lambda lw, c: []),
    "place_new": ("get", lambda lw, c: []),
    "place": ("get", lambda lw, c: [lw.station.pk]),
    "place_edit": ("get", lambda lw, c: [lw.station.pk]),
    "organisations": ("get", lambda lw, c: []),
    "organisation_new": ("get", lambda lw, c: []),
    "organisation": ("get", lambda lw, c: [lw.branch.pk]),
    "organisation_edit": ("get", lambda lw, c: [lw.branch.pk]),
    "special_record": ("get", lambda lw, c: [lw.residents.zhang.pk, "drug_user"]),
    "key_person_apply": ("get", lambda lw, c: [lw.residents.zhang.pk]),
    "key_persons": ("get", lambda lw, c: []),
    "key_person_act": ("post", None),  # needs a listing: covered in test_special_views
    "dossier": ("get", lambda lw, c: [c.village_a.code]),
    "catalogue": ("get", lambda lw, c: []),
    "dossier_pdf": ("get", lambda lw, c: [c.village_a.code]),
    "import": ("get", lambda lw, c: []),
    "import_run": ("get", lambda lw, c: [import_run(lw, c).pk]),
    "import_apply": ("post", lambda lw, c: [import_run(lw, c).pk]),
    "template": ("get", lambda lw, c: ["residents", "xlsx"]),
    "export": ("get", lambda lw, c: ["residents", "csv"]),
}
# Routes that name one object of 甲一村: another village must get 404.
OBJECT_ROUTES = sorted(
    name
    for name, (method, build) in ROUTES.items()
    if build is not None
    and name
    not in {
        "index",
        "households",
        "household_new",
        "residents",
        "places",
        "place_new",
        "organisations",
        "organisation_new",
        "key_persons",
        "catalogue",
        "import",
        "template",
        "export",
    }
)
# Pages that write: a viewer without manage_ledgers (the county command centre) is refused.
WRITE_ROUTES = sorted(
    {
        "household_new",
        "household_edit",
        "household_move",
        "household_close",
        "household_review",
        "resident_new",
        "resident_edit",
        "resident_status",
        "place_new",
        "place_edit",
        "organisation_new",
        "organisation_edit",
        "special_record",
        "key_person_apply",
        "import",
        "import_apply",
    }
)


def request(client, name, ledger, county):
    method, build = ROUTES[name]
    url = reverse(f"ledger:{name}", args=build(ledger, county))
    return getattr(client, method)(url)


def test_every_route_is_in_the_matrix():
    assert {p.name for p in ledger_urls.urlpatterns} == set(ROUTES)


@pytest.mark.parametrize("name", sorted(n for n, (_, b) in ROUTES.items() if b is not None))
def test_anonymous_visitors_are_sent_to_sign_in(client, ledger, county, name):
    response = request(client, name, ledger, county)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize("name", sorted(n for n, (_, b) in ROUTES.items() if b is not None))
@pytest.mark.parametrize("who", ["outsider", "department"])
def test_users_without_a_ledger_role_are_refused(login, ledger, county, name, who):
    assert request(login(getattr(county.users, who)), name, ledger, county).status_code == 403


@pytest.mark.parametrize("name", OBJECT_ROUTES)
def test_another_village_gets_404(login, ledger, county, name):
    assert request(login(county.users.village_b), name, ledger, county).status_code == 404


@pytest.mark.parametrize("name", sorted(set(ROUTES) - set(WRITE_ROUTES) - {"key_person_act"}))
def test_the_village_reads_its_own(login, ledger, county, name):
    assert request(login(county.users.village_a), name, ledger, county).status_code == 200


@pytest.mark.parametrize("name", WRITE_ROUTES)
def test_the_county_centre_reads_but_does_not_write(login, ledger, county, name):
    assert request(login(county.users.county), name, ledger, county).status_code == 403
