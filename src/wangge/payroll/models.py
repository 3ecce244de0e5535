"""Pay and subsidies (TEAM-7): the rules an administrator edits, information rewards, and the monthly payroll
sheets computed from them.

Rules are versioned by `valid_from` (always the first day of a month): the version in force on the first of
a month is the one that month is paid by. A rule names a unit to override the deployment-wide rule (empty
unit) in that unit's subtree; the most specific unit wins. A sheet keeps, line by line, the figures and the
rule values it was computed with, so a finalised sheet never changes when a rule does.

Who sees what: sheets, and the lines and rewards under them, are seen by holders of MANAGE_PAY over the
sheet's unit (`paths_for(MANAGE_PAY)`, not every subtree the user sees); a person also sees their own pay
lines and rewards. Rules are seen by every staff member they concern: the deployment-wide ones, the
overrides at or above their posts' units, and those below.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wangge.core.models import TimeStampedModel
from wangge.core.scope import ScopedQuerySet, scope_for
from wangge.people.roles import Capability, Role

from .choices import AllowanceKind, PayKind, SheetStatus

MONEY = {"max_digits": 12, "decimal_places": 2}


def pay_condition(user, path_lookup: str) -> Q | None:
    """Rows under the subtrees where `user` holds MANAGE_PAY; None means every row (a global user)."""
    scope = scope_for(user)
    if scope.is_global:
        return None
    return scope.path_q(path_lookup, scope.paths_for(Capability.MANAGE_PAY))


class _PayScopedQuerySet(ScopedQuerySet):
    """Rows of a unit seen only by MANAGE_PAY over it, plus (`own_lookup`) the rows about the user."""

    own_lookup: str | None = None

    def visible_to(self, user):
        condition = pay_condition(user, self.model.scope_path_lookup)
        if condition is None:
            return self
        if self.own_lookup and user is not None and user.is_authenticated:
            condition |= Q(**{self.own_lookup: user})
        return self.filter(condition)


class RuleQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        """The deployment-wide rules, the overrides at or above the user's posts, and those below them."""
        scope = scope_for(user)
        if scope.is_global:
            return self
        if scope.is_empty:
            return self.none()
        from wangge.units.models import Unit

        above = {prefix for path in scope.paths for prefix in Unit.path_prefixes(path, include_self=False)}
        return self.filter(Q(unit__isnull=True) | Q(unit__path__in=above) | scope.path_q("unit__path"))

    def editable_by(self, user):
        """The versions `user` may change: overrides under their MANAGE_PAY posts; deployment-wide ones need
        CONFIGURE."""
        scope = scope_for(user)
        if scope.is_global:
            return self
        condition = scope.path_q("unit__path", scope.paths_for(Capability.MANAGE_PAY))
        if user.has_capability(Capability.CONFIGURE):
            condition |= Q(unit__isnull=True)
        return self.filter(condition)

    def in_force(self, month):
        return self.filter(valid_from__lte=month)


class _Rule(TimeStampedModel):
    unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_(
            "Empty: the whole deployment. A unit: its subtree, overriding the rules of the units above it."
        ),
    )
    valid_from = models.DateField(
        _("valid from"),
        help_text=_(
            "The first day of the month from which this version applies; it stays until a later one."
        ),
    )
    source = models.CharField(
        _("source"),
        max_length=200,
        blank=True,
        help_text=_("Where the figure comes from (a document, a decision)."),
    )

    scope_path_lookup = "unit__path"
    objects = RuleQuerySet.as_manager()

    class Meta:
        abstract = True


class PayRule(_Rule):
    """The monthly pay of one post type (Role), and its employer's insurance (五险), from `valid_from` on."""

    role = models.CharField(_("post type"), max_length=32, choices=Role.choices)
    pay_kind = models.CharField(_("pay kind"), max_length=16, choices=PayKind.choices, default=PayKind.SALARY)
    base_pay = models.DecimalField(
        _("monthly amount"),
        **MONEY,
        help_text=_("Base salary or lost-time allowance for a full month, in yuan."),
    )
    insurance_rate = models.DecimalField(
        _("employer's insurance rate"),
        max_digits=5,
        decimal_places=4,
        default=0,
        help_text=_("The employer's share of the five insurances (五险) as a fraction: 0.2658 for 26.58 %."),
    )
    insurance_base = models.DecimalField(
        _("insurance base"),
        **MONEY,
        null=True,
        blank=True,
        help_text=_("The monthly amount the rate applies to; empty: the monthly pay itself."),
    )

    class Meta:
        verbose_name = _("pay rule")
        verbose_name_plural = _("pay rules")
        ordering = ["role", "unit__path", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["role", "valid_from"],
                condition=Q(unit__isnull=True),
                name="pay_rule_one_version_per_month",
            ),
            models.UniqueConstraint(
                fields=["role", "unit", "valid_from"],
                condition=Q(unit__isnull=False),
                name="pay_rule_one_unit_version_per_month",
            ),
            models.CheckConstraint(condition=Q(base_pay__gte=0), name="pay_rule_base_not_negative"),
            models.CheckConstraint(
                condition=Q(insurance_rate__gte=0) & Q(insurance_rate__lt=1), name="pay_rule_rate_fraction"
            ),
            models.CheckConstraint(
                condition=Q(insurance_base__isnull=True) | Q(insurance_base__gte=0),
                name="pay_rule_insurance_base_not_negative",
            ),
        ]

    def __str__(self):
        where = self.unit.name if self.unit_id else _("all units")
        return f"{self.get_role_display()} · {where} · {self.valid_from:%Y-%m}"

    @property
    def effective_insurance_base(self):
        return self.base_pay if self.insurance_base is None else self.insurance_base


class AllowanceRule(_Rule):
    """以案定补: an amount per case of one kind of work, optionally for one category's subtree, capped per
    person and month. For a case, the rule naming the most specific category applies (a 小类 before its 大类
    before none), then the most specific unit; rules of different kinds add up."""

    kind = models.CharField(_("work paid for"), max_length=16, choices=AllowanceKind.choices)
    category = models.ForeignKey(
        "cases.Category",
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_(
            "A category covers its subcategories. Required for mediated disputes; empty: any category."
        ),
    )
    amount = models.DecimalField(_("amount per case"), **MONEY)
    monthly_cap = models.DecimalField(
        _("monthly cap per person"), **MONEY, null=True, blank=True, help_text=_("Empty: no cap.")
    )

    class Meta:
        verbose_name = _("case allowance rule")
        verbose_name_plural = _("case allowance rules")
        ordering = ["kind", "category__code", "unit__path", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "valid_from"],
                condition=Q(unit__isnull=True, category__isnull=True),
                name="allowance_rule_one_version",
            ),
            models.UniqueConstraint(
                fields=["kind", "category", "valid_from"],
                condition=Q(unit__isnull=True, category__isnull=False),
                name="allowance_rule_one_category_version",
            ),
            models.UniqueConstraint(
                fields=["kind", "unit", "valid_from"],
                condition=Q(unit__isnull=False, category__isnull=True),
                name="allowance_rule_one_unit_version",
            ),
            models.UniqueConstraint(
                fields=["kind", "category", "unit", "valid_from"],
                condition=Q(unit__isnull=False, category__isnull=False),
                name="allowance_rule_one_unit_category_version",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="allowance_rule_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(monthly_cap__isnull=True) | Q(monthly_cap__gte=0),
                name="allowance_rule_cap_not_negative",
            ),
        ]

    def __str__(self):
        what = self.get_kind_display()
        if self.category_id:
            what = f"{what} · {self.category.name}"
        where = self.unit.name if self.unit_id else _("all units")
        return f"{what} · {where} · {self.valid_from:%Y-%m}"


class RewardQuerySet(_PayScopedQuerySet):
    own_lookup = "person"

    def live(self):
        return self.filter(withdrawn_at__isnull=True)


class InformationReward(TimeStampedModel):
    """重要信息报告奖励 (seed 003): an amount granted to a person for important information, paid in the
    payroll sheets of `month` whose unit's subtree holds `unit`. Written by `payroll.services` only."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="pay_rewards",
    )
    unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("granted at"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The unit that grants and pays it: the person holds a post in its subtree."),
    )
    month = models.DateField(
        _("paid in month"), help_text=_("The first day of the month whose payroll pays it.")
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    reason = models.TextField(_("reason"))
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("granted by"), on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("withdrawn by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    scope_path_lookup = "unit__path"
    objects = RewardQuerySet.as_manager()

    class Meta:
        verbose_name = _("information reward")
        verbose_name_plural = _("information rewards")
        ordering = ["-month", "unit__path", "-id"]
        indexes = [models.Index(fields=["month", "person"])]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="reward_amount_positive")]

    def __str__(self):
        return f"{self.person} · {self.month:%Y-%m} · {self.amount}"


class SheetQuerySet(_PayScopedQuerySet):
    pass


class PaySheet(models.Model):
    """The payroll of one unit's subtree for one month: a draft until finalised, then frozen."""

    unit = models.ForeignKey("units.Unit", verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    status = models.CharField(
        _("status"), max_length=8, choices=SheetStatus.choices, default=SheetStatus.DRAFT
    )
    computed_at = models.DateTimeField(_("computed at"))
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("computed by"), on_delete=models.PROTECT, related_name="+"
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
    people = models.PositiveIntegerField(_("people"), default=0)
    base_total = models.DecimalField(_("base pay"), **MONEY, default=0)
    insurance_total = models.DecimalField(_("insurance"), **MONEY, default=0)
    allowance_total = models.DecimalField(_("case allowances"), **MONEY, default=0)
    allowance_count = models.PositiveIntegerField(_("cases paid"), default=0)
    reward_total = models.DecimalField(_("rewards"), **MONEY, default=0)
    total = models.DecimalField(_("total"), **MONEY, default=0)
    # 12 × this month's recurring cost (base + insurance) plus the allowances and rewards of this unit's
    # sheets of the year up to and including this month, as they stood when this sheet was computed.
    year_variable_total = models.DecimalField(
        _("allowances and rewards of the year so far"), **MONEY, default=0
    )
    budget_total = models.DecimalField(_("yearly budget"), **MONEY, default=0)

    scope_path_lookup = "unit__path"
    objects = SheetQuerySet.as_manager()

    class Meta:
        verbose_name = _("payroll sheet")
        verbose_name_plural = _("payroll sheets")
        ordering = ["-month", "unit__path"]
        constraints = [models.UniqueConstraint(fields=["unit", "month"], name="pay_sheet_one_per_unit_month")]
        indexes = [models.Index(fields=["month", "status"])]

    def __str__(self):
        return f"{self.unit.name} · {self.month:%Y-%m}"

    @property
    def recurring_total(self):
        return self.base_total + self.insurance_total

    @property
    def is_final(self) -> bool:
        return self.status == SheetStatus.FINAL


class LineQuerySet(_PayScopedQuerySet):
    own_lookup = "person"


class PayLine(models.Model):
    """One person's pay in one sheet: base and insurance of each paid post type they held in the subtree,
    the per-case allowances and the information rewards of the month."""

    sheet = models.ForeignKey(
        PaySheet, verbose_name=_("sheet"), on_delete=models.CASCADE, related_name="lines"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.PROTECT, related_name="pay_lines"
    )
    unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Where the person's main paid post sits (the one held the most days of the month)."),
    )
    base = models.DecimalField(_("base pay"), **MONEY, default=0)
    insurance = models.DecimalField(_("insurance"), **MONEY, default=0)
    allowance = models.DecimalField(_("case allowances"), **MONEY, default=0)
    allowance_count = models.PositiveIntegerField(_("cases paid"), default=0)
    rewards = models.DecimalField(_("rewards"), **MONEY, default=0)
    total = models.DecimalField(_("total"), **MONEY, default=0)
    reward_records = models.ManyToManyField(
        InformationReward, verbose_name=_("rewards paid"), blank=True, related_name="pay_lines"
    )

    scope_path_lookup = "sheet__unit__path"
    objects = LineQuerySet.as_manager()

    class Meta:
        verbose_name = _("pay line")
        verbose_name_plural = _("pay lines")
        ordering = ["sheet_id", "id"]  # lines are written in tree order, then by name
        constraints = [models.UniqueConstraint(fields=["sheet", "person"], name="pay_line_one_per_person")]

    def __str__(self):
        return f"{self.person} · {self.sheet}"


class PayLineItem(models.Model):
    """The base pay and insurance of one post type in a line, with the rule values it was computed by."""

    line = models.ForeignKey(PayLine, verbose_name=_("line"), on_delete=models.CASCADE, related_name="items")
    role = models.CharField(_("post type"), max_length=32, choices=Role.choices)
    rule = models.ForeignKey(PayRule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="items")
    days = models.PositiveSmallIntegerField(_("days held"))
    month_days = models.PositiveSmallIntegerField(_("days in the month"))
    pay_kind = models.CharField(_("pay kind"), max_length=16, choices=PayKind.choices)
    base_pay = models.DecimalField(_("monthly amount"), **MONEY)
    insurance_rate = models.DecimalField(_("employer's insurance rate"), max_digits=5, decimal_places=4)
    insurance_base = models.DecimalField(_("insurance base"), **MONEY)
    base = models.DecimalField(_("base pay"), **MONEY)
    insurance = models.DecimalField(_("insurance"), **MONEY)

    class Meta:
        verbose_name = _("pay line item")
        verbose_name_plural = _("pay line items")
        ordering = ["line_id", "role"]

    def __str__(self):
        return f"{self.get_role_display()} · {self.days}/{self.month_days}"

    @property
    def is_prorated(self) -> bool:
        return self.days != self.month_days


class AllowanceItem(models.Model):
    """The cases of one allowance rule counted in a line, and what they pay after the cap."""

    line = models.ForeignKey(
        PayLine, verbose_name=_("line"), on_delete=models.CASCADE, related_name="allowances"
    )
    rule = models.ForeignKey(
        AllowanceRule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="items"
    )
    kind = models.CharField(_("work paid for"), max_length=16, choices=AllowanceKind.choices)
    count = models.PositiveIntegerField(_("cases"))
    amount_per_case = models.DecimalField(_("amount per case"), **MONEY)
    monthly_cap = models.DecimalField(_("monthly cap per person"), **MONEY, null=True, blank=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    cases = models.ManyToManyField("cases.Case", verbose_name=_("cases"), related_name="+")

    class Meta:
        verbose_name = _("case allowance item")
        verbose_name_plural = _("case allowance items")
        ordering = ["line_id", "kind", "id"]

    def __str__(self):
        return f"{self.get_kind_display()} × {self.count}"

    @property
    def is_capped(self) -> bool:
        return self.amount < self.amount_per_case * self.count
