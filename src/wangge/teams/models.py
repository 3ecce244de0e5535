"""The staff ledger (网格员队伍台账, TEAM-5): appointment agreements, badges, training (TEAM-8) and the
pipeline of outstanding workers (TEAM-9).

Rows are written only through `wangge.teams.services`. A record belongs to a unit (the employing,
issuing, training or flagging unit) and, for most, to a person. Who reads it (`visible_to`): the
territorial posts whose subtree holds the record's unit, and those whose subtree holds one of the person's
posts — a village reads the agreement its worker signed with the township. Training plans and sessions
of the levels above are read too: the township trains the villages' staff.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from wangge.core.models import TimeStampedModel
from wangge.core.scope import ScopedQuerySet, scope_for

from .choices import FlagKind


class StaffRecordQuerySet(ScopedQuerySet):
    """Scope of a staff record: its unit in the viewer's territorial subtrees, or (`scope_person_lookup`)
    a post of its person there, or (`scope_ancestors`) its unit above the viewer's units."""

    def visible_to(self, user):
        scope = scope_for(user)
        if scope.is_global:
            return self
        paths = scope.territorial_paths
        if not paths:
            return self.none()
        model = self.model
        condition = scope.path_q(model.scope_path_lookup, paths)
        if getattr(model, "scope_ancestors", False):
            above = {prefix for path in paths for prefix in _prefixes(path)}
            if above:
                condition |= Q(**{f"{model.scope_path_lookup}__in": sorted(above)})
        person = getattr(model, "scope_person_lookup", None)
        if person:
            from wangge.people.models import Post

            posts = Post.objects.filter(scope.path_q("unit__path", paths), user_id=OuterRef(person))
            condition |= Q(Exists(posts))
        return self.filter(condition)


def _prefixes(path: str) -> list[str]:
    from wangge.units.models import Unit

    return Unit.path_prefixes(path, include_self=False)


class AppointmentAgreement(TimeStampedModel):
    """年度聘任协议: a person's appointment for one year by the employing unit — usually the township
    (街道（镇）会同村两委), or the village/community."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="appointment_agreements",
    )
    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("employing unit"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    post = models.ForeignKey(
        "people.Post",
        verbose_name=_("post"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="agreements",
    )
    signed_on = models.DateField(_("signed on"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    notes = models.TextField(_("notes"), blank=True)

    scope_path_lookup = "unit__path"
    scope_person_lookup = "user_id"
    objects = StaffRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("appointment agreement")
        verbose_name_plural = _("appointment agreements")
        ordering = ["-year", "unit__path", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "year"], name="agreement_one_per_user_unit_year"),
            models.CheckConstraint(
                condition=Q(valid_to__gte=models.F("valid_from")), name="agreement_valid_range_ordered"
            ),
        ]
        indexes = [models.Index(fields=["user", "year"])]

    def __str__(self):
        return f"{self.year} {self.user} · {self.unit.name}"


class Badge(TimeStampedModel):
    """统一证件和胸牌: the ID card and badge issued to a staff member; handed back when they leave."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.PROTECT, related_name="badges"
    )
    number = models.CharField(_("badge number"), max_length=40, unique=True)
    issued_on = models.DateField(_("issued on"))
    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("issuing unit"), on_delete=models.PROTECT, related_name="+"
    )
    returned_on = models.DateField(_("returned on"), null=True, blank=True)

    scope_path_lookup = "unit__path"
    scope_person_lookup = "user_id"
    objects = StaffRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("badge")
        verbose_name_plural = _("badges")
        ordering = ["-issued_on", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(returned_on__isnull=True), name="badge_one_held_per_user"
            ),
            models.CheckConstraint(
                condition=Q(returned_on__isnull=True) | Q(returned_on__gte=models.F("issued_on")),
                name="badge_returned_after_issued",
            ),
        ]

    def __str__(self):
        return f"{self.number} · {self.user}"


class TrainingPlan(TimeStampedModel):
    """A unit's training plan for a year, filed with the level above (TEAM-8), which acknowledges it."""

    unit = models.ForeignKey("units.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    title = models.CharField(_("title"), max_length=200)
    content = models.TextField(_("content"))
    filed_with = models.ForeignKey(
        "units.Unit", verbose_name=_("filed with"), on_delete=models.PROTECT, related_name="+"
    )
    filed_at = models.DateTimeField(_("filed at"))
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("filed by"), on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    scope_path_lookup = "unit__path"
    scope_ancestors = True
    objects = StaffRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("training plan")
        verbose_name_plural = _("training plans")
        ordering = ["-year", "unit__path", "-filed_at"]
        indexes = [models.Index(fields=["filed_with", "acknowledged_at"])]

    def __str__(self):
        return f"{self.year} {self.title}"

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None


class TrainingSession(TimeStampedModel):
    """One training given by a unit to its staff (and to people about to be posted)."""

    unit = models.ForeignKey("units.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(
        TrainingPlan,
        verbose_name=_("training plan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sessions",
    )
    date = models.DateField(_("date"))
    topic = models.CharField(_("topic"), max_length=200)
    hours = models.DecimalField(_("hours"), max_digits=4, decimal_places=1)
    place = models.CharField(_("place"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    scope_path_lookup = "unit__path"
    scope_ancestors = True
    objects = StaffRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")
        ordering = ["-date", "unit__path", "id"]
        indexes = [models.Index(fields=["unit", "date"])]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.topic}"


class TrainingAttendance(models.Model):
    """Whether one person attended one session: the staff expected and ticked (or not) on the day."""

    session = models.ForeignKey(
        TrainingSession,
        verbose_name=_("training session"),
        on_delete=models.CASCADE,
        related_name="attendance",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="training_attendance",
    )
    attended = models.BooleanField(_("attended"), default=True)

    scope_path_lookup = "session__unit__path"
    scope_person_lookup = "user_id"
    objects = StaffRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("training attendance")
        verbose_name_plural = _("training attendance")
        ordering = ["session", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="attendance_one_per_session_user")
        ]
        indexes = [models.Index(fields=["user", "attended"])]

    def __str__(self):
        return f"{self.session} · {self.user}"


class PipelineFlag(TimeStampedModel):
    """TEAM-9: an outstanding grid worker put forward for party-member development or the village cadre
    reserve pool; withdrawn (never deleted) when no longer held."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="pipeline_flags",
    )
    kind = models.CharField(_("kind"), max_length=24, choices=FlagKind.choices)
    reason = models.TextField(_("reason"))
    unit = models.ForeignKey("units.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("flagged by"), on_delete=models.PROTECT, related_name="+"
    )
    flagged_on = models.DateField(_("flagged on"))
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("withdrawn by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    scope_path_lookup = "unit__path"
    scope_person_lookup = "user_id"
    objects = StaffRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("pipeline flag")
        verbose_name_plural = _("pipeline flags")
        ordering = ["-flagged_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind"], condition=Q(withdrawn_on__isnull=True), name="flag_one_open_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=models.F("flagged_on")),
                name="flag_withdrawn_after_flagged",
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_kind_display()}"

    @property
    def is_open(self) -> bool:
        return self.withdrawn_on is None
