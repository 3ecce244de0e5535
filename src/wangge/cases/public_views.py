"""The resident's pages, no account needed: report to a unit (群众点单), track by code, rate, the public board.

A resident sees only the case whose tracking code they hold, and of it only what the public may know:
step kinds and dates, never who acted or their notes. Reports and look-ups are rate-limited per client
address (cases.throttles); an unknown code and a missing unit answer 404 with the same look.
"""

from __future__ import annotations

import math
import uuid

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from wangge.core.forms import apply_service_errors
from wangge.units.models import Unit

from . import services
from .choices import OPEN_STATES, PUBLIC_ACTION_KINDS, ActionKind, CaseState, Source
from .models import Case
from .redact import mask_personal_data
from .report_forms import MAX_PUBLIC_PHOTOS, PublicReportForm, RatingForm, TrackForm
from .throttles import PublicReportThrottle, PublicTrackThrottle

BOARD_PAGE_SIZE = 20
VILLAGE_RANK = 3  # 村/社区 in every scheme (see units' default scheme and services.level_of_unit)


def _not_found(request, message: str):
    return render(request, "cases/public/not_found.html", {"message": message}, status=404)


def throttled(request, throttle_class):
    """None when the request may go on; otherwise the friendly 429 page with Retry-After."""
    throttle = throttle_class()
    if throttle.allow_request(request, None):
        return None
    wait = throttle.wait() or throttle.duration or 60
    response = render(
        request, "cases/public/throttled.html", {"minutes": max(1, math.ceil(wait / 60))}, status=429
    )
    response["Retry-After"] = str(math.ceil(wait))
    return response


def current_unit(code: str) -> Unit | None:
    """The current unit of a code in a public URL, or None (the resident pages of cases and ratings)."""
    return Unit.objects.current().select_related("level").filter(code=code).first()


@never_cache
@require_http_methods(["GET", "POST"])
def report(request, code):
    """A resident's report to one unit (its QR code will point here)."""
    unit = current_unit(code)
    if unit is None:
        return _not_found(request, _("There is no unit with this code. Check the link or the QR code."))
    if request.method == "POST":
        refused = throttled(request, PublicReportThrottle)
        if refused:
            return refused
        form = PublicReportForm(request.POST, request.FILES)
        if form.is_valid():
            case = _report(form, unit)
            if case is not None:
                return render(request, "cases/public/reported.html", {"case": case, "unit": unit})
    else:
        form = PublicReportForm(initial={"uuid": uuid.uuid4()})
    return render(
        request,
        "cases/public/report.html",
        {
            "form": form,
            "unit": unit,
            "max_photos": MAX_PUBLIC_PHOTOS,
            "max_upload_bytes": settings.WANGGE_MAX_UPLOAD_BYTES,
        },
    )


def _report(form, unit: Unit) -> Case | None:
    data = form.cleaned_data
    lng, lat = data["lng"], data["lat"]
    try:
        services.check_point_inside(unit, lng, lat)
    except ValidationError as error:
        form.location_errors.extend(error.message_dict["location"])
        return None
    photos = [services.Photo(file=f, lng=lng, lat=lat) for f in data["photos"]]
    try:
        case, created = services.report_case(
            reporter=None,
            source=Source.RESIDENT,
            description=data["description"],
            category=data["category"],
            lng=lng,
            lat=lat,
            address=data["address"],
            unit=unit,
            client_uuid=data["uuid"],
            photos=photos,
            reporter_name=data["reporter_name"],
        )
    except ValidationError as error:
        form.add_service_errors(error)
        return None
    if not created and (case.reporter_id is not None or case.source != Source.RESIDENT):
        # A client id that is not a resident's: never hand out another case's tracking code.
        form.add_error(None, _("This form has expired. Reload the page and send your report again."))
        return None
    return case


@require_http_methods(["GET"])
def track(request):
    """Enter a tracking code; a valid one goes to its page (the look-up itself is rate-limited there)."""
    form = TrackForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return redirect("public:tracking", code=form.cleaned_data["code"])
    return render(request, "cases/public/track.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def tracking(request, code):
    """What a resident may know of their case, and the rating once it is closed (回访评价)."""
    canonical = services.normalise_tracking_code(code)
    if canonical and canonical != code and request.method == "GET":
        return redirect("public:tracking", code=canonical)
    refused = throttled(request, PublicTrackThrottle)
    if refused:
        return refused
    case = Case.objects.select_related("category__parent", "unit").filter(tracking_code=canonical).first()
    if case is None:
        return _not_found(
            request, _("No case has this tracking code. Check the code: it has 8 letters and digits.")
        )
    form = None
    if case.state == CaseState.CLOSED and not case.rating:
        form = RatingForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.rate(
                    case, by=None, rating=form.cleaned_data["rating"], comment=form.cleaned_data["comment"]
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            except services.TransitionRefused:
                messages.error(request, _("The case was reopened in the meantime; it can be rated later."))
                return redirect("public:tracking", code=canonical)
            else:
                messages.success(request, _("Thank you for your rating."))
                return redirect("public:tracking", code=canonical)
    elif request.method == "POST":
        messages.info(request, _("This case cannot be rated now."))
        return redirect("public:tracking", code=canonical)
    timeline = list(
        case.actions.filter(kind__in=PUBLIC_ACTION_KINDS).order_by("time", "id").values_list("kind", "time")
    )
    return render(
        request,
        "cases/public/tracking.html",
        {
            "case": case,
            "timeline": [(ActionKind(kind).label, time) for kind, time in timeline],
            "is_open": case.state in OPEN_STATES,
            "title": mask_personal_data(case.title),
            "result": mask_personal_data(case.result) if case.state == CaseState.CLOSED else "",
            "form": form,
        },
    )


@require_http_methods(["GET"])
def board(request, code):
    """公示栏: the village's closed cases published with their public summary, newest first."""
    village = current_unit(code)
    if village is None or village.level.rank != VILLAGE_RANK:
        return _not_found(request, _("There is no village or community with this code."))
    published = (
        Case.objects.filter(
            unit__path__startswith=village.path, state=CaseState.CLOSED, published_at__isnull=False
        )
        .select_related("category__parent")
        .order_by("-closed_at", "-id")
    )
    page = Paginator(published, BOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "cases/public/board.html", {"village": village, "page": page})
