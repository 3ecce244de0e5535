"""The demo's inspections and monthly scores, on the crafted test county."""

import datetime

import pytest

from wangge.appraisal.demo import SCORED_MONTHS, build_appraisal_demo
from wangge.appraisal.models import Inspection, InspectionFinding, MonthlyScore

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 4, 15)


def test_half_a_year_of_inspections_and_three_scored_months(march):
    counts = build_appraisal_demo(5, TODAY)
    crafted = 1  # the crafted month's inspection
    assert counts["inspections"] == Inspection.objects.count() - crafted > 26  # two townships, weekly
    assert counts["findings"] == InspectionFinding.objects.count() - 2
    inspections = Inspection.objects.exclude(inspected_on=datetime.date(2026, 3, 20))
    assert {i.inspecting_unit for i in inspections} == {march.county.town_a, march.county.town_b}
    assert all(i.unit.level.rank == 3 and i.unit.path.startswith(i.inspecting_unit.path) for i in inspections)
    assert all(i.inspected_on < TODAY for i in inspections)
    assert not InspectionFinding.objects.filter(rectified_on__gte=TODAY).exists()
    months = sorted(set(MonthlyScore.objects.values_list("month", flat=True)))
    assert months == [datetime.date(2026, 1, 1), datetime.date(2026, 2, 1), datetime.date(2026, 3, 1)]
    assert len(months) == SCORED_MONTHS
    assert counts["scores"] == MonthlyScore.objects.count()


def test_the_same_seed_gives_the_same_inspections(march):
    Inspection.objects.all().delete()
    build_appraisal_demo(11, TODAY)
    first = list(Inspection.objects.order_by("pk").values_list("unit_id", "inspected_on", "checked"))
    Inspection.objects.all().delete()
    MonthlyScore.objects.all().delete()
    build_appraisal_demo(11, TODAY)
    again = list(Inspection.objects.order_by("pk").values_list("unit_id", "inspected_on", "checked"))
    assert first == again
