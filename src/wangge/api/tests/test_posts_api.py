import datetime

import pytest

from wangge.core.testing import make_user
from wangge.people.models import Post
from wangge.people.roles import Role

POSTS = "/api/v1/posts/"


def usernames(response) -> set[str]:
    return {item["user"]["username"] for item in response.json()["results"]}


def post_of(user) -> Post:
    return Post.objects.get(user=user)


def test_a_village_admin_lists_the_posts_in_its_village_only(county, api):
    response = api(county.users.village_a).get(POSTS)
    assert response.status_code == 200
    assert usernames(response) == {"village_a", "grid_leader", "grid_worker"}


def test_it_rejects_another_villages_post_exactly_like_a_missing_one(county, api):
    client = api(county.users.village_a)
    assert client.get(f"{POSTS}{post_of(county.users.grid_worker).pk}/").status_code == 200
    other = client.get(f"{POSTS}{post_of(county.users.village_b).pk}/")
    missing = client.get(f"{POSTS}999999/")
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()


def test_a_grid_worker_sees_only_the_posts_of_its_grid_cell(county, api):
    assert usernames(api(county.users.grid_worker).get(POSTS)) == {"grid_worker"}


def test_a_user_without_a_post_is_refused_with_403(county, api):
    assert api(county.users.outsider).get(POSTS).status_code == 403


def test_an_anonymous_caller_gets_401(county, api):
    assert api().get(POSTS).status_code == 401


def test_a_post_shows_its_user_unit_role_and_dates(county, api):
    post = post_of(county.users.department)
    response = api(county.users.county).get(f"{POSTS}{post.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    data = response.json()
    assert data["user"] == {"username": "department", "full_name": "department"}
    assert data["unit"] == {"code": county.county.code, "name": "测试县"}
    assert data["role"] == {"key": "department_user", "label": "Department user"}
    assert data["department"] == {"code": "yingji", "name": "县应急管理局"}
    assert data["start_date"] == "2020-01-01"
    assert data["end_date"] is None
    assert data["title"] == ""


def test_the_role_label_speaks_the_callers_language(county, api):
    post = post_of(county.users.department)
    data = api(county.users.county).get(f"{POSTS}{post.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert data["role"] == {"key": "department_user", "label": "部门用户"}


def test_it_filters_posts_by_unit_and_by_subtree(county, api):
    client = api(county.users.township_a)
    assert usernames(client.get(POSTS, {"unit": county.grid_a1.code})) == {"grid_leader"}
    assert usernames(client.get(POSTS, {"unit": county.grid_a1.code, "subtree": "1"})) == {
        "grid_leader",
        "grid_worker",
    }
    assert usernames(client.get(POSTS, {"unit": county.village_a.code, "subtree": "true"})) == {
        "village_a",
        "grid_leader",
        "grid_worker",
    }


def test_the_unit_filter_gives_nothing_for_a_unit_outside_the_scope(county, api):
    client = api(county.users.township_a)
    assert client.get(POSTS, {"unit": county.village_b.code, "subtree": "1"}).json()["count"] == 0


def test_it_filters_posts_by_role(county, api):
    response = api(county.users.county).get(POSTS, {"role": Role.VILLAGE_ADMIN})
    assert usernames(response) == {"village_a", "village_b"}


def test_ended_posts_are_listed_only_on_request(county, api):
    former = make_user("former")
    ended = Post.objects.create(
        user=former,
        unit=county.grid_a2,
        role=Role.GRID_LEADER,
        start_date=datetime.date(2020, 1, 1),
        end_date=datetime.date(2021, 12, 31),
    )
    client = api(county.users.village_a)
    assert "former" not in usernames(client.get(POSTS))
    assert usernames(client.get(POSTS, {"active": "false"})) == {"former"}
    assert client.get(f"{POSTS}{ended.pk}/").json()["end_date"] == "2021-12-31"


@pytest.mark.parametrize("extra_posts", [0, 20])
def test_the_post_list_takes_a_fixed_number_of_queries(
    county, api, django_assert_max_num_queries, extra_posts
):
    for i in range(extra_posts):
        make_user(f"worker{i}", (county.cell_a12, Role.GRID_WORKER_PART_TIME))
    client = api(county.users.county)
    # the caller's scope, the count, the page with users, units and departments joined
    with django_assert_max_num_queries(3):
        response = client.get(POSTS)
    assert response.json()["count"] == 9 + extra_posts
