import json
from pathlib import Path

from django.db import migrations

TAGS = Path(__file__).resolve().parent.parent / "data" / "tags.json"


def load(apps, schema_editor):
    """The attention tags of INFO-3 and GB/T 31000's special groups; administrators edit them later."""
    AttentionTag = apps.get_model("ledger", "AttentionTag")
    for order, row in enumerate(json.loads(TAGS.read_text(encoding="utf-8")), start=1):
        AttentionTag.objects.get_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "group": row["group"],
                "description": row["description"],
                "sort_order": order * 10,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_ledgers")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
