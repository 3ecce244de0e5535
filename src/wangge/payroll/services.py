"""The only writers of pay rules, information rewards and payroll sheets (TEAM-7).

Who may do what:
- A pay or allowance rule for a unit is kept by a holder of MANAGE_PAY at or above that unit (county,
  township or village); a deployment-wide rule needs CONFIGURE. A version already paid by a finalised sheet
  cannot change or go: a change of pay is a new version from a later month.
- Rewards are granted and withdrawn by MANAGE_PAY over the granting unit, to a person holding a post in its
  subtree during the month, while no finalised sheet of that month covers the unit.
- Sheets are computed, recomputed and finalised by MANAGE_PAY over their unit. A sheet pays a month that has
  begun; it is finalised once the month has ended, and then never changes.

The arithmetic is in `compute`; this module reads the rows, writes the results and the change log.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import diff, record_change, snapshot
from wangge.core.models import ChangeAction
from wangge.core.scope import scope_for
from wangge.people.models import Post
from wangge.people.roles import Capability, Role
from wangge.units.models import Unit

from . import compute
from .choices import AllowanceKind, SheetStatus
from .compute import ZERO, LineDraft, month_start, next_month
from .models import (
    AllowanceItem,
    AllowanceRule,
    InformationReward,
    PayLine,
    PayLineItem,
    PayRule,
    PaySheet,
)

# Sheets are kept for a county, a township or a village (rank 3); grids are paid through their village.
PAY_UNIT_MAX_RANK = 3
BATCH = 2000
PAY_RULE_FIELDS = (
    "role",
    "unit",
    "valid_from",
    "pay_kind",
    "base_pay",
    "insurance_rate",
    "insurance_base",
    "source",
)
ALLOWANCE_RULE_FIELDS = ("kind", "category", "unit", "valid_from", "amount", "monthly_cap", "source")


# --- who keeps pay where --------------------------------------------------------------------------------


def pay_units(user):
    """The units whose payroll `user` keeps: counties, townships and villages under their MANAGE_PAY posts."""
    return (
        Unit.objects.current()
        .granting(user, Capability.MANAGE_PAY)
        .filter(level__is_grid=False, level__rank__lte=PAY_UNIT_MAX_RANK)
    )


def keeps_pay(user, unit) -> bool:
    return scope_for(user).grants(Capability.MANAGE_PAY, unit.path)


def _require_keeper(by, unit, field: str = "unit") -> None:
    if not by.has_capability(Capability.MANAGE_PAY):
        raise PermissionDenied(_("Your posts do not allow keeping pay and subsidies."))
    if not keeps_pay(by, unit):
        raise ValidationError(
            {field: _("Your posts do not allow keeping the pay of %(unit)s.") % {"unit": unit.name}}
        )


def _check_pay_unit(unit, field: str = "unit") -> None:
    if unit.level.is_grid or unit.level.rank > PAY_UNIT_MAX_RANK:
        raise ValidationError(
            {
                field: _("Pay is kept by a county, a township or a village, not by %(unit)s.")
                % {"unit": unit.name}
            }
        )


def _first_of_month(day, field: str) -> datetime.date:
    if day is None:
        raise ValidationError({field: _("Give the month.")})
    if day.day != 1:
        raise ValidationError(
            {field: _("A month is given by its first day (%(day)s is not).") % {"day": day}}
        )
    return day


def _money(value, field: str, *, allow_zero: bool = True, allow_none: bool = False) -> Decimal | None:
    if value is None or value == "":
        if allow_none:
            return None
        raise ValidationError({field: _("Give an amount.")})
    try:
        amount = Decimal(value)
    except (ArithmeticError, ValueError, TypeError) as error:
        raise ValidationError({field: _("Give an amount in yuan, e.g. 1580.00.")}) from error
    if not amount.is_finite() or amount != amount.quantize(compute.FEN):
        raise ValidationError({field: _("An amount is in yuan with at most two decimals (fen).")})
    if amount < 0 or (amount == 0 and not allow_zero):
        message = (
            _("The amount cannot be negative.") if allow_zero else _("The amount must be more than zero.")
        )
        raise ValidationError({field: message})
    return amount


# --- rules ----------------------------------------------------------------------------------------------


def can_edit_rule(user, rule) -> bool:
    return type(rule).objects.editable_by(user).filter(pk=rule.pk).exists() if rule.pk else True


def _check_rule_unit(by, unit) -> None:
    if unit is None:
        if not by.has_capability(Capability.CONFIGURE):
            raise ValidationError(
                {
                    "unit": _(
                        "A rule for the whole deployment is set by a system administrator; choose your unit."
                    )
                }
            )
        return
    _check_pay_unit(unit)
    if not by.has_capability(Capability.MANAGE_PAY) or not keeps_pay(by, unit):
        raise ValidationError(
            {"unit": _("Your posts do not allow keeping the pay of %(unit)s.") % {"unit": unit.name}}
        )


def rule_is_paid(rule) -> bool:
    """Whether a finalised sheet used this version (it is then frozen)."""
    return rule.pk is not None and rule.items.filter(line__sheet__status=SheetStatus.FINAL).exists()


def _save_rule(
    by, rule, values: dict, fields: tuple[str, ...], check, identity: tuple[str, ...]
) -> PayRule | AllowanceRule:
    """Write a rule version: `check` cleans its own fields; versions of one rule share `identity` (the
    fields besides unit and valid_from that say which rule it is a version of)."""
    model = type(rule)
    with transaction.atomic():
        if rule.pk is not None:
            rule = model.objects.select_for_update().get(pk=rule.pk)
            if not can_edit_rule(by, rule):
                raise PermissionDenied(_("Your posts do not allow changing this rule."))
            if rule_is_paid(rule):
                raise ValidationError(
                    {
                        "valid_from": _(
                            "This version has been paid in a finalised payroll sheet and cannot change: add a "
                            "new version from a later month."
                        )
                    }
                )
        before = snapshot(rule, list(fields)) if rule.pk else None
        for name in fields:
            if name in values:
                setattr(rule, name, values[name])
        _check_rule_unit(by, rule.unit)
        _first_of_month(rule.valid_from, "valid_from")
        check(rule)
        duplicate = model.objects.filter(unit=rule.unit, valid_from=rule.valid_from).exclude(pk=rule.pk)
        duplicate = duplicate.filter(**{name: getattr(rule, name) for name in identity})
        if duplicate.exists():
            raise ValidationError(
                {
                    "valid_from": _("This rule already has a version from %(month)s.")
                    % {"month": f"{rule.valid_from:%Y-%m}"}
                }
            )
        rule.save()
        if before is None:
            record_change(rule, ChangeAction.CREATE, by, {"after": snapshot(rule, list(fields))})
        else:
            changed = diff(before, snapshot(rule, list(fields)))
            if changed:
                record_change(rule, ChangeAction.UPDATE, by, changed)
    return rule


def _check_pay_rule(rule: PayRule) -> None:
    if rule.role not in Role.values or rule.role == Role.SYSTEM_ADMIN:
        raise ValidationError({"role": _("Choose the post type this rule pays.")})
    rule.base_pay = _money(rule.base_pay, "base_pay")
    rule.insurance_base = _money(rule.insurance_base, "insurance_base", allow_none=True)
    try:
        rate = Decimal(rule.insurance_rate if rule.insurance_rate not in (None, "") else "0")
    except (ArithmeticError, ValueError, TypeError) as error:
        raise ValidationError({"insurance_rate": _("Give the rate as a fraction, e.g. 0.2658.")}) from error
    if not rate.is_finite() or not (0 <= rate < 1) or rate != rate.quantize(Decimal("0.0001")):
        raise ValidationError(
            {
                "insurance_rate": _(
                    "The employer's rate is a fraction from 0 up to 1 with four decimals, e.g. 0.2658."
                )
            }
        )
    rule.insurance_rate = rate


def _check_allowance_rule(rule: AllowanceRule) -> None:
    if rule.kind not in AllowanceKind.values:
        raise ValidationError({"kind": _("Choose the work this rule pays for.")})
    if rule.kind == AllowanceKind.MEDIATED and rule.category_id is None:
        raise ValidationError(
            {"category": _("A mediation allowance names the dispute category it pays for.")}
        )
    rule.amount = _money(rule.amount, "amount")
    rule.monthly_cap = _money(rule.monthly_cap, "monthly_cap", allow_none=True)


def save_pay_rule(*, by, rule: PayRule | None = None, **values) -> PayRule:
    """Add a pay rule version (rule None) or change one not yet paid. Fields: PAY_RULE_FIELDS."""
    _unknown(values, PAY_RULE_FIELDS)
    return _save_rule(by, rule or PayRule(), values, PAY_RULE_FIELDS, _check_pay_rule, ("role",))


def save_allowance_rule(*, by, rule: AllowanceRule | None = None, **values) -> AllowanceRule:
    """Add a per-case allowance rule version or change one not yet paid. Fields: ALLOWANCE_RULE_FIELDS."""
    _unknown(values, ALLOWANCE_RULE_FIELDS)
    return _save_rule(
        by,
        rule or AllowanceRule(),
        values,
        ALLOWANCE_RULE_FIELDS,
        _check_allowance_rule,
        ("kind", "category"),
    )


def delete_rule(*, by, rule) -> None:
    """Remove a rule version that no sheet has used (a used one stays: the sheets link to it)."""
    with transaction.atomic():
        rule = type(rule).objects.select_for_update().get(pk=rule.pk)
        if not can_edit_rule(by, rule):
            raise PermissionDenied(_("Your posts do not allow changing this rule."))
        if rule.items.exists():
            raise ValidationError(
                {
                    "valid_from": _(
                        "Payroll sheets were computed with this version: it stays; add a new version."
                    )
                }
            )
        record_change(rule, ChangeAction.DELETE, by, {"before": snapshot(rule)})
        rule.delete()


def _unknown(values: dict, fields: tuple[str, ...]) -> None:
    unknown = set(values) - set(fields)
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")


# --- rewards --------------------------------------------------------------------------------------------


def finalised_cover(unit, month: datetime.date):
    """The finalised sheets of `month` whose subtree holds `unit` (at it or above it)."""
    return PaySheet.objects.filter(
        month=month, status=SheetStatus.FINAL, unit__path__in=Unit.path_prefixes(unit.path)
    ).select_related("unit")


def _check_open(unit, month: datetime.date, field: str = "month") -> None:
    sheet = finalised_cover(unit, month).order_by("unit__depth").first()
    if sheet is not None:
        raise ValidationError(
            {
                field: _("The payroll of %(month)s for %(unit)s is finalised: it can no longer change.")
                % {"month": f"{month:%Y-%m}", "unit": sheet.unit.name}
            }
        )


def _reward_units(person, unit, month: datetime.date) -> list:
    """The granting unit and the units of the person's posts under it that month: a reward is paid on
    every sheet that covers the person, so each of those must still be open."""
    last = compute.month_end(month)
    held = (
        Post.objects.filter(user=person, unit__path__startswith=unit.path, start_date__lte=last)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=month))
        .values("unit_id")
    )
    return [unit, *Unit.objects.filter(pk__in=held).exclude(pk=unit.pk)]


def _lock_and_check_open(units, month: datetime.date) -> None:
    """Lock the sheets of `month` over each unit (a finalisation takes the same locks first), then refuse
    when one of them is final."""
    paths = {path for unit in units for path in Unit.path_prefixes(unit.path)}
    list(PaySheet.objects.select_for_update().filter(month=month, unit__path__in=paths).order_by("pk"))
    for unit in units:
        _check_open(unit, month)


def holds_post_under(person, unit, month: datetime.date) -> bool:
    last = compute.month_end(month)
    return (
        Post.objects.filter(user=person, unit__path__startswith=unit.path, start_date__lte=last)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=month))
        .exists()
    )


def grant_reward(
    *, by, person, unit, month: datetime.date, amount, reason: str, case=None, today=None
) -> InformationReward:
    """重要信息报告奖励: `amount` for `person`, paid in `month`'s payroll of the sheets over `unit`."""
    today = today or timezone.localdate()
    _require_keeper(by, unit)
    _check_pay_unit(unit)
    month = _first_of_month(month, "month")
    if month > month_start(today):
        raise ValidationError({"month": _("A reward is paid in the current month or an earlier one.")})
    amount = _money(amount, "amount", allow_zero=False)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say what the important information was.")})
    if person is None or not holds_post_under(person, unit, month):
        raise ValidationError(
            {
                "person": _("%(person)s holds no post in %(unit)s in %(month)s.")
                % {"person": person or "—", "unit": unit.name, "month": f"{month:%Y-%m}"}
            }
        )
    if case is not None and not case.unit.path.startswith(unit.path):
        raise ValidationError({"case": _("The case did not happen in %(unit)s.") % {"unit": unit.name}})
    with transaction.atomic():
        # Serialises against a finalisation of a covering sheet: its lock is taken first there too.
        _lock_and_check_open(_reward_units(person, unit, month), month)
        reward = InformationReward.objects.create(
            person=person, unit=unit, month=month, amount=amount, reason=reason, case=case, granted_by=by
        )
        record_change(reward, ChangeAction.CREATE, by, {"after": snapshot(reward)}, acting_unit=unit)
    return reward


def withdraw_reward(*, by, reward: InformationReward, now=None) -> InformationReward:
    """Take back a reward granted by mistake, while no finalised sheet of its month covers its unit."""
    with transaction.atomic():
        reward = InformationReward.objects.select_for_update().select_related("unit").get(pk=reward.pk)
        _require_keeper(by, reward.unit)
        if reward.withdrawn_at is not None:
            raise ValidationError({"reward": _("This reward was already withdrawn.")})
        _lock_and_check_open(_reward_units(reward.person, reward.unit, reward.month), reward.month)
        before = snapshot(reward, ["withdrawn_at", "withdrawn_by"])
        reward.withdrawn_at = now or timezone.now()
        reward.withdrawn_by = by
        reward.save(update_fields=["withdrawn_at", "withdrawn_by", "updated_at"])
        record_change(
            reward,
            ChangeAction.UPDATE,
            by,
            diff(before, snapshot(reward, ["withdrawn_at", "withdrawn_by"])),
            acting_unit=reward.unit,
        )
    return reward


# --- sheets ---------------------------------------------------------------------------------------------


TOTAL_FIELDS = (
    "people",
    "base_total",
    "insurance_total",
    "allowance_total",
    "allowance_count",
    "reward_total",
    "total",
    "year_variable_total",
    "budget_total",
)


def _check_sheet_month(month: datetime.date, today: datetime.date) -> datetime.date:
    month = _first_of_month(month, "month")
    if month > month_start(today):
        raise ValidationError(
            {"month": _("A payroll sheet is computed for the current month or an earlier one.")}
        )
    return month


def compute_sheet(*, by, unit, month: datetime.date, today=None, now=None) -> PaySheet:
    """Compute the draft sheet of `unit`'s subtree for `month` from the rules and records of now, replacing
    the draft's lines if there is one. A finalised sheet is refused."""
    today = today or timezone.localdate()
    _require_keeper(by, unit)
    _check_pay_unit(unit)
    month = _check_sheet_month(month, today)
    with transaction.atomic():
        sheet, created = PaySheet.objects.select_for_update().get_or_create(
            unit=unit, month=month, defaults={"computed_at": now or timezone.now(), "computed_by": by}
        )
        if sheet.is_final:
            raise ValidationError(
                {
                    "month": _("The sheet of %(month)s is finalised: it can no longer change.")
                    % {"month": f"{month:%Y-%m}"}
                }
            )
        before = snapshot(sheet, list(TOTAL_FIELDS))
        _recompute(sheet, by, now)
        after = snapshot(sheet, list(TOTAL_FIELDS))
        action = ChangeAction.CREATE if created else ChangeAction.UPDATE
        record_change(sheet, action, by, {"computed": True, **diff(before, after)}, acting_unit=unit)
    return sheet


def _recompute(sheet: PaySheet, by, now) -> None:
    book = compute.RuleBook.load()
    rows = compute.load_month(sheet.unit.path, sheet.month, book)
    lines = compute.build_lines(book, rows, sheet.month)
    PayLine.objects.filter(sheet=sheet).delete()
    write_lines(sheet.pk, lines)
    totals = compute.totals_of(lines)
    earlier = PaySheet.objects.filter(
        unit_id=sheet.unit_id, month__gte=sheet.month.replace(month=1), month__lt=sheet.month
    ).aggregate(allowances=Sum("allowance_total"), rewards=Sum("reward_total"))
    apply_totals(sheet, totals, (earlier["allowances"] or ZERO) + (earlier["rewards"] or ZERO))
    sheet.computed_at = now or timezone.now()
    sheet.computed_by = by
    sheet.save()


def apply_totals(sheet: PaySheet, totals: compute.SheetTotals, earlier_variable: Decimal) -> None:
    """Set a sheet's totals and its yearly budget: 12 × this month's recurring cost (base + insurance) plus
    the allowances and rewards of the year so far (`earlier_variable`: those of the earlier months)."""
    sheet.people = totals.people
    sheet.base_total = totals.base
    sheet.insurance_total = totals.insurance
    sheet.allowance_total = totals.allowance
    sheet.allowance_count = totals.allowance_count
    sheet.reward_total = totals.rewards
    sheet.total = totals.total
    sheet.year_variable_total = earlier_variable + totals.allowance + totals.rewards
    sheet.budget_total = 12 * totals.recurring + sheet.year_variable_total


def write_lines(sheet_id: int, lines: list[LineDraft]) -> None:
    """Insert the lines of a sheet with their items, counted cases and rewards (bulk, in tree order)."""
    made = PayLine.objects.bulk_create(
        [
            PayLine(
                sheet_id=sheet_id,
                person_id=line.person_id,
                unit_id=line.unit_id,
                base=line.base,
                insurance=line.insurance,
                allowance=line.allowance,
                allowance_count=line.allowance_count,
                rewards=line.rewards,
                total=line.total,
            )
            for line in lines
        ],
        batch_size=BATCH,
    )
    items, allowances, rewards = [], [], []
    for row, line in zip(made, lines, strict=True):
        for item in line.items:
            rule = item.rule
            items.append(
                PayLineItem(
                    line_id=row.pk,
                    role=item.role,
                    rule_id=rule.pk,
                    days=item.days,
                    month_days=item.month_days,
                    pay_kind=rule.pay_kind,
                    base_pay=rule.base_pay,
                    insurance_rate=rule.insurance_rate,
                    insurance_base=rule.effective_insurance_base,
                    base=item.base,
                    insurance=item.insurance,
                )
            )
        for allowance in line.allowances:
            allowances.append(
                (
                    AllowanceItem(
                        line_id=row.pk,
                        rule_id=allowance.rule.pk,
                        kind=allowance.kind,
                        count=allowance.count,
                        amount_per_case=allowance.rule.amount,
                        monthly_cap=allowance.rule.monthly_cap,
                        amount=allowance.amount,
                    ),
                    allowance.case_ids,
                )
            )
        Through = PayLine.reward_records.through
        rewards.extend(Through(payline_id=row.pk, informationreward_id=pk) for pk in line.reward_ids)
    PayLineItem.objects.bulk_create(items, batch_size=BATCH)
    made_allowances = AllowanceItem.objects.bulk_create([item for item, _ids in allowances], batch_size=BATCH)
    CaseLink = AllowanceItem.cases.through
    CaseLink.objects.bulk_create(
        [
            CaseLink(allowanceitem_id=item.pk, case_id=case_id)
            for item, (_unsaved, case_ids) in zip(made_allowances, allowances, strict=True)
            for case_id in case_ids
        ],
        batch_size=BATCH,
    )
    PayLine.reward_records.through.objects.bulk_create(rewards, batch_size=BATCH)


def finalise_sheet(*, by, sheet: PaySheet, expected_total=None, today=None, now=None) -> PaySheet:
    """Recompute the draft from the records of now and freeze it. With `expected_total` (the total the user
    looked at), a recomputation that changes the total is kept as the draft and the finalisation refused, so
    nobody freezes figures they have not seen."""
    today = today or timezone.localdate()
    changed = None
    with transaction.atomic():
        sheet = PaySheet.objects.select_for_update().select_related("unit", "unit__level").get(pk=sheet.pk)
        _require_keeper(by, sheet.unit)
        if sheet.is_final:
            raise ValidationError({"status": _("This sheet is already finalised.")})
        if next_month(sheet.month) > today:
            raise ValidationError(
                {
                    "month": _("The sheet of %(month)s can be finalised once the month has ended.")
                    % {"month": f"{sheet.month:%Y-%m}"}
                }
            )
        before = snapshot(sheet, [*TOTAL_FIELDS, "status"])
        _recompute(sheet, by, now)
        if expected_total is not None and sheet.total != Decimal(expected_total):
            changed = (Decimal(expected_total), sheet.total)
            changes = diff(before, snapshot(sheet, [*TOTAL_FIELDS, "status"]))
            record_change(
                sheet, ChangeAction.UPDATE, by, {"computed": True, **changes}, acting_unit=sheet.unit
            )
        else:
            sheet.status = SheetStatus.FINAL
            sheet.finalised_at = sheet.computed_at
            sheet.finalised_by = by
            sheet.save(update_fields=["status", "finalised_at", "finalised_by"])
            record_change(
                sheet,
                ChangeAction.UPDATE,
                by,
                diff(before, snapshot(sheet, [*TOTAL_FIELDS, "status"])),
                acting_unit=sheet.unit,
            )
    if changed is not None:
        raise ValidationError(
            {
                "total": _(
                    "The figures changed since you looked (total %(old)s, now %(new)s): the draft is "
                    "recomputed; check it and finalise again."
                )
                % {"old": changed[0], "new": changed[1]}
            }
        )
    return sheet


# --- the budget -----------------------------------------------------------------------------------------


@dataclass
class BudgetMonth:
    month: datetime.date
    sheet: PaySheet | None


@dataclass
class Budget:
    """A unit's pay for one year from its sheets: month by month, what is final, and the yearly budget
    (12 × the latest computed month's recurring cost plus the year's allowances and rewards so far)."""

    unit: Unit
    year: int
    months: list[BudgetMonth]

    @property
    def sheets(self) -> list[PaySheet]:
        return [row.sheet for row in self.months if row.sheet is not None]

    @property
    def latest(self) -> PaySheet | None:
        sheets = self.sheets
        return sheets[-1] if sheets else None

    @property
    def recurring(self) -> Decimal:
        latest = self.latest
        return latest.recurring_total if latest else ZERO

    @property
    def allowances(self) -> Decimal:
        return sum((sheet.allowance_total for sheet in self.sheets), ZERO)

    @property
    def rewards(self) -> Decimal:
        return sum((sheet.reward_total for sheet in self.sheets), ZERO)

    @property
    def variable(self) -> Decimal:
        return self.allowances + self.rewards

    @property
    def computed_total(self) -> Decimal:
        return sum((sheet.total for sheet in self.sheets), ZERO)

    @property
    def final_total(self) -> Decimal:
        return sum((sheet.total for sheet in self.sheets if sheet.is_final), ZERO)

    @property
    def yearly_budget(self) -> Decimal:
        return 12 * self.recurring + self.variable


def year_budget(unit, year: int) -> Budget:
    sheets = {
        sheet.month: sheet for sheet in PaySheet.objects.filter(unit=unit, month__year=year).order_by("month")
    }
    months = [
        BudgetMonth(datetime.date(year, m, 1), sheets.get(datetime.date(year, m, 1))) for m in range(1, 13)
    ]
    return Budget(unit, year, months)
