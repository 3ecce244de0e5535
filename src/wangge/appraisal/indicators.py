"""The indicators a scorecard shows and a scheme scores, and how a scheme item turns a value into points.

Definitions (the computation is `wangge.appraisal.scorecards`; case figures are
`wangge.cases.metrics`, whose docstring defines each count):

- log_rate 日志提交率: working days with a daily log ÷ working days a grid post was held, in the period.
  A unit: summed over the holders of grid posts under it.
- visit_coverage 走访覆盖率（按进度）: for each household-visit rule that binds a post level (季遍访,
  年遍访; not the selective 慰问 rule), the households of the posts' units visited so far in the rule's
  own period, against the share of that period already gone by on the scorecard's last day (or today):
  Σ covered ÷ Σ (households × elapsed share), at most 1. On the last day of the quarter it is the
  quarter's coverage; a third of the way in, a third of the households visited counts as 100 %.
- cases_found 发现上报: registered cases the worker reported in the period; a unit: the cases registered
  in the period in its subtree that its staff found themselves, on patrol or on a household visit.
- resolved_in_place 就地化解: cases the worker handled in place in the period; a unit: its cases closed
  in the period after being handled in place in the grid (小事不出网格).
- on_time_rate 按期处置率, closure_rate 结案率, rework_rate 返工率, escalation_rate 上报率, satisfaction
  群众满意率, overdue 逾期件数: the case figures of the unit's subtree; a worker: of their posts' units.
- inspection_deductions 督查扣分: points deducted by findings of the period's inspections — of the unit's
  subtree, or naming the worker as responsible.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

POINT_PLACES = Decimal("0.01")
HUNDRED = Decimal("100")


class Indicator(models.TextChoices):
    LOG_RATE = "log_rate", _("Daily log submission rate")
    VISIT_COVERAGE = "visit_coverage", _("Visit coverage (against the calendar)")
    CASES_FOUND = "cases_found", _("Cases found and reported")
    RESOLVED_IN_PLACE = "resolved_in_place", _("Cases resolved in place")
    ON_TIME_RATE = "on_time_rate", _("On-time handling rate")
    CLOSURE_RATE = "closure_rate", _("Closure rate")
    REWORK_RATE = "rework_rate", _("Rework rate")
    ESCALATION_RATE = "escalation_rate", _("Escalation rate")
    SATISFACTION = "satisfaction", _("Residents' satisfaction")
    OVERDUE = "overdue", _("Overdue cases")
    INSPECTION_DEDUCTIONS = "inspection_deductions", _("Points deducted on inspections")


RATES = frozenset(
    {
        Indicator.LOG_RATE,
        Indicator.VISIT_COVERAGE,
        Indicator.ON_TIME_RATE,
        Indicator.CLOSURE_RATE,
        Indicator.REWORK_RATE,
        Indicator.ESCALATION_RATE,
        Indicator.SATISFACTION,
    }
)
LOWER_IS_BETTER = frozenset(
    {Indicator.REWORK_RATE, Indicator.ESCALATION_RATE, Indicator.OVERDUE, Indicator.INSPECTION_DEDUCTIONS}
)


def measure(indicator: str, value) -> Decimal | None:
    """The value in the measure targets are written in: percentage points for a rate, else itself."""
    if value is None:
        return None
    value = Decimal(value)
    return value * HUNDRED if indicator in RATES else value


def points_for(
    indicator: str, value, *, weight: Decimal, target: Decimal, deduction: Decimal | None
) -> Decimal:
    """The points one scheme item gives a value (see `SchemeItem`). A figure without a denominator (no
    case to handle, no post to log) has nothing to fault and earns full marks."""
    amount = measure(indicator, value)
    if amount is None:
        return weight
    lower = indicator in LOWER_IS_BETTER
    shortfall = max(Decimal("0"), amount - target if lower else target - amount)
    if deduction is not None:
        earned = max(Decimal("0"), weight - deduction * shortfall)
    elif lower:
        earned = weight if shortfall == 0 else Decimal("0")
    elif target == 0:
        earned = weight
    else:
        earned = weight * min(Decimal("1"), amount / target)
    return earned.quantize(POINT_PLACES, rounding=ROUND_HALF_UP)
