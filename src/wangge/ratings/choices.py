"""The vocabularies of the ratings (以下看上, EVAL-3). Stored values are English; labels are translated."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Stars(models.IntegerChoices):
    """One mark on one dimension: 1 (very poor) to 5 (very good)."""

    ONE = 1, _("1 – very poor")
    TWO = 2, _("2 – poor")
    THREE = 3, _("3 – fair")
    FOUR = 4, _("4 – good")
    FIVE = 5, _("5 – very good")


# The lowest mark that counts as good in the share of 4–5 star marks.
GOOD_MARK = 4


class ProviderKind(models.TextChoices):
    """What a public service provider supplies (seed 000: 水、电、气、通讯)."""

    WATER = "water", _("Water")
    POWER = "power", _("Electricity")
    GAS = "gas", _("Gas")
    TELECOM = "telecom", _("Telecommunications")
    OTHER = "other", _("Other")


class DepartmentDimension(models.TextChoices):
    """What the grassroots rate a department on, one mark each."""

    SPEED = "speed", _("Speed")
    RESULT = "result", pgettext_lazy("rating dimension", "Result")
    ATTITUDE = "attitude", _("Attitude")


class ProviderDimension(models.TextChoices):
    """What residents rate a provider on, one mark each."""

    QUALITY = "quality", _("Service quality")
    RESPONSIVENESS = "responsiveness", _("Responsiveness")
    TRANSPARENCY = "transparency", _("Transparency of prices and charges")


class ResultPeriod(models.TextChoices):
    """The periods the results are shown for: a calendar month, quarter or year, or any date range."""

    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")
    RANGE = "range", _("Date range")
