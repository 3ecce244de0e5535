"""The only writers of resident points (EVAL-5): awards, deductions, redemptions at the village's points
shop, adjustments and reversals, selections of titles, and the rules and goods administrators keep.

Rules of the point book (积分存折):
- its balance is the sum of its entries' points and never goes below zero: every debit locks the book
  (`select_for_update`) and is also a conditional UPDATE (`balance >= cost`), backed by a CHECK constraint;
  a redemption takes the goods' stock down in the same transaction, by a conditional UPDATE
  (`stock >= quantity`), so two redemptions at once can take neither below zero;
- an entry is never changed or deleted: a mistake is corrected by a reversing entry (`reverse_entry`);
- a submission from a phone carries a client id: a retry finds the entry it made instead of adding one.

Who may do what: grid staff, village and township administrators (AWARD_POINTS) award points to the
households below their posts and redeem them at those households' village shop; a selection is recorded
by a holder of AWARD_POINTS at the village itself (its administrators, the township's). The shop's goods,
reversals and adjustments are kept by MANAGE_POINTS_SHOP holders at the village or above; a rule of a unit by
the same, a deployment-wide rule by CONFIGURE holders.

Policy read from settings: WANGGE_POINTS_BACKDATE_DAYS (default 31) — how many days after a good deed its
points may still be recorded; WANGGE_POINTS_LOW_STOCK (default 5) — goods shown as running low.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import diff, record_change, snapshot
from wangge.core.models import ChangeAction
from wangge.core.scope import scope_for
from wangge.ledger.choices import HouseholdStatus
from wangge.ledger.models import Household
from wangge.people.roles import Capability
from wangge.units.models import Unit

from .choices import EntryKind, RuleKind, SelectionPeriod
from .models import PointBook, PointEntry, PointRule, SelectedHousehold, Selection, ShopItem

VILLAGE_RANK = 3  # UnitLevel.rank of 村/社区: the unit that keeps a points shop and selects its households
MAX_QUANTITY = 100  # a sanity bound on one award or redemption, not a policy
DEBITS = (EntryKind.DEDUCTION, EntryKind.REDEMPTION)
RULED = (EntryKind.AWARD, EntryKind.DEDUCTION)  # the entries a rule's yearly cap counts
ITEM_FIELDS = ("name", "description", "price", "is_active", "sort_order")


def backdate_days() -> int:
    return getattr(settings, "WANGGE_POINTS_BACKDATE_DAYS", 31)


def low_stock() -> int:
    """Goods with this many pieces or fewer are shown as running low."""
    return getattr(settings, "WANGGE_POINTS_LOW_STOCK", 5)


# --- places and rights ------------------------------------------------------------------------------------


def village_of(path: str) -> Unit | None:
    """The village (村/社区) at or above the unit of `path`, or None above the village level."""
    return (
        Unit.objects.filter(path__in=Unit.path_prefixes(path), level__rank=VILLAGE_RANK)
        .select_related("level")
        .first()
    )


def is_village(unit: Unit) -> bool:
    return unit.level.rank == VILLAGE_RANK


def may_award(user, household: Household) -> bool:
    return household.grid_id is not None and scope_for(user).grants(
        Capability.AWARD_POINTS, household.grid.path
    )


def may_select(user, village: Unit) -> bool:
    """A selection is the village's decision: AWARD_POINTS at the village itself (or above), not a grid's."""
    return scope_for(user).grants(Capability.AWARD_POINTS, village.path)


def may_keep(user, unit: Unit) -> bool:
    """MANAGE_POINTS_SHOP at `unit`: its goods, reversals and adjustments of its households, its rules."""
    return scope_for(user).grants(Capability.MANAGE_POINTS_SHOP, unit.path)


def may_serve_shop(user, village: Unit) -> bool:
    """Whether the user redeems at `village`'s shop for some household: AWARD_POINTS at the village, above
    it, or below it (grid staff redeem for the households of their grids)."""
    scope = scope_for(user)
    if scope.is_global:
        return True
    return any(
        village.path.startswith(path) or path.startswith(village.path)
        for path in scope.paths_for(Capability.AWARD_POINTS)
    )


def _household_grid(household: Household) -> Unit:
    if household.grid_id is None:
        raise ValidationError({"household": _("This household has no grid of residence.")})
    if household.status != HouseholdStatus.ACTIVE:
        raise ValidationError(
            {"household": _("This household is closed (销户): its point book takes no entries.")}
        )
    return household.grid


def _household_village(household: Household) -> Unit:
    grid = _household_grid(household)
    village = village_of(grid.path)
    if village is None:
        raise ValidationError({"household": _("This household's grid lies in no village.")})
    return village


# --- checks -----------------------------------------------------------------------------------------------


def _check_quantity(quantity) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError(
            {"quantity": _("The quantity is a whole number from 1 to %(max)s.") % {"max": MAX_QUANTITY}}
        )
    return quantity


def _check_date(date: datetime.date, on: datetime.date) -> None:
    if date > on:
        raise ValidationError(
            {"date": _("Points are recorded for a deed that has happened, not a future day.")}
        )
    days = backdate_days()
    if date < on - datetime.timedelta(days=days):
        raise ValidationError(
            {
                "date": _("A deed's points are recorded within %(days)s days; %(date)s is too long ago.")
                % {"days": days, "date": date.isoformat()}
            }
        )


def _check_rule(rule: PointRule, path: str, kinds) -> None:
    if not rule.is_active:
        raise ValidationError({"rule": _("The rule “%(rule)s” is no longer in force.") % {"rule": rule.name}})
    if rule.kind not in kinds:
        if rule.kind == RuleKind.TITLE:
            message = _("“%(rule)s” is a title: it is given by the village's selection, not by hand.")
        else:
            message = _("“%(rule)s” is not a title given by selection.")
        raise ValidationError({"rule": message % {"rule": rule.name}})
    if not PointRule.objects.applicable_at(path).filter(pk=rule.pk).exists():
        raise ValidationError({"rule": _("The rule “%(rule)s” does not hold here.") % {"rule": rule.name}})


def _used_by_rule(book: PointBook, rule: PointRule, year: int) -> int:
    """Points the book gained or lost by `rule` in `year`, reversed entries left out."""
    total = PointEntry.objects.filter(
        book=book,
        rule=rule,
        kind__in=RULED,
        date__gte=datetime.date(year, 1, 1),
        date__lte=datetime.date(year, 12, 31),
        reversal__isnull=True,
    ).aggregate(total=Sum("points"))["total"]
    return abs(total or 0)


def _check_cap(book: PointBook, rule: PointRule, date: datetime.date, points: int, field: str) -> None:
    if rule.yearly_cap is None:
        return
    used = _used_by_rule(book, rule, date.year)
    if used + abs(points) > rule.yearly_cap:
        raise ValidationError(
            {
                field: _(
                    "“%(rule)s” counts at most %(cap)s points a year for one household; household %(number)s "
                    "has %(used)s in %(year)s, so %(points)s more would pass the cap."
                )
                % {
                    "rule": rule.name,
                    "cap": rule.yearly_cap,
                    "number": book.household.number,
                    "used": used,
                    "year": date.year,
                    "points": abs(points),
                }
            }
        )


def _check_case(case, by, village: Unit) -> None:
    from wangge.cases.models import Case

    number = case.display_number
    if case.registered_at is None or not case.number:
        raise ValidationError(
            {
                "case": _(
                    "Case %(number)s is not registered: points reward a report that became a registered case."
                )
                % {"number": number}
            }
        )
    if not Case.objects.visible_to(by).filter(pk=case.pk).exists():
        raise ValidationError({"case": _("No case %(number)s in your area.") % {"number": number}})
    # One reward per case: the case row is locked while its earlier rewards are counted.
    Case.objects.select_for_update().filter(pk=case.pk).values_list("pk", flat=True).get()
    unit_path = Unit.objects.filter(pk=case.unit_id).values_list("path", flat=True).get()
    if not unit_path.startswith(village.path):
        raise ValidationError(
            {
                "case": _("Case %(number)s did not happen in %(village)s.")
                % {"number": number, "village": village.name}
            }
        )
    earlier = (
        PointEntry.objects.filter(case=case, kind=EntryKind.AWARD, reversal__isnull=True)
        .select_related("book__household")
        .first()
    )
    if earlier is not None:
        raise ValidationError(
            {
                "case": _("Case %(number)s has already earned points for household %(household)s.")
                % {"number": number, "household": earlier.book.household.number}
            }
        )


def _clean_note(note: str, required: bool = False, field: str = "note") -> str:
    note = (note or "").strip()
    if required and not note:
        raise ValidationError({field: _("Say why: the note is kept with the entry.")})
    if len(note) > 200:
        raise ValidationError({field: _("Keep the note within 200 characters.")})
    return note


# --- the book ---------------------------------------------------------------------------------------------


def _locked_book(household: Household) -> PointBook:
    """The household's book, opened at its first entry, locked for this transaction."""
    book = PointBook.objects.select_for_update().filter(household=household).first()
    if book is None:
        try:
            with transaction.atomic():
                PointBook.objects.create(household=household)
        except IntegrityError:
            pass  # opened by a concurrent first entry
        book = PointBook.objects.select_for_update().get(household=household)
    book.household = household
    return book


def _short_of(book: PointBook, points: int, field: str, message: str, **values) -> None:
    """Refuse a debit of `points` (> 0) that the book does not cover, naming `field`."""
    if book.balance < points:
        raise ValidationError({field: message % {"balance": book.balance, "points": points, **values}})


def _post(
    book: PointBook, kind: str, points: int, *, by, unit: Unit, date: datetime.date, **fields
) -> PointEntry:
    """Post one entry: move the balance by a conditional UPDATE (a debit never passes zero), then write
    the entry with the balance after it and its change-log row. Runs inside the caller's transaction."""
    now = timezone.now()
    books = PointBook.objects.filter(pk=book.pk)
    if points < 0:
        books = books.filter(balance__gte=-points)
    if not books.update(balance=F("balance") + points, entry_count=F("entry_count") + 1, updated_at=now):
        raise ValidationError(
            {"balance": _("The balance does not cover %(points)s points.") % {"points": -points}}
        )
    book.balance, book.entry_count = (
        PointBook.objects.filter(pk=book.pk).values_list("balance", "entry_count").get()
    )
    entry = PointEntry.objects.create(
        book=book,
        seq=book.entry_count,
        kind=kind,
        points=points,
        balance_after=book.balance,
        date=date,
        recorded_at=now,
        recorded_by=by,
        unit=unit,
        **fields,
    )
    record_change(entry, ChangeAction.CREATE, by, {"after": snapshot(entry)}, acting_unit=unit)
    return entry


def _earlier(client_uuid, by) -> PointEntry | None:
    """The entry a retried submission (the same client id) already made, or None."""
    if client_uuid is None:
        return None
    earlier = PointEntry.objects.filter(client_uuid=client_uuid).first()
    if earlier is not None and earlier.recorded_by_id != by.pk:
        raise ValidationError({"client_uuid": _("This submission id belongs to another entry.")})
    return earlier


def _once(client_uuid, write) -> tuple[PointEntry, bool]:
    """Run `write()` in one transaction; when a concurrent retry with the same client id won, its entry."""
    try:
        with transaction.atomic():
            return write(), True
    except IntegrityError:
        existing = PointEntry.objects.filter(client_uuid=client_uuid).first() if client_uuid else None
        if existing is None:
            raise
        return existing, False


# --- awards, redemptions, corrections ---------------------------------------------------------------------


def applicable_rules(household: Household, kinds=(RuleKind.DEED, RuleKind.DEDUCTION)):
    """The rules in force for `household`'s grid that may be given by hand (titles come by selection)."""
    if household.grid_id is None:
        return PointRule.objects.none()
    return PointRule.objects.active().applicable_at(household.grid.path).filter(kind__in=kinds)


def award_points(
    *,
    by,
    household: Household,
    rule: PointRule,
    quantity: int = 1,
    date: datetime.date | None = None,
    note: str = "",
    case=None,
    client_uuid=None,
    on: datetime.date | None = None,
) -> tuple[PointEntry, bool]:
    """Award (or, for a deduction rule, deduct) `rule`'s points × `quantity` to `household` for a deed of
    `date` (default: `on`, today). Returns (entry, created); a retry with the same client id returns the
    first entry. Refused outside the user's AWARD_POINTS subtrees, for a rule not in force there, a title, a
    future day or one past the backdating window, a yearly cap passed, a deduction the balance does not
    cover, and — for a rule that needs one — without a registered case of the household's village."""
    earlier = _earlier(client_uuid, by)
    if earlier is not None:
        return earlier, False
    on = on or timezone.localdate()
    date = date or on
    grid = _household_grid(household)
    if not scope_for(by).grants(Capability.AWARD_POINTS, grid.path):
        raise PermissionDenied(
            _("Only the staff serving %(unit)s award its households' points.") % {"unit": grid.name}
        )
    village = _household_village(household)
    _check_rule(rule, grid.path, (RuleKind.DEED, RuleKind.DEDUCTION))
    quantity = _check_quantity(quantity)
    _check_date(date, on)
    note = _clean_note(note)
    if rule.requires_case and case is None:
        raise ValidationError(
            {
                "case": _(
                    "“%(rule)s” is awarded for a report that became a registered case: give its number."
                )
                % {"rule": rule.name}
            }
        )
    points = rule.signed_points * quantity
    kind = EntryKind.DEDUCTION if points < 0 else EntryKind.AWARD

    def write() -> PointEntry:
        book = _locked_book(household)
        if case is not None:
            _check_case(case, by, village)
        _check_cap(book, rule, date, points, "quantity")
        if points < 0:
            _short_of(
                book,
                -points,
                "balance",
                _("The book holds %(balance)s points: a deduction of %(points)s would take it below zero."),
            )
        return _post(
            book,
            kind,
            points,
            by=by,
            unit=village,
            date=date,
            rule=rule,
            quantity=quantity,
            note=note,
            case=case,
            client_uuid=client_uuid,
        )

    return _once(client_uuid, write)


def redeem(
    *,
    by,
    household: Household,
    item: ShopItem,
    quantity: int = 1,
    note: str = "",
    client_uuid=None,
    on: datetime.date | None = None,
) -> tuple[PointEntry, bool]:
    """兑换: `household` takes `quantity` of `item` at its village's points shop. The book is debited and the
    stock taken down in one transaction, each by a conditional UPDATE; a balance or stock that does not
    cover it is refused naming "balance" or "stock". Returns (entry, created), idempotent by client id."""
    earlier = _earlier(client_uuid, by)
    if earlier is not None:
        return earlier, False
    on = on or timezone.localdate()
    grid = _household_grid(household)
    village = item.unit
    if not grid.path.startswith(village.path):
        raise ValidationError(
            {
                "household": _(
                    "Household %(number)s does not live in %(village)s: it redeems at its own village's shop."
                )
                % {"number": household.number, "village": village.name}
            }
        )
    if not scope_for(by).grants(Capability.AWARD_POINTS, grid.path):
        raise PermissionDenied(
            _("Only the staff serving %(unit)s redeem its households' points.") % {"unit": grid.name}
        )
    if not item.is_active:
        raise ValidationError({"item": _("“%(item)s” is no longer on offer.") % {"item": item.name}})
    quantity = _check_quantity(quantity)
    note = _clean_note(note)
    cost = item.price * quantity

    def write() -> PointEntry:
        book = _locked_book(household)
        _short_of(
            book,
            cost,
            "balance",
            _("Not enough points: the balance is %(balance)s, and %(quantity)s × %(item)s costs %(points)s."),
            quantity=quantity,
            item=item.name,
        )
        entry = _post(
            book,
            EntryKind.REDEMPTION,
            -cost,
            by=by,
            unit=village,
            date=on,
            item=item,
            quantity=quantity,
            note=note,
            client_uuid=client_uuid,
        )
        # Counted goods go down by a conditional UPDATE; for goods not counted (stock NULL) it matches nothing.
        taken = ShopItem.objects.filter(pk=item.pk, stock__gte=quantity).update(
            stock=F("stock") - quantity, updated_at=timezone.now()
        )
        left = ShopItem.objects.filter(pk=item.pk).values_list("stock", flat=True).get()
        if not taken and left is not None:
            raise ValidationError(
                {
                    "stock": _("Not enough in stock: %(left)s of “%(item)s” left, %(quantity)s asked.")
                    % {"left": left, "item": item.name, "quantity": quantity}
                }
            )
        item.stock = left
        return entry

    return _once(client_uuid, write)


def reverse_entry(*, by, entry: PointEntry, note: str, on: datetime.date | None = None) -> PointEntry:
    """冲正: post the opposite of `entry` (a redemption's goods go back into stock; a selection's household is
    withdrawn). The original stays as it was. Kept by MANAGE_POINTS_SHOP holders at the entry's village."""
    on = on or timezone.localdate()
    if not may_keep(by, entry.unit):
        raise PermissionDenied(
            _("Only the keepers of %(unit)s's points correct its entries.") % {"unit": entry.unit.name}
        )
    if entry.kind == EntryKind.REVERSAL:
        raise ValidationError({"entry": _("A reversal is not reversed again: post an adjustment instead.")})
    note = _clean_note(note, required=True)
    points = -entry.points
    try:
        with transaction.atomic():
            book = _locked_book(entry.book.household)
            done = PointEntry.objects.filter(reverses=entry).first()
            if done is not None:
                raise ValidationError(
                    {"entry": _("This entry was already reversed by entry %(seq)s.") % {"seq": done.seq}}
                )
            if points < 0:
                _short_of(
                    book,
                    -points,
                    "balance",
                    _(
                        "The book holds %(balance)s points: reversing this award takes %(points)s and would go below zero."
                    ),
                )
            reversal = _post(
                book,
                EntryKind.REVERSAL,
                points,
                by=by,
                unit=entry.unit,
                date=on,
                rule=entry.rule,
                item=entry.item,
                quantity=entry.quantity,
                reverses=entry,
                note=note,
            )
            if entry.kind == EntryKind.REDEMPTION and entry.item_id:
                ShopItem.objects.filter(pk=entry.item_id, stock__isnull=False).update(
                    stock=F("stock") + entry.quantity, updated_at=timezone.now()
                )
            SelectedHousehold.objects.filter(entry=entry, withdrawn_at__isnull=True).update(
                withdrawn_at=reversal.recorded_at
            )
    except IntegrityError as error:  # a concurrent reversal of the same entry won
        raise ValidationError({"entry": _("This entry was already reversed.")}) from error
    return reversal


def adjust_points(
    *, by, household: Household, points: int, note: str, client_uuid=None, on: datetime.date | None = None
) -> tuple[PointEntry, bool]:
    """调整: add or take points with a stated reason (e.g. the balance of the paper 存折 carried over).
    Kept by MANAGE_POINTS_SHOP holders at the household's village; never takes the balance below zero."""
    earlier = _earlier(client_uuid, by)
    if earlier is not None:
        return earlier, False
    on = on or timezone.localdate()
    village = _household_village(household)
    if not may_keep(by, village):
        raise PermissionDenied(
            _("Only the keepers of %(unit)s's points adjust its books.") % {"unit": village.name}
        )
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise ValidationError(
            {"points": _("An adjustment adds or takes a whole number of points, not zero.")}
        )
    note = _clean_note(note, required=True)

    def write() -> PointEntry:
        book = _locked_book(household)
        if points < 0:
            _short_of(
                book,
                -points,
                "points",
                _("The book holds %(balance)s points: taking %(points)s would go below zero."),
            )
        return _post(
            book,
            EntryKind.ADJUSTMENT,
            points,
            by=by,
            unit=village,
            date=on,
            note=note,
            client_uuid=client_uuid,
        )

    return _once(client_uuid, write)


# --- selections (评选) --------------------------------------------------------------------------------------


def period_bounds(period: str, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The month or quarter that holds `day`: (first day, last day)."""
    if period == SelectionPeriod.QUARTER:
        first_month = 3 * ((day.month - 1) // 3) + 1
        last_month = first_month + 2
        return (
            datetime.date(day.year, first_month, 1),
            datetime.date(day.year, last_month, calendar.monthrange(day.year, last_month)[1]),
        )
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def period_label(period: str, start: datetime.date) -> str:
    if period == SelectionPeriod.QUARTER:
        return _("%(year)s Q%(quarter)s") % {"year": start.year, "quarter": (start.month - 1) // 3 + 1}
    return f"{start:%Y-%m}"


def title_rules(village: Unit):
    return PointRule.objects.active().applicable_at(village.path).filter(kind=RuleKind.TITLE)


def select_households(
    *,
    by,
    village: Unit,
    rule: PointRule,
    day: datetime.date,
    households: Iterable[Household],
    note: str = "",
    on: datetime.date | None = None,
) -> tuple[Selection, list[SelectedHousehold]]:
    """评选: record `households` of `village` as holding the title `rule` in the month or quarter of `day`,
    awarding the title's points to each one not yet selected for it in that period. Selecting a household a
    second time in a period does nothing. Returns (selection, the newly selected)."""
    on = on or timezone.localdate()
    if not is_village(village) or not village.is_current:
        raise ValidationError({"unit": _("Selections are made by a village or community in force.")})
    if not may_select(by, village):
        raise PermissionDenied(
            _("Selections of %(unit)s are recorded by its village office.") % {"unit": village.name}
        )
    _check_rule(rule, village.path, (RuleKind.TITLE,))
    start, end = period_bounds(rule.period, day)
    if start > on:
        raise ValidationError(
            {"day": _("The period %(period)s has not begun.") % {"period": period_label(rule.period, start)}}
        )
    note = _clean_note(note)
    chosen = sorted({h.pk: h for h in households}.values(), key=lambda h: h.pk)  # one lock order
    if not chosen:
        raise ValidationError({"households": _("Choose at least one household.")})
    current = {
        pk: (path or "", status)
        for pk, path, status in Household.objects.filter(pk__in=[h.pk for h in chosen]).values_list(
            "pk", "grid__path", "status"
        )
    }
    for household in chosen:
        path, status = current.get(household.pk, ("", ""))
        if status != HouseholdStatus.ACTIVE or not path.startswith(village.path):
            raise ValidationError(
                {
                    "households": _("Household %(number)s is not an active household of %(village)s.")
                    % {"number": household.number, "village": village.name}
                }
            )
    date = min(end, on)
    try:
        with transaction.atomic():
            selection, created = Selection.objects.get_or_create(
                unit=village,
                rule=rule,
                period_start=start,
                defaults={"period_end": end, "made_by": by, "note": note, "made_at": timezone.now()},
            )
            taken = set(
                SelectedHousehold.objects.filter(
                    rule=rule, period_start=start, household__in=chosen, withdrawn_at__isnull=True
                ).values_list("household_id", flat=True)
            )
            added = []
            for household in chosen:
                if household.pk in taken:
                    continue
                book = _locked_book(household)
                _check_cap(book, rule, date, rule.points, "households")
                entry = _post(
                    book,
                    EntryKind.AWARD,
                    rule.points,
                    by=by,
                    unit=village,
                    date=date,
                    rule=rule,
                    selection=selection,
                    note=f"{rule.name} {period_label(rule.period, start)}",
                )
                added.append(
                    SelectedHousehold.objects.create(
                        selection=selection, household=household, rule=rule, period_start=start, entry=entry
                    )
                )
            if created:
                record_change(
                    selection, ChangeAction.CREATE, by, {"after": snapshot(selection)}, acting_unit=village
                )
            if added:
                record_change(
                    selection,
                    ChangeAction.UPDATE,
                    by,
                    {"selected": [h.household.number for h in added]},
                    acting_unit=village,
                )
    except IntegrityError as error:  # the same household selected at the same moment by someone else
        raise ValidationError(
            {
                "households": _(
                    "These households were being selected by someone else at the same time: reload the page."
                )
            }
        ) from error
    return selection, added


# --- rules and goods --------------------------------------------------------------------------------------


def check_rule_keeper(by, unit: Unit | None) -> None:
    """A deployment-wide rule is kept by CONFIGURE holders; a unit's by MANAGE_POINTS_SHOP at the unit."""
    if unit is None:
        if not by.has_capability(Capability.CONFIGURE):
            raise ValidationError(
                {"unit": _("Deployment-wide rules are kept by the system administrators: choose your unit.")}
            )
    elif not may_keep(by, unit):
        raise ValidationError({"unit": _("You keep no points rules at %(unit)s.") % {"unit": unit.name}})


def may_edit_rule(by, rule: PointRule) -> bool:
    if rule.unit_id is None:
        return by.has_capability(Capability.CONFIGURE)
    return may_keep(by, rule.unit)


def save_rule(*, by, rule: PointRule) -> PointRule:
    """Add or change a points rule (the rule's old unit and its new one must both be the user's)."""
    creating = rule.pk is None
    before = {}
    if not creating:
        old = PointRule.objects.select_related("unit").get(pk=rule.pk)
        if not may_edit_rule(by, old):
            raise PermissionDenied(_("This rule is kept by another unit."))
        before = snapshot(old)
    check_rule_keeper(by, rule.unit)
    rule.full_clean()  # a title needs its period; any other rule has none
    with transaction.atomic():
        rule.save()
        changes = {"after": snapshot(rule)} if creating else diff(before, snapshot(rule))
        if changes:
            record_change(
                rule,
                ChangeAction.CREATE if creating else ChangeAction.UPDATE,
                by,
                changes,
                acting_unit=rule.unit,
            )
    return rule


def _check_item_keeper(by, unit: Unit) -> None:
    if not is_village(unit):
        raise ValidationError({"unit": _("A points shop belongs to a village or community.")})
    if not may_keep(by, unit):
        raise PermissionDenied(
            _("Only the keepers of %(unit)s's points shop change its goods.") % {"unit": unit.name}
        )


def create_item(
    *,
    by,
    unit: Unit,
    name: str,
    price: int,
    stock: int | None = None,
    description: str = "",
    is_active: bool = True,
    sort_order: int = 100,
) -> ShopItem:
    """Put goods on offer in `unit`'s points shop; `stock` None: the stock is not counted."""
    _check_item_keeper(by, unit)
    item = ShopItem(
        unit=unit,
        name=(name or "").strip(),
        price=price,
        stock=stock,
        description=(description or "").strip(),
        is_active=is_active,
        sort_order=sort_order,
    )
    _validate_item(item)
    with transaction.atomic():
        item.save()
        record_change(item, ChangeAction.CREATE, by, {"after": snapshot(item)}, acting_unit=unit)
    return item


def _validate_item(item: ShopItem) -> None:
    if not item.name:
        raise ValidationError({"name": _("Name the goods.")})
    if not isinstance(item.price, int) or item.price < 1:
        raise ValidationError({"price": _("A price is a whole number of points, at least 1.")})
    if item.stock is not None and (not isinstance(item.stock, int) or item.stock < 0):
        raise ValidationError({"stock": _("The stock is a whole number, zero or more.")})
    duplicate = ShopItem.objects.filter(unit_id=item.unit_id, name=item.name).exclude(pk=item.pk)
    if duplicate.exists():
        raise ValidationError({"name": _("The shop already offers goods of this name.")})
    item.full_clean(validate_unique=False, validate_constraints=False)


def update_item(*, by, item: ShopItem, **changes) -> ShopItem:
    """Change the goods' name, description, price, offer or order; the stock moves only by `change_stock`."""
    unknown = set(changes) - set(ITEM_FIELDS)
    if unknown:
        raise TypeError(f"update_item() got unexpected fields: {', '.join(sorted(unknown))}")
    _check_item_keeper(by, item.unit)
    with transaction.atomic():
        item = ShopItem.objects.select_for_update().select_related("unit").get(pk=item.pk)
        before = snapshot(item, list(ITEM_FIELDS))
        for name, value in changes.items():
            setattr(item, name, value.strip() if isinstance(value, str) else value)
        _validate_item(item)
        item.save(update_fields=[*changes, "updated_at"])
        changed = diff(before, snapshot(item, list(ITEM_FIELDS)))
        if changed:
            record_change(item, ChangeAction.UPDATE, by, changed, acting_unit=item.unit)
    return item


def change_stock(*, by, item: ShopItem, delta: int, note: str = "") -> ShopItem:
    """补货 (delta > 0) or a stocktake's correction (delta < 0) of counted goods; never below zero."""
    _check_item_keeper(by, item.unit)
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise ValidationError({"delta": _("Add or take a whole number of pieces, not zero.")})
    note = _clean_note(note, required=delta < 0)
    with transaction.atomic():
        before = ShopItem.objects.select_for_update().filter(pk=item.pk).values_list("stock", flat=True).get()
        if before is None:
            raise ValidationError(
                {"delta": _("The stock of “%(item)s” is not counted.") % {"item": item.name}}
            )
        if before + delta < 0:
            raise ValidationError(
                {
                    "delta": _("Only %(left)s of “%(item)s” are in stock.")
                    % {"left": before, "item": item.name}
                }
            )
        ShopItem.objects.filter(pk=item.pk).update(stock=F("stock") + delta, updated_at=timezone.now())
        item.stock = before + delta
        record_change(
            item,
            ChangeAction.UPDATE,
            by,
            {"stock": [before, item.stock], "note": note},
            acting_unit=item.unit,
        )
    return item


# --- figures ----------------------------------------------------------------------------------------------


@dataclass
class MonthFigures:
    """A village's points in one month: by kind of entry, and how many books moved."""

    awarded: int = 0
    deducted: int = 0
    redeemed: int = 0
    corrected: int = 0  # reversals and adjustments, signed
    entries: int = 0
    books: int = 0
    by_kind: dict = field(default_factory=dict)


def month_bounds(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    return period_bounds(SelectionPeriod.MONTH, day)


def month_figures(unit_ids: Iterable[int], day: datetime.date) -> dict[int, MonthFigures]:
    """Each village's figures for the month of `day`, in two GROUP BY queries (entries count in the
    village where they were posted)."""
    unit_ids = list(unit_ids)
    start, end = month_bounds(day)
    figures = {pk: MonthFigures() for pk in unit_ids}
    if not unit_ids:
        return figures
    entries = PointEntry.objects.filter(unit_id__in=unit_ids, date__gte=start, date__lte=end).order_by()
    for unit_id, kind, total, count in entries.values_list("unit_id", "kind").annotate(
        total=Sum("points"), n=Count("id")
    ):
        row = figures[unit_id]
        row.by_kind[kind] = total
        row.entries += count
        if kind == EntryKind.AWARD:
            row.awarded += total
        elif kind == EntryKind.DEDUCTION:
            row.deducted += -total
        elif kind == EntryKind.REDEMPTION:
            row.redeemed += -total
        else:
            row.corrected += total
    for unit_id, books in entries.values_list("unit_id").annotate(books=Count("book_id", distinct=True)):
        figures[unit_id].books = books
    return figures


def earned_in_year(book_ids: Iterable[int], year: int) -> dict[int, int]:
    """Points each book gained by rules in `year` (awards less deductions, reversed ones left out)."""
    book_ids = list(book_ids)
    if not book_ids:
        return {}
    rows = (
        PointEntry.objects.filter(
            book_id__in=book_ids,
            kind__in=RULED,
            date__gte=datetime.date(year, 1, 1),
            date__lte=datetime.date(year, 12, 31),
            reversal__isnull=True,
        )
        .order_by()
        .values_list("book_id")
        .annotate(total=Sum("points"))
    )
    return dict(rows)


def books_of_village(village: Unit):
    """The point books of the households living in `village` now."""
    return PointBook.objects.filter(household__grid__path__startswith=village.path)
