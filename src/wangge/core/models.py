from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class ChangeAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    MOVE = "move", _("Moved")
    SPLIT = "split", _("Split")
    MERGE = "merge", _("Merged")
    RETIRE = "retire", _("Retired")
    REDRAW = "redraw", _("Boundary redrawn")


class ChangeLog(models.Model):
    """Who did what, when, to which record, from which unit. Append-only; written by services."""

    time = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True, on_delete=models.SET_NULL
    )
    acting_unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("acting unit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    request_id = models.CharField(_("request id"), max_length=36, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=ChangeAction.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(_("object id"), max_length=64, db_index=True)
    object_repr = models.CharField(_("object"), max_length=200)
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    class Meta:
        verbose_name = _("change log entry")
        verbose_name_plural = _("change log")
        ordering = ["-time", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "-time"])]

    def __str__(self):
        return f"{self.time:%Y-%m-%d %H:%M} {self.get_action_display()} {self.object_repr}"


class AccessPurpose(models.TextChoices):
    VIEW = "view", _("Viewed unmasked")
    EXPORT = "export", _("Exported unmasked")


class PersonalDataAccess(models.Model):
    """Each time someone sees or exports a person's ID or phone number unmasked (PIPL): who, whose
    record, which fields, when, from which unit and request. Append-only, like the change log."""

    time = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    acting_unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("acting unit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    purpose = models.CharField(_("purpose"), max_length=16, choices=AccessPurpose.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(_("record"), max_length=64)
    object_repr = models.CharField(_("whose record"), max_length=200)
    fields = models.JSONField(_("fields"), default=list)
    request_id = models.CharField(_("request id"), max_length=36, blank=True)

    class Meta:
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data accesses")
        ordering = ["-time", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "-time"])]

    def __str__(self):
        return f"{self.time:%Y-%m-%d %H:%M} {self.user} {self.get_purpose_display()} {self.object_repr}"
