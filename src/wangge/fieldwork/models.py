"""Field work of grid workers. The daily work log (民情日志, WORK-1): one per worker, grid and working day."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.core.models import TimeStampedModel
from wangge.core.scope import ScopedQuerySet


class WorkLog(TimeStampedModel):
    """What a grid worker patrolled, found and served on one working day in one grid.

    Written only through `wangge.fieldwork.services.save_log`, which enforces the post, the calendar and
    the edit window.
    """

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="work_logs"
    )
    grid = models.ForeignKey(
        "units.Unit", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="work_logs"
    )
    date = models.DateField(_("working day"))
    patrolled = models.TextField(_("where patrolled"), blank=True)
    found = models.TextField(_("what was found"), blank=True)
    served = models.TextField(_("services given to residents"), blank=True)
    households_visited = models.PositiveIntegerField(_("households visited"), default=0)
    notes = models.TextField(_("notes"), blank=True)
    # The phone sends a fresh id with each form; a retried submission finds its log instead of adding one.
    client_uuid = models.UUIDField(_("client id"), unique=True, null=True, blank=True, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"))

    scope_path_lookup = "grid__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("work log")
        verbose_name_plural = _("work logs")
        ordering = ["-date", "grid__path", "author_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "grid", "date"], name="work_log_one_per_author_grid_day"
            )
        ]
        indexes = [models.Index(fields=["date", "author"])]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.author} · {self.grid}"
