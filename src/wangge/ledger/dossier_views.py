"""一格一档: a unit's dossier as a page and as a PDF (INFO-2), both drawn from `dossier.build_dossier`.

The user needs VIEW_LEDGERS (403 otherwise, and for a user with no post); the unit is fetched with
`get_visible_or_404`, so a unit outside the user's scope answers 404 like a missing one. The page prints
with its own print stylesheet; the PDF is rendered from a print template by WeasyPrint.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from wangge.core.scope import get_visible_or_404
from wangge.people.roles import Capability
from wangge.units.models import Unit

from .dossier import Dossier, build_dossier, ledger_covers


def _dossier(request, code: str) -> Dossier:
    user = request.user
    if user.scope.is_empty:
        raise PermissionDenied(_("You hold no active post."))
    if not user.has_capability(Capability.VIEW_LEDGERS):
        raise PermissionDenied(_("Your posts do not open the ledgers."))
    unit = get_visible_or_404(Unit.objects.select_related("level"), user, code=code)
    return build_dossier(unit, user)


def _context(request, dossier: Dossier) -> dict:
    user = request.user
    unit = dossier.unit
    stations = [(station, ledger_covers(user, station.unit.path)) for station in dossier.service_stations]
    organisations = [
        (organisation, ledger_covers(user, organisation.unit.path))
        for organisation in dossier.party_organisations
    ]
    return {
        "dossier": dossier,
        "unit": unit,
        "stations": stations,
        "party_organisations": organisations,
        "today": timezone.localdate(),
        "show_served": unit.is_grid,
    }


@login_required
@require_safe
def dossier(request, code):
    data = _dossier(request, code)
    return render(request, "ledger/dossier.html", _context(request, data))


@login_required
@require_safe
def dossier_pdf(request, code):
    import weasyprint  # loads Pango and fonts: only this view needs it

    data = _dossier(request, code)
    html = render_to_string("ledger/dossier_print.html", _context(request, data), request=request)
    pdf = weasyprint.HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"dossier-{data.unit.code}-{timezone.localdate():%Y%m%d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
