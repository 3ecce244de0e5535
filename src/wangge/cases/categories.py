"""Loading the category tree and time limits from data (cases/data/categories.json, CASE-12, CASE-7).

Used by the data migration on a fresh database and by `wangge load-categories` to add what a newer
file brings; a category an administrator has changed keeps its edits (existing codes are not touched).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

CATEGORIES_FILE = Path(__file__).resolve().parent / "data" / "categories.json"


def read_categories(path: Path = CATEGORIES_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _limit_rows(TimeLimit, category, limits):
    return [
        TimeLimit(
            category=category,
            stage=item["stage"],
            handler_level=item["handler_level"],
            value=Decimal(str(item["value"])),
            unit=item["unit"],
        )
        for item in limits
    ]


def _group(Category, item: dict) -> dict:
    # The migration that loads the first categories runs before the one that adds their groups.
    if any(field.name == "statistics_group" for field in Category._meta.get_fields()):
        return {"statistics_group": item.get("statistics_group", "")}
    return {}


def load_categories(Category, TimeLimit, data: dict) -> dict[str, int]:
    """Create the categories and limits the data has and the database lacks; returns what was added."""
    added = {"categories": 0, "time_limits": 0}
    existing = set(Category.objects.values_list("code", flat=True))
    if not TimeLimit.objects.filter(category__isnull=True).exists():
        rows = _limit_rows(TimeLimit, None, data.get("time_limit_defaults", []))
        TimeLimit.objects.bulk_create(rows)
        added["time_limits"] += len(rows)
    for top in data["categories"]:
        if top["code"] in existing:
            parent = Category.objects.get(code=top["code"])
        else:
            parent = Category.objects.create(
                code=top["code"],
                name=top["name"],
                description=top.get("description", ""),
                **_group(Category, top),
            )
            added["categories"] += 1
        for item in top.get("children", []):
            if item["code"] in existing:
                continue
            child = Category.objects.create(
                code=item["code"],
                name=item["name"],
                parent=parent,
                description=item.get("description", ""),
                register_condition=item.get("register_condition", ""),
                close_condition=item.get("close_condition", ""),
                default_level=item.get("default_level", "village"),
                default_department=item.get("default_department", ""),
                default_severity=item.get("severity", "general"),
                handling_steps=item.get("handling_steps", []),
                **_group(Category, item),
            )
            added["categories"] += 1
            rows = _limit_rows(TimeLimit, child, item.get("time_limits", []))
            TimeLimit.objects.bulk_create(rows)
            added["time_limits"] += len(rows)
    return added


def statistics_groups(data: dict) -> dict[str, str]:
    """{category code: statistics group} for every category the data puts in a group."""
    groups = {}
    for top in data["categories"]:
        for item in [top, *top.get("children", [])]:
            if item.get("statistics_group"):
                groups[item["code"]] = item["statistics_group"]
    return groups
