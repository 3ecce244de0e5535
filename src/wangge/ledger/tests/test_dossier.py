"""一格一档: the dossier's figures (dual-grid membership, tags, party, places, staff, cases), its scope,
its page and PDF, and a query count that does not grow with the households or grids below the unit."""

import datetime
import io
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from wangge.cases import services as case_services
from wangge.cases.choices import Source
from wangge.core.testing import POST_START, box, make_user
from wangge.ledger import services
from wangge.ledger.choices import PlaceKind, PoliticalStatus, Relation, ResidenceType
from wangge.ledger.dossier import build_dossier
from wangge.ledger.models import AttentionTag, Household, Resident
from wangge.ledger.testing import make_id_number
from wangge.people.models import Post, User
from wangge.people.roles import Role
from wangge.units import services as unit_services

pytestmark = pytest.mark.django_db

# The crafted county's dossier of 甲一村 must stay within this many queries, and so must a much bigger one.
MAX_QUERIES = 20


def dossier_of(unit, user):
    return build_dossier(unit, User.objects.get(pk=user.pk))


def tag_figures(dossier) -> dict[str, int]:
    return {figure.key: figure.count for figure in dossier.tags}


# --- figures ------------------------------------------------------------------------------------------


def test_a_grid_counts_who_lives_there_and_who_is_registered_there_but_lives_elsewhere(ledger, county):
    dossier = dossier_of(county.cell_a11, county.users.grid_worker)
    assert dossier.households["active"] == 2
    assert dossier.households["rented"] == 1
    assert dossier.households["registered_away"] == 1  # B1-1 lives in 乙一村, registered in 一格
    assert dossier.residents["living"] == 4
    assert dossier.residents["registered_away"] == 1
    assert [r.name for r in dossier.away_residents] == ["孙丽"]
    assert dossier.away_residents[0].household.grid == county.grid_b1
    # The tenant is floating population: living here, registered outside the county.
    assert dossier.residents["registered_elsewhere"] == 1


def test_the_grid_of_residence_counts_a_dual_grid_resident_as_registered_elsewhere(ledger, county):
    dossier = dossier_of(county.village_b, county.users.village_b)
    assert dossier.residents["living"] == 1
    assert dossier.residents["registered_elsewhere"] == 1
    assert dossier.residents["registered_away"] == 0


def test_tags_are_counted_per_resident_of_the_subtree(ledger, county):
    dossier = dossier_of(county.cell_a11, county.users.grid_worker)
    assert tag_figures(dossier) == {"dibao": 1, "left_behind_child": 1, "floating": 1}
    assert {figure.label for figure in dossier.tags} == {"低保", "留守儿童", "流动人口"}


def test_a_resident_who_moved_out_leaves_the_figures(ledger, county):
    services.set_resident_status(
        ledger.residents.child, "moved_out", by=county.users.sysadmin, on=datetime.date(2025, 1, 2)
    )
    dossier = dossier_of(county.cell_a11, county.users.grid_worker)
    assert dossier.residents["living"] == 3
    assert "dibao" not in tag_figures(dossier)


def test_party_members_and_their_branch_with_its_members(ledger, county):
    dossier = dossier_of(county.village_a, county.users.village_a)
    assert dossier.residents["party_members"] == 1
    assert dossier.residents["party_unaffiliated"] == 0
    [branch] = dossier.party_organisations
    assert branch.name == "甲一村网格党支部"
    assert branch.members_here == branch.linked_members == 1


def test_an_unaffiliated_party_member_is_counted_apart(ledger, county):
    services.create_resident(
        by=county.users.sysadmin,
        household=ledger.households.a12_1,
        name="钱党员",
        id_number=make_id_number(born="19750303", order="771"),
        relation=Relation.SPOUSE,
        political_status=PoliticalStatus.PROBATIONARY,
    )
    dossier = dossier_of(county.village_a, county.users.village_a)
    assert dossier.residents["party_members"] == 2
    assert dossier.residents["party_unaffiliated"] == 1


def test_places_and_organisations_by_kind_and_the_station_serving_a_grid(ledger, county):
    village = dossier_of(county.village_a, county.users.village_a)
    assert [(f.key, f.count) for f in village.places_by_kind] == [("service_station", 1)]
    assert [(f.key, f.count) for f in village.organisations_by_kind] == [("party_branch", 1)]
    # The grid has no station of its own: the village's station serves it (GRID-10).
    grid = dossier_of(county.cell_a11, county.users.grid_worker)
    assert [s.name for s in grid.service_stations] == ["甲一村党群服务站"]
    assert grid.places_by_kind == []


def test_another_villages_station_does_not_serve_the_grid(ledger, county):
    services.create_place(
        by=county.users.sysadmin, unit=county.village_b, kind=PlaceKind.SERVICE_STATION, name="乙一村服务站"
    )
    grid = dossier_of(county.cell_a11, county.users.grid_worker)
    assert [s.name for s in grid.service_stations] == ["甲一村党群服务站"]


def test_staff_of_the_grid_and_the_levels_above_up_to_the_village(ledger, county):
    county.users.grid_worker.phone = "13511112222"
    county.users.grid_worker.save()
    dossier = dossier_of(county.cell_a11, county.users.grid_worker)
    who = [(m.post.user.username, m.post.unit.code, m.households) for m in dossier.staff]
    assert who == [
        ("grid_worker", county.cell_a11.code, 2),
        ("grid_leader", county.grid_a1.code, 3),
        ("village_a", county.village_a.code, None),
    ]
    assert dossier.staff[0].post.user.phone == "13511112222"


def test_a_worker_of_two_grids_serves_the_households_of_both(ledger, county):
    Post.objects.create(
        user=county.users.grid_worker,
        unit=county.cell_a12,
        role=Role.GRID_WORKER_FULL_TIME,
        start_date=POST_START,
    )
    dossier = dossier_of(county.cell_a11, county.users.village_a)
    assert [m.households for m in dossier.staff if m.post.user == county.users.grid_worker] == [3]


def test_children_carry_their_own_counts(ledger, county):
    dossier = dossier_of(county.village_a, county.users.village_a)
    assert not dossier.is_leaf
    counts = {c.unit.code: (c.households, c.residents) for c in dossier.children}
    assert counts == {county.grid_a1.code: (3, 5), county.grid_a2.code: (0, 0)}
    assert dossier.household_rows == []


def test_a_grid_lists_its_households_with_householder_and_members(ledger, county):
    dossier = dossier_of(county.cell_a11, county.users.grid_worker)
    assert dossier.is_leaf
    rows = [(h.number, h.head_name, h.member_count) for h in dossier.household_rows]
    assert rows == [("A11-1", "张伟", 3), ("A11-2", None, 1)]
    assert not dossier.households_truncated


def test_cases_under_the_unit_recent_and_by_status(ledger, county):
    for lng, lat in [(108.02, 31.05), (108.02, 31.06), (108.3, 31.1)]:
        case_services.report_case(
            reporter=county.users.county, source=Source.HOTLINE, description="路灯损坏", lng=lng, lat=lat
        )
    dossier = dossier_of(county.cell_a11, county.users.grid_worker)
    assert len(dossier.recent_cases) == 2
    assert [(f.key, f.count) for f in dossier.case_counts] == [("reported", 2)]
    assert dossier.case_total == 2


def test_the_figures_are_limited_to_the_viewers_scope(ledger, county):
    """The county's dossier seen by a grid worker holds only what the grid worker may see."""
    dossier = dossier_of(county.county, county.users.grid_worker)
    # 一格's four and 孙丽 (living in 乙一村, registered in 一格); not 赵强 of 二格, a party member.
    assert dossier.residents["living"] == 5
    assert dossier.residents["party_members"] == 0
    assert {c.unit.code: c.households for c in dossier.children} == {
        county.town_a.code: 2,
        county.town_b.code: 1,
    }
    assert dossier.places_by_kind == []
    assert dossier.party_organisations == []


# --- query counts -------------------------------------------------------------------------------------


def grow(county, grids: int, households_per_grid: int) -> list:
    """Add `grids` cells below 二组 with households, residents with tags, grid workers and a party branch."""
    tags = list(AttentionTag.objects.all()[:5])
    level = county.levels["grid4"]
    cells = []
    for i in range(grids):
        x = 108.0 + 0.1 * i / grids
        cells.append(
            unit_services.create_unit(
                parent=county.grid_a2,
                level=level,
                name=f"新格{i}",
                geometry=box(x, 31.1, x + 0.1 / grids, 31.2),
                effective_from=datetime.date(2020, 1, 1),
            )
        )
    branch = services.create_organisation(
        by=county.users.sysadmin, unit=county.grid_a2, kind="party_branch", name="二组党支部"
    )
    households = Household.objects.bulk_create(
        Household(number=f"G{c}-{n}", grid=cell, address=f"{cell.name}{n}号", is_rental=n % 3 == 0)
        for c, cell in enumerate(cells)
        for n in range(households_per_grid)
    )
    residents = Resident.objects.bulk_create(
        Resident(
            household=household,
            name=f"居民{household.number}-{k}",
            relation=Relation.HEAD if k == 0 else Relation.CHILD,
            political_status=PoliticalStatus.PARTY_MEMBER if k == 1 else PoliticalStatus.MASSES,
            party_organisation=branch if k == 1 else None,
            registered_grid=county.cell_a11 if k == 2 else None,
        )
        for household in households
        for k in range(3)
    )
    Resident.tags.through.objects.bulk_create(
        Resident.tags.through(resident=resident, attentiontag=tags[i % len(tags)])
        for i, resident in enumerate(residents)
    )
    for c, cell in enumerate(cells):
        make_user(f"worker{c}", (cell, Role.GRID_WORKER_FULL_TIME))
    for lng in (108.01, 108.03):
        case_services.report_case(
            reporter=county.users.county, source=Source.HOTLINE, description="垃圾堆放", lng=lng, lat=31.15
        )
    return cells


def queries_for(unit, user) -> int:
    user = User.objects.get(pk=user.pk)
    with CaptureQueriesContext(connection) as captured:
        build_dossier(unit, user)
    return len(captured)


def test_the_dossier_of_the_crafted_village_takes_a_bounded_number_of_queries(
    ledger, county, django_assert_max_num_queries
):
    user = User.objects.get(pk=county.users.village_a.pk)
    with django_assert_max_num_queries(MAX_QUERIES):
        build_dossier(county.village_a, user)
    with django_assert_max_num_queries(MAX_QUERIES):
        build_dossier(county.cell_a11, user)


def test_the_query_count_does_not_grow_with_households_or_grids(
    ledger, county, django_assert_max_num_queries
):
    small_village = queries_for(county.village_a, county.users.village_a)
    small_grid = queries_for(county.cell_a11, county.users.grid_worker)
    small_county = queries_for(county.county, county.users.county)
    cells = grow(county, grids=12, households_per_grid=40)
    assert queries_for(county.village_a, county.users.village_a) == small_village
    assert queries_for(county.county, county.users.county) == small_county
    user = User.objects.get(username="worker0")
    with django_assert_max_num_queries(small_grid):
        dossier = build_dossier(cells[0], user)
    assert dossier.households["active"] == 40
    village = dossier_of(county.village_a, county.users.village_a)
    assert village.households["active"] == 3 + 12 * 40
    assert village.residents["party_members"] == 1 + 12 * 40
    assert {c.unit.code: c.households for c in village.children}[county.grid_a2.code] == 12 * 40


def test_a_big_grid_lists_a_capped_number_of_households(ledger, county):
    [cell] = grow(county, grids=1, households_per_grid=130)
    dossier = dossier_of(cell, county.users.village_a)
    assert len(dossier.household_rows) == 100
    assert dossier.households_truncated
    # Every third member of the new households is registered in 一格: listed there, capped too.
    assert dossier_of(county.cell_a11, county.users.village_a).away_truncated


# --- the page and the PDF -----------------------------------------------------------------------------


def dossier_url(unit, pdf=False) -> str:
    return reverse("ledger:dossier_pdf" if pdf else "ledger:dossier", args=[unit.code])


def test_a_grid_worker_opens_the_dossier_of_the_grid(ledger, county, login):
    county.users.grid_leader.phone = "13522223333"
    county.users.grid_leader.save()
    page = login(county.users.grid_worker).get(dossier_url(county.cell_a11))
    assert page.status_code == 200
    html = page.content.decode()
    assert "A11-1" in html and "张伟" in html  # the household list with its householder
    assert "孙丽" in html  # registered here, living in 乙一村
    assert "13522223333" in html  # staff phones are published
    assert "甲一村党群服务站" in html and "02312345678" in html
    assert reverse("ledger:dossier_pdf", args=[county.cell_a11.code]) in html


def test_the_dossier_shows_names_but_no_id_number_or_resident_phone(ledger, county, login):
    html = login(county.users.village_a).get(dossier_url(county.cell_a11)).content.decode()
    zhang = ledger.residents.zhang
    assert zhang.id_number not in html and zhang.id_number[-4:] + "<" not in html
    assert "********" not in html
    assert zhang.phone not in html and "****" not in html


def test_a_village_dossier_links_to_the_dossiers_below(ledger, county, login):
    html = login(county.users.village_a).get(dossier_url(county.village_a)).content.decode()
    assert dossier_url(county.grid_a1) in html
    # 低保 is counted in the village, with a link to the residents carrying the tag there.
    assert f"?unit={county.village_a.code}&amp;tag=dibao" in html


def test_the_page_carries_no_inline_style_or_script(ledger, county, login):
    html = login(county.users.village_a).get(dossier_url(county.village_a)).content.decode()
    assert "<style" not in html and ' style="' not in html
    assert "<script>" not in html and "onclick" not in html


@pytest.mark.parametrize("pdf", [False, True])
def test_another_village_gets_404(ledger, county, login, pdf):
    assert login(county.users.village_b).get(dossier_url(county.village_a, pdf)).status_code == 404
    assert login(county.users.village_b).get(dossier_url(county.cell_a11, pdf)).status_code == 404


@pytest.mark.parametrize("pdf", [False, True])
@pytest.mark.parametrize("who", ["department", "outsider"])
def test_users_without_the_ledgers_are_refused(ledger, county, login, pdf, who):
    assert login(getattr(county.users, who)).get(dossier_url(county.village_a, pdf)).status_code == 403


@pytest.mark.parametrize("pdf", [False, True])
def test_anonymous_visitors_are_sent_to_sign_in(ledger, county, client, pdf):
    response = client.get(dossier_url(county.village_a, pdf))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_page_takes_a_bounded_number_of_queries(ledger, county, login, django_assert_max_num_queries):
    client = login(county.users.village_a)
    client.get(dossier_url(county.cell_a11))  # the session and caches warm up
    with django_assert_max_num_queries(MAX_QUERIES + 10):
        assert client.get(dossier_url(county.village_a)).status_code == 200
    grow(county, grids=6, households_per_grid=30)
    with django_assert_max_num_queries(MAX_QUERIES + 10):
        assert client.get(dossier_url(county.village_a)).status_code == 200


def test_the_pdf_is_an_a4_attachment_named_after_the_unit(ledger, county, login):
    from pypdf import PdfReader

    response = login(county.users.grid_worker).get(dossier_url(county.cell_a11, pdf=True))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;") and county.cell_a11.code in disposition
    reader = PdfReader(io.BytesIO(response.content))
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = "".join(page.extract_text() for page in reader.pages)
    assert "一格" in text and county.cell_a11.code in text
    assert "张伟" in text and "A11-1" in text
    assert f"1 / {len(reader.pages)}" in text
    assert ledger.residents.zhang.id_number not in text


# --- figures equal the lists they link to; people away; own registration first (findings 5, 6) ----------


def away_and_own_registration(ledger, county):
    """钱在外 of A11-1 lives away (户在人不在), a Party member of the branch; 周户籍 lives in B1-1 (registered in
    一格 as a household) with her own 户籍 in 二格; 吴外村 lives in 二格 with his 户籍 in 乙一村."""
    admin = county.users.sysadmin
    services.create_resident(
        by=admin,
        household=ledger.households.a11_1,
        name="钱在外",
        id_number=make_id_number(born="19900909", order="881"),
        relation=Relation.CHILD,
        residence_type=ResidenceType.ABROAD,
        political_status=PoliticalStatus.PARTY_MEMBER,
        party_organisation=ledger.branch,
        tags=[ledger.tags["dibao"]],
    )
    services.create_resident(
        by=admin,
        household=ledger.households.b1_1,
        name="周户籍",
        relation=Relation.SPOUSE,
        residence_type=ResidenceType.SEPARATED,
        registered_grid=county.cell_a12,
    )
    services.create_resident(
        by=admin,
        household=ledger.households.a12_1,
        name="吴外村",
        relation=Relation.OTHER,
        residence_type=ResidenceType.SEPARATED,
        registered_grid=county.grid_b1,
    )


def test_people_away_from_home_are_registered_here_not_living_here(ledger, county):
    away_and_own_registration(ledger, county)
    grid = dossier_of(county.cell_a11, county.users.village_a)
    assert grid.residents["living"] == 4  # 张伟, 李娜, 张小明, 陈租客
    assert grid.residents["registered_away"] == 2  # 孙丽 (B1-1) and 钱在外 (away)
    assert sorted(r.name for r in grid.away_residents) == ["孙丽", "钱在外"]
    assert {f.key: f.count for f in grid.residence_types}.get("abroad") is None
    village = dossier_of(county.village_a, county.users.village_a)
    assert village.residents["party_members"] == 1  # 赵强; 钱在外 does not live here
    [branch] = village.party_organisations
    assert (branch.linked_members, branch.members_here) == (2, 1)
    assert {c.unit.code: c.residents for c in village.children}[county.grid_a1.code] == 6


def test_a_members_own_registration_wins_over_the_households(ledger, county):
    away_and_own_registration(ledger, county)
    # 周户籍's household B1-1 is registered in 一格, she herself in 二格: she is 二格's, not 一格's.
    assert "周户籍" not in [
        r.name for r in dossier_of(county.cell_a11, county.users.village_a).away_residents
    ]
    second = dossier_of(county.cell_a12, county.users.village_a)
    assert [r.name for r in second.away_residents] == ["周户籍"]
    assert second.residents["registered_away"] == 1
    assert second.residents["registered_elsewhere"] == 1  # 吴外村, registered in 乙一村
    assert dossier_of(county.grid_b1, county.users.village_b).residents["registered_away"] == 1


LINK = re.compile(
    r'<a\b[^>]*href="(/ledger/(?:households|residents|places|organisations)/\?[^"]*)"[^>]*>(.*?)</a>', re.S
)


def linked_figures(html: str) -> list[tuple[str, int]]:
    """Every (list URL, figure) of a dossier page: links whose text is a number or holds one as a figure."""
    found = []
    for url, text in LINK.findall(html):
        number = re.search(r'<span class="n">(\d+)</span>', text) or re.fullmatch(r"\s*(\d+)\s*", text)
        if number:
            found.append((unescape(url), int(number.group(1))))
    return found


@pytest.mark.parametrize(
    "unit, who",
    [
        ("cell_a11", "village_a"),
        ("cell_a11", "grid_worker"),
        ("cell_a12", "village_a"),
        ("village_a", "village_a"),
        ("town_a", "township_a"),
    ],
)
def test_every_figure_equals_the_count_of_the_list_it_links_to(ledger, county, login, unit, who):
    away_and_own_registration(ledger, county)
    services.set_resident_status(ledger.residents.li, "moved_out", by=county.users.sysadmin)
    crafted_reviews(ledger, county)
    client = login(getattr(county.users, who))
    html = client.get(dossier_url(getattr(county, unit))).content.decode()
    figures = linked_figures(html)
    linked = " ".join(url for url, _ in figures)
    assert linked.count("membership=living") >= 5 and linked.count("membership=registered") == 2
    assert "review=current" in linked and "review=overdue" in linked
    assert "tag=dibao" in linked or unit == "cell_a12"  # 二格's people carry no tag
    for url, figure in figures:
        listed = client.get(url)
        assert listed.status_code == 200 and not listed.context["filter"].form.errors, url
        assert listed.context["page"].paginator.count == figure, url


def test_the_lists_filter_by_membership(ledger, county, login):
    away_and_own_registration(ledger, county)
    client = login(county.users.village_a)
    url = reverse("ledger:residents")
    code = county.cell_a11.code

    def listed(**params):
        return sorted(r.name for r in client.get(url, {"unit": code, **params}).context["page"])

    assert listed(membership="living") == ["张伟", "张小明", "李娜", "陈租客"]
    assert listed(membership="registered") == ["孙丽", "钱在外"]
    assert (
        listed()
        == listed(membership="any")
        == sorted(["张伟", "张小明", "李娜", "陈租客", "孙丽", "钱在外", "周户籍"])
    )
    households = reverse("ledger:households")
    living = client.get(households, {"unit": code, "membership": "living"}).context["page"]
    assert [h.number for h in living] == ["A11-1", "A11-2"]
    registered = client.get(households, {"unit": code, "membership": "registered"}).context["page"]
    assert [h.number for h in registered] == ["B1-1"]
    assert len(client.get(households, {"unit": code}).context["page"]) == 3


# --- review (核查, INFO-2): the share of households reviewed within the period ---------------------------


def months_ago(months: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=months * 31)


def crafted_reviews(ledger, county):
    """A11-1 reviewed a month ago, A11-2 thirteen months ago, A12-1 never; B1-1 (乙一村) today."""
    worker = county.users.grid_worker
    for number, when in (("A11-1", months_ago(1)), ("A11-2", months_ago(13)), ("B1-1", timezone.now())):
        Household.objects.filter(number=number).update(reviewed_at=when, reviewed_by=worker)


def review_figures(dossier) -> tuple[int, int, int, int | None]:
    households = dossier.households
    return (
        households["active"],
        households["reviewed"],
        households["review_overdue"],
        dossier.reviewed_percent,
    )


def test_the_share_of_households_reviewed_within_the_period(ledger, county, settings):
    settings.WANGGE_REVIEW_MONTHS = 12
    crafted_reviews(ledger, county)
    # 甲一村: three households living here, one reviewed within twelve months: 1/3 = 33 %. B1-1 is
    # registered in 一格 but lives in 乙一村: it counts there.
    assert review_figures(dossier_of(county.village_a, county.users.village_a)) == (3, 1, 2, 33)
    assert review_figures(dossier_of(county.cell_a11, county.users.village_a)) == (2, 1, 1, 50)
    assert review_figures(dossier_of(county.cell_a12, county.users.village_a)) == (1, 0, 1, 0)
    assert review_figures(dossier_of(county.village_b, county.users.village_b)) == (1, 1, 0, 100)
    assert review_figures(dossier_of(county.grid_a2, county.users.village_a)) == (0, 0, 0, None)
    settings.WANGGE_REVIEW_MONTHS = 24
    assert review_figures(dossier_of(county.village_a, county.users.village_a)) == (3, 2, 1, 66)


def test_a_closed_household_is_not_due_for_review(ledger, county):
    crafted_reviews(ledger, county)
    services.set_resident_status(ledger.residents.tenant, "moved_out", by=county.users.sysadmin)
    services.close_household(ledger.households.a11_2, by=county.users.sysadmin)
    Household.objects.filter(number="A11-2").update(reviewed_at=None)
    assert review_figures(dossier_of(county.cell_a11, county.users.village_a)) == (1, 1, 0, 100)


def test_a_grids_dossier_marks_the_households_overdue_for_review(ledger, county, login):
    crafted_reviews(ledger, county)
    html = login(county.users.grid_worker).get(dossier_url(county.cell_a11)).content.decode()
    rows = dict(re.findall(r'<tr data-household="([^"]+)">(.*?)</tr>', html, re.S))
    assert 'data-overdue="1"' not in rows["A11-1"]
    assert 'data-overdue="1"' in rows["A11-2"]
    review = html[html.index('id="review"') :]
    assert 'data-reviewed="1" data-active="2"' in review[:200]
