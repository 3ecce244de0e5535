"""The worker's sweeps over case deadlines (CASE-7, COMM-2).

Each case is claimed by a conditional UPDATE (on its version and on the mark the sweep sets), so two
workers running the same sweep at once never act on a case twice, and running a sweep again over the
same moment changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.notices.models import NotificationKind
from wangge.notices.services import nearest_staff
from wangge.people.roles import Capability

from . import services
from .choices import OPEN_STATES, URGE_ORDER, CaseState, UrgeLevel
from .models import Case

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    escalated: list[int] = field(default_factory=list)
    urged: list[int] = field(default_factory=list)
    warned: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def __str__(self):
        text = f"escalated={len(self.escalated)} urged={len(self.urged)} warned={len(self.warned)}"
        return text + (f" failed={len(self.failed)}" if self.failed else "")


def _claim(pk: int, version: int, now: datetime, **marks_null) -> bool:
    """Take one case for this sweep: true only for the one caller whose UPDATE changed the row."""
    mark = next(iter(marks_null))
    return bool(
        Case.objects.filter(pk=pk, version=version, **{f"{mark}__isnull": True}).update(
            **{mark: now}, version=F("version") + 1
        )
    )


def sweep_overdue(now: datetime | None = None, batch_size: int = 500) -> SweepResult:
    """Cases past their stage deadline: a case still in a unit's queue goes up one level; a case in a
    handler's hands gets an automatic yellow card (red when it already had one); both notify."""
    now = now or timezone.now()
    result = SweepResult()
    while True:
        batch = list(
            Case.objects.filter(state__in=OPEN_STATES, stage_due_at__lt=now, overdue_at__isnull=True)
            .exclude(pk__in=result.failed)
            .order_by("stage_due_at", "pk")
            .values_list("pk", "version", "state")[:batch_size]
        )
        if not batch:
            return result
        for pk, version, state in batch:
            try:
                _act_on_overdue(pk, version, state, now, result)
            except Exception:  # one case that cannot be moved must not stop the sweep for all others
                log.exception("overdue sweep: case %s could not be handled", pk)
                result.failed.append(pk)
        if len(batch) < batch_size:
            return result


def _act_on_overdue(pk: int, version: int, state: str, now: datetime, result: SweepResult) -> None:
    with transaction.atomic():
        if not _claim(pk, version, now, overdue_at=None):
            return  # another worker took it, or the case moved on
        case = Case.objects.select_related("owner_unit").get(pk=pk)
        if state == CaseState.REGISTERED and case.owner_unit.depth > 1:
            services.escalate(
                case, by=None, system=True, now=now, reason=_("Deadline passed: escalated automatically.")
            )
            result.escalated.append(pk)
            return
        # In a handler's hands, at the top level, or still to be verified: a card, and the level above hears.
        level = (
            UrgeLevel.RED if URGE_ORDER[case.urge_level] >= URGE_ORDER[UrgeLevel.YELLOW] else UrgeLevel.YELLOW
        )
        due = timezone.localtime(case.stage_due_at).strftime("%Y-%m-%d %H:%M")
        services.urge(
            case,
            by=None,
            system=True,
            level=level,
            now=now,
            note=_("Deadline %(due)s passed.") % {"due": due},
        )
        parent = case.owner_unit.parent_unit()
        supervisors = nearest_staff(parent, Capability.SUPERVISE_CASES) if parent else []
        services.notify_case(supervisors, NotificationKind.OVERDUE, case)
        result.urged.append(pk)


def sweep_due_soon(now: datetime | None = None, batch_size: int = 500) -> SweepResult:
    """Tell whoever must act that a stage deadline is within the due-soon span (临期), once per stage."""
    now = now or timezone.now()
    threshold = services.due_soon_threshold(now)
    result = SweepResult()
    rows = list(
        Case.objects.filter(
            state__in=OPEN_STATES,
            stage_due_at__gte=now,
            stage_due_at__lte=threshold,
            due_soon_notified_at__isnull=True,
        ).values_list("pk", "stage_due_at")[: batch_size * 20]
    )
    for pk, stage_due_at in rows:
        with transaction.atomic():
            # Claimed on the deadline it warns about, without a new version: a reminder changes nothing a
            # user with the case open would need to reload for.
            claimed = Case.objects.filter(
                pk=pk, stage_due_at=stage_due_at, due_soon_notified_at__isnull=True
            ).update(due_soon_notified_at=now)
            if not claimed:
                continue
            case = Case.objects.select_related("owner_unit", "lead_assignment", "dispatched_from").get(pk=pk)
            services.notify_case(services.responsible_staff(case), NotificationKind.DUE_SOON, case)
            result.warned.append(pk)
    return result


def run_all(now: datetime | None = None) -> dict[str, SweepResult]:
    now = now or timezone.now()
    results = {"overdue": sweep_overdue(now), "due_soon": sweep_due_soon(now)}
    log.info("sweeps at %s: %s", now.isoformat(), {k: str(v) for k, v in results.items()})
    return results
