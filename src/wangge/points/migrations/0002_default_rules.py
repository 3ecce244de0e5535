import json
from pathlib import Path

from django.db import migrations

RULES = Path(__file__).resolve().parent.parent / "data" / "rules.json"


def load(apps, schema_editor):
    """The deployment-wide points rules (seeds 004 and 000); an administrator edits them afterwards, and a
    rule already there (by code) is left as it is."""
    PointRule = apps.get_model("points", "PointRule")
    for order, row in enumerate(json.loads(RULES.read_text(encoding="utf-8"))["rules"], start=1):
        PointRule.objects.get_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "kind": row["kind"],
                "points": row["points"],
                "yearly_cap": row.get("yearly_cap"),
                "period": row.get("period", ""),
                "requires_case": row.get("requires_case", False),
                "description": row.get("description", ""),
                "source": row.get("source", ""),
                "sort_order": order * 10,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
