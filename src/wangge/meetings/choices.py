from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class MeetingKind(models.TextChoices):
    WEEKLY = "weekly", _("Weekly grid meeting")  # 网格周例会 (WORK-2, seed 002), at a grid or a village
    JOINT = "joint", _("Joint meeting")  # 联席会议 (WORK-3, seed 000), at the county or a township
    OTHER = "other", _("Other meeting")


class ResolutionStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("resolution status", "Open")
    SPAWNED = "spawned", pgettext_lazy("resolution status", "Case raised")
    DONE = "done", pgettext_lazy("resolution status", "Done")
