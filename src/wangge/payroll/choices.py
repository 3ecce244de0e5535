"""The vocabularies of pay and subsidies (TEAM-7). Stored values are English; labels are translated."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PayKind(models.TextChoices):
    """What a post type's monthly amount is called: full-time staff earn a salary, part-time staff (村民小组长
    and other 兼职 workers, seed 001) a lost-time allowance from their township or village."""

    SALARY = "salary", _("Base salary (基础工资)")
    LOST_TIME = "lost_time", _("Lost-time allowance (误工补贴)")


class AllowanceKind(models.TextChoices):
    """The work a per-case allowance (以案定补, seed 003) pays for."""

    FOUND = "found", _("Case found and registered")
    IN_PLACE = "in_place", _("Case resolved in the grid (小事不出网格)")
    MEDIATED = "mediated", _("Dispute mediated")


class SheetStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    FINAL = "final", _("Finalised")
