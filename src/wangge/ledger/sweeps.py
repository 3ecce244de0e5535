"""Worker sweeps of the ledgers (listed in settings.WANGGE_WORKER_SWEEPS)."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings

from .imports import stored_path
from .models import ImportRun, ImportStatus

log = logging.getLogger("wangge.ledger")


def discard_stale_uploads(now: datetime.datetime) -> int:
    """Delete uploaded ledger files that were checked but not imported within WANGGE_IMPORT_KEEP_HOURS.

    The file holds personal data in clear; the run's report (masked) stays. Each run is claimed by a
    conditional UPDATE, so two workers never both count it.
    """
    cutoff = now - datetime.timedelta(hours=settings.WANGGE_IMPORT_KEEP_HOURS)
    stale = ImportRun.objects.filter(status=ImportStatus.CHECKED, created_at__lt=cutoff).exclude(
        stored_file=""
    )
    discarded = 0
    for run in stale.only("pk", "stored_file"):
        if ImportRun.objects.filter(pk=run.pk, stored_file=run.stored_file).update(stored_file=""):
            stored_path(run).unlink(missing_ok=True)
            discarded += 1
    if discarded:
        log.info("discarded %d uploaded ledger files never imported", discarded)
    return discarded
