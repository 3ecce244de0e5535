import datetime
import json
from decimal import Decimal
from pathlib import Path

from django.db import migrations

SCHEMES = Path(__file__).resolve().parent.parent / "data" / "schemes.json"


def load(apps, schema_editor):
    """The first version of each scoring scheme (WORK-5's 月考核); administrators add later versions."""
    ScoringScheme = apps.get_model("appraisal", "ScoringScheme")
    SchemeItem = apps.get_model("appraisal", "SchemeItem")
    for row in json.loads(SCHEMES.read_text(encoding="utf-8")):
        scheme, created = ScoringScheme.objects.get_or_create(
            subject=row["subject"],
            valid_from=datetime.date.fromisoformat(row["valid_from"]),
            defaults={"name": row["name"], "note": row["note"]},
        )
        if not created:
            continue
        SchemeItem.objects.bulk_create(
            SchemeItem(
                scheme=scheme,
                indicator=item["indicator"],
                weight=Decimal(item["weight"]),
                target=Decimal(item["target"]),
                deduction=None if item["deduction"] is None else Decimal(item["deduction"]),
                position=position,
            )
            for position, item in enumerate(row["items"])
        )


class Migration(migrations.Migration):
    dependencies = [("appraisal", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
