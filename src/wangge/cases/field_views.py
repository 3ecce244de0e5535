"""The grid worker's phone pages: report a case in a few taps, and my cases with their deadlines.

Acting on a case happens on the case page (cases:detail), where the allowed steps are offered; these
pages only get the worker there quickly.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, F, OuterRef, Prefetch, Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from wangge.people.roles import Capability

from . import policy, services
from .choices import FINAL_STATES, OPEN_STATES, CaseState
from .models import Assignment, Case
from .report_forms import MAX_FIELD_PHOTOS, FieldReportForm, category_conditions

# The steps that mean "this case waits for me", worded as what to do next. Supervising (urge),
# long-term follow-up, rating and publishing are things one may do, not work waiting to be done.
WORK_ACTIONS = {
    "verify": gettext_lazy("verify on site"),
    "register": gettext_lazy("register or not"),
    "reject": gettext_lazy("register or not"),  # one decision
    "handle_in_place": gettext_lazy("handle in the grid"),
    "escalate": gettext_lazy("escalate"),
    "dispatch": gettext_lazy("dispatch"),
    "accept": gettext_lazy("accept or return"),
    "return_": gettext_lazy("accept or return"),  # one decision
    "report_back": gettext_lazy("report back"),
    "submit": gettext_lazy("submit the result"),
    "check_pass": gettext_lazy("check on site"),
    "check_fail": gettext_lazy("check on site"),
    "decide_extension": gettext_lazy("decide on the extension"),
}
# Open cases on the phone list; more than this and the desk queue (with filters) is the right tool.
MINE_LIMIT = 200
RECENTLY_CLOSED_DAYS = 30
RECENTLY_CLOSED_LIMIT = 30


def _require_post(user):
    if user.scope.is_empty:
        raise PermissionDenied(_("You hold no active post."))


@login_required
@never_cache  # Back after sending must fetch a fresh form (a new client id), not replay the old one
@require_http_methods(["GET", "POST"])
def report(request):
    """采集上报 (CASE-1): the point finds the grid; the worker's own finds are registered at once."""
    user = request.user
    _require_post(user)
    if not user.has_capability(Capability.REPORT_CASES):
        raise PermissionDenied(_("Your posts do not allow reporting cases."))
    if request.method == "POST":
        form = FieldReportForm(request.POST, request.FILES, user=user)
        if form.is_valid():
            case = _report(request, form)
            if case is not None:
                return redirect("cases:detail", pk=case.pk)
    else:
        form = FieldReportForm(user=user, initial={"uuid": uuid.uuid4()})
    return render(
        request,
        "cases/field/report.html",
        {
            "form": form,
            "conditions": category_conditions(form.categories),
            "max_photos": MAX_FIELD_PHOTOS,
            "max_upload_bytes": settings.WANGGE_MAX_UPLOAD_BYTES,
            "received_json": json.dumps(_recently_received(user)),
            "show_attach": bool(form.location_errors) or form["attach_to_own_unit"].value(),
        },
    )


def _report(request, form) -> Case | None:
    data = form.cleaned_data
    lng, lat = data["lng"], data["lat"]
    photos = [services.Photo(file=f, lng=lng, lat=lat) for f in data["photos"]]
    try:
        case, created = services.report_case(
            reporter=request.user,
            source=data["source"],
            description=data["description"],
            category=data["category"],
            severity=data["severity"] or None,
            lng=lng,
            lat=lat,
            address=data["address"],
            unit=data["unit"],
            attach_to_own_unit=data["attach_to_own_unit"],
            client_uuid=data["uuid"],
            photos=photos,
            register_now=True,
        )
    except ValidationError as error:
        form.add_service_errors(error)
        return None
    if not created:
        messages.info(
            request,
            _("This report had already been received as %(case)s; nothing new was created.")
            % {"case": case.display_number},
        )
    elif case.state == CaseState.REGISTERED:
        messages.success(
            request,
            _("Case %(number)s is registered in %(unit)s.") % {"number": case.number, "unit": case.unit.name},
        )
    else:
        messages.success(
            request,
            _("Reported in %(unit)s; it waits there for verification and registration.")
            % {"unit": case.unit.name},
        )
    return case


def _recently_received(user) -> list[str]:
    """Client ids of the user's reports of the last two days: the page's script drops a draft kept on
    the phone once the server has it, whether or not the answer ever reached the phone."""
    since = timezone.now() - timedelta(days=2)
    return [
        str(u)
        for u in Case.objects.filter(reporter=user, created_at__gte=since).values_list("uuid", flat=True)[:50]
    ]


def my_cases(user):
    """Cases the user reported, cases in the queue of their units, and cases dispatched to their units
    or departments — always inside `Case.objects.visible_to(user)`."""
    scope = user.scope
    mine = Q(reporter=user)
    assigned = Q(department_id__in=scope.department_ids) if scope.department_ids else Q(pk__in=[])
    if scope.territorial_paths:
        mine |= scope.path_q("owner_unit__path", scope.territorial_paths)
        assigned |= scope.path_q("unit__path", scope.territorial_paths)
    mine |= Exists(Assignment.objects.filter(assigned, case=OuterRef("pk")))
    return Case.objects.visible_to(user).filter(mine)


@login_required
def mine(request):
    """My cases on the phone: to act on (most urgent first), following, closed recently."""
    user = request.user
    _require_post(user)
    cases = my_cases(user).select_related(
        "category",
        "unit",
        "owner_unit__level",
        "dispatched_from",
        "lead_assignment__unit",
        "lead_assignment__department",
    )
    open_cases = list(
        cases.filter(state__in=[*OPEN_STATES, CaseState.ON_HOLD])
        .annotate(submitter_id=policy.last_submitter())
        .prefetch_related(
            Prefetch("assignments", queryset=Assignment.objects.select_related("unit", "department")),
            "extensions",
        )
        .order_by(F("stage_due_at").asc(nulls_last=True), "-created_at", "-id")[: MINE_LIMIT + 1]
    )
    truncated = len(open_cases) > MINE_LIMIT
    to_act, following = [], []
    for case in open_cases[:MINE_LIMIT]:
        steps = [a for a in policy.allowed_actions(user, case) if a in WORK_ACTIONS]
        case.next_steps = list(dict.fromkeys(str(WORK_ACTIONS[a]) for a in steps))
        (to_act if steps and case.state in OPEN_STATES else following).append(case)
    since = timezone.now() - timedelta(days=RECENTLY_CLOSED_DAYS)
    closed = list(
        cases.filter(state__in=FINAL_STATES, closed_at__gte=since).order_by("-closed_at", "-id")[
            :RECENTLY_CLOSED_LIMIT
        ]
    )
    return render(
        request,
        "cases/field/mine.html",
        {
            "to_act": to_act,
            "following": following,
            "closed": closed,
            "truncated": truncated,
            "limit": MINE_LIMIT,
            "closed_days": RECENTLY_CLOSED_DAYS,
            "can_report": user.has_capability(Capability.REPORT_CASES),
            "can_use_queue": user.has_capability(Capability.HANDLE_CASES)
            or user.has_capability(Capability.DISPATCH_CASES),
        },
    )
