"""Appraisal (WORK-5, EVAL-1, EVAL-4): the scoring schemes an administrator keeps, the monthly scores
computed from them, and the township's weekly inspections (周查) of villages and grids.

Scorecards themselves are never stored or typed in: `wangge.appraisal.indicators` computes them from the
logs, visits, cases and inspections. A month's score is stored once the month is over (`MonthlyScore`)
with the scheme version it used, and a scheme that has scored a month can no longer be edited, so last
year's scores stay as they were computed. Written only through `wangge.appraisal.services`.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wangge.core.models import TimeStampedModel
from wangge.core.scope import ScopedQuerySet, scope_for
from wangge.people.roles import Capability

from .choices import Subject
from .indicators import Indicator


class ScoringScheme(TimeStampedModel):
    """One version of the scoring scheme for one kind of subject, in force from `valid_from` (the first
    day of a month) until the next version's."""

    subject = models.CharField(_("scored"), max_length=16, choices=Subject.choices)
    name = models.CharField(_("name"), max_length=100)
    valid_from = models.DateField(_("in force from"), help_text=_("The first day of a month."))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("scoring scheme")
        verbose_name_plural = _("scoring schemes")
        ordering = ["subject", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "valid_from"], name="appraisal_one_scheme_per_start")
        ]

    def __str__(self):
        return f"{self.name} ({self.get_subject_display()}, {self.valid_from:%Y-%m})"

    def clean(self):
        if self.valid_from and self.valid_from.day != 1:
            raise ValidationError({"valid_from": _("A scheme comes into force on the first day of a month.")})

    @property
    def full_marks(self) -> Decimal:
        return sum((item.weight for item in self.items.all()), Decimal("0"))

    def is_used(self) -> bool:
        return self.pk is not None and self.scores.exists()


class SchemeItem(models.Model):
    """One indicator of a scheme: its weight (full marks), its target, and how a shortfall costs points.

    Targets and shortfalls are in the indicator's own measure: percentage points for a rate (target 95
    means 95 %), cases or points for a count. With a deduction, each unit of shortfall from the target
    costs that many points (never below 0); without one, a higher-is-better indicator scores its weight
    in proportion to value ÷ target and a lower-is-better one scores all or nothing against the target.
    """

    scheme = models.ForeignKey(
        ScoringScheme, verbose_name=_("scheme"), on_delete=models.CASCADE, related_name="items"
    )
    indicator = models.CharField(_("indicator"), max_length=32, choices=Indicator.choices)
    weight = models.DecimalField(
        _("weight (points)"), max_digits=5, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    target = models.DecimalField(
        _("target"), max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    deduction = models.DecimalField(
        _("points off per unit of shortfall"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("scheme indicator")
        verbose_name_plural = _("scheme indicators")
        ordering = ["scheme", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "indicator"], name="appraisal_indicator_once_per_scheme"
            )
        ]

    def __str__(self):
        return f"{self.get_indicator_display()} {self.weight}"


class ScoreQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """Scores under the units where the user may appraise, and the user's own."""
        scope = scope_for(user)
        if scope.is_global:
            return self
        paths = scope.paths_for(Capability.APPRAISE)
        condition = Q(user=user) if user.is_authenticated else Q(pk__in=[])
        if paths:
            condition |= scope.path_q("unit__path", paths)
        return self.filter(condition)


class MonthlyScore(models.Model):
    """A subject's scorecard for one calendar month as computed once the month was over: every
    indicator's value, the points it earned under the scheme then in force, and the total."""

    month = models.DateField(_("month"))
    subject = models.CharField(_("scored"), max_length=16, choices=Subject.choices)
    unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The unit scored; for a grid worker, the unit of their first grid post."),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("grid worker"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="monthly_scores",
    )
    scheme = models.ForeignKey(
        ScoringScheme, verbose_name=_("scheme"), on_delete=models.PROTECT, related_name="scores"
    )
    values = models.JSONField(_("indicator values"), default=dict)
    points = models.JSONField(_("points per indicator"), default=dict)
    total = models.DecimalField(_("score"), max_digits=6, decimal_places=2)
    computed_at = models.DateTimeField(_("computed at"))

    scope_path_lookup = "unit__path"
    objects = ScoreQuerySet.as_manager()

    class Meta:
        verbose_name = _("monthly score")
        verbose_name_plural = _("monthly scores")
        ordering = ["month", "subject", "-total"]
        constraints = [
            models.UniqueConstraint(
                fields=["month", "user"],
                condition=Q(user__isnull=False),
                name="appraisal_one_score_per_worker",
            ),
            models.UniqueConstraint(
                fields=["month", "unit"], condition=Q(user__isnull=True), name="appraisal_one_score_per_unit"
            ),
        ]
        indexes = [models.Index(fields=["month", "subject", "total"], name="appraisal_ranking")]

    def __str__(self):
        who = self.user or self.unit
        return f"{who} {self.month:%Y-%m} {self.total}"


class ScoreRun(models.Model):
    """The monthly scoring of one month, claimed by one worker (the unique month stops a second)."""

    month = models.DateField(_("month"), unique=True)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    scores = models.PositiveIntegerField(_("scores written"), default=0)

    class Meta:
        verbose_name = _("monthly scoring run")
        verbose_name_plural = _("monthly scoring runs")
        ordering = ["-month"]

    def __str__(self):
        return f"{self.month:%Y-%m}"


class InspectionQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """Inspections of units in the user's territory (the inspected village sees its own)."""
        scope = scope_for(user)
        if scope.is_global:
            return self
        if not scope.territorial_paths:
            return self.none()
        return self.filter(scope.path_q("unit__path", scope.territorial_paths))


class Inspection(TimeStampedModel):
    """A weekly on-site inspection (周查) of a village or grid by the township (EVAL-1, WORK-5)."""

    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("unit inspected"), on_delete=models.PROTECT, related_name="inspections"
    )
    inspecting_unit = models.ForeignKey(
        "units.Unit", verbose_name=_("inspected by"), on_delete=models.PROTECT, related_name="+"
    )
    inspected_on = models.DateField(_("inspected on"))
    inspectors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("inspectors"), related_name="+"
    )
    checked = models.TextField(_("what was checked"))
    summary = models.TextField(_("summary"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    client_uuid = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    scope_path_lookup = "unit__path"
    objects = InspectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-inspected_on", "-pk"]
        indexes = [models.Index(fields=["inspected_on"], name="appraisal_inspection_day")]

    def __str__(self):
        return f"{self.unit} {self.inspected_on}"

    @property
    def total_deduction(self) -> Decimal:
        return sum((finding.deduction for finding in self.findings.all()), Decimal("0"))


class InspectionFinding(models.Model):
    """A problem found on an inspection, the points it costs, who answers for it and its rectification."""

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="findings"
    )
    description = models.CharField(_("finding"), max_length=300)
    deduction = models.DecimalField(
        _("points deducted"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible grid worker"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inspection_findings",
    )
    rectify_by = models.DateField(_("rectify by"), null=True, blank=True)
    rectified_on = models.DateField(_("rectified on"), null=True, blank=True)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("inspection finding")
        verbose_name_plural = _("inspection findings")
        ordering = ["inspection", "pk"]

    def __str__(self):
        return self.description
