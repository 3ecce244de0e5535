"""Uploaded ledger files hold personal data in clear: one that is never imported does not stay."""

import datetime

import pytest
from django.utils import timezone

from wangge.core.worker import run_once
from wangge.ledger.models import ImportKind, ImportRun, ImportStatus
from wangge.ledger.sweeps import discard_stale_uploads

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploads(settings, tmp_path, county):
    settings.MEDIA_ROOT = tmp_path
    settings.WANGGE_IMPORT_KEEP_HOURS = 72
    (tmp_path / "imports").mkdir()

    def make(hours_ago, status=ImportStatus.CHECKED):
        name = f"imports/{hours_ago}-{status}.csv"
        (tmp_path / name).write_text("户编号\n")
        run = ImportRun.objects.create(
            kind=ImportKind.HOUSEHOLDS,
            unit=county.village_a,
            user=county.users.village_a,
            file_name="h.csv",
            stored_file=name,
            status=status,
        )
        ImportRun.objects.filter(pk=run.pk).update(
            created_at=timezone.now() - datetime.timedelta(hours=hours_ago)
        )
        return tmp_path / name

    return make


def test_a_checked_file_left_for_three_days_is_deleted_and_the_report_stays(uploads):
    old, fresh = uploads(73), uploads(1)
    assert discard_stale_uploads(timezone.now()) == 1
    assert not old.exists() and fresh.exists()
    run = ImportRun.objects.get(stored_file="")
    assert run.status == ImportStatus.CHECKED and run.file_name == "h.csv"


def test_the_worker_runs_it_and_a_second_pass_finds_nothing(uploads):
    old = uploads(100)
    results = run_once()
    assert results["wangge.ledger.sweeps.discard_stale_uploads"] == 1
    assert not old.exists()
    assert discard_stale_uploads(timezone.now()) == 0
