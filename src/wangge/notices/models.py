from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class NotificationKind(models.TextChoices):
    DISPATCHED = "dispatched", _("New dispatch")
    ESCALATED = "escalated", _("Escalated to you")
    RETURNED = "returned", _("Dispatch returned")
    SUBMITTED = "submitted", _("Awaiting your check")
    CHECK_FAILED = "check_failed", _("Sent back for rework")
    URGED = "urged", _("Urged")
    DUE_SOON = "due_soon", _("Deadline near")
    OVERDUE = "overdue", _("Overdue")
    EXTENSION = "extension", _("Extension")
    REOPENED = "reopened", _("Reopened")
    REPORTED = "reported", _("New report")
    CLOSED = "closed", _("Closed")
    KEY_PERSON_APPLIED = "key_person_apply", _("Key person listing to decide")
    KEY_PERSON_DECIDED = "key_person_done", _("Key person listing decided")
    ADMISSION_REQUESTED = "admission_ask", _("Admission request to decide")
    ADMISSION_DECIDED = "admission_done", _("Admission request decided")
    APPRAISAL = "appraisal", _("Annual appraisal")


class NotificationQuerySet(models.QuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """An in-app message to one user (秒通知, COMM-2); other channels hang off the same rows later."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=NotificationKind.choices)
    title = models.CharField(pgettext_lazy("notification", "title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox")]

    def __str__(self):
        return self.title
