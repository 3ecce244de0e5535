from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleKind(models.TextChoices):
    """What a points rule rewards: a good deed, a deduction (道德银行 扣分), or a title given by selection."""

    DEED = "deed", _("Good deed (加分)")
    DEDUCTION = "deduction", _("Deduction (扣分)")
    TITLE = "title", _("Title by selection (评选)")


class SelectionPeriod(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")


class EntryKind(models.TextChoices):
    """One movement of a point book (积分存折)."""

    AWARD = "award", _("Award")
    DEDUCTION = "deduction", _("Deduction")
    REDEMPTION = "redemption", _("Redemption")
    ADJUSTMENT = "adjustment", _("Adjustment")
    REVERSAL = "reversal", _("Reversal")
