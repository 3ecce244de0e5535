"""The background worker's loop: run each configured sweep, sleep, repeat (DESIGN: `wangge worker`).

Sweeps are listed in settings.WANGGE_WORKER_SWEEPS as dotted paths to callables taking `now`. Each
claims its rows with conditional UPDATEs, so several workers against one PostgreSQL never do a job
twice; one failing sweep is logged and does not stop the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.module_loading import import_string

log = logging.getLogger("wangge.worker")


def configured_sweeps() -> list[tuple[str, Callable]]:
    return [(path, import_string(path)) for path in settings.WANGGE_WORKER_SWEEPS]


def run_once(now: datetime | None = None) -> dict[str, object]:
    """Run every sweep once; returns each sweep's result, or the exception it raised."""
    now = now or timezone.now()
    results: dict[str, object] = {}
    for path, sweep in configured_sweeps():
        try:
            results[path] = sweep(now)
        except Exception as exc:  # one broken sweep must not stop deadlines elsewhere
            log.exception("sweep %s failed", path)
            results[path] = exc
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA optimize")
    return results


def run_forever(interval: float, stop: threading.Event) -> None:
    while not stop.is_set():
        close_old_connections()
        results = run_once()
        log.info("worker pass: %s", {path: str(result) for path, result in results.items()})
        stop.wait(interval)
