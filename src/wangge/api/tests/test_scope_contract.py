"""Every resource registered on the v1 router keeps the scope contract, including ones added later:
anonymous 401, no post 403, a post 200 with only what the scope holds."""

import pytest

from wangge.api.urls import router

PREFIXES = [prefix for prefix, _viewset, _basename in router.registry]


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
    county_count = api(county.users.county).get(f"/api/v1/{prefix}/").json()["count"]
    worker = api(county.users.grid_worker).get(f"/api/v1/{prefix}/")
    assert worker.status_code == 200
    assert 0 < worker.json()["count"] < county_count


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_scope_rule_is_the_one_in_core(county, api, prefix, monkeypatch):
    """Nothing bypasses ScopedQuerySet.visible_to: with it answering nothing, every list is empty."""
    from wangge.core.scope import ScopedQuerySet

    monkeypatch.setattr(ScopedQuerySet, "visible_to", lambda self, user: self.none())
    response = api(county.users.county).get(f"/api/v1/{prefix}/")
    assert response.status_code == 200
    assert response.json()["count"] == 0
