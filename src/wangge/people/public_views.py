"""The grid's public notice board (公示牌, TEAM-6), no sign-in: who serves the grid, their photos, work phones
and duties, the supervision phone and a QR code to the grid's report page — as a page that prints on A4,
and as a PDF.

Only units in force, of village rank or below, have a board; any other code answers 404 like an unknown
one. The board shows staff only: nothing of the ledgers (no resident, no personal number).
"""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_safe

from wangge.units.models import Unit

from . import services
from .cards import photo_data_uri, qr_svg, report_url
from .models import User


def _board_unit(code: str) -> Unit:
    unit = (
        Unit.objects.current()
        .select_related("level")
        .filter(code=code, level__rank__gte=services.VILLAGE_RANK)
        .first()
    )
    if unit is None:
        raise Http404
    return unit


def _context(request, unit: Unit) -> dict:
    board = services.build_board(unit)
    url = report_url(request, unit)
    return {
        "unit": unit,
        "board": board,
        "report_url": url,
        "qr": qr_svg(url),
        "today": timezone.localdate(),
        "sections": [
            ("leaders", board.leaders),
            ("workers", board.workers),
            ("guides", board.guides),
            ("forces", board.forces),
        ],
    }


@require_safe
def board(request, code):
    unit = _board_unit(code)
    return render(request, "people/board.html", _context(request, unit))


@require_safe
def board_pdf(request, code):
    import weasyprint  # loads Pango and fonts: only the PDF needs it

    unit = _board_unit(code)
    context = _context(request, unit)
    for entry in context["board"].entries:
        entry.photo_uri = photo_data_uri(entry.user)
    html = render_to_string("people/board_print.html", context, request=request)
    pdf = weasyprint.HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="board-{unit.code}.pdf"'
    return response


@require_safe
def photo(request, code, user_id):
    """A staff photo, only while the person is on this unit's board; never a public static file."""
    unit = _board_unit(code)
    if not services.build_board(unit).shows(user_id):
        raise Http404
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.photo:
        raise Http404
    try:
        handle = user.photo.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "public, max-age=3600"
    return response
