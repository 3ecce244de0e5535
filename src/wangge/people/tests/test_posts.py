import pytest
from django.core.exceptions import ValidationError

from wangge.core.scope import minimal_prefixes, scope_for
from wangge.people.models import Post
from wangge.people.roles import Role


def test_a_grid_worker_post_cannot_sit_at_a_township(county):
    """TEAM-1: posts sit at the levels their role belongs to."""
    post = Post(user=county.users.outsider, unit=county.town_a, role=Role.GRID_WORKER_FULL_TIME)
    with pytest.raises(ValidationError) as err:
        post.full_clean()
    assert "unit" in err.value.message_dict


def test_a_department_users_post_must_name_its_department(county):
    post = Post(user=county.users.outsider, unit=county.county, role=Role.DEPARTMENT_USER)
    with pytest.raises(ValidationError) as err:
        post.full_clean()
    assert "department" in err.value.message_dict


def test_one_person_may_hold_posts_in_several_grids(county):
    """TEAM-2: 多格一员 — the scope is the union of the subtrees."""
    Post.objects.create(user=county.users.grid_worker, unit=county.cell_a12, role=Role.GRID_WORKER_PART_TIME)
    user = type(county.users.grid_worker).objects.get(pk=county.users.grid_worker.pk)
    scope = scope_for(user)
    assert scope.covers_path(county.cell_a11.path) and scope.covers_path(county.cell_a12.path)
    assert not scope.covers_path(county.grid_a2.path)


def test_an_ended_post_no_longer_gives_scope(county):
    import datetime

    post = county.users.village_a.posts.get()
    post.end_date = datetime.date(2021, 1, 1)
    post.save()
    user = type(county.users.village_a).objects.get(pk=county.users.village_a.pk)
    assert scope_for(user).is_empty


def test_nested_posts_collapse_to_one_subtree():
    assert minimal_prefixes(["0001", "00010002", "0002", "000100020003"]) == ("0001", "0002")
