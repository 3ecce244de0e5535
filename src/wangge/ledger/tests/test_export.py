"""Templates and exports: the template's columns and rules, masked and unmasked exports with logging,
scope, and the export → import round trip."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from wangge.core.models import AccessPurpose, PersonalDataAccess
from wangge.core.pii import mask_id_number
from wangge.core.testing import make_user
from wangge.ledger import imports, services
from wangge.ledger.choices import Relation
from wangge.ledger.columns import choice_label, columns_for
from wangge.ledger.models import Household, ImportKind, Resident
from wangge.ledger.testing import make_id_number
from wangge.people.roles import Capability, Role

pytestmark = pytest.mark.django_db

RESIDENTS = ImportKind.RESIDENTS


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def read_xlsx(data: bytes):
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return workbook


def csv_rows(data: bytes):
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def headers(kind):
    return [column.header for column in columns_for(kind)]


class TestTemplates:
    @pytest.mark.parametrize("kind", ImportKind.values)
    def test_the_xlsx_template_has_the_headers_and_a_sheet_of_rules(self, county, login, kind):
        response = login(county.users.grid_worker).get(reverse("ledger:template", args=[kind, "xlsx"]))
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
        workbook = read_xlsx(body(response))
        sheet, rules = workbook.worksheets
        assert [cell.value for cell in sheet[1]] == headers(kind)
        assert all(cell.font.bold for cell in sheet[1])
        assert sheet.column_dimensions["A"].width >= 14
        assert rules.title == "说明"
        listed = [row[0] for row in rules.iter_rows(min_row=2, values_only=True) if row[0]]
        assert listed[: len(headers(kind))] == headers(kind)

    def test_the_rules_sheet_lists_the_allowed_labels(self, county, login):
        response = login(county.users.village_a).get(reverse("ledger:template", args=[RESIDENTS, "xlsx"]))
        rules = read_xlsx(body(response))["说明"]
        by_column = {row[0]: row for row in rules.iter_rows(min_row=2, values_only=True) if row[0]}
        assert choice_label(Relation, Relation.SPOUSE) in by_column["与户主关系"][3]
        assert "低保" in by_column["关注标签"][3]
        assert by_column["户编号"][1] == "是" and by_column["备注"][1] == "否"

    @pytest.mark.parametrize("kind", ImportKind.values)
    def test_the_csv_template_is_the_header_with_a_bom(self, county, login, kind):
        response = login(county.users.village_a).get(reverse("ledger:template", args=[kind, "csv"]))
        assert response["Content-Type"].startswith("text/csv")
        assert csv_rows(body(response)) == [headers(kind)]

    def test_unknown_kinds_and_formats_are_not_found(self, county, login):
        client = login(county.users.village_a)
        assert client.get(reverse("ledger:template", args=["people", "xlsx"])).status_code == 404
        assert client.get(reverse("ledger:template", args=[RESIDENTS, "xls"])).status_code == 404
        assert client.get(reverse("ledger:export", args=[RESIDENTS, "pdf"])).status_code == 404


class TestExport:
    def test_an_export_is_masked_by_default_and_logs_nothing(self, ledger, county, login):
        response = login(county.users.village_a).get(reverse("ledger:export", args=[RESIDENTS, "csv"]))
        rows = csv_rows(body(response))
        assert rows[0] == headers(RESIDENTS)
        ids = {row[2]: row[0] for row in rows[1:]}
        zhang = ledger.residents.zhang
        assert ids["张伟"] == mask_id_number(zhang.id_number)
        assert zhang.id_number.encode() not in body(response)
        assert not PersonalDataAccess.objects.exists()

    def test_an_unmasked_export_shows_the_numbers_and_logs_every_record(self, ledger, county, login):
        user = county.users.village_a
        response = login(user).post(reverse("ledger:export", args=[RESIDENTS, "xlsx"]), {"unmasked": "1"})
        sheet = read_xlsx(body(response)).worksheets[0]
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        by_name = {row[2]: row for row in rows}
        assert by_name["张伟"][0] == ledger.residents.zhang.id_number
        assert by_name["张伟"][5] == "13800001234"
        logged = PersonalDataAccess.objects.filter(user=user, purpose=AccessPurpose.EXPORT)
        assert logged.count() == len(rows) == Resident.objects.visible_to(user).count()
        assert set(logged.values_list("object_id", flat=True)) == {
            str(pk) for pk in Resident.objects.visible_to(user).values_list("pk", flat=True)
        }
        # Each record is logged with the fields that held a value: 李娜 has no phone.
        fields = {entry.object_id: entry.fields for entry in logged}
        assert fields[str(ledger.residents.zhang.pk)] == ["id_number", "phone"]
        assert fields[str(ledger.residents.li.pk)] == ["id_number"]

    def test_the_county_command_cannot_unmask_and_is_not_logged(self, ledger, county, login):
        response = login(county.users.county).post(
            reverse("ledger:export", args=[RESIDENTS, "csv"]), {"unmasked": "1"}
        )
        data = body(response)
        assert response.status_code == 200
        assert ledger.residents.zhang.id_number.encode() not in data
        assert mask_id_number(ledger.residents.zhang.id_number).encode() in data
        assert not PersonalDataAccess.objects.exists()

    def test_an_export_holds_only_the_users_area(self, ledger, county, login):
        client = login(county.users.village_b)
        names = {
            row[2]
            for row in csv_rows(body(client.get(reverse("ledger:export", args=[RESIDENTS, "csv"]))))[1:]
        }
        assert names == {"孙丽"}
        places = csv_rows(body(client.get(reverse("ledger:export", args=[ImportKind.PLACES, "csv"]))))
        assert [row[2] for row in places[1:]] == ["乙一村小学"]

    def test_a_unit_filter_narrows_the_export_and_another_area_is_not_found(self, ledger, county, login):
        client = login(county.users.village_a)
        url = reverse("ledger:export", args=[ImportKind.HOUSEHOLDS, "csv"])
        numbers = [row[0] for row in csv_rows(body(client.get(url + f"?unit={county.cell_a12.code}")))[1:]]
        assert numbers == ["A12-1"]
        assert client.get(url + f"?unit={county.village_b.code}").status_code == 404

    def test_who_may_export(self, ledger, county, login, client):
        url = reverse("ledger:export", args=[RESIDENTS, "csv"])
        response = client.get(url)
        assert response.status_code == 302 and "login" in response.url
        assert client.get(reverse("ledger:template", args=[RESIDENTS, "csv"])).status_code == 302
        assert login(county.users.outsider).get(url).status_code == 403
        assert login(county.users.department).get(url).status_code == 403
        assert (
            login(county.users.department)
            .get(reverse("ledger:template", args=[RESIDENTS, "csv"]))
            .status_code
            == 403
        )


class TestRoundTrip:
    @pytest.mark.parametrize("fmt", ["xlsx", "csv"])
    @pytest.mark.parametrize("kind", ImportKind.values)
    @pytest.mark.parametrize("unmasked", [True, False])
    def test_an_export_reimports_unchanged(self, ledger, county, login, tmp_path, fmt, kind, unmasked):
        user = county.users.village_a
        client = login(user)
        url = reverse("ledger:export", args=[kind, fmt])

        def download():
            if unmasked:
                return body(client.post(url, {"unit": county.village_a.code, "unmasked": "1"}))
            return body(client.get(url + f"?unit={county.village_a.code}"))

        first = download()
        path = tmp_path / f"export.{fmt}"
        path.write_bytes(first)
        result = imports.apply(path, kind, user=user, unit=county.village_a, mode="all_or_nothing")
        assert result.ok, result.errors
        assert result.row_count > 0
        assert (result.created, result.updated, result.unchanged) == (0, 0, result.row_count)
        again = download()
        if fmt == "csv":
            assert again == first
        else:
            rows = [
                list(read_xlsx(data).worksheets[0].iter_rows(values_only=True)) for data in (first, again)
            ]
            assert rows[0] == rows[1]


class TestUnmaskedExport:
    def test_a_get_never_unmasks(self, ledger, county, login):
        response = login(county.users.village_a).get(
            reverse("ledger:export", args=[RESIDENTS, "csv"]) + "?unmasked=1"
        )
        data = body(response)
        assert ledger.residents.zhang.id_number.encode() not in data
        assert mask_id_number(ledger.residents.zhang.id_number).encode() in data
        assert not PersonalDataAccess.objects.exists()

    def test_an_unmasked_export_needs_the_csrf_token(self, ledger, county):
        client = Client(enforce_csrf_checks=True)
        client.force_login(county.users.village_a)
        url = reverse("ledger:export", args=[RESIDENTS, "csv"])
        assert client.post(url, {"unmasked": "1"}).status_code == 403
        page = client.get(reverse("ledger:index")).content.decode()
        assert f'action="{url}"' in page and 'data-unmasked-export="residents.csv"' in page
        token = client.cookies["csrftoken"].value
        response = client.post(url, {"unmasked": "1", "csrfmiddlewaretoken": token})
        assert response.status_code == 200
        assert ledger.residents.zhang.id_number.encode() in body(response)

    def test_only_rows_under_a_post_that_may_unmask_are_unmasked_and_logged(self, ledger, county, login):
        """A county command post reads the county masked; a grid leader post in 一组 unmasks 一组."""
        admin = county.users.sysadmin
        household = services.create_household(by=admin, number="B1-9", grid=county.grid_b1, address="x")
        qian = services.create_resident(
            by=admin,
            household=household,
            name="钱乙村",
            id_number=make_id_number(born="19770707", order="881"),
        )
        user = make_user("mixed", (county.county, Role.COUNTY_COMMAND), (county.grid_a1, Role.GRID_LEADER))
        response = login(user).post(reverse("ledger:export", args=[RESIDENTS, "csv"]), {"unmasked": "1"})
        rows = {row[2]: row for row in csv_rows(body(response))[1:]}
        zhang, zhao = ledger.residents.zhang, ledger.residents.zhao
        assert rows["张伟"][0] == zhang.id_number and rows["张伟"][5] == zhang.phone
        assert rows["赵强"][0] == zhao.id_number
        assert rows["钱乙村"][0] == mask_id_number(qian.id_number)  # read through the county post only
        assert rows["钱乙村"][4] == ""  # the birth date goes with the masked number
        logged = PersonalDataAccess.objects.filter(user=user, purpose=AccessPurpose.EXPORT)
        expected = set(
            Resident.objects.visible_to(user, Capability.VIEW_PERSONAL_DATA).values_list("pk", flat=True)
        )
        assert {int(pk) for pk in logged.values_list("object_id", flat=True)} == expected
        assert qian.pk not in expected and zhang.pk in expected
        fields = {int(entry.object_id): entry.fields for entry in logged}
        assert fields[zhang.pk] == ["id_number", "phone"] and fields[ledger.residents.li.pk] == ["id_number"]

    def test_a_household_export_logs_only_households_with_a_landlords_phone(self, ledger, county, login):
        user = county.users.village_a
        response = login(user).post(reverse("ledger:export", args=["households", "csv"]), {"unmasked": "1"})
        rows = {row[0]: row for row in csv_rows(body(response))[1:]}
        assert rows["A11-2"][9] == "13900001111"
        logged = PersonalDataAccess.objects.filter(user=user, purpose=AccessPurpose.EXPORT)
        assert list(logged.values_list("object_id", "fields")) == [
            (str(ledger.households.a11_2.pk), ["landlord_phone"])
        ]

    def test_the_unit_filter_takes_any_unit_the_user_reads(self, ledger, county, login):
        client = login(county.users.county)  # reads the county, keeps no ledger
        url = reverse("ledger:export", args=["households", "csv"])
        numbers = [row[0] for row in csv_rows(body(client.get(url + f"?unit={county.village_b.code}")))[1:]]
        assert numbers == ["B1-1"]
        assert login(county.users.village_b).get(url + f"?unit={county.village_a.code}").status_code == 404


class TestFormulas:
    @pytest.mark.parametrize("fmt", ["xlsx", "csv"])
    def test_text_that_a_spreadsheet_would_run_is_neutralised_and_reimports_unchanged(
        self, ledger, county, login, tmp_path, fmt
    ):
        user = county.users.village_a
        services.update_household(
            ledger.households.a11_2,
            by=user,
            notes='=HYPERLINK("http://x")',
            door_number="+1",
            landlord_name="@SUM(A1)",
            address="-一格2号",
        )
        url = reverse("ledger:export", args=["households", fmt]) + f"?unit={county.village_a.code}"
        data = body(login(user).get(url))
        if fmt == "csv":
            row = next(row for row in csv_rows(data) if row[0] == "A11-2")
            cells = row
        else:
            sheet = read_xlsx(data).worksheets[0]
            row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "A11-2")
            assert all(cell.data_type == "s" for cell in row if isinstance(cell.value, str))
            cells = [cell.value for cell in row]
        assert cells[3] == "'-一格2号" and cells[4] == "'+1" and cells[8] == "'@SUM(A1)"
        assert cells[10] == '\'=HYPERLINK("http://x")'
        path = tmp_path / f"h.{fmt}"
        path.write_bytes(data)
        result = imports.apply(path, "households", user=user, unit=county.village_a, mode="all_or_nothing")
        assert result.ok and result.updated == 0 and result.unchanged == result.row_count, result.errors
        household = Household.objects.get(number="A11-2")
        assert (household.address, household.notes) == ("-一格2号", '=HYPERLINK("http://x")')


class TestRegistrationGridRoundTrip:
    @pytest.mark.parametrize("fmt", ["xlsx", "csv"])
    @pytest.mark.parametrize("unmasked", [True, False])
    def test_a_person_seen_through_their_own_registration_grid_reimports_unchanged(
        self, ledger, county, login, tmp_path, fmt, unmasked
    ):
        """赵强 lives in 甲一村 and is registered in 乙一村: 乙一村's export holds his row, and importing
        it back changes nothing; a changed row is refused, since 甲一村 keeps him."""
        zhao = services.update_resident(
            ledger.residents.zhao, by=county.users.sysadmin, registered_grid=county.grid_b1
        )
        user = county.users.village_b
        client = login(user)
        url = reverse("ledger:export", args=[RESIDENTS, fmt])
        if unmasked:
            data = body(client.post(url, {"unit": county.village_b.code, "unmasked": "1"}))
        else:
            data = body(client.get(url + f"?unit={county.village_b.code}"))
        path = tmp_path / f"r.{fmt}"
        path.write_bytes(data)
        result = imports.apply(path, RESIDENTS, user=user, unit=county.village_b, mode="all_or_nothing")
        assert result.ok, result.errors
        assert result.row_count == 2 and result.unchanged == 2  # 孙丽 and 赵强
        if fmt == "csv":
            rows = csv_rows(data)
            for row in rows[1:]:
                if row[2] == "赵强":
                    row[11] = "木匠"  # 职业
            buffer = io.StringIO()
            csv.writer(buffer).writerows(rows)
            path.write_bytes(("\ufeff" + buffer.getvalue()).encode())
            result = imports.check(path, RESIDENTS, user=user, unit=county.village_b)
            assert [(e["row"], e["code"]) for e in result.errors] == [
                (next(i for i, r in enumerate(rows) if r[2] == "赵强") + 1, "kept_elsewhere")
            ]
        zhao.refresh_from_db()
        assert zhao.occupation == "" and zhao.household == ledger.households.a12_1


class TestTemplateNotes:
    def test_the_rules_sheet_says_an_empty_cell_keeps_and_clear_clears(self, county, login):
        response = login(county.users.village_a).get(reverse("ledger:template", args=[RESIDENTS, "xlsx"]))
        rules = read_xlsx(body(response))["说明"]
        notes = " ".join(str(row[0]) for row in rules.iter_rows(values_only=True) if row[0])
        assert "清空" in notes

    def test_the_import_page_says_households_come_first_and_links_both_templates(self, county, login):
        page = login(county.users.village_a).get(reverse("ledger:import")).content.decode()
        start = page.index('id="import-order"')
        order = page[start : page.index("</p>", start)]
        assert reverse("ledger:template", args=["households", "xlsx"]) in order
        assert reverse("ledger:template", args=[RESIDENTS, "xlsx"]) in order
        assert 'data-unmasked-export="residents.xlsx"' in page
        grid_part_timer = make_user("part", (county.cell_a11, Role.GRID_WORKER_PART_TIME))
        page = login(grid_part_timer).get(reverse("ledger:import")).content.decode()
        assert "data-unmasked-export" not in page  # a part-time worker never sees numbers unmasked


def test_the_index_offers_unmasked_exports_only_to_those_who_may_unmask(county, login):
    assert (
        'data-unmasked-export="residents.csv"'
        in login(county.users.village_a).get(reverse("ledger:index")).content.decode()
    )
    assert (
        "data-unmasked-export" not in login(county.users.county).get(reverse("ledger:index")).content.decode()
    )
