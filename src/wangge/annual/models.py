"""The annual appraisal of grid staff (年度考核, EVAL-2, seed 002 section 3) and the 优秀网格员 awards
(EVAL-4, seed 003 section 五).

A unit (county, township or village/community) runs one round a year over the grid staff posted in its
subtree. Each appraised person has one entry a year — in one round only — and the entry goes through the
steps of seed 002: self-report (个人述职), democratic rating (民主测评: ballots or entered counts), on-site
check (实地查看), then the rating 优秀/合格/不合格, at most `excellent_share` per cent 优秀 per round.
Finalising freezes the round; the consequences (dismissal, circulated notice, awards, pipeline flags)
follow it. Rows are written only through `wangge.annual.services`.

Who reads what (`visible_to`): a round and its entries, ballots and awards are read by the holders of
Capability.APPRAISE through a post at the round's unit or above it; an appraised person reads their own
entries and awards. Ballots are secret: pages show tallies, never who voted what.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from wangge.core.models import TimeStampedModel
from wangge.core.scope import ScopedQuerySet, scope_for
from wangge.people.roles import Capability, Role

from .choices import Rating, RoundStatus, Voting


def appraiser_q(user, path_lookup: str) -> Q | None:
    """Rows whose unit path (by `path_lookup`) lies under a post of `user` granting APPRAISE; None for
    everything (a global scope)."""
    scope = scope_for(user)
    if scope.is_global:
        return None
    return scope.path_q(path_lookup, scope.paths_for(Capability.APPRAISE))


class RoundQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """Rounds run at a unit where the user appraises (a post at the unit or above it grants APPRAISE)."""
        condition = appraiser_q(user, "unit__path")
        return self if condition is None else self.filter(condition)


class AppraisalRound(TimeStampedModel):
    """年度考核: one unit's annual appraisal of the grid staff under it, for one year."""

    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("organising unit"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("year appraised"))
    title = models.CharField(pgettext_lazy("appraisal round", "title"), max_length=120)
    reference_date = models.DateField(
        _("reference date"),
        help_text=_("The people appraised are the holders of grid posts under the unit on this day."),
    )
    voting = models.CharField(_("democratic rating"), max_length=8, choices=Voting.choices)
    # The cap in force when the round opened (WANGGE_EXCELLENT_SHARE_PERCENT): a later change of the
    # setting does not change a round already under way or decided.
    excellent_share = models.PositiveSmallIntegerField(_("share of excellent (%)"))
    status = models.CharField(
        _("status"), max_length=10, choices=RoundStatus.choices, default=RoundStatus.OPEN
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), on_delete=models.PROTECT, related_name="+"
    )
    finalised_at = models.DateTimeField(_("finalised at"), null=True, blank=True)
    finalised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("finalised by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    scope_path_lookup = "unit__path"
    objects = RoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("annual appraisal round")
        verbose_name_plural = _("annual appraisal rounds")
        ordering = ["-year", "unit__path", "id"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "year"], name="annual_round_once_a_year"),
            models.CheckConstraint(
                condition=Q(excellent_share__lte=100), name="annual_round_share_a_percentage"
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_finalised(self) -> bool:
        return self.status == RoundStatus.FINALISED


class EntryQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """Entries of the rounds the user appraises, and the user's own entries."""
        condition = appraiser_q(user, "round__unit__path")
        if condition is None:
            return self
        if user is not None and user.is_authenticated:
            condition |= Q(user_id=user.pk)
        return self.filter(condition)

    def rated(self):
        return self.exclude(rating="")


class AppraisalEntry(TimeStampedModel):
    """One person's annual appraisal: the steps of seed 002 and the rating, in one round."""

    round = models.ForeignKey(
        AppraisalRound, verbose_name=_("round"), on_delete=models.CASCADE, related_name="entries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person appraised"),
        on_delete=models.PROTECT,
        related_name="annual_entries",
    )
    # The round's year again: one entry per person and year, whichever unit runs the round.
    year = models.PositiveSmallIntegerField(_("year appraised"))
    # Where the person served on the reference date (their first grid post under the round's unit).
    unit = models.ForeignKey("units.Unit", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("role"), max_length=32)
    post_title = models.CharField(_("post title"), max_length=64, blank=True)

    # 个人述职
    self_report = models.TextField(_("self-report"), blank=True)
    self_report_at = models.DateTimeField(_("self-report written at"), null=True, blank=True)
    self_report_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("self-report entered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # 民主测评: tallies kept here (ballots add to them; entered counts replace them).
    votes_excellent = models.PositiveIntegerField(_("votes: excellent"), default=0)
    votes_competent = models.PositiveIntegerField(_("votes: competent"), default=0)
    votes_incompetent = models.PositiveIntegerField(_("votes: incompetent"), default=0)
    votes_entered_at = models.DateTimeField(_("vote counts entered at"), null=True, blank=True)
    votes_entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("vote counts entered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # 实地查看
    onsite_score = models.PositiveSmallIntegerField(_("on-site check score"), null=True, blank=True)
    onsite_findings = models.TextField(_("on-site check findings"), blank=True)
    onsite_at = models.DateTimeField(_("on-site check recorded at"), null=True, blank=True)
    onsite_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("on-site check by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # 考核等次
    rating = models.CharField(
        pgettext_lazy("appraisal", "rating"), max_length=12, choices=Rating.choices, blank=True
    )
    rating_note = models.TextField(_("grounds for the rating"), blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rated by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Consequences of 不合格 (seed 002: 予以解聘、通报)
    dismissed_on = models.DateField(_("posts ended on (dismissal)"), null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("dismissed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    notice_text = models.TextField(_("circulated notice"), blank=True)
    noticed_on = models.DateField(_("notice circulated on"), null=True, blank=True)
    noticed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("notice circulated by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    scope_path_lookup = "round__unit__path"
    objects = EntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("appraisal entry")
        verbose_name_plural = _("appraisal entries")
        ordering = ["round", "unit__path", "user__full_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["year", "user"], name="annual_entry_once_a_year"),
            models.CheckConstraint(
                condition=Q(onsite_score__isnull=True) | Q(onsite_score__lte=100),
                name="annual_entry_onsite_score_0_100",
            ),
        ]
        indexes = [models.Index(fields=["round", "rating"], name="annual_entry_round_rating")]

    def __str__(self):
        return f"{self.year} · {self.user}"

    @property
    def post_label(self) -> str:
        """The post's local title, or its role's name."""
        if self.post_title:
            return self.post_title
        return str(dict(Role.choices).get(self.role, self.role))

    @property
    def votes_total(self) -> int:
        return self.votes_excellent + self.votes_competent + self.votes_incompetent

    @property
    def has_self_report(self) -> bool:
        return bool(self.self_report_at)

    @property
    def has_votes(self) -> bool:
        return self.votes_entered_at is not None or self.votes_total > 0

    @property
    def has_onsite_check(self) -> bool:
        return self.onsite_at is not None

    @property
    def is_rated(self) -> bool:
        return bool(self.rating)


class BallotQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """Ballots of the rounds the user appraises (read as tallies: pages never show the voter)."""
        condition = appraiser_q(user, "entry__round__unit__path")
        return self if condition is None else self.filter(condition)


class Ballot(models.Model):
    """One staff member's vote on one colleague in the democratic rating (民主测评). Secret: the voter is
    kept only so that nobody votes twice; pages and exports show tallies."""

    entry = models.ForeignKey(
        AppraisalEntry, verbose_name=_("appraisal entry"), on_delete=models.CASCADE, related_name="ballots"
    )
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("voter"), on_delete=models.PROTECT, related_name="+"
    )
    choice = models.CharField(_("vote"), max_length=12, choices=Rating.choices)
    cast_at = models.DateTimeField(_("cast at"))

    scope_path_lookup = "entry__round__unit__path"
    objects = BallotQuerySet.as_manager()

    class Meta:
        verbose_name = _("ballot")
        verbose_name_plural = _("ballots")
        ordering = ["entry", "id"]
        constraints = [models.UniqueConstraint(fields=["entry", "voter"], name="annual_ballot_once")]
        indexes = [models.Index(fields=["voter", "entry"], name="annual_ballot_voter")]

    def __str__(self):
        # Not the choice: this string is what the change log keeps of a ballot.
        return f"{self.entry} · {_('ballot')}"


class AwardQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """Awards given from rounds the user appraises, and the user's own awards."""
        condition = appraiser_q(user, "entry__round__unit__path")
        if condition is None:
            return self
        if user is not None and user.is_authenticated:
            condition |= Q(user_id=user.pk)
        return self.filter(condition)


class Award(TimeStampedModel):
    """表彰: an honour such as 优秀网格员 given for a year, resting on a 优秀 entry of a finalised round."""

    year = models.PositiveSmallIntegerField(_("year"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person honoured"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    title = models.CharField(_("honour"), max_length=64)
    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("awarding unit"), on_delete=models.PROTECT, related_name="+"
    )
    entry = models.ForeignKey(
        AppraisalEntry, verbose_name=_("appraisal entry"), on_delete=models.PROTECT, related_name="awards"
    )
    awarded_on = models.DateField(_("awarded on"))
    awarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("awarded by"), on_delete=models.PROTECT, related_name="+"
    )

    scope_path_lookup = "entry__round__unit__path"
    objects = AwardQuerySet.as_manager()

    class Meta:
        verbose_name = _("award")
        verbose_name_plural = _("awards")
        ordering = ["-year", "unit__path", "id"]
        constraints = [
            models.UniqueConstraint(fields=["year", "user", "title"], name="annual_award_once_a_year")
        ]

    def __str__(self):
        return f"{self.year} {self.title} · {self.user}"
