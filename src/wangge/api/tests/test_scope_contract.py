"""Every resource registered on the v1 router keeps the scope contract, including ones added later:
anonymous 401, no post 403, a post 200 with only what the scope holds."""

import pytest

from wangge.api.urls import router
from wangge.core.scope import ScopedQuerySet

PREFIXES = [prefix for prefix, _viewset, _basename in router.registry]


def seed_cases(county):
    """One case in the grid worker's grid and one in another township, both reported by the county."""
    from wangge.cases import services
    from wangge.cases.choices import Source

    for lng, lat in [(108.02, 31.05), (108.3, 31.1)]:
        services.report_case(
            reporter=county.users.county, source=Source.HOTLINE, description="路灯损坏", lng=lng, lat=lat
        )


def seed_ledger(county):
    """The small ledger (households and residents in and out of 一格, one registered there from 乙一村),
    plus a place and an organisation in 一格 itself: the ledger's own are on the villages."""
    from wangge.ledger import services
    from wangge.ledger.choices import OrganisationKind, PlaceKind
    from wangge.ledger.testing import build_ledger_world

    build_ledger_world(county)
    admin = county.users.sysadmin
    services.create_place(by=admin, unit=county.cell_a11, kind=PlaceKind.SHOP, name="一格小卖部")
    services.create_organisation(
        by=admin, unit=county.cell_a11, kind=OrganisationKind.PARTY_GROUP, name="一格党小组"
    )


# Resources whose rows the crafted county does not already hold: how to make a few, in and out of the
# grid worker's scope. A new resource without rows in the county registers its maker here.
SEEDS = {
    "cases": seed_cases,
    "households": seed_ledger,
    "residents": seed_ledger,
    "places": seed_ledger,
    "organisations": seed_ledger,
}


def seed(county, prefix):
    if prefix in SEEDS:
        SEEDS[prefix](county)


def scoped_querysets(cls=ScopedQuerySet):
    """ScopedQuerySet and every subclass that brings its own visible_to (e.g. cases, which add
    assignments and own reports to the territorial rule)."""
    yield cls
    for sub in cls.__subclasses__():
        yield from scoped_querysets(sub)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_an_anonymous_caller_gets_401(county, api, prefix):
    response = api().get(f"/api/v1/{prefix}/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_user_without_a_post_gets_403(county, api, prefix):
    assert api(county.users.outsider).get(f"/api/v1/{prefix}/").status_code == 403


@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_grid_worker_sees_fewer_rows_than_the_county(county, api, prefix):
    """The list goes through visible_to(user): the same endpoint answers less lower in the tree."""
    seed(county, prefix)
    county_count = api(county.users.county).get(f"/api/v1/{prefix}/").json()["count"]
    worker = api(county.users.grid_worker).get(f"/api/v1/{prefix}/")
    assert worker.status_code == 200
    assert 0 < worker.json()["count"] < county_count


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_scope_rule_is_the_one_in_core(county, api, prefix, monkeypatch):
    """Nothing bypasses ScopedQuerySet.visible_to: with it answering nothing, every list is empty."""
    seed(county, prefix)
    for queryset_class in scoped_querysets():
        if "visible_to" in vars(queryset_class):
            monkeypatch.setattr(queryset_class, "visible_to", lambda self, user: self.none())
    response = api(county.users.county).get(f"/api/v1/{prefix}/")
    assert response.status_code == 200
    assert response.json()["count"] == 0
