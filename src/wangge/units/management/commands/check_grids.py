"""`wangge check-grids [UNIT_CODE]`: report every fault of the grid net (GRID-3, GRID-4, GRID-5).

Exits with status 1 when anything is found, so a deployment script or CI job can gate on a clean net,
and with status 2 when it could not check (an unknown code, a bad option), the way argparse does.
"""

from __future__ import annotations

import argparse
import datetime
import json
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wangge.units.checks import ViolationKind, check_subtree
from wangge.units.models import Unit


def _iso_date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            _("%(value)s is not a date of the form YYYY-MM-DD.") % {"value": value}
        ) from exc


def _square_metres(value: str) -> float:
    try:
        tolerance = float(value)
    except ValueError:
        tolerance = -1.0
    if not tolerance >= 0:  # also refuses NaN
        raise argparse.ArgumentTypeError(
            _("%(value)s is not an area in square metres (a number, 0 or more).") % {"value": value}
        )
    return tolerance


class Command(BaseCommand):
    help = (
        "Check the grid net under a unit (every top-level unit when no code is given): boundaries outside "
        "their parent, overlapping siblings, uncovered areas, households in no grid or two grids, "
        "households outside their grid, grids outside their household standard, codes breaking the rule."
    )

    def add_arguments(self, parser):
        parser.add_argument("unit_code", nargs="?", help="Code of the unit whose subtree to check.")
        parser.add_argument(
            "--date", type=_iso_date, help="Check the units in force on this day (default: today)."
        )
        parser.add_argument(
            "--tolerance",
            type=_square_metres,
            help="Ignore overlaps, gaps and overhangs up to this many m² (default: the setting).",
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, unit_code=None, date=None, tolerance=None, **options):
        on = date or timezone.localdate()
        roots = self._roots(unit_code, on)
        checked = [(root, check_subtree(root, on=on, tolerance_m2=tolerance)) for root in roots]
        violations = [v for _root, found in checked for v in found]
        if options["format"] == "json":
            self.stdout.write(json.dumps([v.as_dict() for v in violations], ensure_ascii=False, indent=2))
        else:
            self._write_text(checked, on)
        if violations:
            raise SystemExit(1)

    def _roots(self, unit_code: str | None, on: datetime.date) -> list[Unit]:
        if unit_code:
            try:
                return [Unit.objects.get(code=unit_code)]
            except Unit.DoesNotExist:
                raise CommandError(
                    _("No unit has the code %(code)s.") % {"code": unit_code}, returncode=2
                ) from None
        roots = list(Unit.objects.current(on).filter(depth=1))
        if not roots:
            raise CommandError(
                _("There are no units in force on %(date)s.") % {"date": on.isoformat()}, returncode=2
            )
        return roots

    def _write_text(self, checked, on: datetime.date) -> None:
        for root, found in checked:
            self.stdout.write(
                self.style.MIGRATE_HEADING(
                    _("Checking %(unit)s as of %(date)s") % {"unit": root, "date": on.isoformat()}
                )
            )
            for v in found:
                self.stdout.write(f"  [{v.kind_label}] {v.unit_code} {v.unit_name}: {v.message}")
        by_kind = Counter(v.kind for _root, found in checked for v in found)
        total = sum(by_kind.values())
        if not total:
            self.stdout.write(self.style.SUCCESS(_("No violations found.")))
            return
        self.stdout.write(
            self.style.ERROR(
                ngettext("%(count)d violation found:", "%(count)d violations found:", total)
                % {"count": total}
            )
        )
        for kind in ViolationKind:
            if by_kind[kind]:
                self.stdout.write(f"  {kind.label}: {by_kind[kind]}")
