"""Meetings (WORK-2, WORK-3): the weekly grid meeting (网格周例会) that a grid leader holds every week, and
the joint meetings (联席会议) of the county and the townships, with attendees, minutes and resolutions. A
resolution can raise a case. Written only through `wangge.meetings.services`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from wangge.core.models import TimeStampedModel
from wangge.core.scope import ScopedQuerySet, scope_for

from .choices import MeetingKind, ResolutionStatus


class MeetingQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """Meetings held under the user's territorial posts, meetings they attended, and meetings with a
        resolution their unit or department is responsible for. A department post does not open the
        whole subtree of its unit."""
        scope = scope_for(user)
        if scope.is_global:
            return self
        if scope.is_empty:
            return self.none()
        # The subtree test first: it decides most rows without running the two subqueries.
        condition = Q(pk__in=[])
        responsible = Q(pk__in=[])
        if scope.territorial_paths:
            condition = scope.path_q("unit__path", scope.territorial_paths)
            responsible = scope.path_q("responsible_unit__path", scope.territorial_paths)
        if scope.department_ids:
            responsible |= Q(responsible_department_id__in=scope.department_ids)
        condition |= Exists(MeetingAttendee.objects.filter(meeting=OuterRef("pk"), user=user))
        condition |= Exists(Resolution.objects.filter(responsible, meeting=OuterRef("pk")))
        return self.filter(condition)


class Meeting(TimeStampedModel):
    """One meeting held at one unit on one day: who chaired and attended, the agenda and the minutes."""

    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="meetings"
    )
    kind = models.CharField(_("kind of meeting"), max_length=16, choices=MeetingKind.choices)
    held_on = models.DateField(_("held on"))
    chaired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("chaired by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    place = models.CharField(pgettext_lazy("meeting", "place"), max_length=100, blank=True)
    agenda = models.TextField(_("agenda"), blank=True)
    minutes = models.TextField(pgettext_lazy("meeting", "minutes"))
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("attendees"),
        through="MeetingAttendee",
        related_name="meetings_attended",
        blank=True,
    )
    other_attendees = models.TextField(
        _("other attendees"),
        blank=True,
        help_text=_("Departments, residents' representatives and others without an account."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    # The phone sends a fresh id with each form; a retried submission finds its meeting instead of adding one.
    client_uuid = models.UUIDField(_("client id"), unique=True, null=True, blank=True, editable=False)

    scope_path_lookup = "unit__path"
    objects = MeetingQuerySet.as_manager()

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-held_on", "unit__path", "-id"]
        indexes = [
            models.Index(fields=["kind", "held_on"], name="meeting_kind_day"),
            models.Index(fields=["unit", "held_on"], name="meeting_unit_day"),
        ]

    def __str__(self):
        return f"{self.held_on:%Y-%m-%d} {self.get_kind_display()} · {self.unit.name}"


class MeetingAttendee(models.Model):
    """A staff member who attended (the through table of Meeting.attendees, written in bulk by the demo)."""

    meeting = models.ForeignKey(Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("attendee"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("attendee")
        verbose_name_plural = _("attendees")
        constraints = [models.UniqueConstraint(fields=["meeting", "user"], name="meeting_attendee_once")]
        indexes = [models.Index(fields=["user", "meeting"], name="meeting_attendee_user")]

    def __str__(self):
        return str(self.user)


class ResolutionQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        return self.filter(meeting__in=Meeting.objects.visible_to(user).values("pk"))


class Resolution(models.Model):
    """决议: what a meeting decided, who carries it out and by when; it may raise one case."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="resolutions"
    )
    text = models.TextField(_("resolution"))
    responsible_unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("responsible unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    responsible_department = models.ForeignKey(
        "people.Department",
        verbose_name=_("responsible department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    due_on = models.DateField(_("due on"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ResolutionStatus.choices, default=ResolutionStatus.OPEN
    )
    case = models.OneToOneField(
        "cases.Case",
        verbose_name=_("case raised"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resolution",
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    added_at = models.DateTimeField(_("added at"), default=timezone.now)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("marked done by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("marked done at"), null=True, blank=True)
    close_note = models.TextField(_("how it was carried out"), blank=True)

    scope_path_lookup = "meeting__unit__path"
    objects = ResolutionQuerySet.as_manager()

    class Meta:
        verbose_name = _("resolution")
        verbose_name_plural = _("resolutions")
        ordering = ["meeting", "id"]
        indexes = [models.Index(fields=["status", "due_on"], name="resolution_status_due")]

    def __str__(self):
        return self.text.splitlines()[0][:60] if self.text else str(self.pk)

    @property
    def responsible(self):
        """Whoever carries it out: the department, else the unit, else the meeting's own unit."""
        return self.responsible_department or self.responsible_unit or self.meeting.unit
