from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet

from wangge.core.models import TimeStampedModel
from wangge.core.scope import ScopedQuerySet, scope_for

from .choices import AreaType, DedicatedType, LineageOperation, UnitKind


class UnitLevel(models.Model):
    """One level of the deployment's scheme (县, 乡镇/街道, 村/社区, 三级网格 …), defined as data.

    `allowed_parents` makes the scheme a graph, so one deployment can mix an urban (小区→楼栋) and a rural
    (村民小组→户) scheme below the same county.
    """

    key = models.SlugField(_("key"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=32)
    rank = models.PositiveSmallIntegerField(
        _("rank"), validators=[MinValueValidator(1)], help_text=_("Depth in the tree: 1 for the top level.")
    )
    is_grid = models.BooleanField(_("is a grid level"), default=False)
    code_digits = models.PositiveSmallIntegerField(
        _("code digits"),
        validators=[MinValueValidator(1)],
        help_text=_("How many digits this level adds to its parent's code (GB/T 2260: 6, then 3 and 3)."),
    )
    allowed_parents = models.ManyToManyField(
        "self", verbose_name=_("allowed parent levels"), symmetrical=False, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("unit level")
        verbose_name_plural = _("unit levels")
        ordering = ["rank", "key"]

    def __str__(self):
        return self.name


class HouseholdStandard(models.Model):
    """The household range a grid of one level and area type should hold (seeds 001, 002, 003)."""

    level = models.ForeignKey(
        UnitLevel, verbose_name=_("level"), on_delete=models.CASCADE, related_name="household_standards"
    )
    area_type = models.CharField(_("area type"), max_length=8, choices=AreaType.choices)
    min_households = models.PositiveIntegerField(_("minimum households"))
    max_households = models.PositiveIntegerField(_("maximum households"))
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("household standard")
        verbose_name_plural = _("household standards")
        ordering = ["level__rank", "area_type"]
        constraints = [
            models.UniqueConstraint(fields=["level", "area_type"], name="one_standard_per_level_area"),
            models.CheckConstraint(
                condition=Q(max_households__gte=models.F("min_households")), name="standard_range_ordered"
            ),
        ]

    def __str__(self):
        return f"{self.level} · {self.get_area_type_display()} · {self.min_households}–{self.max_households}"

    @classmethod
    def table(cls) -> dict[tuple[int, str], tuple[int, int]]:
        """All standards by (level id, area type), in one query; the table holds a handful of rows."""
        return {
            (level_id, area_type): (low, high)
            for level_id, area_type, low, high in cls.objects.values_list(
                "level_id", "area_type", "min_households", "max_households"
            )
        }


def household_range(unit, standards: dict) -> tuple[int | None, int | None, str] | None:
    """The household range that applies to `unit` (a Unit or anything with its level_id, area_type and
    min/max_households): its own override wins bound by bound over the standard of its level and area
    type. Returns (low, high, "unit" | "standard"), or None when neither bound is known."""
    standard_low, standard_high = standards.get((unit.level_id, unit.area_type), (None, None))
    low = unit.min_households if unit.min_households is not None else standard_low
    high = unit.max_households if unit.max_households is not None else standard_high
    if low is None and high is None:
        return None
    overridden = unit.min_households is not None or unit.max_households is not None
    return low, high, "unit" if overridden else "standard"


class UnitQuerySet(MP_NodeQuerySet, ScopedQuerySet):
    def current(self, on=None):
        """Units in force on a date (today by default): retired versions stay in the tree for history."""
        on = on or timezone.localdate()
        return self.filter(
            Q(effective_from__lte=on) & (Q(effective_to__isnull=True) | Q(effective_to__gt=on))
        )

    def subtree(self, unit, include_self=True):
        qs = self.filter(path__startswith=unit.path)
        return qs if include_self else qs.exclude(pk=unit.pk)

    def grids(self):
        return self.filter(level__is_grid=True)

    def granting(self, user, capability: str):
        """The units where `capability` holds for `user`: below the posts whose role grants it."""
        scope = scope_for(user)
        if scope.is_global:
            return self
        paths = scope.paths_for(capability)
        return self.filter(scope.path_q("path", paths)) if paths else self.none()


class UnitManager(MP_NodeManager):
    def get_queryset(self):
        return UnitQuerySet(self.model, using=self._db).order_by("path")


code_validator = RegexValidator(r"^[0-9]+$", _("A unit code is made of digits only."))


class Unit(MP_Node, TimeStampedModel):
    """治理单元: one node of the single governance tree — an administrative division or a grid (GRID-1).

    The tree is a materialized path (treebeard's `path`); the public `code` is separate and stable.
    """

    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=40, unique=True, validators=[code_validator])
    level = models.ForeignKey(UnitLevel, verbose_name=_("level"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=UnitKind.choices, default=UnitKind.DIVISION)
    dedicated_type = models.CharField(
        _("dedicated grid type"), max_length=20, choices=DedicatedType.choices, blank=True
    )
    area_type = models.CharField(
        _("area type"), max_length=8, choices=AreaType.choices, default=AreaType.RURAL
    )
    geometry = models.JSONField(
        _("boundary"), null=True, blank=True, help_text=_("GeoJSON Polygon or MultiPolygon in WGS 84.")
    )
    centroid_lng = models.FloatField(_("centroid longitude"), null=True, blank=True, editable=False)
    centroid_lat = models.FloatField(_("centroid latitude"), null=True, blank=True, editable=False)
    min_households = models.PositiveIntegerField(_("minimum households (override)"), null=True, blank=True)
    max_households = models.PositiveIntegerField(_("maximum households (override)"), null=True, blank=True)
    effective_from = models.DateField(_("effective from"), default=timezone.localdate)
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    # Data for the organisation chart and plan map of a village's grids (GRID-6).
    description = models.TextField(_("description"), blank=True)
    # 监督电话 on the grids' public notice boards and contact cards (TEAM-6); a unit without one shows
    # its nearest ancestor's (people.services.supervision_phone).
    supervision_phone = models.CharField(_("supervision phone"), max_length=32, blank=True)

    scope_path_lookup = "path"
    objects = UnitManager.from_queryset(UnitQuerySet)()

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        indexes = [
            models.Index(fields=["level", "effective_to"]),
            models.Index(fields=["depth", "effective_to"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=models.F("effective_from")),
                name="unit_effective_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(kind="dedicated") | Q(dedicated_type=""),
                name="unit_dedicated_type_only_on_dedicated",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def get_absolute_url(self):
        return reverse("units:detail", args=[self.code])

    @property
    def parent_path(self) -> str:
        return self.path[: -self.steplen]

    def parent_unit(self):
        """The parent, or None for a root (one query; treebeard's own accessor is deprecated)."""
        return Unit.objects.filter(path=self.parent_path).first() if self.depth > 1 else None

    @classmethod
    def path_prefixes(cls, path: str, include_self: bool = True) -> list[str]:
        """The paths from the root down to `path` (or to its parent): ancestors in one `path__in` query."""
        end = len(path) + (1 if include_self else 0)
        return [path[:i] for i in range(cls.steplen, end, cls.steplen)]

    def ancestors(self):
        """Ancestors from the root down, in one query by path prefixes."""
        prefixes = self.path_prefixes(self.path, include_self=False)
        return Unit.objects.filter(path__in=prefixes).select_related("level").order_by("depth")

    def children(self):
        return Unit.objects.filter(path__startswith=self.path, depth=self.depth + 1)

    @property
    def is_grid(self) -> bool:
        return self.kind != UnitKind.DIVISION

    @property
    def is_current(self) -> bool:
        return self.effective_to is None or self.effective_to > timezone.localdate()

    def clean(self):
        errors = {}
        if self.kind == UnitKind.DEDICATED and not self.dedicated_type:
            errors["dedicated_type"] = _("A dedicated grid must say what it covers (school, market …).")
        if self.kind != UnitKind.DEDICATED and self.dedicated_type:
            errors["dedicated_type"] = _("Only a dedicated grid has a dedicated type.")
        if self.level_id:
            if self.level.is_grid and self.kind == UnitKind.DIVISION:
                errors["kind"] = _("A unit of a grid level must be a comprehensive or dedicated grid.")
            if not self.level.is_grid and self.kind != UnitKind.DIVISION:
                errors["kind"] = _("A unit of an administrative level must be an administrative division.")
        if (
            self.min_households is not None
            and self.max_households is not None
            and self.min_households > self.max_households
        ):
            errors["max_households"] = _("The maximum must not be below the minimum.")
        if errors:
            raise ValidationError(errors)


class UnitBoundaryVersion(models.Model):
    """A unit's boundary as it was between two dates, kept when the boundary is redrawn."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="boundary_versions"
    )
    geometry = models.JSONField(_("boundary"), null=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))

    scope_path_lookup = "unit__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("boundary version")
        verbose_name_plural = _("boundary versions")
        ordering = ["unit", "-valid_to"]

    def __str__(self):
        return f"{self.unit} {self.valid_from}–{self.valid_to}"


class UnitLineage(models.Model):
    """Links a retired unit to the units that replaced it (split) or that it was merged into."""

    predecessor = models.ForeignKey(
        Unit, verbose_name=_("predecessor"), on_delete=models.CASCADE, related_name="successor_links"
    )
    successor = models.ForeignKey(
        Unit, verbose_name=_("successor"), on_delete=models.CASCADE, related_name="predecessor_links"
    )
    operation = models.CharField(_("operation"), max_length=8, choices=LineageOperation.choices)
    date = models.DateField(_("date"))

    class Meta:
        verbose_name = _("unit lineage")
        verbose_name_plural = _("unit lineage")
        constraints = [
            models.UniqueConstraint(fields=["predecessor", "successor"], name="unique_lineage_link")
        ]

    def __str__(self):
        return f"{self.predecessor} → {self.successor} ({self.get_operation_display()})"
