"""Field work of grid workers: the daily work log (民情日志, WORK-1), household visits and the visit
regime (入户走访, WORK-2), patrols, and policy publicity records (WORK-6)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.core.models import TimeStampedModel
from wangge.core.scope import ScopedQuerySet, scope_for
from wangge.people.roles import Capability

from .choices import DutyKind, Period, PublicityMethod, VisitPurpose


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


class VisitRule(models.Model):
    """One duty of the visit regime (入户走访制度, WORK-2), edited by an administrator.

    A rule binds the holders of grid posts at units of `level` (every grid post when empty) and asks,
    once per `period`: a patrol of each of their grids, or a visit to each active household below their
    post — every household, or, when `tags` or `include_rental` are set, only the households with a member
    on the register carrying one of the tags or that are rentals (出租屋). A household is covered for the
    period by a visit from a holder of a post at the rule's level (by anyone's visit when the rule has no
    level), with the rule's purpose when it names one. The defaults come from seed 002 and are loaded from `fieldwork/data/visit_rules.json`.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("duty"), max_length=8, choices=DutyKind.choices, default=DutyKind.VISIT)
    level = models.ForeignKey(
        "units.UnitLevel",
        verbose_name=_("post level"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The rule binds grid posts at units of this level; empty: every grid post."),
    )
    period = models.CharField(_("period"), max_length=8, choices=Period.choices)
    tags = models.ManyToManyField(
        "ledger.AttentionTag",
        verbose_name=_("households with a member tagged"),
        blank=True,
        related_name="+",
    )
    include_rental = models.BooleanField(_("rental households"), default=False)
    purpose = models.CharField(
        _("counts visits for"),
        max_length=16,
        choices=VisitPurpose.choices,
        blank=True,
        help_text=_(
            "Only visits with this purpose count (慰问 for the yearly care visits); empty: any visit."
        ),
    )
    is_active = models.BooleanField(_("in force"), default=True)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("visit rule")
        verbose_name_plural = _("visit rules")
        ordering = ["kind", "period", "code"]

    def __str__(self):
        return self.name

    @property
    def is_selective(self) -> bool:
        """True when the rule asks for some households only (tags or rentals), not every household."""
        return self.include_rental or bool(self.selected_tag_ids)

    @property
    def selected_tag_ids(self) -> list[int]:
        cached = getattr(self, "_tag_ids", None)
        if cached is None:
            cached = self._tag_ids = [tag.pk for tag in self.tags.all()]
        return cached


class VisitQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """Visits tell what staff found in named households: they are read by ledger readers only, in the
        subtrees of their posts whose role grants the ledgers (not a department's, not an enforcer's)."""
        scope = scope_for(user)
        if scope.is_global:
            return self
        return self.filter(scope.path_q("grid__path", scope.paths_for(Capability.VIEW_LEDGERS)))


class Visit(TimeStampedModel):
    """入户走访: one visit of one household by a staff member (WORK-2). Written by `services.record_visit`."""

    household = models.ForeignKey(
        "ledger.Household", verbose_name=_("household"), on_delete=models.PROTECT, related_name="visits"
    )
    # The household's grid on the day of the visit: scope and coverage do not move when it moves later.
    grid = models.ForeignKey("units.Unit", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+")
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("visitor"), on_delete=models.PROTECT, related_name="visits"
    )
    # The level of the visitor's post that covers the household (the deepest one): which rule it counts for.
    post_level = models.ForeignKey(
        "units.UnitLevel",
        verbose_name=_("visitor's post level"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    date = models.DateField(_("date"))
    purposes = models.JSONField(_("purposes"), default=list)
    findings = models.TextField(_("findings"), blank=True)
    people_met = models.ManyToManyField(
        "ledger.Resident", verbose_name=_("people met"), blank=True, related_name="visits"
    )
    others_met = models.CharField(_("others met"), max_length=200, blank=True)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case raised"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visits",
    )
    client_uuid = models.UUIDField(_("client id"), unique=True, null=True, blank=True, editable=False)

    scope_path_lookup = "grid__path"
    objects = VisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("household visit")
        verbose_name_plural = _("household visits")
        ordering = ["-date", "-id"]
        # Coverage reads the visits of a period by level (covering: no table lookups) or, below the
        # county, by grid; due lists and household pages by household.
        indexes = [
            models.Index(fields=["household", "date"]),
            models.Index(fields=["post_level", "date", "household"]),
            models.Index(fields=["grid", "date"]),
            models.Index(fields=["visitor", "date"]),
        ]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.visitor} → {self.household}"

    def get_purposes_display(self) -> list[str]:
        labels = dict(VisitPurpose.choices)
        return [str(labels.get(code, code)) for code in self.purposes]


class PatrolRecord(TimeStampedModel):
    """巡查: one patrol of a grid, its route and what it found (WORK-2's monthly patrol)."""

    grid = models.ForeignKey("units.Unit", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+")
    patroller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("patroller"),
        on_delete=models.PROTECT,
        related_name="patrols",
    )
    date = models.DateField(_("date"))
    route = models.CharField(_("route or area"), max_length=200)
    minutes = models.PositiveIntegerField(_("minutes"), null=True, blank=True)
    findings = models.TextField(_("findings"), blank=True)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case raised"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patrols",
    )
    client_uuid = models.UUIDField(_("client id"), unique=True, null=True, blank=True, editable=False)

    scope_path_lookup = "grid__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("patrol record")
        verbose_name_plural = _("patrol records")
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["patroller", "date"]), models.Index(fields=["grid", "date"])]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.patroller} · {self.grid}"


class PublicityRecord(TimeStampedModel):
    """政策宣传: what was publicised, to whom, how and to how many (WORK-6)."""

    unit = models.ForeignKey("units.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    date = models.DateField(_("date"))
    topic = models.CharField(_("policy or topic"), max_length=200)
    method = models.CharField(_("method"), max_length=16, choices=PublicityMethod.choices)
    audience = models.CharField(_("to whom"), max_length=200)
    reached = models.PositiveIntegerField(_("people reached"), default=0)
    notes = models.TextField(_("notes"), blank=True)
    client_uuid = models.UUIDField(_("client id"), unique=True, null=True, blank=True, editable=False)

    scope_path_lookup = "unit__path"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("publicity record")
        verbose_name_plural = _("publicity records")
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["date"])]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.topic}"
