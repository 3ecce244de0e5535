"""数据资源目录 (INFO-5): every ledger with what it holds, who keeps it, its personal data, the columns of its
files with their rules (from columns.py), its records in the viewer's area and their last change; and the
share of households reviewed below each child of the viewer's highest unit ("checked level by level")."""

import datetime
import re
from html import escape, unescape

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from wangge.ledger import services
from wangge.ledger.columns import columns_for
from wangge.ledger.models import Household, ImportKind
from wangge.people.roles import Role

pytestmark = pytest.mark.django_db

URL = reverse("ledger:catalogue")
LEDGERS = [
    "households",
    "residents",
    "places",
    "organisations",
    "released_prisoner",
    "community_correction",
    "mental_health",
    "drug_user",
    "key_youth",
    "key_persons",
]
SECTION = re.compile(r'<section class="panel catalogue-entry" id="ledger-(\w+)"(.*?)</section>', re.S)


def sections(html: str) -> dict[str, str]:
    return dict(SECTION.findall(html))


def figure(body: str, name: str) -> int | None:
    found = re.search(rf'data-{name}="(\d+)"', body)
    return int(found.group(1)) if found else None


def catalogue(client) -> str:
    response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode()


def test_every_ledger_has_its_section(ledger, county, login):
    assert list(sections(catalogue(login(county.users.village_a)))) == LEDGERS


def test_the_counts_are_those_of_the_viewers_area(ledger, county, login):
    own = sections(catalogue(login(county.users.village_b)))
    # 乙一村 holds B1-1 with 孙丽 and the school; nothing of 甲一村.
    assert (figure(own["households"], "current"), figure(own["households"], "total")) == (1, 1)
    assert figure(own["residents"], "current") == 1
    assert figure(own["places"], "total") == 1
    assert figure(own["organisations"], "total") == 0
    village_a = sections(catalogue(login(county.users.village_a)))
    # 甲一村: its three households and B1-1, registered in 一格 (dual grid); 4 + 2 residents.
    assert (figure(village_a["households"], "current"), figure(village_a["households"], "total")) == (4, 4)
    assert figure(village_a["residents"], "current") == 6
    assert figure(village_a["places"], "total") == 1
    assert figure(village_a["organisations"], "total") == 1


def test_closed_and_moved_out_records_count_in_all_but_not_as_current(ledger, county, login):
    admin = county.users.sysadmin
    services.set_resident_status(ledger.residents.tenant, "moved_out", by=admin)
    services.close_household(ledger.households.a11_2, by=admin)
    own = sections(catalogue(login(county.users.village_a)))
    assert (figure(own["households"], "current"), figure(own["households"], "total")) == (3, 4)
    assert (figure(own["residents"], "current"), figure(own["residents"], "total")) == (5, 6)


def test_the_current_counts_equal_the_lists_they_link_to(ledger, county, login):
    client = login(county.users.village_a)
    own = sections(catalogue(client))
    for key in ("households", "residents", "places", "organisations", "key_persons"):
        url = unescape(re.search(r'href="([^"]+)" data-link="list"', own[key]).group(1))
        count = client.get(url).context["page"].paginator.count
        assert count == (figure(own[key], "current") or figure(own[key], "total")), key


def test_the_last_change_is_the_latest_in_the_viewers_area(ledger, county, login):
    shanghai = datetime.timezone(datetime.timedelta(hours=8))
    Household.objects.update(updated_at=datetime.datetime(2024, 5, 6, 10, 20, tzinfo=shanghai))
    Household.objects.filter(number="B1-1").update(
        updated_at=datetime.datetime(2025, 1, 2, 8, 0, tzinfo=shanghai)
    )
    village_a = sections(catalogue(login(county.users.village_a)))["households"]
    assert '<dd class="last-change">2025-01-02 08:00</dd>' in village_a  # B1-1 is registered in 一格
    Household.objects.filter(number="B1-1").update(registered_grid=None)
    village_a = sections(catalogue(login(county.users.village_a)))["households"]
    assert '<dd class="last-change">2024-05-06 10:20</dd>' in village_a


@pytest.mark.parametrize("kind", ImportKind.values)
def test_the_file_columns_carry_the_rules_of_columns_py(ledger, county, login, kind):
    body = sections(catalogue(login(county.users.village_a)))[kind]
    with translation.override("zh-hans"):
        for column in columns_for(kind):
            row = re.search(rf'<tr data-column="{column.key}"( data-required="1")?>(.*?)</tr>', body, re.S)
            assert row, column.key
            assert bool(row.group(1)) == column.required, column.key
            assert column.header in row.group(2)
            assert escape(str(column.rule)) in row.group(2), column.key
            for label in column.allowed:
                assert label in row.group(2)
            assert ('data-personal="1"' in row.group(2)) == column.personal, column.key
    for link in (
        reverse("ledger:template", args=[kind, "xlsx"]),
        reverse("ledger:template", args=[kind, "csv"]),
        reverse("ledger:export", args=[kind, "xlsx"]),
        reverse("ledger:export", args=[kind, "csv"]),
    ):
        assert f'href="{link}"' in body


def test_personal_data_and_keepers_are_named(ledger, county, login):
    response = login(county.users.village_a).get(URL)
    entries = {entry.key: entry for entry in response.context["entries"]}
    with translation.override("zh-hans"):
        assert entries["residents"].personal == ["身份证号码", "联系电话"]
        assert entries["households"].personal == ["房东电话"]
        assert entries["mental_health"].personal == ["监护人联系电话"]
        assert entries["places"].personal == entries["organisations"].personal == []
        keepers = entries["households"].keepers
        assert str(Role.GRID_LEADER.label) in keepers and str(Role.TOWNSHIP_ADMIN.label) in keepers
        assert str(Role.COUNTY_COMMAND.label) not in keepers
        assert str(Role.GRID_INSTRUCTOR.label) not in keepers
        assert str(Role.SYSTEM_ADMIN.label) not in keepers
        assert entries["key_persons"].approvers == [
            str(Role.COUNTY_COMMAND.label),
            str(Role.TOWNSHIP_ADMIN.label),
        ]
        html = response.content.decode()
        assert "、".join(keepers) in html
    # The special records are kept on the resident's page: data items, no file columns.
    assert entries["drug_user"].columns == () and entries["drug_user"].items
    assert "?tag=drug_user" in entries["drug_user"].list_url


def test_a_township_sees_which_villages_lag(ledger, county, login, settings):
    """甲镇: 甲一村 has 3 households (A11-1 reviewed), 甲二村 one (reviewed): 1/3 and 1/1, 2/4 in all."""
    settings.WANGGE_REVIEW_MONTHS = 12
    admin = county.users.sysadmin
    services.create_household(by=admin, number="A2-1", grid=county.grid_a2_only, address="甲二村1号")
    services.review_household(Household.objects.get(number="A2-1"), by=admin)
    Household.objects.filter(number="A11-1").update(reviewed_at=timezone.now())
    Household.objects.filter(number="A11-2").update(reviewed_at=timezone.now() - datetime.timedelta(days=400))
    services.review_household(ledger.households.b1_1, by=admin)  # 乙镇: not 甲镇's
    client = login(county.users.township_a)
    response = client.get(URL)
    html = response.content.decode()
    table = html[html.index('id="review-levels"') : html.index("</table>", html.index('id="review-levels"'))]
    rows = re.findall(
        r'<tr data-code="(\d+)" data-households="(\d+)" data-reviewed="(\d+)"( class="lagging")?', table
    )
    assert rows == [
        (county.village_a.code, "3", "1", ' class="lagging"'),
        (county.village_a2.code, "1", "1", ""),
        (county.town_a.code, "4", "2", ""),
    ]
    assert "33%" in table and "100%" in table and "50%" in table
    # Each overdue figure is the count of the household list it links to.
    links = re.findall(r'<a href="(/ledger/households/\?[^"]+)" data-overdue="(\d+)">(\d+)</a>', table)
    assert [(code, int(n)) for _, code, n in links] == [(county.village_a.code, 2), (county.town_a.code, 2)]
    for url, _, n in links:
        assert client.get(unescape(url)).context["page"].paginator.count == int(n)


def test_a_grid_worker_sees_the_share_of_the_own_grid(ledger, county, login):
    services.review_household(ledger.households.a11_1, by=county.users.sysadmin)
    response = login(county.users.grid_worker).get(URL)
    assert response.context["review_children"] == []
    total = response.context["review_total"]
    assert (total.unit, total.households, total.reviewed, total.percent) == (county.cell_a11, 2, 1, 50)


def test_the_catalogue_is_linked_from_the_index_and_the_tabs(ledger, county, login):
    html = login(county.users.grid_worker).get(reverse("ledger:index")).content.decode()
    assert f'href="{URL}" id="catalogue-link"' in html
    assert f'href="{URL}" id="nav-catalogue"' in html


@pytest.mark.parametrize("who", ["department", "outsider"])
def test_users_without_the_ledgers_are_refused(ledger, county, login, who):
    assert login(getattr(county.users, who)).get(URL).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_query_count_does_not_grow_with_the_ledgers(ledger, county, login, django_assert_max_num_queries):
    client = login(county.users.township_a)
    client.get(URL)
    with django_assert_max_num_queries(30) as captured:
        client.get(URL)
    small = len(captured)
    Household.objects.bulk_create(
        Household(number=f"N{i}", grid=county.cell_a12, address=f"二格{i}号") for i in range(60)
    )
    with django_assert_max_num_queries(small):
        client.get(URL)
