import datetime
import json
from decimal import Decimal
from pathlib import Path

from django.db import migrations

RULES = Path(__file__).resolve().parent.parent / "data" / "pay_rules.json"


def _money(value):
    return None if value is None else Decimal(value)


def load(apps, schema_editor):
    """The default pay rules (seed 001's 1,580 yuan plus 五险 at 26.58 %) and per-case allowances (seed 003);
    a deployment without the named category skips that rule."""
    PayRule = apps.get_model("payroll", "PayRule")
    AllowanceRule = apps.get_model("payroll", "AllowanceRule")
    Category = apps.get_model("cases", "Category")
    data = json.loads(RULES.read_text(encoding="utf-8"))
    for row in data["pay_rules"]:
        PayRule.objects.get_or_create(
            role=row["role"],
            unit=None,
            valid_from=datetime.date.fromisoformat(row["valid_from"]),
            defaults={
                "pay_kind": row["pay_kind"],
                "base_pay": Decimal(row["base_pay"]),
                "insurance_rate": Decimal(row["insurance_rate"]),
                "insurance_base": _money(row["insurance_base"]),
                "source": row["source"],
            },
        )
    categories = dict(Category.objects.values_list("code", "pk"))
    for row in data["allowance_rules"]:
        if row["category"] is not None and row["category"] not in categories:
            continue
        AllowanceRule.objects.get_or_create(
            kind=row["kind"],
            category_id=categories.get(row["category"]),
            unit=None,
            valid_from=datetime.date.fromisoformat(row["valid_from"]),
            defaults={
                "amount": Decimal(row["amount"]),
                "monthly_cap": _money(row["monthly_cap"]),
                "source": row["source"],
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("payroll", "0001_initial"),
        ("cases", "0002_default_categories"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
