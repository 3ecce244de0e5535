"""Every write to the governance tree: create, edit, redraw, move, split, merge, retire.

Each function checks the actor may do it, validates the code rule and geometry, runs in one transaction
and writes change-log rows. Views, the admin, the API, commands and tests call these; nothing else
writes units.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

import shapely
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import diff, record_change, snapshot
from wangge.core.models import ChangeAction

from . import geometry as geo
from .choices import AreaType, LineageOperation, UnitKind
from .models import Unit, UnitBoundaryVersion, UnitLevel, UnitLineage

EDITABLE_FIELDS = (
    "name",
    "kind",
    "dedicated_type",
    "area_type",
    "min_households",
    "max_households",
    "description",
)


# --- the code rule (GRID-5) -------------------------------------------------------------------------


def expected_code_length(level: UnitLevel, parent: Unit | None) -> int:
    return (len(parent.code) if parent else 0) + level.code_digits


def code_rule_errors(code: str, level: UnitLevel, parent: Unit | None) -> list[str]:
    """Why `code` breaks the rule for a new unit of `level` under `parent` (empty when it is fine)."""
    errors = []
    if not code.isdigit():
        errors.append(_("A unit code is made of digits only."))
    if parent is not None and not code.startswith(parent.code):
        errors.append(_("The code must begin with the parent's code %(code)s.") % {"code": parent.code})
    length = expected_code_length(level, parent)
    if len(code) != length:
        errors.append(
            _("A %(level)s code has %(length)d digits (the parent's code plus %(digits)d).")
            % {"level": level.name, "length": length, "digits": level.code_digits}
        )
    return errors


def next_code(parent: Unit, level: UnitLevel) -> str:
    """The next free sequence under `parent`; retired codes are never handed out again."""
    width = level.code_digits
    used = [
        int(code[len(parent.code) :])
        for code in Unit.objects.filter(code__startswith=parent.code)
        .filter(code__regex=r"^[0-9]+$")
        .values_list("code", flat=True)
        if len(code) == len(parent.code) + width
    ]
    sequence = max(used, default=0) + 1
    if sequence >= 10**width:
        raise ValidationError(
            {
                "code": _("No free %(digits)d-digit code is left under %(parent)s.")
                % {"digits": width, "parent": parent}
            }
        )
    return f"{parent.code}{sequence:0{width}d}"


# --- permission helpers -----------------------------------------------------------------------------


def _require_manage_below(user, parent: Unit | None) -> None:
    """The actor may write units strictly below their own post's unit (system administrators: anywhere)."""
    if user is None:  # system jobs (demo loader, migrations) act without a user
        return
    if parent is None:
        if not user.scope.is_global:
            raise PermissionDenied(_("Only a system administrator may create a top-level unit."))
        return
    if not user.can_manage_unit(parent) and not (
        user.has_capability("manage_units") and user.scope.covers_path(parent.path)
    ):
        raise PermissionDenied(_("You may not change units here."))


def _require_manage(user, unit: Unit) -> None:
    if user is not None and not user.can_manage_unit(unit):
        raise PermissionDenied(_("You may not change this unit."))


def _check_level(level: UnitLevel, parent: Unit | None) -> None:
    if parent is None:
        if level.allowed_parents.exists():
            raise ValidationError({"level": _("A %(level)s must have a parent.") % {"level": level.name}})
        return
    allowed = list(level.allowed_parents.all())
    if parent.level not in allowed:
        names = "、".join(str(x) for x in allowed) or _("none")
        raise ValidationError(
            {
                "parent": _("A %(level)s must hang under: %(allowed)s (not under a %(parent)s).")
                % {"level": level.name, "allowed": names, "parent": parent.level.name}
            }
        )


def _set_geometry(unit: Unit, geom) -> None:
    unit.geometry = geo.to_geojson(geom)
    unit.centroid_lng, unit.centroid_lat = geo.centroid(geom)


def _today(on: datetime.date | None) -> datetime.date:
    return on or timezone.localdate()


# --- create and edit --------------------------------------------------------------------------------


def validate_new_unit(parent: Unit | None, level: UnitLevel, code: str | None, geometry: dict | None):
    """Check a new unit's place, code and boundary; returns the code to use and the parsed boundary."""
    if parent is not None and not parent.is_current:
        raise ValidationError(
            {"parent": _("%(unit)s is retired; nothing new can hang under it.") % {"unit": parent}}
        )
    _check_level(level, parent)
    geom = geo.parse_boundary(geometry)
    code = code or (next_code(parent, level) if parent else None)
    if not code:
        raise ValidationError({"code": _("A top-level unit needs its statistical division code.")})
    if errors := code_rule_errors(code, level, parent):
        raise ValidationError({"code": errors})
    if Unit.objects.filter(code=code).exists():
        raise ValidationError({"code": _("The code %(code)s is already taken.") % {"code": code}})
    return code, geom


@transaction.atomic
def create_unit(
    *,
    parent: Unit | None,
    level: UnitLevel,
    name: str,
    by=None,
    code: str | None = None,
    kind: str | None = None,
    dedicated_type: str = "",
    area_type: str | None = None,
    geometry: dict | None = None,
    effective_from: datetime.date | None = None,
    description: str = "",
    min_households: int | None = None,
    max_households: int | None = None,
) -> Unit:
    _require_manage_below(by, parent)
    if parent is not None:
        parent = Unit.objects.select_for_update().get(pk=parent.pk)
    code, geom = validate_new_unit(parent, level, code, geometry)
    unit = Unit(
        name=name.strip(),
        code=code,
        level=level,
        kind=kind or (UnitKind.COMPREHENSIVE if level.is_grid else UnitKind.DIVISION),
        dedicated_type=dedicated_type,
        area_type=area_type or (parent.area_type if parent else AreaType.RURAL),
        effective_from=_today(effective_from),
        description=description,
        min_households=min_households,
        max_households=max_households,
    )
    _set_geometry(unit, geom)
    unit.full_clean(exclude=["path", "depth", "numchild"])
    unit = (
        Unit.objects.add_root(instance=unit)
        if parent is None
        else Unit.objects.add_child(parent, instance=unit)
    )
    record_change(unit, ChangeAction.CREATE, user=by, changes={"after": snapshot(unit)})
    return unit


@transaction.atomic
def update_unit(unit: Unit, *, by=None, **changes) -> Unit:
    """Edit a unit's attributes. The code never changes; a new boundary goes through `redraw_boundary`."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            _("These fields cannot be edited here: %(fields)s") % {"fields": ", ".join(sorted(unknown))}
        )
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    _require_manage(by, unit)
    before = snapshot(unit, list(EDITABLE_FIELDS))
    for field, value in changes.items():
        setattr(unit, field, value)
    if unit.kind != UnitKind.DEDICATED:
        unit.dedicated_type = ""
    unit.full_clean(exclude=["path", "depth", "numchild"])
    unit.save()
    if delta := diff(before, snapshot(unit, list(EDITABLE_FIELDS))):
        record_change(unit, ChangeAction.UPDATE, user=by, changes=delta)
    return unit


@transaction.atomic
def redraw_boundary(unit: Unit, geometry: dict | None, *, by=None, on: datetime.date | None = None) -> Unit:
    """Replace a unit's boundary, keeping the old one with its dates (boundaries are versioned)."""
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    _require_manage(by, unit)
    geom = geo.parse_boundary(geometry)
    on = _today(on)
    if unit.geometry is not None:
        last = unit.boundary_versions.order_by("-valid_to").first()
        valid_from = last.valid_to if last else unit.effective_from
        UnitBoundaryVersion.objects.create(
            unit=unit, geometry=unit.geometry, valid_from=min(valid_from, on), valid_to=on
        )
    _set_geometry(unit, geom)
    unit.save(update_fields=["geometry", "centroid_lng", "centroid_lat", "updated_at"])
    record_change(unit, ChangeAction.REDRAW, user=by, changes={"on": on.isoformat()})
    return unit


# --- move, split, merge, retire ---------------------------------------------------------------------


@transaction.atomic
def move_unit(unit: Unit, new_parent: Unit, *, by=None) -> Unit:
    """Hang a unit (and its subtree) under another parent. Codes stay as they are: they are stable IDs."""
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    new_parent = Unit.objects.select_for_update().get(pk=new_parent.pk)
    _require_manage(by, unit)
    _require_manage_below(by, new_parent)
    if not new_parent.is_current:
        raise ValidationError(
            {"parent": _("%(unit)s is retired; nothing new can hang under it.") % {"unit": new_parent}}
        )
    if new_parent.path.startswith(unit.path):
        raise ValidationError({"parent": _("A unit cannot be moved below itself.")})
    _check_level(unit.level, new_parent)
    old_parent = unit.parent_unit()
    if old_parent and old_parent.pk == new_parent.pk:
        return unit
    Unit.objects.move(unit, new_parent, pos="last-child")
    unit = Unit.objects.get(pk=unit.pk)
    record_change(
        unit,
        ChangeAction.MOVE,
        user=by,
        changes={"parent": [old_parent.code if old_parent else None, new_parent.code]},
    )
    return unit


def _retire(unit: Unit, on: datetime.date, by, action: str, changes: dict) -> None:
    unit.effective_to = on
    unit.save(update_fields=["effective_to", "updated_at"])
    record_change(unit, action, user=by, changes=changes)


def _reassign_children_and_households(old: Unit, targets: Sequence[tuple[Unit, object]]) -> dict:
    """Move the old unit's current children and households to the target whose boundary holds them.

    Anything without a point, or whose point falls in no target, goes to the first target, and is
    counted so the caller can say so.
    """
    from wangge.ledger.models import Household

    def pick(lng, lat):
        if lng is not None and lat is not None:
            point = shapely.Point(lng, lat)
            for target, geom in targets:
                if geom is not None and geom.covers(point):
                    return target, True
        return targets[0][0], False

    unplaced = {"children": 0, "households": 0}
    for child in list(Unit.objects.current().filter(path__startswith=old.path, depth=old.depth + 1)):
        target, placed = pick(child.centroid_lng, child.centroid_lat)
        unplaced["children"] += not placed
        Unit.objects.move(Unit.objects.get(pk=child.pk), Unit.objects.get(pk=target.pk), pos="last-child")
    by_target: dict[int, list[int]] = {}
    for pk, lng, lat in Household.objects.filter(grid=old).values_list("pk", "lng", "lat"):
        target, placed = pick(lng, lat)
        unplaced["households"] += not placed
        by_target.setdefault(target.pk, []).append(pk)
    for target_pk, pks in by_target.items():
        Household.objects.filter(pk__in=pks).update(grid_id=target_pk)
    return unplaced


def _tolerance() -> float:
    return settings.WANGGE_GEOMETRY_TOLERANCE_M2


@transaction.atomic
def split_unit(
    unit: Unit, parts: Sequence[dict], *, by=None, on: datetime.date | None = None
) -> tuple[list[Unit], dict]:
    """Split a unit into new sibling units (GRID-11). The old unit is retired, not deleted.

    `parts` are dicts with "name" and, when the unit has a boundary, "geometry"; together the parts must
    cover the old boundary without overlapping. Children and households follow their points.
    """
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    _require_manage(by, unit)
    if not unit.is_current:
        raise ValidationError(_("%(unit)s is already retired.") % {"unit": unit})
    if len(parts) < 2:
        raise ValidationError({"parts": _("A split makes at least two units.")})
    on = _today(on)
    old_geom = geo.to_shape(unit.geometry)
    geoms = [geo.parse_boundary(p.get("geometry"), field=f"parts[{i}].geometry") for i, p in enumerate(parts)]
    for i, part in enumerate(parts):
        if not (part.get("name") or "").strip():
            raise ValidationError({f"parts[{i}].name": _("Each new unit needs a name.")})
    if old_geom is not None:
        if any(g is None for g in geoms):
            raise ValidationError({"parts": _("The unit has a boundary, so every part needs one.")})
        _check_partition(old_geom, geoms)
    parent = unit.parent_unit()
    new_units = [
        create_unit(
            parent=parent,
            level=unit.level,
            name=part["name"],
            by=by,
            kind=unit.kind,
            dedicated_type=unit.dedicated_type,
            area_type=unit.area_type,
            geometry=geo.to_geojson(geom),
            effective_from=on,
        )
        for part, geom in zip(parts, geoms, strict=True)
    ]
    unplaced = _reassign_children_and_households(unit, list(zip(new_units, geoms, strict=True)))
    UnitLineage.objects.bulk_create(
        UnitLineage(predecessor=unit, successor=new, operation=LineageOperation.SPLIT, date=on)
        for new in new_units
    )
    _retire(unit, on, by, ChangeAction.SPLIT, {"into": [u.code for u in new_units]})
    return new_units, unplaced


def _check_partition(whole, parts: Sequence) -> None:
    tolerance = _tolerance()
    for i, part in enumerate(parts):
        outside = geo.area_m2(part.difference(whole))
        if outside > tolerance:
            raise ValidationError(
                {
                    f"parts[{i}].geometry": _("This part reaches %(area).0f m² outside the unit.")
                    % {"area": outside}
                }
            )
        for j in range(i):
            overlap = geo.area_m2(part.intersection(parts[j]))
            if overlap > tolerance:
                raise ValidationError(
                    {
                        f"parts[{i}].geometry": _("This part overlaps part %(other)d by %(area).0f m².")
                        % {"other": j + 1, "area": overlap}
                    }
                )
    gap = geo.area_m2(whole.difference(shapely.union_all(parts)))
    if gap > tolerance:
        raise ValidationError(
            {"parts": _("The parts leave %(area).0f m² of the unit uncovered.") % {"area": gap}}
        )


@transaction.atomic
def merge_units(
    units: Iterable[Unit], *, name: str, by=None, on: datetime.date | None = None
) -> tuple[Unit, dict]:
    """Merge sibling units of one level into a new unit whose boundary is their union (GRID-11)."""
    units = list(
        Unit.objects.select_for_update().filter(pk__in=[u.pk for u in units]).select_related("level")
    )
    if len(units) < 2:
        raise ValidationError({"units": _("Choose at least two units to merge.")})
    for unit in units:
        _require_manage(by, unit)
        if not unit.is_current:
            raise ValidationError({"units": _("%(unit)s is already retired.") % {"unit": unit}})
    parents = {u.path[: -Unit.steplen] for u in units}
    if len(parents) > 1 or len({u.level_id for u in units}) > 1:
        raise ValidationError(
            {"units": _("Only units of the same level under the same parent can be merged.")}
        )
    if len({u.kind for u in units}) > 1 or len({u.dedicated_type for u in units}) > 1:
        raise ValidationError({"units": _("A comprehensive and a dedicated grid cannot be merged.")})
    if not (name or "").strip():
        raise ValidationError({"name": _("The merged unit needs a name.")})
    on = _today(on)
    geoms = [geo.to_shape(u.geometry) for u in units]
    merged_geom = shapely.union_all([g for g in geoms if g is not None]) if any(geoms) else None
    first = units[0]
    merged = create_unit(
        parent=first.parent_unit(),
        level=first.level,
        name=name,
        by=by,
        kind=first.kind,
        dedicated_type=first.dedicated_type,
        area_type=first.area_type,
        geometry=geo.to_geojson(merged_geom) if merged_geom is not None else None,
        effective_from=on,
    )
    unplaced = {"children": 0, "households": 0}
    for unit in units:
        moved = _reassign_children_and_households(unit, [(merged, None)])
        UnitLineage.objects.create(
            predecessor=unit, successor=merged, operation=LineageOperation.MERGE, date=on
        )
        _retire(unit, on, by, ChangeAction.MERGE, {"into": merged.code})
        unplaced = {k: unplaced[k] + moved[k] for k in unplaced}
    return merged, unplaced


@transaction.atomic
def retire_unit(unit: Unit, *, by=None, on: datetime.date | None = None) -> Unit:
    """Take a unit out of force. It must be empty: no current children and no households."""
    from wangge.ledger.models import Household

    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    _require_manage(by, unit)
    if Unit.objects.current().filter(path__startswith=unit.path, depth__gt=unit.depth).exists():
        raise ValidationError(_("Retire or move this unit's current children first."))
    if Household.objects.filter(grid=unit).exists():
        raise ValidationError(_("Move this unit's households to another grid first."))
    _retire(unit, _today(on), by, ChangeAction.RETIRE, {})
    return unit
