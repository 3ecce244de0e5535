from django.db import models
from django.utils.translation import gettext_lazy as _


class Subject(models.TextChoices):
    """Who a scorecard is about. A grid is any 三级 or 四级 grid; ranking keeps each level apart."""

    WORKER = "worker", _("Grid worker")
    GRID = "grid", _("Grid")
    VILLAGE = "village", _("Village/community")
    TOWNSHIP = "township", _("Township/street")
    COUNTY = "county", _("County")


# The unit rank (UnitLevel.rank) of each unit subject; grids are every rank below the village.
SUBJECT_RANKS = {Subject.COUNTY: (1,), Subject.TOWNSHIP: (2,), Subject.VILLAGE: (3,), Subject.GRID: (4, 5)}


class ScorePeriod(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")
