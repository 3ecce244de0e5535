from wangge.people.roles import Capability

ME = "/api/v1/me/"


def test_me_lists_the_callers_posts_capabilities_and_scope(county, api):
    response = api(county.users.village_a).get(ME)
    assert response.status_code == 200
    data = response.json()
    assert data["username"] == "village_a"
    assert data["full_name"] == "village_a"
    assert [(p["unit"]["code"], p["role"]["key"]) for p in data["posts"]] == [
        (county.village_a.code, "village_admin")
    ]
    assert data["capabilities"] == sorted(
        [
            Capability.VIEW_UNITS,
            Capability.MANAGE_UNITS,
            Capability.MANAGE_POSTS,
            Capability.USE_ADMIN,
            Capability.REPORT_CASES,
            Capability.HANDLE_CASES,
            Capability.SUPERVISE_CASES,
            Capability.PUBLISH_CASES,
            Capability.VIEW_LEDGERS,
            Capability.MANAGE_LEDGERS,
            Capability.VIEW_PERSONAL_DATA,
            Capability.MANAGE_STAFF,
            Capability.APPRAISE,
            Capability.MANAGE_PAY,
            Capability.AWARD_POINTS,
            Capability.MANAGE_POINTS_SHOP,
            Capability.RATE_DEPARTMENTS,
            Capability.VIEW_DASHBOARD,
        ]
    )
    assert data["scope"] == {"is_global": False, "units": [county.village_a.code]}


def test_a_grid_worker_may_view_units_and_work_cases_but_not_manage(county, api):
    data = api(county.users.grid_worker).get(ME).json()
    assert data["capabilities"] == sorted(
        [
            Capability.VIEW_UNITS,
            Capability.REPORT_CASES,
            Capability.HANDLE_CASES,
            Capability.VIEW_LEDGERS,
            Capability.MANAGE_LEDGERS,
            Capability.VIEW_PERSONAL_DATA,
            Capability.AWARD_POINTS,
            Capability.RATE_DEPARTMENTS,
        ]
    )
    assert data["scope"]["units"] == [county.cell_a11.code]


def test_a_system_administrator_sees_everything(county, api):
    data = api(county.users.sysadmin).get(ME).json()
    assert data["scope"]["is_global"] is True
    assert set(data["capabilities"]) == set(Capability.values)


def test_a_user_without_a_post_may_still_ask_who_they_are(county, api):
    response = api(county.users.outsider).get(ME)
    assert response.status_code == 200
    assert response.json() == {
        "username": "outsider",
        "full_name": "outsider",
        "posts": [],
        "capabilities": [],
        "scope": {"is_global": False, "units": []},
    }


def test_an_anonymous_caller_gets_401(county, api):
    assert api().get(ME).status_code == 401


def test_me_takes_a_fixed_number_of_queries(county, api, django_assert_max_num_queries):
    client = api(county.users.village_a)
    # the caller's scope, the scope's unit codes, the posts with their relations
    with django_assert_max_num_queries(3):
        assert client.get(ME).status_code == 200
