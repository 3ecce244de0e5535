"""KPI targets are configuration: the system administrator edits them in the admin, nobody else."""

from decimal import Decimal

import pytest
from django.urls import reverse

from wangge.dashboard.kpis import Kpi
from wangge.dashboard.models import KpiTarget

pytestmark = pytest.mark.django_db


def test_the_system_administrator_changes_a_target(county, login):
    target = KpiTarget.objects.get(kpi=Kpi.MEDIATION_SUCCESS)
    client = login(county.users.sysadmin)
    url = reverse("admin:dashboard_kpitarget_change", args=[target.pk])
    assert "95" in client.get(url).content.decode()
    response = client.post(url, {"target_percent": "96.5", "source": "县委文件"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.target_percent, target.source) == (Decimal("96.50"), "县委文件")
    refused = client.post(url, {"target_percent": "120", "source": ""})
    assert refused.status_code == 200 and "100" in refused.content.decode()
    assert KpiTarget.objects.get(pk=target.pk).target_percent == Decimal("96.50")


@pytest.mark.parametrize("user", ["county", "village_a"])
def test_nobody_else_reads_or_changes_the_targets(county, login, user):
    target = KpiTarget.objects.get(kpi=Kpi.MEDIATION_SUCCESS)
    client = login(getattr(county.users, user))
    assert client.get(reverse("admin:dashboard_kpitarget_changelist")).status_code == 403
    url = reverse("admin:dashboard_kpitarget_change", args=[target.pk])
    assert client.post(url, {"target_percent": "10", "source": ""}).status_code in (302, 403)
    assert KpiTarget.objects.get(pk=target.pk).target_percent == Decimal("95.00")
