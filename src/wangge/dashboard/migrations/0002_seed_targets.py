import json
from pathlib import Path

from django.db import migrations

TARGETS = Path(__file__).resolve().parent.parent / "data" / "kpi_targets.json"


def load(apps, schema_editor):
    """Seed 004's targets, and a row without a target for every other KPI, for administrators to set."""
    KpiTarget = apps.get_model("dashboard", "KpiTarget")
    for item in json.loads(TARGETS.read_text(encoding="utf-8")):
        KpiTarget.objects.get_or_create(
            kpi=item["kpi"], defaults={"target_percent": item["target_percent"], "source": item["source"]}
        )


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
