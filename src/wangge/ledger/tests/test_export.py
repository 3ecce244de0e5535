"""Templates and exports: the template's columns and rules, masked and unmasked exports with logging,
scope, and the export → import round trip."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from wangge.core.models import AccessPurpose, PersonalDataAccess
from wangge.core.pii import mask_id_number
from wangge.ledger import imports
from wangge.ledger.choices import Relation
from wangge.ledger.columns import choice_label, columns_for
from wangge.ledger.models import ImportKind, Resident

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
        response = login(user).get(reverse("ledger:export", args=[RESIDENTS, "xlsx"]) + "?unmasked=1")
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

    def test_the_county_command_cannot_unmask_and_is_not_logged(self, ledger, county, login):
        response = login(county.users.county).get(
            reverse("ledger:export", args=[RESIDENTS, "csv"]) + "?unmasked=1"
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
        url = reverse("ledger:export", args=[kind, fmt]) + f"?unit={county.village_a.code}"
        if unmasked:
            url += "&unmasked=1"
        first = body(client.get(url))
        path = tmp_path / f"export.{fmt}"
        path.write_bytes(first)
        result = imports.apply(path, kind, user=user, unit=county.village_a, mode="all_or_nothing")
        assert result.ok, result.errors
        assert result.row_count > 0
        assert (result.created, result.updated, result.unchanged) == (0, 0, result.row_count)
        again = body(client.get(url))
        if fmt == "csv":
            assert again == first
        else:
            rows = [
                list(read_xlsx(data).worksheets[0].iter_rows(values_only=True)) for data in (first, again)
            ]
            assert rows[0] == rows[1]
