"""The residents' page, no account needed: rate a public service provider (居民评价水、电、气、通讯).

`/ratings/p/?unit=<code>` lists the active providers serving that unit (a township's QR code or a grid's
leads here with its code); without a code the resident first picks their township. Sending is
rate-limited per client address (ratings.throttles, with the friendly page of the resident's case
pages); a retry with the same client id changes nothing. Nothing about the resident is kept but the unit.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from wangge.cases.public_views import current_unit, throttled
from wangge.core.forms import apply_service_errors
from wangge.units.models import Unit

from . import services
from .forms import PickUnitForm, ProviderRatingForm
from .throttles import PublicRatingThrottle

PICK_RANKS = (2,)  # residents pick their township or street


def _pickable_units() -> list[Unit]:
    """Townships and streets in force, named with their county when the deployment holds several."""
    units = list(
        Unit.objects.current()
        .filter(level__rank__in=(1, *PICK_RANKS))
        .select_related("level")
        .order_by("path")
    )
    counties = {u.path: u for u in units if u.level.rank == 1}
    picked = [u for u in units if u.level.rank in PICK_RANKS]
    if len(counties) > 1:
        for unit in picked:
            county = counties.get(unit.path[: Unit.steplen])
            if county is not None:
                unit.name = f"{county.name} · {unit.name}"
    return picked


def _pick(request, code: str = ""):
    form = PickUnitForm(units=_pickable_units(), initial={"unit": code})
    status = 200
    if code:
        form = PickUnitForm({"unit": code}, units=_pickable_units())
        form.is_valid()
        form.errors.pop("unit", None)
        form.add_error(
            "unit", _("There is no township, village or grid with this code. Choose your township.")
        )
        status = 404
    return render(request, "ratings/public/pick.html", {"form": form}, status=status)


@never_cache  # Back after sending must fetch a fresh form (a new client id), not replay the old one
@require_http_methods(["GET", "POST"])
def rate_provider(request):
    code = (request.GET.get("unit") or "").strip()
    if not code:
        return _pick(request)
    unit = current_unit(code)
    if unit is None:
        return _pick(request, code)
    providers = list(services.providers_serving(unit).select_related("unit"))
    if request.method == "POST":
        refused = throttled(request, PublicRatingThrottle)
        if refused:
            return refused
        form = ProviderRatingForm(request.POST, providers=providers)
        if form.is_valid():
            data = form.cleaned_data
            try:
                rating, _created = services.rate_provider(
                    provider=form.providers.get(data["provider"]),
                    unit=unit,
                    quality=data["quality"],
                    responsiveness=data["responsiveness"],
                    transparency=data["transparency"],
                    comment=data["comment"],
                    client_uuid=data["uuid"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                return render(request, "ratings/public/rated.html", {"rating": rating, "unit": unit})
    else:
        form = ProviderRatingForm(initial={"uuid": uuid.uuid4()}, providers=providers)
    return render(request, "ratings/public/rate.html", {"form": form, "unit": unit, "providers": providers})
