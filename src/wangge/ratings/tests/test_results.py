"""Results by department and provider: hand-computed figures, periods, ranks, scope, anonymity, exports."""

import io
import uuid
from decimal import Decimal
from types import SimpleNamespace

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from wangge.cases.testing import local, patrol_case
from wangge.core.testing import make_user
from wangge.people.roles import Role
from wangge.ratings import services
from wangge.ratings.choices import ProviderKind
from wangge.ratings.models import DepartmentRating, ServiceProvider

pytestmark = pytest.mark.django_db

MARCH = {"period": "month", "on": "2026-03-15"}


def give(case, department, rater, marks, at):
    speed, result, attitude = marks
    return DepartmentRating.objects.create(
        case=case,
        department=department,
        rater=rater,
        unit=case.unit,
        speed=speed,
        result=result,
        attitude=attitude,
        rated_at=at,
    )


@pytest.fixture
def rated(world):
    """March 2026: 县应急管理局 (E) 3 ratings in 甲镇 and 1 in 乙镇, 县公安局 (P) 2, 甲镇综治中心 (Z) 1."""
    u = world.users
    a1, a2, a3 = (patrol_case(world) for _ in range(3))
    b1 = patrol_case(world, by=u.grid_worker_b, point=world.point_b1)
    e, p, z = world.department, world.police, world.township_office
    give(a1, e, u.grid_worker, (5, 4, 3), local(2026, 3, 2, 10))
    give(a2, e, u.grid_worker, (4, 4, 4), local(2026, 3, 10, 10))
    give(a3, e, u.grid_leader, (2, 5, 3), local(2026, 3, 31, 23, 59, 59))  # the last second of March
    give(a3, e, u.village_a, (1, 1, 1), local(2026, 4, 1, 0, 0))  # April
    give(a1, e, u.village_a, (1, 1, 1), local(2026, 2, 28, 23, 59))  # February
    give(b1, e, u.grid_worker_b, (1, 1, 1), local(2026, 3, 5, 9))  # 乙镇
    give(a1, p, u.grid_worker, (5, 5, 5), local(2026, 3, 3, 9))
    give(a2, p, u.township_a, (4, 4, 5), local(2026, 3, 4, 9))
    give(a1, z, u.grid_leader, (3, 3, 3), local(2026, 3, 6, 9))
    return SimpleNamespace(e=e, p=p, z=z)


def by_key(rows):
    return {row.key: row for row in rows}


def test_averages_shares_and_ranks_are_computed_by_hand(world, rated, django_assert_num_queries):
    access = services.results_access(world.users.township_a)
    start, end = local(2026, 3, 1).date(), local(2026, 3, 31).date()
    with django_assert_num_queries(1):  # one GROUP BY query for the table
        rows = services.department_results(services.department_ratings_for(access), start, end)
    assert [row.key for row in rows] == [rated.p.pk, rated.e.pk, rated.z.pk]
    p, e, z = rows
    assert (p.rank, p.count, p.averages, p.overall, p.good_share) == (
        1,
        2,
        {"speed": Decimal("4.50"), "result": Decimal("4.50"), "attitude": Decimal("5.00")},
        Decimal("4.67"),  # 28 / 6
        Decimal("1.0000"),
    )
    assert (e.rank, e.count, e.averages, e.overall, e.good_share) == (
        2,
        3,
        {"speed": Decimal("3.67"), "result": Decimal("4.33"), "attitude": Decimal("3.33")},  # 11/3 13/3 10/3
        Decimal("3.78"),  # 34 / 9
        Decimal("0.6667"),  # 6 of 9 marks at 4 or 5
    )
    assert (z.rank, z.count, z.overall, z.good_share) == (None, 1, Decimal("3.00"), Decimal("0.0000"))


def test_the_county_counts_every_township_and_a_township_only_its_own(world, rated):
    start, end = local(2026, 3, 1).date(), local(2026, 3, 31).date()

    def table(user, unit=None):
        return by_key(
            services.department_results(
                services.department_ratings_for(services.results_access(user), unit), start, end
            )
        )

    county = table(world.users.county)
    assert county[rated.e.pk].count == 4
    assert county[rated.e.pk].overall == Decimal("3.08")  # 37 / 12
    assert county[rated.e.pk].good_share == Decimal("0.5000")
    assert table(world.users.county, world.county.town_b)[rated.e.pk].count == 1
    assert table(world.users.township_a)[rated.e.pk].count == 3
    township_b = table(world.users.township_b)
    assert set(township_b) == {rated.e.pk} and township_b[rated.e.pk].rank is None


def test_ties_share_a_rank_and_the_next_rank_is_skipped(settings):
    settings.WANGGE_RATING_RANK_MIN_COUNT = 1

    def row(key, sums, count=1):
        return services.ResultRow(
            key=key,
            name=str(key),
            count=count,
            sums=dict(zip("abc", sums, strict=True)),
            good_marks=0,
            dimensions=("a", "b", "c"),
        )

    rows = [row(1, (5, 5, 4)), row(2, (4, 5, 5)), row(3, (3, 3, 3)), row(4, (5, 5, 5))]
    services._rank(rows, 1)
    assert [r.rank for r in rows] == [2, 2, 4, 1]


def test_the_results_page_for_a_township_and_its_periods(world, rated, login, django_assert_max_num_queries):
    client = login(world.users.township_a)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("ratings:results"), MARCH)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-period="2026-03-01/2026-03-31"' in html
    assert f'data-result="{rated.e.pk}" data-rank="2" data-count="3" data-overall="3.78"' in html
    april = client.get(reverse("ratings:results"), {"period": "month", "on": "2026-04-02"}).content.decode()
    assert f'data-result="{rated.e.pk}" data-rank="" data-count="1"' in april
    year = client.get(reverse("ratings:results"), {"period": "year", "on": "2026-06-01"}).content.decode()
    assert f'data-result="{rated.e.pk}" data-rank="2" data-count="5"' in year
    quarter = client.get(
        reverse("ratings:results"), {"period": "quarter", "on": "2026-02-01"}
    ).content.decode()
    assert 'data-period="2026-01-01/2026-03-31"' in quarter
    ranged = client.get(
        reverse("ratings:results"), {"period": "range", "start": "2026-03-02", "end": "2026-03-02"}
    ).content.decode()
    assert f'data-result="{rated.e.pk}" data-rank="" data-count="1" data-overall="4.00"' in ranged


def test_bad_filters_name_the_field(world, rated, login):
    client = login(world.users.township_a)
    response = client.get(
        reverse("ratings:results"), {"period": "range", "start": "2026-03-10", "end": "2026-03-01"}
    )
    assert response.status_code == 400 and 'data-error="end"' in response.content.decode()
    response = client.get(reverse("ratings:results"), {"period": "range"})
    assert 'data-error="start"' in response.content.decode()
    response = client.get(reverse("ratings:results"), {**MARCH, "unit": world.county.town_b.code})
    assert response.status_code == 400 and 'data-error="unit"' in response.content.decode()
    assert "data-result=" not in response.content.decode()


def test_a_department_reads_its_own_anonymous_aggregate_only(world, rated, login):
    client = login(world.users.department)
    response = client.get(reverse("ratings:results"), MARCH)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-own-department="{rated.e.pk}"' in html
    assert html.count("data-result=") == 1  # its own row, no other department's
    assert f'data-result="{rated.e.pk}" data-rank="2" data-count="4"' in html  # the whole county's ratings
    for rater in ("grid_worker", "grid_leader", "village_a", "grid_worker_b"):
        assert rater not in html
    # Who rated it is never shown to a department: not in the lists, not in the case panel.
    assert client.get(reverse("ratings:given")).status_code == 403
    assert not DepartmentRating.objects.visible_to(world.users.department).exists()
    assert login(world.users.department).get(reverse("ratings:provider_results")).status_code == 403


def test_who_appraises_reads_the_raters_but_never_of_their_own_department(world, rated, login):
    html = login(world.users.county).get(reverse("ratings:given"), MARCH).content.decode()
    assert 'data-rater="grid_worker"' in html and 'data-rater="grid_worker_b"' in html
    html = login(world.users.township_a).get(reverse("ratings:given"), MARCH).content.decode()
    assert 'data-rater="grid_worker"' in html and "grid_worker_b" not in html
    # Grid staff read their own ratings only.
    html = login(world.users.grid_worker).get(reverse("ratings:given"), MARCH).content.decode()
    assert html.count("data-rater=") == 3 and 'data-rater="grid_leader"' not in html
    # A village cadre who also serves in 县应急管理局 never reads who rated it.
    both = make_user(
        "both",
        (world.county.village_a, Role.VILLAGE_ADMIN),
        (world.county.county, Role.DEPARTMENT_USER, world.department),
    )
    visible = DepartmentRating.objects.visible_to(both)
    assert visible.exists() and not visible.filter(department=world.department).exists()
    assert login(world.users.outsider).get(reverse("ratings:given")).status_code == 403


def test_the_results_pages_are_closed_to_who_has_no_right(world, rated, login):
    for name in (
        "ratings:results",
        "ratings:results_export",
        "ratings:provider_results",
        "ratings:provider_results_export",
    ):
        assert Client().get(reverse(name)).status_code == 302  # anonymous: to the login page
        assert login(world.users.outsider).get(reverse(name)).status_code == 403
        assert login(world.users.grid_worker).get(reverse(name)).status_code == 403


def sheet_rows(response):
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return list(sheet.iter_rows(values_only=True))[2:]  # after the caption and the header


def test_exports_hold_the_pages_rows_in_the_users_scope(world, rated, login):
    url = reverse("ratings:results_export")
    county = sheet_rows(login(world.users.county).get(url, MARCH))
    assert [(r[0], r[1], r[2]) for r in county] == [
        (1, "县公安局", 2),
        (2, "县应急管理局", 4),
        (None, "甲镇综治中心", 1),
    ]
    assert [float(value) for value in county[1][3:]] == [
        3.0,
        3.5,
        2.75,
        3.08,
        0.5,
    ]  # 12/4 14/4 11/4 37/12 6/12
    township = sheet_rows(login(world.users.township_a).get(url, MARCH))
    assert [(r[1], r[2]) for r in township] == [("县公安局", 2), ("县应急管理局", 3), ("甲镇综治中心", 1)]
    township_b = sheet_rows(login(world.users.township_b).get(url, MARCH))
    assert [(r[1], r[2]) for r in township_b] == [("县应急管理局", 1)]
    department = sheet_rows(login(world.users.department).get(url, MARCH))
    assert [(r[1], r[2]) for r in department] == [("县应急管理局", 4)]
    assert (
        login(world.users.township_a).get(url, {**MARCH, "unit": world.county.town_b.code}).status_code == 400
    )


# --- providers --------------------------------------------------------------------------------------------


@pytest.fixture
def providers(world):
    c = world.county

    def provider(name, kind, unit):
        return ServiceProvider.objects.create(name=name, kind=kind, unit=unit)

    made = SimpleNamespace(
        w=provider("县自来水公司", ProviderKind.WATER, c.county),
        t1=provider("移动公司", ProviderKind.TELECOM, c.county),
        t2=provider("联通公司", ProviderKind.TELECOM, c.county),
        wa=provider("甲镇供水站", ProviderKind.WATER, c.town_a),
        wb=provider("乙镇供水站", ProviderKind.WATER, c.town_b),
    )
    march = local(2026, 3, 9, 12)

    def rate(provider, unit, marks):
        quality, responsiveness, transparency = marks
        services.rate_provider(
            provider=provider,
            unit=unit,
            quality=quality,
            responsiveness=responsiveness,
            transparency=transparency,
            client_uuid=uuid.uuid4(),
            now=march,
        )

    rate(made.w, c.cell_a11, (4, 4, 4))
    rate(made.w, c.cell_a11, (5, 3, 4))
    rate(made.t1, c.town_a, (5, 5, 5))
    rate(made.t1, c.town_a, (5, 5, 4))
    rate(made.t2, c.cell_a11, (2, 3, 2))
    rate(made.t2, c.grid_a2, (3, 3, 3))
    rate(made.wa, c.village_a, (3, 3, 3))
    rate(made.wa, c.village_a, (3, 3, 3))
    rate(made.wb, c.grid_b1, (1, 2, 1))
    return made


def test_providers_are_ranked_within_their_kind(world, providers):
    access = services.results_access(world.users.township_a)
    start, end = local(2026, 3, 1).date(), local(2026, 3, 31).date()
    rows = services.provider_results(services.provider_ratings_for(access), start, end)
    assert [(row.name, row.kind, row.rank) for row in rows] == [
        ("移动公司", "telecom", 1),
        ("联通公司", "telecom", 2),
        ("县自来水公司", "water", 1),
        ("甲镇供水站", "water", 2),
    ]
    water = rows[2]
    assert water.averages == {
        "quality": Decimal("4.50"),
        "responsiveness": Decimal("3.50"),
        "transparency": Decimal("4.00"),
    }
    assert (water.overall, water.good_share) == (Decimal("4.00"), Decimal("0.8333"))  # 24/6, 5 of 6 marks
    assert rows[1].overall == Decimal("2.67")  # 16 / 6


def test_provider_results_page_and_export_are_scoped(world, providers, login):
    html = login(world.users.county).get(reverse("ratings:provider_results"), MARCH).content.decode()
    assert html.count("data-result=") == 5
    assert f'data-result="{providers.wb.pk}" data-rank=""' in html  # one rating: not ranked
    rows = sheet_rows(login(world.users.village_b).get(reverse("ratings:provider_results_export"), MARCH))
    assert [(r[1], r[2], r[3]) for r in rows] == [("乙镇供水站", str(ProviderKind.WATER.label), 1)]
    township = sheet_rows(
        login(world.users.township_a).get(reverse("ratings:provider_results_export"), MARCH)
    )
    assert {r[1] for r in township} == {"县自来水公司", "移动公司", "联通公司", "甲镇供水站"}
