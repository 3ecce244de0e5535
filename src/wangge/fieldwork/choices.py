from django.db import models
from django.utils.translation import gettext_lazy as _


class Period(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class DutyKind(models.TextChoices):
    VISIT = "visit", _("Household visits")
    PATROL = "patrol", _("Grid patrol")


class VisitPurpose(models.TextChoices):
    """What a visit was for: the tasks seed 002's 入户走访制度 lists, and 慰问."""

    BASIC_DATA = "basic_data", _("Collect basic information")
    OPINIONS = "opinions", _("Hear residents' concerns")
    SERVICE = "service", _("Convenience service")
    HAZARDS = "hazards", _("Check for safety hazards")
    DISPUTES = "disputes", _("Resolve disputes")
    PSYCHOLOGICAL = "psychological", _("Psychological support")
    POLICY = "policy", _("Explain policies and laws")
    LIVELIHOOD = "livelihood", _("Livelihood services")
    CARE = "care", _("Care visit (慰问)")


class PublicityMethod(models.TextChoices):
    DOOR_TO_DOOR = "door_to_door", _("Door to door")
    MEETING = "meeting", _("Talk or meeting")
    POSTER = "poster", _("Poster or notice board")
    LOUDSPEAKER = "loudspeaker", _("Loudspeaker")
    ONLINE = "online", _("WeChat group or online")
