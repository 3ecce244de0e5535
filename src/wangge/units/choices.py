from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    DIVISION = "division", _("Administrative division")
    COMPREHENSIVE = "comprehensive", _("Comprehensive grid")
    DEDICATED = "dedicated", _("Dedicated grid")


class DedicatedType(models.TextChoices):
    """Kinds of 专属网格 named by seed 002 and the issue."""

    SCHOOL = "school", _("School")
    ENTERPRISE = "enterprise", _("Enterprise or institution")
    MARKET = "market", _("Market")
    PARK = "park", _("Park")
    OFFICE_BUILDING = "office_building", _("Large office building")
    ADMIN_CENTRE = "admin_centre", _("Administrative centre")
    STREET_FRONTAGE = "street_frontage", _("Street frontage and shops")
    HOSPITAL = "hospital", _("Hospital")


class AreaType(models.TextChoices):
    URBAN = "urban", _("Urban")
    RURAL = "rural", _("Rural")


class LineageOperation(models.TextChoices):
    SPLIT = "split", _("Split")
    MERGE = "merge", _("Merge")
