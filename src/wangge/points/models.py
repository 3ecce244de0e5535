"""Resident points (EVAL-5, seeds 004 and 000): 道德银行, 积分存折, 积分超市 and the 清洁户 / 整洁庭院 selections.

- `PointRule`: a listed good deed, deduction or title and its points, deployment-wide or for one unit's
  subtree (a village adds its own); loaded from `points/data/rules.json`, edited by administrators.
- `PointBook` (积分存折): one per household, with a balance that a database constraint keeps at zero or more.
- `PointEntry`: one movement of a book — award, deduction, redemption, adjustment, or the reversal of an
  earlier entry. Entries are never changed or deleted: a correction is a new, reversing entry. Each one
  records the balance after it, and the book's sequence number orders them.
- `ShopItem`: goods of a village's points shop (积分超市), priced in points, with an optional stock.
- `Selection` and `SelectedHousehold`: a village's 评选 of one title for one month or quarter, and the
  households selected; selecting awards the title's points once per household and period.

Everything is written by `wangge.points.services`. A book and its entries are read by whoever reads the
household (`Household.objects.visible_to`); goods, selections and rules of a village are read by the
territorial posts in it and above it — a grid worker sees the shop of their grid's village.
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.core.models import TimeStampedModel
from wangge.core.scope import ScopedQuerySet, scope_for

from .choices import EntryKind, RuleKind, SelectionPeriod


def territory_condition(user, path_lookup: str) -> Q | None:
    """Rows whose unit (reached by `path_lookup`) lies in the user's territorial subtrees or above them (a
    grid worker's village and township). None for a global user (no condition); an empty condition for a
    user without a territorial post."""
    scope = scope_for(user)
    if scope.is_global:
        return None
    paths = scope.territorial_paths
    if not paths:
        return Q(pk__in=[])
    from wangge.units.models import Unit

    above = sorted({prefix for path in paths for prefix in Unit.path_prefixes(path, include_self=False)})
    condition = reduce(or_, (Q(**{f"{path_lookup}__startswith": path}) for path in paths))
    if above:
        condition |= Q(**{f"{path_lookup}__in": above})
    return condition


class TerritoryQuerySet(ScopedQuerySet):
    """Village records (goods, selections): read in the village's subtree and above it."""

    def visible_to(self, user):
        condition = territory_condition(user, self.model.scope_path_lookup)
        return self if condition is None else self.filter(condition)


class HouseholdRecordQuerySet(ScopedQuerySet):
    """Point books and entries: read by whoever reads the household (the ledger's rule, dual grids included)."""

    def visible_to(self, user):
        from wangge.ledger.models import Household

        if scope_for(user).is_global:
            return self
        return self.filter(**{f"{self.model.household_lookup}__in": Household.objects.visible_to(user)})


class PointRuleQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """Deployment-wide rules, and those of units in or above the user's territory."""
        condition = territory_condition(user, "unit__path")
        if condition is None:
            return self
        return self.filter(Q(unit__isnull=True) | condition)

    def active(self):
        return self.filter(is_active=True)

    def applicable_at(self, path: str):
        """Rules that hold at the unit of `path`: deployment-wide ones and those of its unit or above."""
        from wangge.units.models import Unit

        return self.filter(Q(unit__isnull=True) | Q(unit__path__in=Unit.path_prefixes(path)))


class PointRule(models.Model):
    """积分规则: one good deed, deduction or title and its points (EVAL-5), edited by administrators.

    A rule with no unit holds everywhere; a rule of a unit holds in its subtree (a village adds its own).
    `yearly_cap` bounds the points one household may gain (or lose) by this rule in a calendar year.
    A title (清洁户, 整洁庭院 …) is given by a village's selection once per `period`, never by hand.
    """

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=12, choices=RuleKind.choices, default=RuleKind.DEED)
    points = models.PositiveIntegerField(
        _("points"), help_text=_("Points per time (deducted for a deduction).")
    )
    unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The rule holds in this unit's subtree; empty: everywhere."),
    )
    yearly_cap = models.PositiveIntegerField(
        _("yearly cap per household"),
        null=True,
        blank=True,
        help_text=_("The most points one household may gain or lose by this rule in a calendar year."),
    )
    period = models.CharField(
        _("selection period"),
        max_length=8,
        choices=SelectionPeriod.choices,
        blank=True,
        help_text=_("For a title only: how often the village selects its households."),
    )
    requires_case = models.BooleanField(
        _("needs a registered case"),
        default=False,
        help_text=_("Awarded only for a report that became a registered case (报告隐患)."),
    )
    description = models.TextField(_("standard"), blank=True)
    is_active = models.BooleanField(_("in force"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)
    source = models.CharField(_("source"), max_length=200, blank=True)

    objects = PointRuleQuerySet.as_manager()
    scope_path_lookup = "unit__path"

    class Meta:
        verbose_name = _("points rule")
        verbose_name_plural = _("points rules")
        ordering = ["kind", "sort_order", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gte=1), name="point_rule_points_positive"),
            models.CheckConstraint(
                condition=(Q(kind=RuleKind.TITLE) & ~Q(period="")) | (~Q(kind=RuleKind.TITLE) & Q(period="")),
                name="point_rule_period_for_titles_only",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.kind != RuleKind.TITLE:
            self.period = ""  # only titles are selected by period
        elif not self.period:
            raise ValidationError(
                {"period": _("A title is selected monthly or quarterly: choose the period.")}
            )

    @property
    def signed_points(self) -> int:
        return -self.points if self.kind == RuleKind.DEDUCTION else self.points


class ShopItem(TimeStampedModel):
    """积分超市商品: goods of one village's points shop, priced in points; `stock` empty = not counted."""

    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("name"), max_length=64)
    description = models.CharField(_("description"), max_length=200, blank=True)
    price = models.PositiveIntegerField(_("price in points"))
    stock = models.PositiveIntegerField(
        _("stock"), null=True, blank=True, help_text=_("Pieces in the shop; empty: not counted.")
    )
    is_active = models.BooleanField(_("on offer"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)

    scope_path_lookup = "unit__path"
    objects = TerritoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("points shop item")
        verbose_name_plural = _("points shop items")
        ordering = ["unit__path", "sort_order", "price", "name"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="shop_item_one_name_per_village"),
            models.CheckConstraint(condition=Q(price__gte=1), name="shop_item_price_positive"),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="shop_item_stock_not_negative"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.price})"


class PointBook(TimeStampedModel):
    """积分存折: a household's points. `balance` is the sum of its entries' points and never below zero;
    `entry_count` is the sequence number of its last entry."""

    household = models.OneToOneField(
        "ledger.Household", verbose_name=_("household"), on_delete=models.PROTECT, related_name="point_book"
    )
    balance = models.IntegerField(_("balance"), default=0)
    entry_count = models.PositiveIntegerField(_("entries"), default=0)

    scope_path_lookup = "household__grid__path"
    household_lookup = "household"
    objects = HouseholdRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("point book")
        verbose_name_plural = _("point books")
        ordering = ["household__number"]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="point_book_balance_not_negative")
        ]

    def __str__(self):
        return f"{self.household.number} · {self.balance}"


class ImmutableEntry(Exception):
    """A point entry was about to be changed or deleted: corrections are reversing entries."""


class PointEntryQuerySet(HouseholdRecordQuerySet):
    def update(self, **kwargs):
        raise ImmutableEntry("Point entries are never changed; post a reversing entry.")

    def delete(self):
        raise ImmutableEntry("Point entries are never deleted; post a reversing entry.")


class PointEntry(models.Model):
    """One movement of a point book. Written once by `services`, never changed or deleted.

    `points` is signed (awards and returns positive, deductions and redemptions negative); `balance_after`
    is the book's balance once it was posted. `date` is the day of the deed or the redemption, `recorded_at`
    when it was posted and by whom; `unit` is the household's village at that time, whose figures it counts
    in. A retried submission from a phone carries the same `client_uuid` and finds its entry.
    """

    # The indexes of (book, seq), (unit, date) and (rule, date) serve these keys: no index of their own.
    book = models.ForeignKey(
        PointBook,
        verbose_name=_("point book"),
        on_delete=models.PROTECT,
        related_name="entries",
        db_index=False,
    )
    seq = models.PositiveIntegerField(_("number"))
    kind = models.CharField(_("kind"), max_length=12, choices=EntryKind.choices)
    points = models.IntegerField(_("points"))
    balance_after = models.IntegerField(_("balance after"))
    date = models.DateField(_("date"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    rule = models.ForeignKey(
        PointRule,
        verbose_name=_("rule"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
        db_index=False,
    )
    item = models.ForeignKey(
        ShopItem,
        verbose_name=_("goods"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    selection = models.ForeignKey(
        "Selection",
        verbose_name=_("selection"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversal",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    client_uuid = models.UUIDField(_("client id"), unique=True, null=True, blank=True, editable=False)

    scope_path_lookup = "book__household__grid__path"
    household_lookup = "book__household"
    objects = PointEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("point entry")
        verbose_name_plural = _("point entries")
        ordering = ["book_id", "-seq"]
        constraints = [
            models.UniqueConstraint(fields=["book", "seq"], name="point_entry_one_per_book_seq"),
            models.CheckConstraint(condition=~Q(points=0), name="point_entry_points_not_zero"),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="point_entry_balance_not_negative"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="point_entry_quantity_positive"),
            models.CheckConstraint(
                condition=(Q(kind=EntryKind.REVERSAL) & Q(reverses__isnull=False))
                | (~Q(kind=EntryKind.REVERSAL) & Q(reverses__isnull=True)),
                name="point_entry_reversal_names_its_entry",
            ),
        ]
        indexes = [
            models.Index(fields=["unit", "date"], name="point_entry_unit_date"),
            models.Index(fields=["rule", "date"], name="point_entry_rule_date"),
        ]

    def __str__(self):
        return f"{self.book.household.number} #{self.seq} {self.get_kind_display()} {self.points:+d}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableEntry("Point entries are never changed; post a reversing entry.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableEntry("Point entries are never deleted; post a reversing entry.")

    @property
    def subject(self):
        """What the entry was for: its rule, its goods, or the entry it reverses."""
        return self.rule or self.item


class Selection(models.Model):
    """评选: a village's choice of households for one title (清洁户, 整洁庭院 …) in one month or quarter."""

    unit = models.ForeignKey(
        "units.Unit", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    rule = models.ForeignKey(
        PointRule, verbose_name=_("title"), on_delete=models.PROTECT, related_name="selections"
    )
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    made_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    note = models.CharField(_("note"), max_length=200, blank=True)

    scope_path_lookup = "unit__path"
    objects = TerritoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("selection")
        verbose_name_plural = _("selections")
        ordering = ["-period_start", "unit__path", "rule__sort_order"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "rule", "period_start"], name="selection_one_per_period"),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="selection_period_ordered"
            ),
        ]

    def __str__(self):
        return f"{self.rule.name} {self.period_start:%Y-%m}"


class SelectedHousehold(models.Model):
    """One household selected for a title in a period, with the award entry that gave it the points.

    Withdrawn (with its award reversed) rather than deleted; a household holds a title at most once per
    period while the selection stands.
    """

    selection = models.ForeignKey(
        Selection, verbose_name=_("selection"), on_delete=models.PROTECT, related_name="winners"
    )
    household = models.ForeignKey(
        "ledger.Household", verbose_name=_("household"), on_delete=models.PROTECT, related_name="+"
    )
    rule = models.ForeignKey(PointRule, verbose_name=_("title"), on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField(_("period from"))
    entry = models.OneToOneField(
        PointEntry, verbose_name=_("award"), on_delete=models.PROTECT, related_name="selected"
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("selected household")
        verbose_name_plural = _("selected households")
        ordering = ["selection_id", "household__number"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "household", "period_start"],
                condition=Q(withdrawn_at__isnull=True),
                name="selected_once_per_title_and_period",
            )
        ]

    def __str__(self):
        return f"{self.selection} · {self.household.number}"
