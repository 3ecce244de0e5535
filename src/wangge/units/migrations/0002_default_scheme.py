import json
from pathlib import Path

from django.db import migrations

SCHEME_FILE = Path(__file__).resolve().parent.parent / "data" / "default_scheme.json"


def load_default_scheme(apps, schema_editor):
    UnitLevel = apps.get_model("units", "UnitLevel")
    HouseholdStandard = apps.get_model("units", "HouseholdStandard")
    if UnitLevel.objects.exists():
        return
    data = json.loads(SCHEME_FILE.read_text(encoding="utf-8"))
    levels = {}
    for item in data["levels"]:
        levels[item["key"]] = UnitLevel.objects.create(
            key=item["key"],
            name=item["name"],
            rank=item["rank"],
            is_grid=item["is_grid"],
            code_digits=item["code_digits"],
        )
    for item in data["levels"]:
        levels[item["key"]].allowed_parents.set([levels[p] for p in item["parents"]])
    for item in data["household_standards"]:
        HouseholdStandard.objects.create(
            level=levels[item["level"]],
            area_type=item["area_type"],
            min_households=item["min"],
            max_households=item["max"],
            source=item["source"],
        )


class Migration(migrations.Migration):
    dependencies = [("units", "0001_initial")]

    operations = [migrations.RunPython(load_default_scheme, migrations.RunPython.noop)]
