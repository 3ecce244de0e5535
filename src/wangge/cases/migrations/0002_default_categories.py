from django.db import migrations


def load(apps, schema_editor):
    from wangge.cases.categories import load_categories, read_categories

    load_categories(
        apps.get_model("cases", "Category"), apps.get_model("cases", "TimeLimit"), read_categories()
    )


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
