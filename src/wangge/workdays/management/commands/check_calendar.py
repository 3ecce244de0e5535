"""`wangge check-calendar [YEAR ...]`: does the working-day calendar know the national holidays?

Exits with status 1 when a year has no national data (deadlines there count weekends only), so a
deployment script or a monitoring job can gate on it, and with status 2 for a bad argument, the way
argparse does.
"""

from __future__ import annotations

import argparse
import datetime

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.workdays import calendar
from wangge.workdays.models import WorkdayOverride


def _year(value: str) -> int:
    try:
        year = int(value)
    except ValueError:
        year = 0
    if not datetime.MINYEAR <= year <= datetime.MAXYEAR:
        raise argparse.ArgumentTypeError(_("%(value)s is not a year.") % {"value": value})
    return year


class Command(BaseCommand):
    @property
    def help(self):
        # argparse needs a real string, not a lazy one; read at run time, it follows the active language.
        return _(
            "Show which years the working-day calendar has national holiday data for, and the local "
            "overrides of those years. Exits with status 1 when a year has no national data."
        )

    def add_arguments(self, parser):
        parser.add_argument(
            "years",
            nargs="*",
            type=_year,
            help=_("Years to check (default: this year and next)."),
        )

    def handle(self, *args, years=None, **options):
        this_year = timezone.localdate().year
        years = sorted(set(years or [this_year, this_year + 1]))
        missing = calendar.years_without_data(years)
        for year in years:
            if year in missing:
                self.stdout.write(
                    self.style.ERROR(
                        _("%(year)d: no national holiday data; Monday to Friday count as working days.")
                        % {"year": year}
                    )
                )
            else:
                self.stdout.write(
                    self.style.SUCCESS(_("%(year)d: national holiday data present.") % {"year": year})
                )
        overrides = WorkdayOverride.objects.filter(date__year__in=years)
        if overrides:
            self.stdout.write(self.style.MIGRATE_HEADING(_("Local overrides:")))
            for override in overrides:
                kind = _("working day") if override.is_workday else _("day off")
                self.stdout.write(f"  {override.date.isoformat()} {kind} · {override.reason}")
        else:
            self.stdout.write(_("No local overrides."))
        if missing:
            raise SystemExit(1)
