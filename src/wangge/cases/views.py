"""The desk side of the case loop: the queue, the department desk, long-term cases and the case page.

Every list starts from `Case.objects.visible_to(user)`; one case is fetched with `get_visible_or_404`, so a
case outside the user's scope answers 404 by every route, the same as a missing one. Every step goes
through cases.services: a stale page or an impossible step answers 409 with the fresh case page, a
forbidden step 403, bad input re-renders the form with the message on the field it names.
"""

from __future__ import annotations

import io
import mimetypes
from datetime import timedelta

from django import forms as djforms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.paginator import Paginator
from django.db.models import Case as SqlCase
from django.db.models import F, OuterRef, Prefetch, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_http_methods, require_POST
from PIL import Image, ImageOps, UnidentifiedImageError

from wangge.core.forms import apply_service_errors
from wangge.core.scope import get_visible_or_404
from wangge.people.models import Post
from wangge.people.roles import Capability, Role
from wangge.ratings import services as ratings_services
from wangge.units.models import Unit

from . import forms, policy, services
from .choices import (
    ActionKind,
    AssignmentStatus,
    CaseState,
    ExtensionStatus,
    Rating,
    RejectReason,
    UrgeLevel,
)
from .filters import CaseFilter, DueFilter
from .models import Assignment, Case, CaseAction, CaseAttachment, ExtensionRequest
from .services import StaleCase, TransitionRefused

PAGE_SIZE = 50
WAITING_STATES = (CaseState.REPORTED, CaseState.VERIFIED, CaseState.REGISTERED)
IN_PROGRESS_STATES = (CaseState.DISPATCHED, CaseState.HANDLING, CaseState.SUBMITTED)
CHECK_ACTIONS = ("check_pass", "check_fail")  # one form on the page, a button for each

QUEUE_TABS = [
    ("waiting", gettext_lazy("Waiting for us")),
    ("in_progress", gettext_lazy("In progress")),
    ("overdue", gettext_lazy("Overdue")),
    ("all", gettext_lazy("All")),
]
ASSIGNED_TABS = [
    ("open", gettext_lazy("To do")),
    ("finished", gettext_lazy("Finished")),
    ("all", gettext_lazy("All")),
]
LONG_TERM_TABS = [
    ("all", gettext_lazy("All")),
    ("follow_up_due", gettext_lazy("Follow-up overdue")),
]


def _require_post(request):
    """A user with no active post may see nothing: refuse outright (403), as the unit pages do."""
    if request.user.scope.is_empty:
        raise PermissionDenied(_("You hold no active post."))


def _post_units(user, territorial=True) -> list[Unit]:
    """The units of the user's active posts (territorial ones only unless told otherwise)."""
    posts = Post.objects.active().filter(user=user).select_related("unit")
    if territorial:
        posts = posts.exclude(role=Role.DEPARTMENT_USER)
    return list({post.unit_id: post.unit for post in posts}.values())


def _tab(request, tabs) -> str:
    value = request.GET.get("tab", tabs[0][0])
    return value if value in dict(tabs) else tabs[0][0]


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without(request, *names) -> str:
    """The current query string without `names`, for tab and page links that keep the filters."""
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def _list_rows(queryset):
    return queryset.select_related("category", "unit", "owner_unit")


def _filterset(request, queryset, units):
    """CaseFilter on `queryset`, its form widgets set for a desk and a phone."""
    filterset = CaseFilter(request.GET or None, queryset=queryset, request=request)
    fields = filterset.form.fields
    fields["q"].widget.attrs.update({"placeholder": _("Number, tracking code or words of the title")})
    for name in ("state", "source"):
        fields[name].widget = djforms.CheckboxSelectMultiple(choices=fields[name].choices)
    fields["category"].widget = djforms.Select(choices=forms.category_filter_choices())
    fields["category"].label = _("Category")
    fields["source"].label = pgettext("case", "Source")
    fields["due"].choices = [("", _("Any deadline")), *DueFilter.CHOICES]
    unit_choices = [("", _("All my units"))]
    for unit in units:
        unit_choices.append((unit.code, unit.name))
    for unit in forms.units_below(units):
        label = f"{unit.parent_name} › {unit.name}" if unit.parent_name else unit.name
        unit_choices.append((unit.code, f"\u3000{label}"))
    current = request.GET.get("unit")
    if current and current not in {code for code, _label in unit_choices}:
        unit_choices.append((current, current))
    fields["unit"].widget = djforms.Select(choices=unit_choices)
    fields["unit"].label = _("Unit (with everything below it)")
    return filterset


def _can_dispatch(user) -> bool:
    return user.has_capability(Capability.DISPATCH_CASES)


# ---------------------------------------------------------------------------------------------------
# Lists


@login_required
def queue(request):
    """The incoming queue of the user's units, with tabs, filters and batch dispatch (CASE-8)."""
    _require_post(request)
    user = request.user
    units = _post_units(user)
    tab = _tab(request, QUEUE_TABS)
    now = timezone.now()
    visible = Case.objects.visible_to(user)
    waiting = visible.filter(owner_unit__in=units, state__in=WAITING_STATES)
    overdue = visible.overdue(now)
    by_deadline = (F("stage_due_at").asc(nulls_last=True), "created_at", "id")
    base = {
        "waiting": waiting.order_by(*by_deadline),
        "in_progress": visible.filter(state__in=IN_PROGRESS_STATES).order_by(*by_deadline),
        "overdue": overdue.order_by("stage_due_at", "id"),
        "all": visible.order_by("-created_at", "-id"),
    }[tab]
    filterset = _filterset(request, base, units or _post_units(user, territorial=False))
    page = _page(request, _list_rows(filterset.qs))
    batch_form = None
    if _can_dispatch(user) and units:
        batch_form = forms.BatchDispatchForm(
            targets=forms.DispatchTargets(units), initial={"next": request.get_full_path()}
        )
    context = {
        "tab": tab,
        "tabs": QUEUE_TABS,
        "counts": {"waiting": waiting.count(), "overdue": overdue.count()},
        "filter": filterset,
        "filtered": any(k not in ("tab", "page") and v for k, v in request.GET.items()),
        "page": page,
        "tab_query": _query_without(request, "tab", "page"),
        "page_query": _query_without(request, "page"),
        "batch_form": batch_form,
        "department_only": not units,
    }
    return render(request, "cases/queue.html", context)


@login_required
@require_POST
def batch_dispatch(request):
    """Dispatch the ticked cases one by one, each in its own transaction: one refusal stops no other."""
    _require_post(request)
    user = request.user
    if not _can_dispatch(user):
        raise PermissionDenied(_("Your posts do not allow dispatching cases."))
    units = _post_units(user)
    form = forms.BatchDispatchForm(request.POST, targets=forms.DispatchTargets(units))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = ""
    back = back or reverse("cases:queue")
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else error)
        return redirect(back)
    data = form.cleaned_data
    found = {c.pk: c for c in Case.objects.visible_to(user).filter(pk__in=data["cases"])}
    done, failed = [], []
    for pk in data["cases"]:
        case = found.get(pk)
        if case is None:  # missing or outside the user's area: the same answer for both
            failed.append((f"#{pk}", _("No such case in your area.")))
            continue
        try:
            services.dispatch(
                case,
                by=user,
                lead=data["lead"],
                co_handlers=data["co_handlers"],
                due_at=form.due(),
                instructions=data["instructions"],
            )
        except ValidationError as error:
            failed.append((case.display_number, " ".join(error.messages)))
        except (TransitionRefused, StaleCase, PermissionDenied) as error:
            failed.append((case.display_number, str(error)))
        else:
            done.append(case.display_number)
    if done:
        messages.success(
            request,
            _("%(count)d dispatched to %(lead)s: %(numbers)s")
            % {"count": len(done), "lead": data["lead"], "numbers": "、".join(done)},
        )
    for number, reason in failed:
        messages.error(
            request, _("%(number)s not dispatched: %(reason)s") % {"number": number, "reason": reason}
        )
    return redirect(back)


@login_required
def assigned(request):
    """The department desk: cases dispatched to the user's departments or units, pending ones first."""
    _require_post(request)
    user = request.user
    scope = user.scope
    units = _post_units(user)
    tab = _tab(request, ASSIGNED_TABS)
    mine = Q(department_id__in=scope.department_ids) | Q(unit__in=units)
    statuses = {
        "open": [AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED],
        "finished": [AssignmentStatus.REPORTED_BACK, AssignmentStatus.DONE, AssignmentStatus.RETURNED],
        "all": [s for s in AssignmentStatus.values if s != AssignmentStatus.WITHDRAWN],
    }[tab]
    filterset = _filterset(request, Case.objects.visible_to(user), _post_units(user, territorial=False))
    rows = (
        Assignment.objects.filter(mine, status__in=statuses, case__in=filterset.qs.values("pk"))
        .annotate(
            pending_first=SqlCase(
                When(status=AssignmentStatus.PENDING, then=Value(0)),
                When(status=AssignmentStatus.ACCEPTED, then=Value(1)),
                default=Value(2),
            )
        )
        .select_related(
            "case__category", "case__unit", "case__owner_unit", "unit", "department", "dispatched_from"
        )
        .order_by("pending_first", F("due_at").asc(nulls_last=True), "dispatched_at", "id")
    )
    context = {
        "tab": tab,
        "tabs": ASSIGNED_TABS,
        "filter": filterset,
        "filtered": any(k not in ("tab", "page") and v for k, v in request.GET.items()),
        "page": _page(request, rows),
        "tab_query": _query_without(request, "tab", "page"),
        "page_query": _query_without(request, "page"),
        "has_desk": bool(scope.department_ids or units),
    }
    return render(request, "cases/assigned.html", context)


def follow_up_days() -> int:
    return int(getattr(settings, "WANGGE_LONG_TERM_FOLLOW_UP_DAYS", 30))


@login_required
def long_term(request):
    """Cases in long-term management (CASE-10) with their last follow-up; neglected ones first."""
    _require_post(request)
    user = request.user
    tab = _tab(request, LONG_TERM_TABS)
    days = follow_up_days()
    cutoff = timezone.now() - timedelta(days=days)
    last_follow_up = (
        CaseAction.objects.filter(case=OuterRef("pk"), kind=ActionKind.FOLLOW_UP)
        .order_by("-time")
        .values("time")[:1]
    )
    held = (
        Case.objects.visible_to(user)
        .filter(state=CaseState.ON_HOLD)
        .annotate(last_follow_up=Subquery(last_follow_up))
        .annotate(follow_up_from=Coalesce("last_follow_up", "paused_at"))
    )
    if tab == "follow_up_due":
        held = held.filter(follow_up_from__lt=cutoff)
    filterset = _filterset(request, held, _post_units(user, territorial=False))
    rows = _list_rows(filterset.qs).order_by(F("follow_up_from").asc(nulls_first=True), "id")
    page = _page(request, rows)
    for case in page:
        case.follow_up_due = case.follow_up_from is None or case.follow_up_from < cutoff
    context = {
        "tab": tab,
        "tabs": LONG_TERM_TABS,
        "filter": filterset,
        "filtered": any(k not in ("tab", "page") and v for k, v in request.GET.items()),
        "page": page,
        "days": days,
        "tab_query": _query_without(request, "tab", "page"),
        "page_query": _query_without(request, "page"),
    }
    return render(request, "cases/long_term.html", context)


# ---------------------------------------------------------------------------------------------------
# The case page


def _case_queryset():
    return Case.objects.select_related(
        "category__parent",
        "unit__level",
        "owner_unit__level",
        "reporter",
        "lead_assignment__unit",
        "lead_assignment__department",
        "dispatched_from",
        "duplicate_of",
    ).prefetch_related(
        Prefetch(
            "assignments",
            queryset=Assignment.objects.select_related(
                "unit", "department", "dispatched_from", "dispatched_by"
            ),
        ),
        Prefetch(
            "extensions", queryset=ExtensionRequest.objects.select_related("requested_by", "decided_by")
        ),
    )


def _load_case(request, pk) -> Case:
    _require_post(request)
    return get_visible_or_404(_case_queryset(), request.user, pk=pk)


def _action_details(action: CaseAction, unit_names: dict[str, str]) -> list[str]:
    """What an action's recorded data says, in words, for the timeline."""
    data = action.data or {}
    items = []
    if action.kind == ActionKind.DISPATCH:
        if data.get("lead"):
            items.append(_("Lead: %(name)s") % {"name": data["lead"]})
        if data.get("co_handlers"):
            items.append(_("Co-handlers: %(names)s") % {"names": "、".join(data["co_handlers"])})
    elif action.kind == ActionKind.ESCALATE and data.get("to_unit"):
        items.append(_("To %(unit)s") % {"unit": unit_names.get(data["to_unit"], data["to_unit"])})
    elif action.kind == ActionKind.REGISTER and data.get("number"):
        items.append(_("Case number %(number)s") % {"number": data["number"]})
    elif action.kind == ActionKind.REJECT and data.get("reason") in RejectReason.values:
        items.append(str(RejectReason(data["reason"]).label))
    elif action.kind == ActionKind.RATE and data.get("rating") in Rating.values:
        items.append(str(Rating(data["rating"]).label))
    elif action.kind == ActionKind.URGE and data.get("level") in UrgeLevel.values:
        items.append(str(UrgeLevel(data["level"]).label))
    elif action.kind in (
        ActionKind.REQUEST_EXTENSION,
        ActionKind.APPROVE_EXTENSION,
        ActionKind.REFUSE_EXTENSION,
    ) and data.get("working_days"):
        items.append(_("%(days)s working days") % {"days": data["working_days"]})
    elif action.kind == ActionKind.RETURN and data.get("wrongly_dispatched"):
        items.append(_("Wrongly dispatched"))
    return items


def _timeline(case: Case) -> list[CaseAction]:
    actions = list(
        case.actions.select_related("actor", "actor_unit", "actor_department").prefetch_related("attachments")
    )
    codes = {a.data.get("to_unit") for a in actions if a.kind == ActionKind.ESCALATE and a.data}
    codes.discard(None)
    names = dict(Unit.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}
    for action in actions:
        action.detail_items = _action_details(action, names)
        action.photos = [
            (att, reverse("cases:attachment", args=[case.pk, att.pk])) for att in action.attachments.all()
        ]
        action.moved = action.from_state and action.from_state != action.to_state
    return actions


def _map_data(case: Case) -> dict:
    return {
        "point": [case.lng, case.lat] if case.lng is not None and case.lat is not None else None,
        "grid": case.unit.geometry,
        "grid_name": case.unit.name,
        "title": case.title,
    }


def _action_forms(request, case: Case, bound: forms.ActionForm | None = None) -> list[forms.ActionForm]:
    """A form for exactly the steps this user may take now; the bound one (with its errors) in its place."""
    forms_list = []
    for action in policy.allowed_actions(request.user, case):
        if bound is not None and bound.action == action:
            forms_list.append(bound)
        else:
            forms_list.append(forms.ACTION_FORMS[action](case=case, user=request.user))
    return forms_list


def _render_case(request, case: Case, *, bound=None, conflict: str = "", status: int = 200):
    user = request.user
    scope = user.scope
    path_units = [*case.unit.ancestors(), case.unit]
    breadcrumbs = [(unit, scope.covers_path(unit.path)) for unit in path_units]
    action_forms = _action_forms(request, case, bound)
    by_action = {f.action: f for f in action_forms}
    check = by_action.pop("check_pass", None)
    check_fail = by_action.pop("check_fail", None)
    assignments = list(case.assignments.all())
    extensions = list(case.extensions.all())
    context = {
        "case": case,
        "breadcrumbs": breadcrumbs,
        "owner_visible": scope.covers_path(case.owner_unit.path),
        "households": list(case.households.visible_to(user).select_related("grid")),
        "map_data": _map_data(case),
        "assignments": assignments,
        "pending_extension": next((e for e in extensions if e.status == ExtensionStatus.PENDING), None),
        "past_extensions": [e for e in extensions if e.status != ExtensionStatus.PENDING],
        "extended": bool(case.kpi_due_at and case.due_at and case.kpi_due_at != case.due_at),
        "timeline": _timeline(case),
        "action_forms": [f for f in action_forms if f.action in by_action],
        "check_form": bound if bound is not None and bound.action in CHECK_ACTIONS else check or check_fail,
        "check_can_pass": check is not None,
        "check_can_fail": check_fail is not None,
        "open_action": bound.action if bound is not None else request.GET.get("action", ""),
        "conflict": conflict,
        "steps": case.category.handling_steps if case.category_id else [],
        # The original of a duplicate is linked only for those who may see it; its tracking code never shows.
        "duplicate_visible": bool(
            case.duplicate_of_id and Case.objects.visible_to(user).filter(pk=case.duplicate_of_id).exists()
        ),
        # 以下看上: the departments that finished work on the case, to rate or with their ratings.
        "case_ratings": ratings_services.case_ratings(user, case),
    }
    return render(request, "cases/detail.html", context, status=status)


@login_required
def detail(request, pk):
    case = _load_case(request, pk)
    return _render_case(request, case)


def _conflict(request, pk, error) -> tuple[Case, str]:
    """The fresh case and the words for a 409: what happened, and which steps are possible now."""
    fresh = _load_case(request, pk)
    if isinstance(error, TransitionRefused):
        message = _("“%(step)s” is not possible while the case is “%(state)s”.") % {
            "step": forms.action_verb(error.action),
            "state": fresh.get_state_display(),
        }
    else:
        message = str(error)
    allowed = policy.allowed_actions(request.user, fresh)
    if allowed:
        message += " " + _("Steps you can take now: %(steps)s.") % {
            "steps": "、".join(forms.action_verb(a) for a in allowed)
        }
    return fresh, message


@login_required
@require_http_methods(["GET", "POST"])
def act(request, pk, action):
    """One step on one case. GET shows the step's form alone (for phones without JavaScript)."""
    form_class = forms.ACTION_FORMS.get(action)
    case = _load_case(request, pk)
    if form_class is None:
        raise Http404
    user = request.user
    stale = None
    if request.method == "POST":
        try:
            seen_version = int(request.POST.get("expected_version", ""))
        except ValueError:
            seen_version = None
        if seen_version is not None and seen_version != case.version:
            stale = StaleCase(case)
    if stale is None and not policy.state_allows(case, action):
        stale = TransitionRefused(action, case, policy.allowed_actions(user, case))
    if stale is not None:
        fresh, message = _conflict(request, pk, stale)
        return _render_case(request, fresh, conflict=message, status=409)
    if not policy.RULES[action](user, case):
        raise PermissionDenied(
            _("You may not take the step “%(action)s” on this case.") % {"action": forms.action_verb(action)}
        )
    posted = request.method == "POST"
    form = form_class(
        request.POST if posted else None, request.FILES if posted else None, case=case, user=user
    )
    if not posted:
        return render(request, "cases/act.html", {"case": case, "form": form})
    if form.is_valid():
        try:
            form.perform(by=user)
        except ValidationError as error:
            apply_service_errors(form, error)
        except (StaleCase, TransitionRefused) as error:
            fresh, message = _conflict(request, pk, error)
            return _render_case(request, fresh, conflict=message, status=409)
        else:
            messages.success(
                request,
                _("%(case)s: %(action)s.")
                % {"action": services.action_label(action), "case": case.display_number},
            )
            return redirect("cases:detail", pk=case.pk)
    return _render_case(request, case, bound=form)


CONTENT_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
THUMBNAIL_PX = 256


def _thumbnail(item: CaseAttachment) -> str | None:
    """A small JPEG beside the photo, made on first view: a phone on a weak signal should not pull ten
    full-size photos to show a timeline. None when the photo cannot be read (the original is served)."""
    storage = item.image.storage
    name = item.image.name.rsplit(".", 1)[0] + ".thumb.jpg"
    if storage.exists(name):
        return name
    try:
        with item.image.open("rb") as handle, Image.open(handle) as img:
            img.draft("RGB", (THUMBNAIL_PX * 2, THUMBNAIL_PX * 2))  # JPEG: decode at a fraction of the size
            small = ImageOps.exif_transpose(img)
            small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            buffer = io.BytesIO()
            small.convert("RGB").save(buffer, "JPEG", quality=80)
    except (OSError, UnidentifiedImageError):
        return None
    return storage.save(name, ContentFile(buffer.getvalue()))


@login_required
def attachment(request, pk, attachment_pk):
    """A case photo, only to those who may see the case (404 otherwise); never a public static file.

    `?size=thumb` gives the timeline's small version."""
    case = _load_case(request, pk)
    item = get_object_or_404(CaseAttachment, pk=attachment_pk, case=case)
    extension = item.image.name.rsplit(".", 1)[-1].lower()
    content_type = CONTENT_TYPES.get(extension) or mimetypes.guess_type(item.image.name)[0]
    if content_type is None or not content_type.startswith("image/"):
        raise Http404
    try:
        thumbnail = _thumbnail(item) if request.GET.get("size") == "thumb" else None
        if thumbnail:
            handle, content_type, extension = item.image.storage.open(thumbnail, "rb"), "image/jpeg", "jpg"
        else:
            handle = item.image.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="case-{case.pk}-{item.pk}.{extension}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response
