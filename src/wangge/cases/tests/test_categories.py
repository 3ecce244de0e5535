"""The seeded category tree and time limits (CASE-12, CASE-7), and loading a newer data file."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from wangge.cases.categories import read_categories
from wangge.cases.choices import HandlerLevel, Stage
from wangge.cases.models import Category, TimeLimit
from wangge.cases.services import time_limit

pytestmark = pytest.mark.django_db


def test_the_seeded_tree_has_two_levels_with_conditions_on_every_leaf():
    data = read_categories()
    tops = Category.objects.filter(parent__isnull=True)
    leaves = Category.objects.filter(parent__isnull=False)
    assert tops.count() == len(data["categories"]) >= 15
    assert leaves.count() == sum(len(t["children"]) for t in data["categories"]) >= 80
    for leaf in leaves.select_related("parent"):
        assert leaf.code.startswith(leaf.parent.code) and len(leaf.code) == 4
        assert leaf.register_condition and leaf.close_condition and leaf.handling_steps
    names = set(tops.values_list("name", flat=True))
    assert {"矛盾纠纷", "安全生产隐患", "信访与维稳", "民生服务与代办"} <= names


def test_default_limits_follow_seed_001():
    """CASE-7: village scope 3 working days, township or department 5."""
    ordinary = Category.objects.get(name="邻里纠纷")
    for level, days in [(HandlerLevel.VILLAGE, 3), (HandlerLevel.TOWNSHIP, 5), (HandlerLevel.DEPARTMENT, 5)]:
        limit = time_limit(ordinary, Stage.HANDLING, level)
        assert (limit.value, limit.unit, limit.category) == (days, "working_days", None)


def test_a_category_limit_wins_over_the_default():
    urgent = TimeLimit.objects.filter(
        category__isnull=False, unit="urgent_hours", stage=Stage.HANDLING
    ).first()
    assert urgent is not None
    assert time_limit(urgent.category, Stage.HANDLING, urgent.handler_level) == urgent


def test_codes_must_fit_the_two_level_rule():
    top = Category.objects.get(code="01")
    with pytest.raises(ValidationError) as error:
        Category(code="0299", name="错位", parent=top).full_clean()
    assert "code" in error.value.message_dict
    leaf = top.children.first()
    with pytest.raises(ValidationError) as error:
        Category(code=leaf.code + "01", name="三级", parent=leaf).full_clean()
    assert "parent" in error.value.message_dict or "code" in error.value.message_dict


def test_loading_a_newer_file_adds_only_what_is_new(tmp_path):
    data = read_categories()
    edited = Category.objects.get(code=data["categories"][0]["children"][0]["code"])
    edited.name = "本地改名"
    edited.save()
    data["categories"][0]["children"].append(
        {
            "code": data["categories"][0]["code"] + "99",
            "name": "新增小类",
            "register_condition": "a",
            "close_condition": "b",
            "handling_steps": ["c"],
            "time_limits": [],
        }
    )
    path = tmp_path / "categories.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    call_command("load_categories", str(path))
    assert Category.objects.filter(name="新增小类").exists()
    edited.refresh_from_db()
    assert edited.name == "本地改名"
