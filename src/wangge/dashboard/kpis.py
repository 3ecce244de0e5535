"""The command centre's KPIs (PLAT-5): each a share of two counts of `wangge.dashboard.figures`, drawn
against the target an administrator keeps in `KpiTarget` (seed 004's targets are loaded with it)."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

RATE_PLACES = Decimal("0.0001")


class Kpi(models.TextChoices):
    ON_TIME_CLOSURE = "on_time_closure", _("On-time closure rate")
    SATISFACTION = "satisfaction", _("Residents' satisfaction")
    DISPUTES_RESOLVED_LOCALLY = "disputes_resolved_locally", _("Disputes resolved at township and village")
    MEDIATION_SUCCESS = "mediation_success", _("Mediation success rate")
    MAJOR_DISPUTES_RESOLVED = "major_disputes_resolved", _("Major disputes resolved")
    ONLINE_PETITIONS = "online_petitions", _("Petitions received online")
    VISIT_COVERAGE = "visit_coverage", _("Household visit coverage")
    LOG_SUBMISSION = "log_submission", _("Work log submission rate")


# Each case KPI as (numerator, denominator), names of counts in a day's counts (see figures.py).
CASE_KPI_PARTS = {
    Kpi.ON_TIME_CLOSURE: ("due_met", "due"),
    Kpi.SATISFACTION: ("satisfied", "rated"),
    Kpi.DISPUTES_RESOLVED_LOCALLY: ("disputes_closed_locally", "disputes_closed"),
    Kpi.MEDIATION_SUCCESS: ("mediation_succeeded", "mediated"),
    Kpi.MAJOR_DISPUTES_RESOLVED: ("major_disputes_resolved", "major_disputes"),
    Kpi.ONLINE_PETITIONS: ("petitions_online", "petitions"),
}

KPI_HELP = {
    Kpi.ON_TIME_CLOSURE: _(
        "Of the cases whose original deadline fell in the period, the share closed by it."
    ),
    Kpi.SATISFACTION: _(
        "Of the closed cases the resident rated, the share satisfied or basically satisfied."
    ),
    Kpi.DISPUTES_RESOLVED_LOCALLY: _(
        "Of the disputes closed in the period, the share resolved at grid, village or township level "
        "(a failed mediation is not resolved)."
    ),
    Kpi.MEDIATION_SUCCESS: _(
        "Of the disputes closed in the period with a mediation, the share that succeeded."
    ),
    Kpi.MAJOR_DISPUTES_RESOLVED: _(
        "Of the major and grave disputes registered in the period, the share closed with the mediation not failed."
    ),
    Kpi.ONLINE_PETITIONS: _(
        "Of the petitions registered in the period, the share received online (网上信访)."
    ),
    Kpi.VISIT_COVERAGE: _(
        "Households visited in the current round of each visit rule, against the share of the round gone by."
    ),
    Kpi.LOG_SUBMISSION: _("Working days with a work log, of the working days grid workers owed one."),
}


@dataclass(frozen=True)
class KpiValue:
    kpi: str
    numerator: int | Decimal
    denominator: int | Decimal
    value: Decimal | None  # a fraction rounded half up to 4 places; None when nothing was measured
    target: Decimal | None  # a fraction, or None for no target

    @property
    def label(self):
        return Kpi(self.kpi).label

    @property
    def help(self):
        return KPI_HELP[self.kpi]

    @property
    def meets_target(self) -> bool | None:
        """Compared on the counts, not on the rounded share: 8,999 of 10,000 misses 90 %."""
        if self.value is None or self.target is None:
            return None
        return Decimal(self.numerator) >= self.target * Decimal(self.denominator)


def ratio(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def targets() -> dict[str, Decimal | None]:
    """{kpi: target as a fraction or None}, one query."""
    from .models import KpiTarget

    found = dict.fromkeys(Kpi.values)
    for kpi, percent in KpiTarget.objects.values_list("kpi", "target_percent"):
        found[kpi] = None if percent is None else (percent / 100).quantize(RATE_PLACES)
    return found
