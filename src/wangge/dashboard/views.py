"""The command centre's pages: a unit's dashboard over a date range with the way down and back up the tree,
its map's data, and the wall screen (大屏). Every figure comes from `services.build_dashboard` and the
query layer beneath it. Who may open which unit is `services.may_view`: no dashboard right at all answers
403, a unit out of reach 404."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from wangge.cases.choices import CaseState
from wangge.people.roles import Capability
from wangge.units.models import Unit

from . import services
from .figures import Figures, is_rolled_up, midnight, unit_figures
from .forms import RangeForm
from .kpis import KpiValue
from .models import RollupState
from .templatetags.dashboard_tags import percent_value

# Grid outlines go to the browser rounded to about a metre: a county's thousands of grids stay light.
MAP_COORDINATE_PLACES = 5
WALL_NEW_CASES_DAYS = 7


def _unit(user, code: str) -> Unit:
    return services.unit_for(user, code)


def _range_query(first_day: datetime.date, last_day: datetime.date) -> str:
    return urlencode({"start": first_day.isoformat(), "end": last_day.isoformat()})


def _percent(value) -> float | None:
    return None if value is None else float(percent_value(value))


# ---------------------------------------------------------------------------------------------------
# The dashboard page


@dataclass
class Tile:
    """A headline figure beside the previous period's; `higher_is_better` None for a plain count."""

    key: str
    label: str
    value: int | Decimal | None
    previous: int | Decimal | None
    higher_is_better: bool | None = None
    suffix: str = ""

    @property
    def delta(self):
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def trend(self) -> str:
        delta = self.delta
        if not delta:
            return "same"
        return "up" if delta > 0 else "down"

    @property
    def judgement(self) -> str:
        """good/bad for the colour of the change; plain when a change is neither."""
        delta = self.delta
        if not delta or self.higher_is_better is None:
            return "plain"
        return "good" if (delta > 0) == self.higher_is_better else "bad"


def _tiles(current: Figures, previous: Figures) -> list[Tile]:
    days = _("working days")
    return [
        Tile("registered", _("Cases registered"), current.registered, previous.registered),
        Tile("closed", _("Cases closed"), current.closed, previous.closed, True),
        Tile("overdue", _("Deadlines missed"), current.overdue, previous.overdue, False),
        Tile(
            "average_days",
            _("Average handling time"),
            current.average_days,
            previous.average_days,
            False,
            days,
        ),
        Tile(
            "median_days", _("Median handling time"), current.median_days, previous.median_days, False, days
        ),
        Tile("disputes", _("Disputes found"), current.disputes, previous.disputes),
        Tile(
            "disputes_closed", _("Disputes resolved"), current.disputes_closed, previous.disputes_closed, True
        ),
        Tile("petitions", _("Petitions received"), current.petitions, previous.petitions),
    ]


@dataclass
class KpiCard:
    value: KpiValue
    previous: KpiValue | None

    @property
    def delta_points(self) -> Decimal | None:
        """The change in percentage points since the previous period."""
        if self.previous is None or self.value.value is None or self.previous.value is None:
            return None
        return ((self.value.value - self.previous.value) * 100).quantize(Decimal("0.1"))


def _parts(parts) -> list[dict]:
    return [{"key": p.key, "name": str(p.label), "value": p.count} for p in parts]


def chart_data(dashboard: services.Dashboard) -> dict:
    """What the page's charts draw, handed to dashboard.js through json_script."""
    figures = dashboard.figures
    return {
        "kpis": [
            {
                "key": k.kpi,
                "name": str(k.label),
                "value": _percent(k.value),
                "target": _percent(k.target),
                "meets": k.meets_target,
                "numerator": float(k.numerator),
                "denominator": float(k.denominator),
            }
            for k in dashboard.kpis
        ],
        "status": _parts(p for p in figures.by_status if p.count),
        "category": _parts(figures.by_category),
        "source": _parts(p for p in figures.by_source if p.count),
        "level": _parts(figures.by_level),
        "labels": {
            "value": _("Value"),
            "target": _("Target"),
            "empty": _("No cases in this range."),
            "cases": _("Cases"),
        },
    }


@login_required
@require_safe
def home(request):
    """The dashboard of the highest unit the user may open."""
    if not request.user.has_capability(Capability.VIEW_DASHBOARD):
        raise PermissionDenied
    unit = services.home_unit(request.user)
    if unit is None:
        raise PermissionDenied
    return redirect("dashboard:unit", code=unit.code)


@login_required
@require_safe
def unit_dashboard(request, code: str):
    user = request.user
    unit = _unit(user, code)
    now = timezone.now()
    today = timezone.localdate(now)
    form = RangeForm(request.GET or None, today=today)
    context = {
        "unit": unit,
        "form": form,
        "presets": services.RangePreset.choices,
        "breadcrumbs": services.breadcrumbs(user, unit)[:-1],
        "today": today,
    }
    if form.is_bound and not form.is_valid():
        return render(request, "dashboard/dashboard.html", context, status=400)
    first_day, last_day = form.range()
    dashboard = services.build_dashboard(user, unit, first_day, last_day, today=today, now=now)
    previous = dashboard.previous_kpis
    context.update(
        dashboard=dashboard,
        first_day=first_day,
        last_day=last_day,
        previous_first=dashboard.previous.first_day,
        previous_last=dashboard.previous.last_day,
        range_query=_range_query(first_day, last_day),
        tiles=_tiles(dashboard.figures, dashboard.previous),
        kpi_cards=[KpiCard(k, previous.get(k.kpi)) for k in dashboard.kpis],
        chart_data=chart_data(dashboard),
        metrics=services.MapMetric.choices,
        # Decision 0014: say how old the stored days are; a grid is always counted live.
        rollup=RollupState.objects.filter(pk=1).first() if is_rolled_up(unit) else None,
    )
    return render(request, "dashboard/dashboard.html", context)


# ---------------------------------------------------------------------------------------------------
# The map


def _rounded(coordinates):
    if isinstance(coordinates, (int, float)):
        return round(coordinates, MAP_COORDINATE_PLACES)
    return [_rounded(c) for c in coordinates]


def _light(geometry: dict) -> dict:
    return {"type": geometry["type"], "coordinates": _rounded(geometry["coordinates"])}


@login_required
@require_safe
def map_data(request, code: str):
    """The map's grids with their figures, and the case markers of the range, as JSON."""
    unit = _unit(request.user, code)
    now = timezone.now()
    today = timezone.localdate(now)
    form = RangeForm(request.GET or None, today=today)
    if form.is_bound and not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    first_day, last_day = form.range()
    query = _range_query(first_day, last_day)
    grids = services.grid_figures(unit, first_day, last_day, today=today, now=now)
    features = [
        {
            "type": "Feature",
            "geometry": _light(grid.unit.geometry),
            "properties": {
                "code": grid.unit.code,
                "name": grid.unit.name,
                "url": f"{reverse('dashboard:unit', args=[grid.unit.code])}?{query}",
                "households": grid.households,
                "open": grid.open,
                "open_per_100": None if grid.open_per_100 is None else float(grid.open_per_100),
                "overdue": grid.overdue,
                "visit_coverage": _percent(grid.visit_coverage),
            },
        }
        for grid in grids
        if grid.unit.geometry
    ]
    outline = unit.geometry and {"type": "Feature", "geometry": _light(unit.geometry), "properties": {}}
    points = services.case_points(unit, first_day, last_day)
    states = dict(CaseState.choices)
    return JsonResponse(
        {
            "unit": {"code": unit.code, "name": unit.name, "outline": outline or None},
            "metrics": [{"key": key, "name": str(label)} for key, label in services.MapMetric.choices],
            "grids": {"type": "FeatureCollection", "features": features},
            "cases": {
                "total": points.total,
                "shown": len(points.cases),
                "items": [
                    {
                        "lat": case.lat,
                        "lng": case.lng,
                        "number": case.number or "",
                        "title": case.title,
                        "state": str(states.get(case.state, case.state)),
                        "url": reverse("cases:detail", args=[case.pk]),
                    }
                    for case in points.cases
                ],
            },
        }
    )


# ---------------------------------------------------------------------------------------------------
# The wall screen


def _wall_context(user, unit: Unit) -> dict:
    now = timezone.now()
    today = timezone.localdate(now)
    first_day = today.replace(day=1)
    dashboard = services.build_dashboard(
        user, unit, first_day, today, today=today, now=now, compare=False, tags=False, list_limit=0
    )
    today_figures = unit_figures([unit], today, today, today=today)[unit]
    since = midnight(today - datetime.timedelta(days=WALL_NEW_CASES_DAYS - 1))
    return {
        "unit": unit,
        "dashboard": dashboard,
        "today_figures": today_figures,
        "new_cases": services.new_cases(unit, since),
        "new_cases_days": WALL_NEW_CASES_DAYS,
        "refreshed_at": timezone.localtime(now),
        "chart_data": chart_data(dashboard),
        "refresh_seconds": settings.WANGGE_WALL_REFRESH_SECONDS,
    }


@login_required
@require_safe
def wall(request, code: str):
    """The wall screen: this month's figures of the unit, dark and full screen, refreshing by itself."""
    unit = _unit(request.user, code)
    return render(request, "dashboard/wall.html", _wall_context(request.user, unit))


@login_required
@require_safe
def wall_panel(request, code: str):
    """The wall screen's figures alone, fetched again every WANGGE_WALL_REFRESH_SECONDS."""
    unit = _unit(request.user, code)
    return render(request, "dashboard/_wall_panel.html", _wall_context(request.user, unit))
