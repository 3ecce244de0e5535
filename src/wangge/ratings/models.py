"""以下看上 (EVAL-3, seed 000): the grassroots rate the county departments on the cases they handled, and
residents rate the public service providers (water, electricity, gas, telecommunications).

Written only through `wangge.ratings.services`; the admin shows ratings read-only and edits providers
through the services.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.core.models import TimeStampedModel
from wangge.core.scope import ScopedQuerySet, scope_for
from wangge.people.roles import Capability

from .choices import ProviderKind, Stars


def _stars_check(field: str, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(**{f"{field}__gte": Stars.ONE, f"{field}__lte": Stars.FIVE}), name=name
    )


class ServiceProviderQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """Providers that serve the user's units: kept at one of their units, above them or below them."""
        scope = scope_for(user)
        if scope.is_global:
            return self
        if scope.is_empty:
            return self.none()
        from wangge.units.models import Unit

        above = sorted({prefix for path in scope.paths for prefix in Unit.path_prefixes(path)})
        return self.filter(Q(unit__path__in=above) | scope.path_q("unit__path"))

    def serving(self, unit):
        """Active providers whose area holds `unit`: those kept at the unit itself or at a unit above it."""
        from wangge.units.models import Unit

        return self.filter(is_active=True, unit__path__in=Unit.path_prefixes(unit.path))


class ServiceProvider(TimeStampedModel):
    """A public service company residents rate (水、电、气、通讯 …): it serves the county or one township."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=ProviderKind.choices)
    unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("serves"),
        on_delete=models.PROTECT,
        related_name="service_providers",
        help_text=_("The county or the township whose residents it serves."),
    )
    phone = models.CharField(_("service phone"), max_length=32, blank=True)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Only active providers can be rated by residents.")
    )

    scope_path_lookup = "unit__path"
    objects = ServiceProviderQuerySet.as_manager()

    class Meta:
        verbose_name = _("public service provider")
        verbose_name_plural = _("public service providers")
        ordering = ["unit__path", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="service_provider_name_unique_in_unit"),
        ]

    def __str__(self):
        return self.name


class DepartmentRatingQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """The ratings *with their raters* a user may read: those they gave, and those given on cases in
        the subtrees where they appraise (county command, township and village offices) — never the
        ratings of a department they work for: a department sees anonymous aggregates only."""
        scope = scope_for(user)
        if scope.is_global:
            return self
        if scope.is_empty:
            return self.none()
        condition = Q(rater=user) | scope.path_q("unit__path", scope.paths_for(Capability.APPRAISE))
        queryset = self.filter(condition)
        if scope.department_ids:
            queryset = queryset.exclude(department_id__in=scope.department_ids)
        return queryset


class DepartmentRating(models.Model):
    """A grassroots worker's rating of one department's work on one case (部门评议): speed, result and
    attitude, 1–5 stars each. One per case, department and rater; it can be changed for
    WANGGE_RATING_EDIT_DAYS after it was given, then it is frozen. Its period is the day it was given."""

    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="department_ratings"
    )
    department = models.ForeignKey(
        "people.Department",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="ratings",
    )
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rated by"),
        on_delete=models.PROTECT,
        related_name="department_ratings",
    )
    rater_unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("rated from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The unit of the post through which the rating was given."),
    )
    # The case's unit when it was rated: what the scope and the results by area go by.
    unit = models.ForeignKey("units.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    speed = models.PositiveSmallIntegerField(_("speed"), choices=Stars.choices)
    result = models.PositiveSmallIntegerField(_("result"), choices=Stars.choices)
    attitude = models.PositiveSmallIntegerField(_("attitude"), choices=Stars.choices)
    comment = models.TextField(_("comment"), blank=True)
    rated_at = models.DateTimeField(_("rated at"), default=timezone.now)
    changed_at = models.DateTimeField(_("last changed at"), null=True, blank=True)

    scope_path_lookup = "unit__path"
    objects = DepartmentRatingQuerySet.as_manager()

    class Meta:
        verbose_name = _("department rating")
        verbose_name_plural = _("department ratings")
        ordering = ["-rated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "department", "rater"], name="department_rating_once_per_rater"
            ),
            _stars_check("speed", "department_rating_speed_stars"),
            _stars_check("result", "department_rating_result_stars"),
            _stars_check("attitude", "department_rating_attitude_stars"),
        ]
        indexes = [
            models.Index(fields=["department", "rated_at"], name="dept_rating_dept_rated"),
            models.Index(fields=["rated_at"], name="dept_rating_rated"),
            models.Index(fields=["rater", "rated_at"], name="dept_rating_rater_rated"),
        ]

    def __str__(self):
        return f"{self.department} · {self.case_id}"

    @property
    def marks(self) -> tuple[int, int, int]:
        return self.speed, self.result, self.attitude


class ResidentRating(models.Model):
    """A resident's rating of a public service provider, given without an account: 1–5 stars on service
    quality, responsiveness and the transparency of prices and charges, and an optional comment.

    Nothing about the resident is kept but the unit they rated from (a township, a village or, if they
    came by a grid's QR code, the grid); the client id makes a retried submission harmless."""

    uuid = models.UUIDField(
        _("client id"),
        default=uuid.uuid4,
        unique=True,
        help_text=_("Generated by the client; a retry never duplicates."),
    )
    provider = models.ForeignKey(
        ServiceProvider, verbose_name=_("provider"), on_delete=models.PROTECT, related_name="ratings"
    )
    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("rated from"), on_delete=models.PROTECT, related_name="+"
    )
    quality = models.PositiveSmallIntegerField(_("service quality"), choices=Stars.choices)
    responsiveness = models.PositiveSmallIntegerField(_("responsiveness"), choices=Stars.choices)
    transparency = models.PositiveSmallIntegerField(_("transparency of charges"), choices=Stars.choices)
    comment = models.TextField(_("comment"), blank=True)
    rated_at = models.DateTimeField(_("rated at"), default=timezone.now)

    scope_path_lookup = "unit__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("resident rating")
        verbose_name_plural = _("resident ratings")
        ordering = ["-rated_at", "-id"]
        constraints = [
            _stars_check("quality", "resident_rating_quality_stars"),
            _stars_check("responsiveness", "resident_rating_responsiveness_stars"),
            _stars_check("transparency", "resident_rating_transparency_stars"),
        ]
        indexes = [
            models.Index(fields=["provider", "rated_at"], name="resident_rating_provider"),
            models.Index(fields=["rated_at"], name="resident_rating_rated"),
        ]

    def __str__(self):
        return f"{self.provider} · {self.rated_at:%Y-%m-%d}"
