"""Unit pages: the tree browsed by scope, its map, and the tree operations, all through units.services."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from wangge.core.audit import history_for
from wangge.core.forms import apply_service_errors
from wangge.core.scope import get_visible_or_404
from wangge.ledger.models import Household
from wangge.people.models import Post

from . import forms, services
from .models import HouseholdStandard, Unit, UnitLineage, household_range


def _visible_unit(request, code, for_update=False) -> Unit:
    """The unit with this code if the user may see it (404 otherwise); 403 if they may see but not change.

    A user with no active post is refused outright (403): there is nothing they may see.
    """
    _require_post(request)
    unit = get_visible_or_404(Unit.objects.select_related("level"), request.user, code=code)
    if for_update and not request.user.can_manage_unit(unit):
        raise PermissionDenied(_("You may not change this unit."))
    return unit


def _require_post(request):
    if request.user.scope.is_empty:
        raise PermissionDenied(_("You hold no active post."))


def applicable_standard(unit: Unit) -> tuple[int, int] | None:
    """The range the unit page shows: only when both bounds are known."""
    found = household_range(unit, HouseholdStandard.table())
    return (found[0], found[1]) if found and found[0] is not None and found[1] is not None else None


def household_counts_by_child(unit: Unit) -> dict[str, int]:
    """Households below each child of `unit`, keyed by the child's path, in one grouped query."""
    child_path_length = len(unit.path) + Unit.steplen
    rows = (
        Household.objects.filter(grid__path__startswith=unit.path, grid__depth__gt=unit.depth)
        .annotate(child_path=Substr("grid__path", 1, child_path_length))
        .values("child_path")
        .annotate(n=Count("id"))
    )
    return {row["child_path"]: row["n"] for row in rows}


def subtree_household_totals(unit: Unit) -> dict[str, int]:
    """Households below every unit of `unit`'s subtree, keyed by path: one grouped query, summed upwards."""
    totals: dict[str, int] = {}
    rows = (
        Household.objects.filter(grid__path__startswith=unit.path)
        .values_list("grid__path")
        .annotate(n=Count("id"))
        .order_by()
    )
    for path, n in rows:
        for prefix in Unit.path_prefixes(path):
            totals[prefix] = totals.get(prefix, 0) + n
    return totals


@login_required
def unit_detail(request, code):
    unit = _visible_unit(request, code)
    user = request.user
    scope = user.scope
    ancestors = [(a, scope.covers_path(a.path)) for a in unit.ancestors()]
    children = list(unit.children().current().select_related("level").order_by("code"))
    counts = household_counts_by_child(unit)
    staff_counts = dict(
        Post.objects.active()
        .filter(unit__path__startswith=unit.path, unit__depth=unit.depth + 1)
        .annotate(child_path=Substr("unit__path", 1, len(unit.path) + Unit.steplen))
        .values_list("child_path")
        .annotate(n=Count("id"))
    )
    for child in children:
        child.household_count = counts.get(child.path, 0)
        child.staff_count = staff_counts.get(child.path, 0)
    retired = list(
        unit.children()
        .filter(effective_to__isnull=False, effective_to__lte=timezone.localdate())
        .order_by("-effective_to")
    )
    lineage = UnitLineage.objects.filter(Q(predecessor__in=retired)).select_related("successor")
    successors: dict[int, list[Unit]] = {}
    for link in lineage:
        successors.setdefault(link.predecessor_id, []).append(link.successor)
    for old in retired:
        old.successor_list = successors.get(old.pk, [])
    own_households = Household.objects.filter(grid=unit).count()
    context = {
        "unit": unit,
        "ancestors": ancestors,
        "children": children,
        "retired": retired,
        "staff": Post.objects.active()
        .filter(unit=unit)
        .select_related("user", "department")
        .order_by("role"),
        "household_total": own_households + sum(counts.values()),
        "standard": applicable_standard(unit) if unit.is_grid else None,
        "can_manage": user.can_manage_unit(unit),
        "can_manage_children": user.has_capability("manage_units") and scope.covers_path(unit.path),
        "history": history_for(unit)[:20],
    }
    return render(request, "units/unit_detail.html", context)


@login_required
def unit_geojson(request, code):
    """The unit's outline and its current children as a FeatureCollection for the page's map."""
    unit = _visible_unit(request, code)
    features = []
    for item in [unit, *unit.children().current().select_related("level").order_by("code")]:
        if item.geometry is None:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": item.geometry,
                "properties": {
                    "code": item.code,
                    "name": item.name,
                    "kind": item.kind,
                    "level": item.level.name,
                    "role": "self" if item.pk == unit.pk else "child",
                    "url": item.get_absolute_url(),
                },
            }
        )
    return JsonResponse({"type": "FeatureCollection", "features": features})


@login_required
def unit_export(request, code):
    """The unit's current subtree as CSV (codes, names, levels, kinds, household counts)."""
    unit = _visible_unit(request, code)
    units = Unit.objects.subtree(unit).current().select_related("level")
    totals = subtree_household_totals(unit)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="units-{unit.code}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 CSV correctly only with a byte-order mark
    writer = csv.writer(response)
    writer.writerow(
        [
            _("Code"),
            _("Name"),
            _("Level"),
            _("Kind"),
            _("Area type"),
            _("Parent code"),
            _("Households"),
            _("Effective from"),
        ]
    )
    paths = {u.path: u.code for u in units}
    for u in units:
        writer.writerow(
            [
                u.code,
                u.name,
                u.level.name,
                u.get_kind_display(),
                u.get_area_type_display(),
                paths.get(u.parent_path, ""),
                totals.get(u.path, 0),
                u.effective_from,
            ]
        )
    return response


@login_required
def unit_check(request, code):
    """The check-grids report for the unit's subtree, grouped by kind of violation (GRID-3/4/5)."""
    unit = _visible_unit(request, code)
    from .checks import check_subtree  # the checker loads shapely trees; only this page needs it

    violations = check_subtree(unit)
    groups: dict[str, list] = {}
    for violation in violations:
        groups.setdefault(violation.kind.label, []).append(violation)
    return render(
        request, "units/unit_check.html", {"unit": unit, "groups": groups, "total": len(violations)}
    )


def _run(form, request, action):
    """Call a service; show its validation errors on the form and its refusals as 403."""
    try:
        return action()
    except ValidationError as error:
        apply_service_errors(form, error)
    return None


@login_required
@require_http_methods(["GET", "POST"])
def unit_create(request, code):
    parent = _visible_unit(request, code)
    if not (request.user.has_capability("manage_units") and request.user.scope.covers_path(parent.path)):
        raise PermissionDenied(_("You may not add units here."))
    form = forms.UnitCreateForm(request.POST or None, parent=parent)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        created = _run(
            form,
            request,
            lambda: services.create_unit(
                parent=parent,
                level=data["level"],
                name=data["name"],
                by=request.user,
                code=data["code"] or None,
                kind=data["kind"],
                dedicated_type=data["dedicated_type"],
                area_type=data["area_type"],
                geometry=data["geometry"],
                effective_from=data["effective_from"],
            ),
        )
        if created:
            messages.success(request, _("%(unit)s was created.") % {"unit": created})
            return redirect(created)
    return render(
        request,
        "units/unit_form.html",
        {"unit": parent, "form": form, "title": _("Add a unit under %(unit)s") % {"unit": parent.name}},
    )


@login_required
@require_http_methods(["GET", "POST"])
def unit_edit(request, code):
    unit = _visible_unit(request, code, for_update=True)
    form = forms.UnitEditForm(request.POST or None, instance=Unit.objects.get(pk=unit.pk))
    if request.method == "POST" and form.is_valid():
        changes = {f: form.cleaned_data[f] for f in form.changed_data}
        if _run(form, request, lambda: services.update_unit(unit, by=request.user, **changes)):
            messages.success(request, _("Changes saved."))
            return redirect(unit)
    return render(
        request,
        "units/unit_form.html",
        {"unit": unit, "form": form, "title": _("Edit %(unit)s") % {"unit": unit.name}},
    )


@login_required
@require_http_methods(["GET", "POST"])
def unit_redraw(request, code):
    unit = _visible_unit(request, code, for_update=True)
    form = forms.RedrawForm(request.POST or None, initial={"geometry": unit.geometry})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _run(
            form,
            request,
            lambda: services.redraw_boundary(unit, data["geometry"], by=request.user, on=data["on"]),
        ):
            messages.success(request, _("The new boundary is in force; the old one is kept in the history."))
            return redirect(unit)
    return render(
        request,
        "units/unit_form.html",
        {"unit": unit, "form": form, "title": _("Redraw the boundary of %(unit)s") % {"unit": unit.name}},
    )


@login_required
@require_http_methods(["GET", "POST"])
def unit_move(request, code):
    unit = _visible_unit(request, code, for_update=True)
    form = forms.MoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        target = Unit.objects.visible_to(request.user).filter(code=form.cleaned_data["parent_code"]).first()
        if target is None:
            form.add_error("parent_code", _("No unit with this code is visible to you."))
        else:
            try:
                moved = _run(form, request, lambda: services.move_unit(unit, target, by=request.user))
            except PermissionDenied as exc:
                form.add_error("parent_code", str(exc))
                moved = None
            if moved:
                messages.success(
                    request,
                    _("%(unit)s now hangs under %(parent)s; its code is unchanged.")
                    % {"unit": moved, "parent": target},
                )
                return redirect(moved)
    return render(
        request,
        "units/unit_form.html",
        {"unit": unit, "form": form, "title": _("Move %(unit)s") % {"unit": unit.name}},
    )


@login_required
@require_http_methods(["GET", "POST"])
def unit_split(request, code):
    unit = _visible_unit(request, code, for_update=True)
    formset = forms.SplitFormSet(request.POST or None, prefix="parts")
    date_form = forms.SplitDateForm(request.POST or None)
    if request.method == "POST" and formset.is_valid() and date_form.is_valid():
        parts = [f.cleaned_data for f in formset.forms if f.cleaned_data]
        try:
            new_units, unplaced = services.split_unit(
                unit, parts, by=request.user, on=date_form.cleaned_data["on"]
            )
        except ValidationError as error:
            apply_service_errors(date_form, error)
        else:
            messages.success(
                request,
                _("%(unit)s was split into %(parts)s.")
                % {"unit": unit.name, "parts": "、".join(u.name for u in new_units)},
            )
            if unplaced["households"]:
                messages.warning(
                    request,
                    _(
                        "%(n)d households had no point inside a new grid and went to %(first)s: please check them."
                    )
                    % {"n": unplaced["households"], "first": new_units[0].name},
                )
            return redirect(unit.parent_unit() or new_units[0])
    return render(
        request, "units/unit_split.html", {"unit": unit, "formset": formset, "date_form": date_form}
    )


@login_required
@require_http_methods(["GET", "POST"])
def unit_merge(request, code):
    parent = _visible_unit(request, code)
    if not (request.user.has_capability("manage_units") and request.user.scope.covers_path(parent.path)):
        raise PermissionDenied(_("You may not merge units here."))
    form = forms.MergeForm(request.POST or None, parent=parent)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        result = _run(
            form,
            request,
            lambda: services.merge_units(data["units"], name=data["name"], by=request.user, on=data["on"]),
        )
        if result:
            messages.success(request, _("The units were merged into %(unit)s.") % {"unit": result[0]})
            return redirect(result[0])
    return render(
        request,
        "units/unit_form.html",
        {"unit": parent, "form": form, "title": _("Merge units under %(unit)s") % {"unit": parent.name}},
    )


@login_required
@require_http_methods(["GET", "POST"])
def unit_retire(request, code):
    unit = _visible_unit(request, code, for_update=True)
    form = forms.SplitDateForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and _run(
            form, request, lambda: services.retire_unit(unit, by=request.user, on=form.cleaned_data["on"])
        )
    ):
        messages.success(request, _("%(unit)s is retired; its history is kept.") % {"unit": unit})
        return redirect(unit.parent_unit() or unit)
    return render(
        request,
        "units/unit_form.html",
        {"unit": unit, "form": form, "title": _("Retire %(unit)s") % {"unit": unit.name}, "danger": True},
    )
