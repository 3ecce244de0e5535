"""Importing ledger files: the dry run's report, all-or-nothing, valid-only, a failure midway, re-import
idempotence, scope, masking in the report, and the import pages."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import translation

from wangge.core.audit import history_for
from wangge.core.models import ChangeAction, ChangeLog
from wangge.core.pii import blind_index, id_check_code, mask_id_number, mask_phone
from wangge.ledger import imports, services
from wangge.ledger.choices import OrganisationKind, PlaceKind, PoliticalStatus, Relation, Sex
from wangge.ledger.columns import choice_label, columns_for
from wangge.ledger.imports import ImportMode
from wangge.ledger.models import (
    Household,
    ImportKind,
    ImportRun,
    ImportStatus,
    Organisation,
    Place,
    Resident,
)
from wangge.ledger.testing import make_id_number

pytestmark = pytest.mark.django_db

RESIDENTS = ImportKind.RESIDENTS
HOUSEHOLDS = ImportKind.HOUSEHOLDS


# --- files --------------------------------------------------------------------------------------------


def sheet_rows(kind, rows):
    """The header row and one list per row dict (English keys → cell values), in the template's order."""
    columns = columns_for(kind)
    return [[c.header for c in columns], *([row.get(c.key, "") for c in columns] for row in rows)]


def write_xlsx(path, kind, rows):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for cells in sheet_rows(kind, rows):
        sheet.append([None if cell == "" else cell for cell in cells])
    workbook.save(path)
    return Path(path)


def write_csv(path, kind, rows, encoding="utf-8-sig"):
    with open(path, "w", encoding=encoding, newline="") as out:
        csv.writer(out).writerows(sheet_rows(kind, rows))
    return Path(path)


def write_file(path_without_suffix, fmt, kind, rows):
    path = Path(f"{path_without_suffix}.{fmt}")
    return write_xlsx(path, kind, rows) if fmt == "xlsx" else write_csv(path, kind, rows)


def triples(result_or_errors):
    errors = result_or_errors if isinstance(result_or_errors, list) else result_or_errors.errors
    return [(e["row"], e["column"], e["code"]) for e in errors]


def bad_checksum(id_number):
    wrong = "0" if id_number[-1] != "0" else "1"
    return id_number[:17] + wrong


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def outsider_resident(ledger, county):
    """A person of 乙一村 only: village_a must not learn where they are."""
    household = services.create_household(
        by=county.users.sysadmin, number="B1-9", grid=county.grid_b1, address="乙一村9号"
    )
    return services.create_resident(
        by=county.users.sysadmin,
        household=household,
        name="钱外村",
        id_number=make_id_number(region="500229", born="19770707", order="881"),
    )


NEW_ID = make_id_number(born="19880808", order="771")


def crafted_residents(county, outsider_resident):
    """Row 2 is good; rows 3–14 each break one rule."""
    return [
        {"id_number": NEW_ID, "household": "A11-1", "name": "王五"},  # 2 good
        {"id_number": bad_checksum(NEW_ID[:-1] + "5"), "household": "A11-1", "name": "错号"},  # 3
        {"household": "ZZ-404", "name": "无户"},  # 4
        {"id_number": NEW_ID, "household": "A11-2", "name": "重号"},  # 5
        {"household": "A11-1", "name": ""},  # 6
        {"household": "A11-1", "name": "未来", "birth_date": "2999-01-01"},  # 7
        {"household": "A11-1", "name": "坏电话", "phone": "12345"},  # 8
        {"household": "A11-1", "name": "怪关系", "relation": "外星人"},  # 9
        {"id_number": outsider_resident.id_number, "household": "A11-2", "name": "钱外村"},  # 10
        {"household": "A11-1", "name": "外格", "registered_grid": "999999999999"},  # 11
        {"household": "A11-1", "name": "怪标签", "tags": "低保、外星标签"},  # 12
        {
            "id_number": make_id_number(born="19900101", order="113"),  # odd order digit: male
            "household": "A11-1",
            "name": "性别错",
            "sex": choice_label(Sex, Sex.FEMALE),
        },  # 13
        {"household": "A11-1", "name": "缺纬度"},  # 14 (residents have no point: fine)
    ]


CRAFTED_ERRORS = [
    (3, "身份证号", "id_number"),
    (4, "户编号", "unknown_household"),
    (5, "身份证号", "duplicate_id"),
    (6, "姓名", "required"),
    (7, "出生日期", "future_date"),
    (8, "联系电话", "phone"),
    (9, "与户主关系", "choice"),
    (10, "身份证号", "other_area"),
    (11, "户籍网格编码", "unknown_grid"),
    (12, "关注标签", "unknown_tag"),
    (13, "性别", "sex_mismatch"),
]


# --- the dry run --------------------------------------------------------------------------------------


class TestDryRun:
    @pytest.mark.parametrize("fmt", ["xlsx", "csv"])
    def test_it_reports_every_bad_row_with_row_column_and_rule(
        self, ledger, county, outsider_resident, tmp_path, fmt
    ):
        path = write_file(
            tmp_path / "residents", fmt, RESIDENTS, crafted_residents(county, outsider_resident)
        )
        before = Resident.objects.count()
        with translation.override("en"):
            result = imports.check(path, RESIDENTS, user=county.users.village_a, unit=county.village_a)
            problem = services.id_number_problem(bad_checksum(NEW_ID[:-1] + "5"))
        assert triples(result) == CRAFTED_ERRORS
        assert result.row_count == 13 and result.error_row_count == 11
        assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
        assert Resident.objects.count() == before
        by_row = {e["row"]: e for e in result.errors}
        assert by_row[3]["rule"] == problem
        assert "GB 11643" in by_row[3]["rule"]
        assert (
            by_row[10]["rule"] == "This ID number is already registered in another area; ask the level above."
        )
        assert "低保" in by_row[12]["rule"] and "外星标签" in by_row[12]["rule"]
        assert choice_label(Relation, Relation.HEAD) in by_row[9]["rule"]  # the allowed labels are listed

    def test_the_report_masks_id_and_phone_numbers(self, ledger, county, outsider_resident, tmp_path):
        rows = crafted_residents(county, outsider_resident)
        rows.append({"household": "A11-1", "name": "手机", "phone": "1380000123"})  # 10 digits: bad
        rows.append({"household": "A11-1", "name": "标签", "tags": NEW_ID})  # a number in the wrong column
        path = write_xlsx(tmp_path / "r.xlsx", RESIDENTS, rows)
        result = imports.check(path, RESIDENTS, user=county.users.village_a, unit=county.village_a)
        dumped = json.dumps(result.errors, ensure_ascii=False)
        for plain in (NEW_ID, bad_checksum(NEW_ID[:-1] + "5"), outsider_resident.id_number, "1380000123"):
            assert plain not in dumped
        by_row = {e["row"]: e for e in result.errors}
        assert by_row[10]["value"] == mask_id_number(outsider_resident.id_number)
        assert by_row[15]["value"] == mask_phone("1380000123")
        assert by_row[16]["code"] == "unknown_tag" and mask_id_number(NEW_ID) in by_row[16]["rule"]

    def test_a_grid_of_another_village_is_unknown_like_a_code_that_does_not_exist(self, county, tmp_path):
        rows = [
            {"number": "H1", "grid": county.grid_b1.code, "address": "x"},
            {"number": "H2", "grid": "999999999999", "address": "x"},
            {"number": "H3", "grid": county.cell_a11.code, "address": "x", "lng": "108.01"},
            {"number": "H4", "grid": county.village_a.code, "address": "x"},
            {"number": "H3", "grid": county.cell_a11.code, "address": "again"},
        ]
        path = write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, rows)
        result = imports.check(path, HOUSEHOLDS, user=county.users.village_a, unit=county.village_a)
        assert triples(result) == [
            (2, "居住网格编码", "unknown_grid"),
            (3, "居住网格编码", "unknown_grid"),
            (4, "纬度", "lng_lat"),
            (5, "居住网格编码", "not_a_grid"),
            (6, "户编号", "duplicate_household"),
        ]
        first, second = result.errors[0], result.errors[1]
        assert first["rule"] == second["rule"] and "乙" not in first["rule"]
        assert (first["value"], second["value"]) == (county.grid_b1.code, "999999999999")

    def test_missing_and_unknown_header_columns_are_named(self, county, tmp_path):
        path = tmp_path / "h.csv"
        path.write_text("户编号,居住网格编码,地址,电话号码\nH1,1,x,1\n", encoding="utf-8")
        result = imports.check(path, HOUSEHOLDS, user=county.users.village_a, unit=county.village_a)
        assert triples(result) == [(0, "", "missing_columns"), (0, "", "unknown_columns")]
        assert "户籍网格编码" in result.errors[0]["rule"] and "备注" in result.errors[0]["rule"]
        assert "电话号码" in result.errors[1]["rule"]
        assert result.row_count == 0

    def test_english_keys_are_accepted_as_headers_and_gb18030_csv_is_read(self, county, tmp_path):
        path = tmp_path / "h.csv"
        columns = columns_for(HOUSEHOLDS)
        with open(path, "w", encoding="gb18030", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([c.key for c in columns])
            writer.writerow(
                [
                    {"number": "H1", "grid": county.cell_a11.code, "address": "一格某号"}.get(c.key, "")
                    for c in columns
                ]
            )
        result = imports.apply(
            path,
            HOUSEHOLDS,
            user=county.users.village_a,
            unit=county.village_a,
            mode=ImportMode.ALL_OR_NOTHING,
        )
        assert result.ok and result.created == 1
        assert Household.objects.get(number="H1").address == "一格某号"

    def test_a_file_that_is_not_a_workbook_is_one_file_error(self, county, tmp_path):
        path = tmp_path / "h.xlsx"
        path.write_bytes(b"not a zip")
        result = imports.check(path, HOUSEHOLDS, user=county.users.village_a, unit=county.village_a)
        assert triples(result) == [(0, "", "unreadable")]

    def test_only_ledger_managers_import_and_only_for_their_units(self, county, tmp_path):
        path = write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, [])
        with pytest.raises(PermissionDenied):
            imports.check(path, HOUSEHOLDS, user=county.users.department, unit=county.county)
        with pytest.raises(PermissionDenied):
            imports.check(path, HOUSEHOLDS, user=county.users.village_a, unit=county.village_b)
        with pytest.raises(PermissionDenied):
            imports.check(path, HOUSEHOLDS, user=county.users.grid_worker, unit=county.village_a)


# --- applying ----------------------------------------------------------------------------------------


def good_households(county):
    return [
        {
            "number": "N-1",
            "grid": county.cell_a11.code,
            "address": "一格新1号",
            "lng": 108.02,
            "lat": 31.05,
            "is_rental": "是",
            "landlord_name": "房东甲",
            "landlord_phone": "13911112222",
        },
        {
            "number": "N-2",
            "grid": county.cell_a12.code,
            "registered_grid": county.cell_a11.code,
            "address": "二格新2号",
        },
        {"number": "N-3", "grid": county.grid_a2.code, "address": "二组新3号", "notes": "新建"},
    ]


class TestApply:
    def test_all_or_nothing_writes_nothing_when_one_row_is_bad(self, county, tmp_path, media_root):
        rows = [*good_households(county), {"number": "N-4", "grid": county.grid_b1.code, "address": "x"}]
        path = write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, rows)
        upload = SimpleUploadedFile("住户.xlsx", path.read_bytes())
        user = county.users.village_a
        run = imports.start_run(upload, HOUSEHOLDS, user=user, unit=county.village_a)
        assert run.status == ImportStatus.CHECKED and run.error_row_count == 1
        stored = imports.stored_path(run)
        assert stored.is_file() and stored.parent == media_root / "imports" and "住户" not in stored.name
        logs = ChangeLog.objects.count()
        run, result = imports.apply_run(run, user=user, mode=ImportMode.ALL_OR_NOTHING)
        assert run.status == ImportStatus.REFUSED and result.refused
        assert not Household.objects.filter(number__startswith="N-").exists()
        assert ChangeLog.objects.count() == logs
        assert triples(run.errors) == [(5, "居住网格编码", "unknown_grid")]
        assert not stored.exists()

    def test_valid_only_writes_the_good_rows(self, county, tmp_path, media_root):
        rows = [*good_households(county), {"number": "N-4", "grid": county.grid_b1.code, "address": "x"}]
        path = write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, rows)
        user = county.users.village_a
        run = imports.start_run(
            SimpleUploadedFile("h.xlsx", path.read_bytes()), HOUSEHOLDS, user=user, unit=county.village_a
        )
        run, result = imports.apply_run(run, user=user, mode=ImportMode.VALID_ONLY)
        assert run.status == ImportStatus.APPLIED and run.created_count == 3 and result.skipped == 1
        assert set(Household.objects.filter(number__startswith="N-").values_list("number", flat=True)) == {
            "N-1",
            "N-2",
            "N-3",
        }
        n1 = Household.objects.get(number="N-1")
        assert n1.landlord_phone == "13911112222"
        assert n1.landlord_phone_index == blind_index(services.PHONE_INDEX_KIND, "13911112222")
        assert Household.objects.get(number="N-2").registered_grid == county.cell_a11
        entry = history_for(n1).get()
        assert (
            entry.action == ChangeAction.CREATE
            and entry.user == user
            and entry.acting_unit == county.village_a
        )
        assert "13911112222" not in json.dumps(entry.changes)

    def test_a_run_is_applied_once_and_only_by_its_uploader(self, county, tmp_path, media_root):
        path = write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, good_households(county))
        user = county.users.village_a
        run = imports.start_run(
            SimpleUploadedFile("h.xlsx", path.read_bytes()), HOUSEHOLDS, user=user, unit=county.village_a
        )
        with pytest.raises(PermissionDenied):
            imports.apply_run(run, user=county.users.township_a, mode=ImportMode.VALID_ONLY)
        imports.apply_run(run, user=user, mode=ImportMode.VALID_ONLY)
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError):
            imports.apply_run(run, user=user, mode=ImportMode.VALID_ONLY)
        assert Household.objects.filter(number__startswith="N-").count() == 3

    def test_a_failure_midway_leaves_no_rows_and_no_history(self, county, tmp_path, monkeypatch):
        rows = good_households(county) + [
            {"number": f"M-{i}", "grid": county.cell_a12.code, "address": f"二格{i}号"} for i in range(5)
        ]
        path = write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, rows)
        monkeypatch.setattr(imports, "BATCH_SIZE", 2)
        real = Household.objects.bulk_create
        calls = []

        def failing_bulk_create(objs, *args, **kwargs):
            calls.append(len(objs))
            if len(calls) > 1:
                raise RuntimeError("disk full")
            return real(objs, *args, **kwargs)

        monkeypatch.setattr(Household.objects, "bulk_create", failing_bulk_create)
        logs = ChangeLog.objects.count()
        with pytest.raises(RuntimeError):
            imports.apply(
                path,
                HOUSEHOLDS,
                user=county.users.village_a,
                unit=county.village_a,
                mode=ImportMode.VALID_ONLY,
            )
        assert calls == [2, 2]  # the first batch was written before the failure
        assert not Household.objects.exists()
        assert ChangeLog.objects.count() == logs

    @pytest.mark.parametrize("fmt", ["xlsx", "csv"])
    def test_reimporting_the_same_file_changes_nothing(self, ledger, county, tmp_path, fmt):
        user, unit = county.users.village_a, county.village_a
        households = write_file(tmp_path / "h", fmt, HOUSEHOLDS, good_households(county))
        residents = write_file(
            tmp_path / "r",
            fmt,
            RESIDENTS,
            [
                {
                    "id_number": NEW_ID,
                    "household": "N-1",
                    "name": "王五",
                    "phone": "13600001111",
                    "relation": choice_label(Relation, Relation.HEAD),
                    "tags": "低保、残疾",
                },
                {"household": "N-1", "name": "王小五", "birth_date": "2016-04-01", "relation": "child"},
                {
                    "household": "A12-1",
                    "name": "钱党员",
                    "political_status": choice_label(PoliticalStatus, PoliticalStatus.PARTY_MEMBER),
                    "party_organisation": ledger.branch.name,
                },
            ],
        )
        first = imports.apply(households, HOUSEHOLDS, user=user, unit=unit, mode=ImportMode.ALL_OR_NOTHING)
        assert first.ok and first.created == 3
        first = imports.apply(residents, RESIDENTS, user=user, unit=unit, mode=ImportMode.ALL_OR_NOTHING)
        assert first.ok and first.created == 3, first.errors
        counts = (Household.objects.count(), Resident.objects.count(), ChangeLog.objects.count())
        wang = Resident.objects.get(name="王五")
        assert wang.id_number == NEW_ID and wang.sex == Sex.MALE and str(wang.birth_date) == "1988-08-08"
        assert sorted(wang.tags.values_list("code", flat=True)) == ["dibao", "disabled"]
        assert Resident.objects.get(name="钱党员").party_organisation == ledger.branch

        for path, kind in ((households, HOUSEHOLDS), (residents, RESIDENTS)):
            again = imports.apply(path, kind, user=user, unit=unit, mode=ImportMode.ALL_OR_NOTHING)
            assert (again.created, again.updated, again.unchanged) == (0, 0, 3), again.errors
        assert (Household.objects.count(), Resident.objects.count(), ChangeLog.objects.count()) == counts

    def test_changing_one_cell_updates_exactly_that_record(self, county, tmp_path):
        user, unit = county.users.village_a, county.village_a
        rows = good_households(county)
        imports.apply(
            write_xlsx(tmp_path / "1.xlsx", HOUSEHOLDS, rows),
            HOUSEHOLDS,
            user=user,
            unit=unit,
            mode="valid_only",
        )
        rows[1]["address"] = "二格新2号之一"
        result = imports.apply(
            write_xlsx(tmp_path / "2.xlsx", HOUSEHOLDS, rows),
            HOUSEHOLDS,
            user=user,
            unit=unit,
            mode="valid_only",
        )
        assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
        changed = Household.objects.get(number="N-2")
        assert changed.address == "二格新2号之一"
        entry = history_for(changed).first()
        assert entry.action == ChangeAction.UPDATE and entry.changes == {
            "address": ["二格新2号", "二格新2号之一"]
        }
        assert history_for(Household.objects.get(number="N-1")).count() == 1

    def test_a_new_grid_is_a_move_and_a_resident_keyed_on_id_moves_household(self, ledger, county, tmp_path):
        user, unit = county.users.village_a, county.village_a
        zhang = ledger.residents.zhang
        rows = [
            {
                "number": "A11-1",
                "grid": county.cell_a12.code,
                "address": "一格1号",
                "lng": 108.01,
                "lat": 31.05,
            }
        ]
        result = imports.apply(
            write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, rows),
            HOUSEHOLDS,
            user=user,
            unit=unit,
            mode="valid_only",
        )
        assert result.updated == 1
        assert history_for(ledger.households.a11_1).first().action == ChangeAction.MOVE
        rows = [
            {
                "id_number": zhang.id_number,
                "household": "A12-1",
                "name": "张伟",
                "phone": "13800001234",
                "relation": "head",
            }
        ]
        result = imports.apply(
            write_xlsx(tmp_path / "r.xlsx", RESIDENTS, rows),
            RESIDENTS,
            user=user,
            unit=unit,
            mode="valid_only",
        )
        assert result.updated == 1 and result.created == 0
        zhang.refresh_from_db()
        assert zhang.household == ledger.households.a12_1
        assert history_for(zhang).first().action == ChangeAction.MOVE

    def test_a_household_kept_by_another_village_is_read_only(self, ledger, county, tmp_path):
        """B1-1 lives in 乙一村 and is registered in 一格: 甲一村 reads it, may re-import it unchanged, and
        may not change it: the grid where it lives keeps it."""
        user, unit = county.users.village_a, county.village_a
        rows = [
            {
                "number": "B1-1",
                "grid": county.grid_b1.code,
                "registered_grid": county.cell_a11.code,
                "address": "乙一村1号",
            }
        ]
        path = write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, rows)
        result = imports.apply(path, HOUSEHOLDS, user=user, unit=unit, mode="all_or_nothing")
        assert result.ok and result.unchanged == 1
        for change in ({"notes": "核实"}, {"grid": county.cell_a11.code}, {"registered_grid": "清空"}):
            changed = [{**rows[0], **change}]
            path = write_xlsx(tmp_path / "h2.xlsx", HOUSEHOLDS, changed)
            result = imports.apply(path, HOUSEHOLDS, user=user, unit=unit, mode="valid_only")
            assert triples(result) == [(2, "户编号", "kept_elsewhere")], change
            assert result.errors[0]["rule"] == "该记录由其居住地网格维护：您可以查看，但不能修改。"
        household = Household.objects.get(number="B1-1")
        assert (household.grid, household.registered_grid, household.notes) == (
            county.grid_b1,
            county.cell_a11,
            "",
        )
        assert history_for(household).count() == 1  # its creation only

    def test_places_and_organisations_are_keyed_on_unit_type_and_name(self, ledger, county, tmp_path):
        user, unit = county.users.village_a, county.village_a
        rows = [
            {
                "unit": county.village_a.code,
                "kind": choice_label(PlaceKind, PlaceKind.SERVICE_STATION),
                "name": "甲一村党群服务站",
                "contact_phone": "023-12345678",
                "lng": 108.03,
                "lat": 31.05,
            },
            {"unit": county.cell_a11.code, "kind": "shop", "name": "一格小卖部"},
            {"unit": county.village_b.code, "kind": "shop", "name": "乙村店"},
        ]
        result = imports.apply(
            write_xlsx(tmp_path / "p.xlsx", ImportKind.PLACES, rows),
            ImportKind.PLACES,
            user=user,
            unit=unit,
            mode="valid_only",
        )
        assert triples(result) == [(4, "单位编码", "unknown_unit")]
        # The station's row leaves its contact person empty: kept, and the rest is as on record.
        assert (result.created, result.updated, result.unchanged) == (1, 0, 1)
        station = Place.objects.get(name="甲一村党群服务站")
        assert (station.contact_name, station.contact_phone) == ("周站长", "02312345678")
        assert Place.objects.filter(name="一格小卖部", unit=county.cell_a11).exists()
        rows = [
            {
                "unit": county.village_a.code,
                "kind": choice_label(OrganisationKind, OrganisationKind.VOLUNTEERS),
                "name": "志愿队",
                "member_count": "12",
            }
        ]
        result = imports.apply(
            write_csv(tmp_path / "o.csv", ImportKind.ORGANISATIONS, rows),
            ImportKind.ORGANISATIONS,
            user=user,
            unit=unit,
            mode="valid_only",
        )
        assert result.created == 1 and Organisation.objects.get(name="志愿队").member_count == 12

    def test_no_plaintext_id_number_reaches_the_database(self, ledger, county, tmp_path):
        first17 = "50022919990202456"
        plain = first17 + id_check_code(first17)
        rows = [{"id_number": plain, "household": "A11-2", "name": "密文", "phone": "13512345678"}]
        result = imports.apply(
            write_xlsx(tmp_path / "r.xlsx", RESIDENTS, rows),
            RESIDENTS,
            user=county.users.village_a,
            unit=county.village_a,
            mode="all_or_nothing",
        )
        assert result.created == 1
        resident = Resident.objects.get(name="密文")
        with connection.cursor() as cursor:
            cursor.execute("SELECT id_number, phone FROM ledger_resident WHERE id = %s", [resident.pk])
            raw_id, raw_phone = cursor.fetchone()
            cursor.execute("SELECT changes FROM core_changelog")
            logs = " ".join(str(row[0]) for row in cursor.fetchall())
        assert plain not in raw_id and "13512345678" not in raw_phone
        assert plain not in logs and "13512345678" not in logs
        name = connection.settings_dict["NAME"]
        if connection.vendor == "sqlite" and name and Path(str(name)).is_file():
            connection.close()
            for suffix in ("", "-wal"):
                db_file = Path(f"{name}{suffix}")
                if db_file.is_file():
                    assert plain.encode() not in db_file.read_bytes()

    def test_a_masked_number_stands_for_the_number_on_record(self, ledger, county, tmp_path):
        zhang = ledger.residents.zhang
        rows = [
            {
                "id_number": mask_id_number(zhang.id_number),
                "household": "A11-1",
                "name": "张伟",
                "phone": mask_phone(zhang.phone),
                "relation": "head",
            }
        ]
        result = imports.check(
            write_xlsx(tmp_path / "r.xlsx", RESIDENTS, rows),
            RESIDENTS,
            user=county.users.village_a,
            unit=county.village_a,
        )
        assert result.ok and result.unchanged == 1
        rows[0]["name"] = "李娜"  # her number has another mask
        result = imports.check(
            write_xlsx(tmp_path / "r2.xlsx", RESIDENTS, rows),
            RESIDENTS,
            user=county.users.village_a,
            unit=county.village_a,
        )
        assert ("身份证号", "masked") in [(e["column"], e["code"]) for e in result.errors]


# --- the pages ----------------------------------------------------------------------------------------


def upload(client, path, kind, unit=None, **extra):
    data = {"kind": kind, "file": SimpleUploadedFile(Path(path).name, Path(path).read_bytes())}
    if unit is not None:
        data["unit"] = unit.pk
    return client.post(reverse("ledger:import"), {**data, **extra})


class TestPages:
    def test_upload_report_and_apply(self, ledger, county, login, tmp_path, media_root):
        client = login(county.users.village_a)
        page = client.get(reverse("ledger:import"))
        assert page.status_code == 200
        rows = [*good_households(county), {"number": "N-9", "grid": county.grid_b1.code, "address": "x"}]
        response = upload(client, write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, rows), HOUSEHOLDS)
        run = ImportRun.objects.get()
        assert response.status_code == 302 and response.url == reverse("ledger:import_run", args=[run.pk])
        report = client.get(response.url)
        text = report.content.decode()
        assert report.status_code == 200 and "居住网格编码" in text and 'data-row="5"' in text
        response = client.post(reverse("ledger:import_apply", args=[run.pk]), {"mode": "valid_only"})
        assert response.status_code == 302
        run.refresh_from_db()
        assert run.status == ImportStatus.APPLIED and run.created_count == 3
        page = client.get(response.url)
        assert 'data-count="created">3<' in page.content.decode()
        assert (
            client.get(reverse("ledger:import"))
            .content.decode()
            .count(f'href="{reverse("ledger:import_run", args=[run.pk])}"')
            == 1
        )

    def test_the_report_is_not_found_for_another_village(self, ledger, county, login, tmp_path, media_root):
        client = login(county.users.village_a)
        upload(client, write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, good_households(county)), HOUSEHOLDS)
        run = ImportRun.objects.get()
        other = login(county.users.village_b)
        assert other.get(reverse("ledger:import_run", args=[run.pk])).status_code == 404
        assert (
            other.post(reverse("ledger:import_apply", args=[run.pk]), {"mode": "valid_only"}).status_code
            == 404
        )
        assert f'data-run="{run.pk}"' not in other.get(reverse("ledger:import")).content.decode()
        assert (
            f'data-run="{run.pk}"'
            in login(county.users.village_a).get(reverse("ledger:import")).content.decode()
        )
        assert not Household.objects.filter(number__startswith="N-").exists()

    def test_bad_uploads_are_refused_with_a_message(self, county, login, tmp_path, media_root, settings):
        client = login(county.users.village_a)
        text_file = tmp_path / "h.txt"
        text_file.write_text("x")
        response = upload(client, text_file, HOUSEHOLDS)
        assert response.status_code == 200 and not ImportRun.objects.exists()
        assert ".xlsx" in response.content.decode()
        settings.WANGGE_MAX_IMPORT_BYTES = 10
        response = upload(client, write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, []), HOUSEHOLDS)
        assert response.status_code == 200 and not ImportRun.objects.exists()
        assert not (media_root / "imports").exists() or not any((media_root / "imports").iterdir())

    def test_the_unit_is_chosen_among_the_users_posts(self, county, login, tmp_path, media_root):
        client = login(county.users.village_a)
        response = upload(
            client, write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, []), HOUSEHOLDS, unit=county.village_b
        )
        assert response.status_code == 200 and not ImportRun.objects.exists()

    def test_who_may_import(self, county, login, client, tmp_path, media_root):
        url = reverse("ledger:import")
        assert client.get(url).status_code == 302 and "login" in client.get(url).url
        assert login(county.users.outsider).get(url).status_code == 403
        assert login(county.users.department).get(url).status_code == 403
        assert login(county.users.grid_worker).get(url).status_code == 200
        for name in ("import_run", "import_apply"):
            client.logout()
            assert client.get(reverse(f"ledger:{name}", args=[1])).status_code == 302

    def test_the_report_shows_no_plaintext_id(
        self, ledger, county, outsider_resident, login, tmp_path, media_root
    ):
        client = login(county.users.village_a)
        rows = crafted_residents(county, outsider_resident)
        upload(client, write_xlsx(tmp_path / "r.xlsx", RESIDENTS, rows), RESIDENTS)
        run = ImportRun.objects.get()
        assert triples(run.errors) == CRAFTED_ERRORS
        assert outsider_resident.id_number not in json.dumps(run.errors)
        assert NEW_ID not in json.dumps(run.errors)
        page = client.get(reverse("ledger:import_run", args=[run.pk])).content.decode()
        assert outsider_resident.id_number not in page and mask_id_number(outsider_resident.id_number) in page
        assert "B1-9" not in page and 'data-row="10" data-column="身份证号" data-code="other_area"' in page


def test_csv_with_bom_and_quoted_newlines_keeps_row_numbers(county, tmp_path):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for cells in sheet_rows(
        HOUSEHOLDS,
        [
            {"number": "Q1", "grid": county.cell_a11.code, "address": "多\n行"},
            {"number": "Q2", "grid": "1", "address": "x"},
        ],
    ):
        writer.writerow(cells)
    path = tmp_path / "q.csv"
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode())
    result = imports.check(path, HOUSEHOLDS, user=county.users.village_a, unit=county.village_a)
    assert triples(result) == [(3, "居住网格编码", "unknown_grid")]


# --- special tags, re-import with numbers filled in, moving in --------------------------------------------


def check_residents(tmp_path, rows, user, unit, *, mode=None, name="r.xlsx"):
    path = write_xlsx(tmp_path / name, RESIDENTS, rows)
    if mode is None:
        return imports.check(path, RESIDENTS, user=user, unit=unit)
    return imports.apply(path, RESIDENTS, user=user, unit=unit, mode=mode)


class TestSpecialTags:
    def test_an_import_cannot_add_a_special_tag(self, ledger, county, tmp_path):
        zhang = ledger.residents.zhang
        rows = [
            {"id_number": zhang.id_number, "household": "A11-1", "name": "张伟", "tags": "低保、社区矫正"},
            {"household": "A11-1", "name": "新人", "tags": "刑满释放"},
        ]
        result = check_residents(tmp_path, rows, county.users.village_a, county.village_a)
        assert triples(result) == [(2, "关注标签", "special_tag"), (3, "关注标签", "special_tag")]
        assert "社区矫正" in result.errors[0]["rule"] and "刑满释放" in result.errors[1]["rule"]
        assert not zhang.tags.filter(code="community_correction").exists()

    def test_a_special_tag_the_person_carries_stays_whatever_the_file_says(self, ledger, county, tmp_path):
        zhang = ledger.residents.zhang
        zhang.tags.add(ledger.tags["key_person"])
        user, unit = county.users.village_a, county.village_a
        row = {"id_number": zhang.id_number, "household": "A11-1", "name": "张伟"}
        for tags, expected in (
            ("重点人员、低保", ["dibao", "key_person"]),  # named and carried already: fine
            ("残疾", ["disabled", "key_person"]),  # left out: kept
            ("清空", ["key_person"]),  # 清空 removes the ordinary tags only
        ):
            result = check_residents(tmp_path, [{**row, "tags": tags}], user, unit, mode="all_or_nothing")
            assert result.ok, result.errors
            assert sorted(zhang.tags.values_list("code", flat=True)) == expected


class TestIdNumbersFilledIn:
    def test_a_number_added_later_updates_the_person_entered_without_one(self, ledger, county, tmp_path):
        user, unit = county.users.village_a, county.village_a
        first = check_residents(
            tmp_path,
            [{"household": "A11-2", "name": "无证", "birth_date": "1988-08-08"}],
            user,
            unit,
            mode="all_or_nothing",
        )
        assert first.created == 1
        person = Resident.objects.get(name="无证")
        again = check_residents(
            tmp_path,
            [{"id_number": NEW_ID, "household": "A11-2", "name": "无证"}],
            user,
            unit,
            mode="all_or_nothing",
            name="r2.xlsx",
        )
        assert (again.created, again.updated) == (0, 1), again.errors
        assert list(Resident.objects.filter(name="无证").values_list("pk", flat=True)) == [person.pk]
        person.refresh_from_db()
        assert person.id_number == NEW_ID and person.id_number_index == blind_index("id_number", NEW_ID)

    def test_two_people_of_that_name_without_numbers_are_ambiguous(self, ledger, county, tmp_path):
        user, unit = county.users.village_a, county.village_a
        for _ in range(2):
            services.create_resident(by=user, household=ledger.households.a11_2, name="同名")
        result = check_residents(
            tmp_path, [{"id_number": NEW_ID, "household": "A11-2", "name": "同名"}], user, unit
        )
        assert triples(result) == [(2, "身份证号", "ambiguous")]

    def test_one_person_twice_in_a_file_is_refused(self, ledger, county, tmp_path):
        zhang = ledger.residents.zhang
        rows = [
            {"id_number": zhang.id_number, "household": "A11-1", "name": "张伟"},
            {"household": "A11-1", "name": "张伟"},
        ]
        result = check_residents(tmp_path, rows, county.users.village_a, county.village_a)
        assert triples(result) == [(3, "姓名", "duplicate_person")]


class TestMovingIn:
    def test_a_person_moved_out_of_another_area_moves_in_with_their_history(
        self, ledger, county, outsider_resident, tmp_path
    ):
        services.set_resident_status(outsider_resident, "moved_out", by=county.users.sysadmin)
        tag = ledger.tags["veteran"]
        outsider_resident.tags.add(tag)
        user, unit = county.users.village_a, county.village_a
        row = {"id_number": outsider_resident.id_number, "household": "A11-2", "name": "钱外村"}
        result = check_residents(tmp_path, [row], user, unit, mode="all_or_nothing")
        assert result.ok and (result.created, result.updated) == (0, 1), result.errors
        person = Resident.objects.get(pk=outsider_resident.pk)
        assert person.household == ledger.households.a11_2
        assert person.status == "present" and person.status_date is not None
        assert list(person.tags.values_list("code", flat=True)) == ["veteran"]  # an empty cell keeps them
        entry = history_for(person).first()
        assert entry.action == ChangeAction.MOVE and entry.user == user
        assert entry.changes["note"] == "从其他户迁入"
        assert entry.changes["household_id"] == [outsider_resident.household_id, ledger.households.a11_2.pk]
        assert Resident.objects.filter(name="钱外村").count() == 1

    def test_a_person_seen_here_who_moved_out_elsewhere_moves_in_too(self, ledger, county, tmp_path):
        """孙丽 lived in B1-1 (乙一村), registered in 一格: 甲一村 read her; once she moved out, 甲一村 takes
        her in; her own household's row still only reads."""
        sun = services.set_resident_status(ledger.residents.sun, "moved_out", by=county.users.sysadmin)
        user, unit = county.users.village_a, county.village_a
        row = {"id_number": sun.id_number, "household": "B1-1", "name": "孙丽", "status": "迁出"}
        assert check_residents(tmp_path, [row], user, unit).unchanged == 1
        row.update(household="A11-2", status="")
        result = check_residents(tmp_path, [row], user, unit, mode="all_or_nothing", name="r2.xlsx")
        assert result.ok and result.updated == 1, result.errors
        sun.refresh_from_db()
        assert (sun.household, sun.status) == (ledger.households.a11_2, "present")

    def test_moving_in_puts_the_person_on_the_register(self, ledger, county, outsider_resident, tmp_path):
        services.set_resident_status(outsider_resident, "moved_out", by=county.users.sysadmin)
        row = {
            "id_number": outsider_resident.id_number,
            "household": "A11-2",
            "name": "钱外村",
            "status": "迁出",
        }
        result = check_residents(tmp_path, [row], county.users.village_a, county.village_a)
        assert triples(result) == [(2, "状态", "transfer_status")]

    def test_a_deceased_person_elsewhere_is_an_error(self, ledger, county, outsider_resident, tmp_path):
        services.set_resident_status(outsider_resident, "deceased", by=county.users.sysadmin)
        row = {"id_number": outsider_resident.id_number, "household": "A11-2", "name": "钱外村"}
        result = check_residents(tmp_path, [row], county.users.village_a, county.village_a)
        assert triples(result) == [(2, "身份证号", "deceased")]
        assert result.errors[0]["rule"] == "该身份证号码对应的人员已登记为死亡。"

    def test_a_person_on_a_register_elsewhere_is_registered_in_another_area(
        self, ledger, county, outsider_resident, tmp_path
    ):
        row = {"id_number": outsider_resident.id_number, "household": "A11-2", "name": "钱外村"}
        result = check_residents(tmp_path, [row], county.users.village_a, county.village_a)
        assert triples(result) == [(2, "身份证号", "other_area")]
        assert result.errors[0]["rule"] == "该身份证号码已在其他辖区登记，请向上级咨询。"


# --- who may write what -------------------------------------------------------------------------------


class TestWhatAnImportMayWrite:
    def test_a_resident_cannot_be_added_to_a_household_kept_elsewhere(self, ledger, county, tmp_path):
        """B1-1 is registered in 一格, so 甲一村 reads it; it lives in 乙一村, which keeps it."""
        rows = [{"household": "B1-1", "name": "新来", "id_number": NEW_ID}]
        result = check_residents(tmp_path, rows, county.users.village_a, county.village_a)
        assert triples(result) == [(2, "户编号", "kept_elsewhere")]
        assert result.errors[0]["rule"] == "该记录由其居住地网格维护：您可以查看，但不能修改。"

    def test_a_person_living_elsewhere_cannot_be_moved_in(self, ledger, county, tmp_path):
        sun = ledger.residents.sun  # lives in B1-1 (乙一村), seen from 一格 through the household's 户籍
        rows = [{"id_number": sun.id_number, "household": "A11-2", "name": "孙丽"}]
        result = check_residents(tmp_path, rows, county.users.village_a, county.village_a)
        assert triples(result) == [(2, "户编号", "kept_elsewhere")]
        sun.refresh_from_db()
        assert sun.household == ledger.households.b1_1

    def test_a_registration_grid_may_lie_in_another_village(self, ledger, county, tmp_path):
        user, unit = county.users.village_a, county.village_a
        households = [
            {
                "number": "R-1",
                "grid": county.cell_a11.code,
                "registered_grid": county.grid_b1.code,
                "address": "x",
            }
        ]
        path = write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, households)
        result = imports.apply(path, HOUSEHOLDS, user=user, unit=unit, mode="all_or_nothing")
        assert result.ok, result.errors
        assert Household.objects.get(number="R-1").registered_grid == county.grid_b1
        rows = [{"household": "A11-2", "name": "外籍", "registered_grid": county.grid_a2_only.code}]
        result = check_residents(tmp_path, rows, user, unit, mode="all_or_nothing")
        assert result.ok, result.errors
        assert Resident.objects.get(name="外籍").registered_grid == county.grid_a2_only
        rows = [{"household": "A11-2", "name": "无格", "registered_grid": county.village_b.code}]
        result = check_residents(tmp_path, rows, user, unit, name="r2.xlsx")
        assert triples(result) == [(2, "户籍网格编码", "not_a_grid")]

    def test_imports_follow_the_post_that_grants_managing_the_ledgers(self, ledger, county, tmp_path):
        """A county command post reads the county; a grid post keeps one cell: imports go there only."""
        from wangge.core.testing import make_user
        from wangge.people.roles import Role

        user = make_user(
            "mixed", (county.county, Role.COUNTY_COMMAND), (county.cell_a11, Role.GRID_WORKER_FULL_TIME)
        )
        assert imports.importing_units(user) == [county.cell_a11]
        path = write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, [])
        with pytest.raises(PermissionDenied):
            imports.check(path, HOUSEHOLDS, user=user, unit=county.county)
        rows = [{"number": "M-1", "grid": county.cell_a12.code, "address": "x"}]
        result = imports.check(
            write_xlsx(tmp_path / "h2.xlsx", HOUSEHOLDS, rows), HOUSEHOLDS, user=user, unit=county.cell_a11
        )
        assert triples(result) == [(2, "居住网格编码", "unknown_grid")]


# --- cells --------------------------------------------------------------------------------------------


class TestCells:
    def test_numbers_excel_stored_as_numbers_are_refused_when_digits_were_lost(
        self, ledger, county, tmp_path
    ):
        rows = [
            {"id_number": 500229197001011111, "household": "A11-1", "name": "数字号"},  # 2: an ID as a number
            {"id_number": 5.00229197001011e17, "household": "A11-1", "name": "科学计数"},  # 3
            {"household": "A11-1", "name": "座机", "phone": 2312345678},  # 4: the landline's 0 is gone
            {"household": "A11-1", "name": "手机", "phone": 13800009999},  # 5: a mobile number is exact
            {"household": "A11-1", "name": "文本", "id_number": "5.00229E+17"},  # 6: what a CSV holds
        ]
        path = write_xlsx(tmp_path / "r.xlsx", RESIDENTS, rows)
        result = imports.check(path, RESIDENTS, user=county.users.village_a, unit=county.village_a)
        assert triples(result) == [
            (2, "身份证号", "number_cell"),
            (3, "身份证号", "number_cell"),
            (4, "联系电话", "number_cell"),
            (6, "身份证号", "number_cell"),
        ]
        dumped = json.dumps(result.errors)
        assert "500229197001011111" not in dumped and "5002291970010" not in dumped
        households = [
            {"number": 12345, "grid": county.cell_a11.code, "address": "数字户号"},  # exact: converted
            {"number": 1.5e15, "grid": county.cell_a11.code, "address": "太长"},
            {"number": "G-1", "grid": int(county.cell_a11.code), "address": "长编码"},
        ]
        path = write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, households)
        result = imports.apply(
            path, HOUSEHOLDS, user=county.users.village_a, unit=county.village_a, mode="valid_only"
        )
        assert len(county.cell_a11.code) > 15  # more digits than Excel keeps
        assert triples(result) == [(3, "户编号", "number_cell"), (4, "居住网格编码", "number_cell")]
        assert Household.objects.get(number="12345").grid == county.cell_a11
        places = [{"unit": int(county.village_a.code), "kind": "shop", "name": "数字编码店"}]
        path = write_xlsx(tmp_path / "p.xlsx", ImportKind.PLACES, places)
        result = imports.apply(
            path, ImportKind.PLACES, user=county.users.village_a, unit=county.village_a, mode="valid_only"
        )
        assert result.ok and Place.objects.get(name="数字编码店").unit == county.village_a

    def test_the_number_cell_rule_says_what_to_do(self):
        from wangge.ledger.columns import CellError, column_by_key

        with translation.override("en"), pytest.raises(CellError) as error:
            column_by_key(RESIDENTS, "id_number").text_of(500229197001011111)
        assert error.value.message == (
            "Excel stored this as a number and lost digits: format the column as text."
        )

    @pytest.mark.parametrize("written", ["2024/5/31 0:00", "2024-05-31 00:00:00", "2024/05/31 00:00"])
    def test_dates_with_the_time_excel_adds_in_a_csv_are_read(self, ledger, county, tmp_path, written):
        path = write_csv(
            tmp_path / "r.csv", RESIDENTS, [{"household": "A11-2", "name": "日期", "birth_date": written}]
        )
        result = imports.apply(
            path, RESIDENTS, user=county.users.village_a, unit=county.village_a, mode="all_or_nothing"
        )
        assert result.ok, result.errors
        assert str(Resident.objects.get(name="日期").birth_date) == "2024-05-31"

    def test_a_15_digit_id_number_has_its_own_message(self, ledger, county, tmp_path):
        rows = [{"household": "A11-2", "name": "旧证", "id_number": "500229700101111"}]
        with translation.override("en"):
            result = check_residents(tmp_path, rows, county.users.village_a, county.village_a)
        assert triples(result) == [(2, "身份证号", "legacy_id")]
        assert result.errors[0]["rule"] == "A 15-digit ID from before 1999: give the 18-digit number."
        assert "500229700101111" not in json.dumps(result.errors)

    def test_household_numbers_are_letters_digits_dash_and_underscore(self, ledger, county, tmp_path):
        rows = [
            {"number": "A/1", "grid": county.cell_a11.code, "address": "x"},
            {"number": "A 1", "grid": county.cell_a11.code, "address": "x"},
            {"number": "A_1-2", "grid": county.cell_a11.code, "address": "x"},
        ]
        path = write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, rows)
        result = imports.check(path, HOUSEHOLDS, user=county.users.village_a, unit=county.village_a)
        assert triples(result) == [(2, "户编号", "number_format"), (3, "户编号", "number_format")]
        assert result.errors[0]["rule"] == "户编号只能由字母、数字、“-”和“_”组成。"
        assert result.created == 1
        residents = check_residents(
            tmp_path, [{"household": "A11/1", "name": "斜杠"}], county.users.village_a, county.village_a
        )
        assert triples(residents) == [(2, "户编号", "number_format")]

    def test_an_apostrophe_before_a_formula_is_taken_off(self, ledger, county, tmp_path):
        rows = [{"household": "A11-2", "name": "公式", "notes": "'=1+1", "occupation": "'-x"}]
        result = check_residents(
            tmp_path, rows, county.users.village_a, county.village_a, mode="all_or_nothing"
        )
        assert result.ok
        person = Resident.objects.get(name="公式")
        assert (person.notes, person.occupation) == ("=1+1", "-x")


class TestEmptyCells:
    def test_an_empty_cell_keeps_the_value_and_the_word_clear_removes_it(self, ledger, county, tmp_path):
        user, unit = county.users.village_a, county.village_a
        zhang, child = ledger.residents.zhang, ledger.residents.child
        rows = [
            {"id_number": zhang.id_number, "household": "A11-1", "name": "张伟", "occupation": "木匠"},
            {"id_number": child.id_number, "household": "A11-1", "name": "张小明"},
        ]
        result = check_residents(tmp_path, rows, user, unit, mode="all_or_nothing")
        assert (result.updated, result.unchanged) == (1, 1), result.errors
        zhang.refresh_from_db()
        assert (zhang.occupation, zhang.phone, zhang.relation) == ("木匠", "13800001234", Relation.HEAD)
        assert sorted(child.tags.values_list("code", flat=True)) == ["dibao", "left_behind_child"]
        rows = [
            {"id_number": zhang.id_number, "household": "A11-1", "name": "张伟", "phone": "清空"},
            {"id_number": child.id_number, "household": "A11-1", "name": "张小明", "tags": "清空"},
        ]
        result = check_residents(tmp_path, rows, user, unit, mode="all_or_nothing", name="r2.xlsx")
        assert result.updated == 2, result.errors
        zhang.refresh_from_db()
        assert (zhang.phone, zhang.phone_index, zhang.occupation) == ("", "", "木匠")
        assert not child.tags.exists()

    def test_a_partial_household_sheet_changes_only_its_cells(self, ledger, county, tmp_path):
        user, unit = county.users.village_a, county.village_a
        rows = [{"number": "A11-2", "grid": county.cell_a11.code, "address": "一格2号", "door_number": "2"}]
        path = write_xlsx(tmp_path / "h.xlsx", HOUSEHOLDS, rows)
        result = imports.apply(path, HOUSEHOLDS, user=user, unit=unit, mode="all_or_nothing")
        assert result.updated == 1, result.errors
        household = Household.objects.get(number="A11-2")
        assert household.is_rental and household.landlord_name == "王房东"
        assert household.landlord_phone == "13900001111" and household.door_number == "2"
        rows[0].update(is_rental="否", landlord_name="清空", landlord_phone="清空")
        path = write_xlsx(tmp_path / "h2.xlsx", HOUSEHOLDS, rows)
        result = imports.apply(path, HOUSEHOLDS, user=user, unit=unit, mode="all_or_nothing")
        assert result.updated == 1, result.errors
        household.refresh_from_db()
        assert (household.is_rental, household.landlord_name, household.landlord_phone) == (False, "", "")

    def test_clear_in_a_required_cell_is_an_empty_required_cell(self, ledger, county, tmp_path):
        rows = [{"household": "A11-2", "name": "清空"}]
        result = check_residents(tmp_path, rows, county.users.village_a, county.village_a)
        assert triples(result) == [(2, "姓名", "required")]


class TestReportMasks:
    def test_an_id_number_in_a_phone_column_gets_the_id_mask(self, ledger, county, tmp_path):
        first17 = "50022919700101111"
        plain = first17 + id_check_code(first17)
        rows = [
            {"household": "A11-2", "name": "错列", "phone": plain},
            {"household": "A11-2", "name": "长号", "phone": "13800001234567"},
        ]
        result = check_residents(tmp_path, rows, county.users.village_a, county.village_a)
        assert [e["value"] for e in result.errors] == [mask_id_number(plain), "138*******4567"]
        assert result.errors[0]["value"] == plain[:4] + "********" + plain[-4:]
        assert "1970" not in json.dumps(result.errors)
