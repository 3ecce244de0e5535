from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.core.models import TimeStampedModel
from wangge.core.scope import ScopedQuerySet


class Household(TimeStampedModel):
    """户: a household at an address, living in one grid. The full ledger (members, tags) grows on this."""

    number = models.CharField(_("household number"), max_length=40, unique=True)
    grid = models.ForeignKey(
        "units.Unit",
        verbose_name=_("grid of residence"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="households",
    )
    address = models.CharField(_("address"), max_length=200)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)

    scope_path_lookup = "grid__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["number"]

    def __str__(self):
        return f"{self.number} {self.address}"
