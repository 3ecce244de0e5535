import json
from pathlib import Path

from django.db import migrations

RULES = Path(__file__).resolve().parent.parent / "data" / "visit_rules.json"


def load(apps, schema_editor):
    """The visit regime of seed 002; a deployment without one of the named levels or tags skips that part."""
    VisitRule = apps.get_model("fieldwork", "VisitRule")
    UnitLevel = apps.get_model("units", "UnitLevel")
    AttentionTag = apps.get_model("ledger", "AttentionTag")
    levels = dict(UnitLevel.objects.values_list("key", "pk"))
    for row in json.loads(RULES.read_text(encoding="utf-8"))["rules"]:
        if row["level"] is not None and row["level"] not in levels:
            continue
        rule, created = VisitRule.objects.get_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "kind": row["kind"],
                "level_id": levels.get(row["level"]),
                "period": row["period"],
                "include_rental": row.get("include_rental", False),
                "purpose": row.get("purpose", ""),
                "source": row["source"],
            },
        )
        if created and row.get("tags"):
            rule.tags.set(AttentionTag.objects.filter(code__in=row["tags"]))


class Migration(migrations.Migration):
    dependencies = [
        ("fieldwork", "0002_visits"),
        ("ledger", "0003_default_tags"),
        ("units", "0002_default_scheme"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
