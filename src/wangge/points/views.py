"""Pages of resident points: a household's point book (and its PDF), the phone form to award points, a
village's points shop (goods, redemption), its selections and its monthly summary.

Who reads: holders of VIEW_LEDGERS, AWARD_POINTS or MANAGE_POINTS_SHOP (403 otherwise), within the ledger
scope for households (`Household.objects.visible_to`) and, for a village's pages, in their territory or
below the village (a grid worker opens their village's shop); anything else answers 404. Writes go through
`wangge.points.services`, which decide who may act.
"""

from __future__ import annotations

import datetime
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from wangge.cases.models import Case
from wangge.core.forms import apply_service_errors
from wangge.ledger.models import Household
from wangge.people.roles import Capability
from wangge.units.models import Unit

from . import services
from .choices import EntryKind
from .forms import (
    AdjustForm,
    AwardForm,
    HouseholdNumberForm,
    ItemForm,
    MonthFilterForm,
    RedeemForm,
    ReverseForm,
    SelectionForm,
    StockForm,
)
from .models import PointBook, PointEntry, SelectedHousehold, Selection, ShopItem, territory_condition

PAGE_SIZE = 50
TOP_HOUSEHOLDS = 10
READ_CAPABILITIES = (Capability.VIEW_LEDGERS, Capability.AWARD_POINTS, Capability.MANAGE_POINTS_SHOP)


# --- access -----------------------------------------------------------------------------------------------


def _reader(request):
    user = request.user
    if not any(user.has_capability(capability) for capability in READ_CAPABILITIES):
        raise PermissionDenied(_("Your posts do not open the residents' points."))
    scope = user.scope
    if not scope.is_global and not scope.territorial_paths:
        raise PermissionDenied(_("Residents' points are kept by the territorial units, not by departments."))
    return scope


def _require(request, capability: str, message: str) -> None:
    _reader(request)
    if not request.user.has_capability(capability):
        raise PermissionDenied(message)


def _household(request, number: str, capability: str | None = None) -> Household:
    household = (
        Household.objects.visible_to(request.user, capability)
        .select_related("grid")
        .filter(number=number)
        .first()
    )
    if household is None:
        raise Http404
    return household


def villages_for(user):
    """Villages in force that the user's territory reaches: those below their posts and those above them."""
    villages = Unit.objects.current().filter(level__rank=services.VILLAGE_RANK).select_related("level")
    condition = territory_condition(user, "path")
    return villages if condition is None else villages.filter(condition)


def _village(request, code: str) -> Unit:
    village = villages_for(request.user).filter(code=code).first()
    if village is None:
        raise Http404
    return village


def _query_without(request, name: str) -> str:
    params = request.GET.copy()
    params.pop(name, None)
    return params.urlencode()


def _entries(queryset):
    return queryset.select_related("rule", "item", "recorded_by", "case", "reverses", "unit").annotate(
        is_reversed=Exists(PointEntry.objects.filter(reverses=OuterRef("pk")))
    )


# --- index and the household's book -----------------------------------------------------------------------


@login_required
@require_safe
def index(request):
    """积分超市: the villages of the user's territory with this month's points, and a household lookup."""
    _reader(request)
    today = timezone.localdate()
    form = HouseholdNumberForm(request.GET or None)
    if form.is_bound and form.is_valid():
        number = form.cleaned_data["number"]
        if Household.objects.visible_to(request.user).filter(number=number).exists():
            return redirect("points:book", number=number)
        form.add_error("number", _("No household with this number in your area."))
    page = Paginator(villages_for(request.user).order_by("path"), PAGE_SIZE).get_page(request.GET.get("page"))
    figures = services.month_figures([v.pk for v in page.object_list], today)
    rows = [(village, figures[village.pk]) for village in page.object_list]
    return render(
        request,
        "points/index.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "page_query": _query_without(request, "page"),
            "today": today,
            "can_award": request.user.has_capability(Capability.AWARD_POINTS),
        },
    )


def _book_context(request, household: Household) -> dict:
    user = request.user
    book = PointBook.objects.filter(household=household).first()
    village = services.village_of(household.grid.path) if household.grid_id else None
    return {
        "household": household,
        "book": book,
        "balance": book.balance if book else 0,
        "village": village,
        "can_award": services.may_award(user, household) and household.status == "active",
        "can_keep": village is not None and services.may_keep(user, village),
        "can_redeem": village is not None and services.may_award(user, household),
        "today": timezone.localdate(),
    }


@login_required
@require_safe
def book(request, number):
    """积分存折: the household's balance and every movement, newest first."""
    _reader(request)
    household = _household(request, number)
    context = _book_context(request, household)
    entries = PointEntry.objects.none()
    if context["book"] is not None:
        entries = _entries(PointEntry.objects.filter(book=context["book"])).order_by("-seq")
    context["page"] = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    context["page_query"] = _query_without(request, "page")
    return render(request, "points/book.html", context)


@login_required
@require_safe
def book_pdf(request, number):
    """The printable 积分存折: the household's entries in order, for one year (?year=) or all of them."""
    import weasyprint  # loads Pango and fonts: only this view needs it

    _reader(request)
    household = _household(request, number)
    context = _book_context(request, household)
    entries = PointEntry.objects.none()
    opening = 0
    year = request.GET.get("year")
    year = int(year) if year and year.isdigit() and 2000 <= int(year) <= 2100 else None
    if context["book"] is not None:
        entries = _entries(PointEntry.objects.filter(book=context["book"])).order_by("seq")
        if year is not None:
            # A deed may be recorded up to a month late, so a December deed can be entered after January
            # ones: the year's book goes by the date of each entry, carrying forward the sum of every
            # entry dated before it, and shows its own running balance (the number keeps the record order).
            before = PointEntry.objects.filter(book=context["book"], date__lt=datetime.date(year, 1, 1))
            opening = before.aggregate(total=Sum("points"))["total"] or 0
            entries = list(
                entries.filter(
                    date__gte=datetime.date(year, 1, 1), date__lte=datetime.date(year, 12, 31)
                ).order_by("date", "seq")
            )
            running = opening
            for entry in entries:
                running += entry.points
                entry.running_balance = running
    context.update({"entries": entries, "year": year, "opening": opening, "generated_at": timezone.now()})
    html = render_to_string("points/book_print.html", context, request=request)
    pdf = weasyprint.HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"points-{household.number}-{timezone.localdate():%Y%m%d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- awarding ---------------------------------------------------------------------------------------------


@login_required
@require_safe
def award_start(request):
    """The phone's first step: which household? Then the award form of that household."""
    _require(request, Capability.AWARD_POINTS, _("Your posts do not award residents' points."))
    form = HouseholdNumberForm(request.GET or None)
    if form.is_bound and form.is_valid():
        number = form.cleaned_data["number"]
        households = Household.objects.visible_to(request.user, Capability.AWARD_POINTS)
        if households.filter(number=number).exists():
            return redirect("points:award", number=number)
        form.add_error("number", _("No household with this number in your area."))
    recent = (
        PointEntry.objects.filter(recorded_by=request.user, kind__in=[EntryKind.AWARD, EntryKind.DEDUCTION])
        .select_related("book__household", "rule")
        .order_by("-recorded_at", "-id")[:10]
    )
    return render(request, "points/award_start.html", {"form": form, "recent": recent})


def _case_by_number(user, number: str):
    if not number:
        return None
    return Case.objects.visible_to(user).filter(number=number).first()


@login_required
@never_cache  # Back after sending must fetch a fresh form (a new client id), not replay the old one
@require_http_methods(["GET", "POST"])
def award(request, number):
    """Award points to one household for a listed good deed (or record a deduction)."""
    _require(request, Capability.AWARD_POINTS, _("Your posts do not award residents' points."))
    household = _household(request, number, Capability.AWARD_POINTS)
    if not services.may_award(request.user, household):  # seen from its grid of registration only
        raise PermissionDenied(_("Points are awarded by the staff of the grid the household lives in."))
    rules = services.applicable_rules(household).order_by("kind", "sort_order", "code")
    today = timezone.localdate()
    if request.method == "POST":
        form = AwardForm(request.POST, rules=rules)
        if form.is_valid():
            data = form.cleaned_data
            case = _case_by_number(request.user, data["case"])
            if data["case"] and case is None:
                form.add_error("case", _("No case with this number in your area."))
            else:
                try:
                    entry, created = services.award_points(
                        by=request.user,
                        household=household,
                        rule=data["rule"],
                        quantity=data["quantity"],
                        date=data["date"],
                        note=data["note"],
                        case=case,
                        client_uuid=data["client_uuid"],
                    )
                except ValidationError as error:
                    apply_service_errors(form, error)
                else:
                    if created:
                        messages.success(
                            request,
                            _("%(points)s points recorded for household %(number)s; balance %(balance)s.")
                            % {"points": entry.points, "number": number, "balance": entry.balance_after},
                        )
                    else:
                        messages.info(request, _("These points had already been recorded."))
                    return redirect("points:book", number=number)
    else:
        form = AwardForm(rules=rules, initial={"client_uuid": uuid.uuid4(), "date": today, "quantity": 1})
    book = PointBook.objects.filter(household=household).first()
    return render(
        request,
        "points/award.html",
        {"form": form, "household": household, "balance": book.balance if book else 0, "rules": rules},
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def adjust(request, number):
    """调整: the village's keepers add or take points with a reason (the paper book carried over …)."""
    _require(request, Capability.MANAGE_POINTS_SHOP, _("Your posts do not keep the residents' points."))
    household = _household(request, number)
    village = services.village_of(household.grid.path) if household.grid_id else None
    if village is None or not services.may_keep(request.user, village):
        raise PermissionDenied(_("Only the keepers of the household's village adjust its book."))
    if request.method == "POST":
        form = AdjustForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                _entry, created = services.adjust_points(
                    by=request.user,
                    household=household,
                    points=data["points"],
                    note=data["note"],
                    client_uuid=data["client_uuid"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                if created:
                    messages.success(request, _("The adjustment is recorded."))
                return redirect("points:book", number=number)
    else:
        form = AdjustForm(initial={"client_uuid": uuid.uuid4()})
    return render(request, "points/adjust.html", {"form": form, "household": household})


@login_required
@require_http_methods(["GET", "POST"])
def reverse_entry(request, pk):
    """冲正: the village's keepers reverse one entry with a reason; the entry itself stays as it was."""
    _require(request, Capability.MANAGE_POINTS_SHOP, _("Your posts do not keep the residents' points."))
    entry = (
        _entries(PointEntry.objects.visible_to(request.user)).select_related("book__household").filter(pk=pk)
    )
    entry = entry.first()
    if entry is None:
        raise Http404
    if not services.may_keep(request.user, entry.unit):
        raise PermissionDenied(_("Only the keepers of the entry's village correct it."))
    number = entry.book.household.number
    form = ReverseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reverse_entry(by=request.user, entry=entry, note=form.cleaned_data["note"])
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Entry %(seq)s is reversed.") % {"seq": entry.seq})
            back = request.POST.get("next") or ""
            if back.startswith("/points/"):
                return redirect(back)
            return redirect("points:book", number=number)
    return render(
        request,
        "points/reverse.html",
        {
            "form": form,
            "entry": entry,
            "household": entry.book.household,
            "next": request.GET.get("next", ""),
        },
    )


# --- the village's shop -----------------------------------------------------------------------------------


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def shop(request, code):
    """积分超市: the village's goods and stock, and the redemption form for whoever serves at the shop."""
    _reader(request)
    user = request.user
    village = _village(request, code)
    items = ShopItem.objects.filter(unit=village).order_by("-is_active", "sort_order", "price", "name")
    on_offer = items.filter(is_active=True)
    can_redeem = services.may_serve_shop(user, village) and user.has_capability(Capability.AWARD_POINTS)
    form = None
    if can_redeem:
        if request.method == "POST":
            form = RedeemForm(request.POST, items=on_offer)
            if form.is_valid():
                entry = _redeem(request, form, village)
                if entry is not None:
                    return redirect(reverse("points:shop", args=[code]))
        else:
            form = RedeemForm(
                items=on_offer,
                initial={
                    "client_uuid": uuid.uuid4(),
                    "household": request.GET.get("household", ""),
                    "quantity": 1,
                },
            )
    elif request.method == "POST":
        raise PermissionDenied(_("Only the staff serving this village redeem its households' points."))
    recent = (
        _entries(PointEntry.objects.visible_to(user).filter(unit=village, kind=EntryKind.REDEMPTION))
        .select_related("book__household")
        .order_by("-recorded_at", "-id")[:20]
    )
    return render(
        request,
        "points/shop.html",
        {
            "village": village,
            "items": items,
            "form": form,
            "recent": recent,
            "can_keep": services.may_keep(user, village),
            "low_stock": services.low_stock(),
        },
    )


def _redeem(request, form, village):
    data = form.cleaned_data
    household = (
        Household.objects.visible_to(request.user, Capability.AWARD_POINTS)
        .select_related("grid")
        .filter(number=data["household"], grid__path__startswith=village.path)
        .first()
    )
    if household is None:
        form.add_error("household", _("No household with this number of this village in your area."))
        return None
    try:
        entry, created = services.redeem(
            by=request.user,
            household=household,
            item=data["item"],
            quantity=data["quantity"],
            note=data["note"],
            client_uuid=data["client_uuid"],
        )
    except ValidationError as error:
        apply_service_errors(form, error)
        return None
    except PermissionDenied as error:
        form.add_error("household", str(error))
        return None
    if created:
        messages.success(
            request,
            _(
                "Household %(number)s redeemed %(quantity)s × %(item)s for %(points)s points; balance %(balance)s."
            )
            % {
                "number": household.number,
                "quantity": entry.quantity,
                "item": data["item"].name,
                "points": -entry.points,
                "balance": entry.balance_after,
            },
        )
    else:
        messages.info(request, _("This redemption had already been recorded."))
    return entry


def _keeper_village(request, code: str) -> Unit:
    _require(request, Capability.MANAGE_POINTS_SHOP, _("Your posts do not keep a points shop."))
    village = _village(request, code)
    if not services.may_keep(request.user, village):
        raise PermissionDenied(
            _("Only the keepers of %(unit)s's points shop change its goods.") % {"unit": village.name}
        )
    return village


@login_required
@require_http_methods(["GET", "POST"])
def item_new(request, code):
    village = _keeper_village(request, code)
    form = ItemForm(request.POST or None, creating=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.create_item(by=request.user, unit=village, **data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("“%(item)s” is on offer.") % {"item": data["name"]})
            return redirect("points:shop", code=code)
    return render(request, "points/item_form.html", {"form": form, "village": village, "item": None})


def _kept_item(request, pk) -> ShopItem:
    _require(request, Capability.MANAGE_POINTS_SHOP, _("Your posts do not keep a points shop."))
    item = (
        ShopItem.objects.visible_to(request.user).select_related("unit", "unit__level").filter(pk=pk).first()
    )
    if item is None:
        raise Http404
    if not services.may_keep(request.user, item.unit):
        raise PermissionDenied(
            _("Only the keepers of %(unit)s's points shop change its goods.") % {"unit": item.unit.name}
        )
    return item


@login_required
@require_http_methods(["GET", "POST"])
def item_edit(request, pk):
    item = _kept_item(request, pk)
    form = ItemForm(request.POST or None, instance=item, creating=False)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_item(by=request.user, item=item, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("“%(item)s” is saved.") % {"item": form.cleaned_data["name"]})
            return redirect("points:shop", code=item.unit.code)
    return render(request, "points/item_form.html", {"form": form, "village": item.unit, "item": item})


@login_required
@require_http_methods(["GET", "POST"])
def item_stock(request, pk):
    item = _kept_item(request, pk)
    form = StockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_stock(by=request.user, item=item, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request, _("“%(item)s”: %(stock)s in stock.") % {"item": item.name, "stock": item.stock}
            )
            return redirect("points:shop", code=item.unit.code)
    return render(request, "points/item_stock.html", {"form": form, "item": item})


# --- selections -------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def selections(request, code):
    """评选: the village's selections of 清洁户, 整洁庭院 … by period, and the form to record one."""
    _reader(request)
    user = request.user
    village = _village(request, code)
    today = timezone.localdate()
    rules = services.title_rules(village).order_by("sort_order", "code")
    can_select = services.may_select(user, village) and user.has_capability(Capability.AWARD_POINTS)
    form = None
    if can_select:
        form = SelectionForm(request.POST or None, rules=rules, initial={"day": today})
        if request.method == "POST" and form.is_valid():
            selection = _select(request, form, village)
            if selection is not None:
                return redirect("points:selection", pk=selection.pk)
    elif request.method == "POST":
        raise PermissionDenied(_("Selections of this village are recorded by its village office."))
    listed = (
        Selection.objects.filter(unit=village)
        .select_related("rule", "made_by")
        .annotate(selected=Count("winners", filter=Q(winners__withdrawn_at__isnull=True)))
        .order_by("-period_start", "rule__sort_order")
    )
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "points/selections.html",
        {"village": village, "form": form, "page": page, "page_query": _query_without(request, "page")},
    )


def _select(request, form, village):
    data = form.cleaned_data
    numbers = data["households"]
    found = {
        h.number: h
        for h in Household.objects.visible_to(request.user, Capability.AWARD_POINTS)
        .select_related("grid")
        .filter(number__in=numbers, grid__path__startswith=village.path)
    }
    missing = [n for n in numbers if n not in found]
    if missing:
        form.add_error(
            "households",
            _("No household numbered %(numbers)s in %(village)s.")
            % {"numbers": "、".join(missing[:10]), "village": village.name},
        )
        return None
    try:
        selection, added = services.select_households(
            by=request.user,
            village=village,
            rule=data["rule"],
            day=data["day"],
            households=found.values(),
            note=data["note"],
        )
    except ValidationError as error:
        apply_service_errors(form, error)
        return None
    messages.success(
        request,
        _("%(count)s households selected for %(title)s; %(skipped)s had been selected already.")
        % {"count": len(added), "title": selection.rule.name, "skipped": len(numbers) - len(added)},
    )
    return selection


@login_required
@require_safe
def selection(request, pk):
    _reader(request)
    user = request.user
    chosen = (
        Selection.objects.visible_to(user).select_related("rule", "unit", "made_by").filter(pk=pk).first()
    )
    if chosen is None:
        raise Http404
    winners = (
        SelectedHousehold.objects.filter(selection=chosen)
        .filter(household__in=Household.objects.visible_to(user))
        .select_related("household", "entry")
        .order_by("withdrawn_at", "household__number")
    )
    total = SelectedHousehold.objects.filter(selection=chosen, withdrawn_at__isnull=True).count()
    page = Paginator(winners, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "points/selection.html",
        {
            "selection": chosen,
            "page": page,
            "page_query": _query_without(request, "page"),
            "total": total,
            "label": services.period_label(chosen.rule.period, chosen.period_start),
            "can_keep": services.may_keep(user, chosen.unit),
        },
    )


# --- the village's summary --------------------------------------------------------------------------------


@login_required
@require_safe
def summary(request, code):
    """A village's month: points awarded, deducted and redeemed, the households with the most points, the
    shop's stock and the month's selections."""
    _reader(request)
    user = request.user
    village = _village(request, code)
    day = timezone.localdate()
    form = MonthFilterForm(request.GET or None, initial={"month": day})
    if form.is_bound and form.is_valid() and form.cleaned_data["month"]:
        day = form.cleaned_data["month"]
    start, end = services.month_bounds(day)
    figures = services.month_figures([village.pk], day)[village.pk]
    top = list(
        PointBook.objects.visible_to(user)
        .filter(household__grid__path__startswith=village.path, balance__gt=0)
        .select_related("household", "household__grid")
        .order_by("-balance", "household__number")[:TOP_HOUSEHOLDS]
    )
    earned = services.earned_in_year([b.pk for b in top], day.year)
    items = ShopItem.objects.filter(unit=village, is_active=True).order_by("sort_order", "price", "name")
    month_selections = (
        Selection.objects.filter(unit=village, period_start__lte=end, period_end__gte=start)
        .select_related("rule")
        .annotate(selected=Count("winners", filter=Q(winners__withdrawn_at__isnull=True)))
        .order_by("rule__sort_order")
    )
    return render(
        request,
        "points/summary.html",
        {
            "village": village,
            "form": form,
            "month": start,
            "figures": figures,
            "top": [(b, earned.get(b.pk, 0)) for b in top],
            "items": items,
            "low_stock": services.low_stock(),
            "selections": month_selections,
            "books": services.books_of_village(village).count(),
        },
    )
