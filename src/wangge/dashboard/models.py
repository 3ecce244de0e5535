"""The command centre's stored data: KPI targets an administrator edits, and the daily rollup of the case
figures that makes a county's year answer at once (decision 0014)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .kpis import Kpi


class KpiTarget(models.Model):
    """The target line a KPI is drawn against (PLAT-5): seed 004's 90 / 95 / 85 / 60 % and any other an
    administrator sets. No target: the KPI is shown without a line."""

    kpi = models.CharField(_("KPI"), max_length=32, choices=Kpi.choices, unique=True)
    target_percent = models.DecimalField(
        _("target (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("At least this share, in per cent; empty for no target."),
    )
    source = models.CharField(
        _("source"),
        max_length=200,
        blank=True,
        help_text=_("Where the target comes from, e.g. the document."),
    )

    class Meta:
        verbose_name = _("KPI target")
        verbose_name_plural = _("KPI targets")
        ordering = ["kpi"]

    def __str__(self):
        target = f"≥ {self.target_percent}%" if self.target_percent is not None else "—"
        return f"{self.get_kpi_display()} {target}"


class DailyCounts(models.Model):
    """One administrative unit's case counts of one local day, keyed by what happened that day (see
    `wangge.dashboard.figures`): a cache of the live computation, rebuilt from the cases, never edited."""

    unit = models.ForeignKey("units.Unit", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    counts = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("daily case counts")
        verbose_name_plural = _("daily case counts")
        constraints = [models.UniqueConstraint(fields=["unit", "day"], name="daily_counts_unit_day")]

    def __str__(self):
        return f"{self.unit_id} {self.day}"


class RollupState(models.Model):
    """The one row saying how far the rollup is built, and who is building it (a claim, so that two
    workers never rebuild at once)."""

    complete_before = models.DateField(
        null=True, help_text="Days before this are in the rollup; later days are computed live."
    )
    refreshed_at = models.DateTimeField(null=True)
    full_built_at = models.DateTimeField(null=True)
    running_since = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("rollup state")
        verbose_name_plural = _("rollup state")

    def __str__(self):
        return f"complete before {self.complete_before}"

    @classmethod
    def complete_before_day(cls):
        """Days before this one may be read from the rollup; None when it has never been built."""
        return cls.objects.filter(pk=1).values_list("complete_before", flat=True).first()
