"""The staff ledger pages (网格员队伍台账, TEAM-5): the ledger of a unit and its Excel export, the 1+n+N
staffing check, a person's staff record, training plans and sessions, and the forms that write through
`teams.services`.

Reading needs a territorial post whose subtree holds the unit (department posts: 403); a unit or person
outside it answers 404. Forms need MANAGE_STAFF reaching the unit or the person's post (else 403).
"""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wangge.core.forms import apply_service_errors
from wangge.core.scope import minimal_prefixes
from wangge.people.models import Post, User
from wangge.people.roles import GRID_ROLES, ROLE_CAPABILITIES, Capability, Role
from wangge.units.models import Unit

from . import exports, services
from .forms import (
    AgreementForm,
    AttendanceForm,
    BadgeForm,
    FlagForm,
    LedgerFilterForm,
    PlanForm,
    ReturnBadgeForm,
    SessionForm,
)
from .models import (
    AppointmentAgreement,
    Badge,
    PipelineFlag,
    TrainingAttendance,
    TrainingPlan,
    TrainingSession,
)

PAGE_SIZE = 50


# --- access -------------------------------------------------------------------------------------------------


def reading_paths(user) -> tuple[str, ...] | None:
    """The subtrees whose staff the user reads: those of territorial posts with VIEW_UNITS (None: all)."""
    scope = user.scope
    if scope.is_global:
        return None
    return minimal_prefixes(
        path
        for role, path in scope.posts
        if role != Role.DEPARTMENT_USER and Capability.VIEW_UNITS in ROLE_CAPABILITIES.get(role, frozenset())
    )


def _require_reader(request) -> tuple[str, ...] | None:
    user = request.user
    if user.scope.is_empty:
        raise PermissionDenied(_("You hold no active post."))
    paths = reading_paths(user)
    if paths is not None and not paths:
        raise PermissionDenied(_("The staff ledger is kept by the territorial units, not by departments."))
    return paths


def _covers(paths, path: str) -> bool:
    return paths is None or any(path.startswith(prefix) for prefix in paths)


def _unit(request, code: str | None, paths) -> Unit:
    """The unit asked for (by code) if the user reads it, else 404; without a code, the user's own."""
    units = Unit.objects.current().select_related("level")
    if code:
        unit = units.filter(code=code).first()
        if unit is not None and not _covers(paths, unit.path):
            unit = None
    elif paths is None:
        unit = units.filter(depth=1).order_by("path").first()
    else:
        unit = units.filter(path__in=paths).order_by("depth", "path").first()
    if unit is None:
        raise Http404
    return unit


def _person(request, user_id: int, paths) -> User:
    """A person whose posts (any of them, past ones too) lie in the viewer's subtrees; else 404."""
    person = get_object_or_404(User, pk=user_id)
    if paths is not None:
        posts = Post.objects.filter(user=person)
        condition = Q(pk__in=[])
        for prefix in paths:
            condition |= Q(unit__path__startswith=prefix)
        if not posts.filter(condition).exists():
            raise Http404
    return person


def _require_manager_of(request, unit) -> None:
    if not services.manages(request.user, unit):
        raise PermissionDenied(
            _("Your posts do not allow keeping the staff ledger of %(unit)s.") % {"unit": unit.name}
        )


def _person_units(person, by, *, grid_posts_only: bool = False, managed_only: bool = True):
    """The townships and villages at or above the person's current posts: who employ, badge or flag them."""
    today = timezone.localdate()
    posts = Post.objects.filter(user=person).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
    if grid_posts_only:
        posts = posts.filter(role__in=GRID_ROLES)
    prefixes = {
        prefix for path in posts.values_list("unit__path", flat=True) for prefix in Unit.path_prefixes(path)
    }
    units = (
        Unit.objects.current()
        .filter(path__in=prefixes, level__is_grid=False, level__rank__gte=services.TOWNSHIP_RANK)
        .select_related("level")
    )
    units = units.order_by("-depth")
    if managed_only:
        managed = services.managed_units(by).values("pk")
        units = units.filter(pk__in=managed)
    return units


def _managed_person_posts(person, by):
    today = timezone.localdate()
    posts = (
        Post.objects.filter(user=person)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .select_related("unit")
        .order_by("-start_date")
    )
    return [post for post in posts if services.manages(by, post.unit)]


def _require_person_manager(request, person):
    """403 unless the writer keeps the staff of one of the person's current posts."""
    posts = _managed_person_posts(person, request.user)
    if not posts:
        raise PermissionDenied(
            _("Your posts do not allow keeping the staff ledger of %(name)s.")
            % {"name": services.person_name(person)}
        )
    return posts


def _query_without(request, *names) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def _export_query(request, unit) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    params["unit"] = unit.code
    return params.urlencode()


def _save(form, call):
    try:
        return call()
    except ValidationError as error:
        apply_service_errors(form, error)
    except PermissionDenied as error:
        form.add_error(None, str(error) or _("Your role does not allow this."))
    return None


# --- the staff ledger ---------------------------------------------------------------------------------------


def _ledger_rows(request, paths):
    form = LedgerFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    unit = _unit(request, (request.GET.get("unit") or "").strip() or None, paths)
    today = timezone.localdate()
    posts = services.ledger_posts(
        unit,
        on=today,
        role=data.get("role") or "",
        agreement_missing=bool(data.get("agreement_missing")),
        untrained=bool(data.get("untrained")),
        flagged=bool(data.get("flagged")),
    )
    return form, unit, posts, today


@login_required
@require_GET
def staff_ledger(request):
    """网格员队伍台账: one row per active post under a unit, with agreement, badge, training and flags."""
    paths = _require_reader(request)
    form, unit, posts, today = _ledger_rows(request, paths)
    ancestors = [a for a in unit.ancestors() if _covers(paths, a.path)]
    children = list(unit.children().current().select_related("level").order_by("path"))
    page = Paginator(posts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "teams/ledger.html",
        {
            "form": form,
            "unit": unit,
            "ancestors": ancestors,
            "children": children,
            "page": page,
            "page_query": _query_without(request, "page"),
            "export_query": _export_query(request, unit),
            "year": today.year,
            "valid_months": services.training_valid_months(),
            "can_manage": services.manages(request.user, unit),
        },
    )


@login_required
@require_GET
def staff_ledger_export(request):
    """The same rows and filters as the ledger page, as an .xlsx file."""
    paths = _require_reader(request)
    _form, unit, posts, today = _ledger_rows(request, paths)
    out = io.BytesIO()
    exports.write_ledger_xlsx(posts, out, year=today.year)
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = exports.file_name(unit, today)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


# --- 1+n+N -----------------------------------------------------------------------------------------------


@login_required
@require_GET
def staffing(request, code: str):
    paths = _require_reader(request)
    unit = _unit(request, code, paths)
    report = services.staffing_check(unit)
    only_short = request.GET.get("short") == "1"
    rows = [row for row in report.rows if row.is_short] if only_short else report.rows
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    shared_page = Paginator(report.shared_workers, PAGE_SIZE).get_page(request.GET.get("wpage"))
    return render(
        request,
        "teams/staffing.html",
        {
            "unit": unit,
            "report": report,
            "only_short": only_short,
            "page": page,
            "page_query": _query_without(request, "page"),
            "shared_page": shared_page,
            "shared_query": _query_without(request, "wpage"),
        },
    )


# --- a person's staff record ----------------------------------------------------------------------------


@login_required
@require_GET
def person(request, user_id: int):
    paths = _require_reader(request)
    someone = _person(request, user_id, paths)
    viewer = request.user
    posts = list(
        Post.objects.filter(user=someone).select_related("unit__level", "department").order_by("-start_date")
    )
    today = timezone.localdate()
    managed_posts = _managed_person_posts(someone, viewer)
    badges = list(Badge.objects.visible_to(viewer).filter(user=someone).select_related("unit"))
    flags = list(
        PipelineFlag.objects.visible_to(viewer).filter(user=someone).select_related("unit", "flagged_by")
    )
    return render(
        request,
        "teams/person.html",
        {
            "person": someone,
            "posts": posts,
            "today": today,
            "agreements": AppointmentAgreement.objects.visible_to(viewer)
            .filter(user=someone)
            .select_related("unit", "post__unit"),
            "badges": [(badge, services.manages(viewer, badge.unit)) for badge in badges],
            "trainings": TrainingAttendance.objects.visible_to(viewer)
            .filter(user=someone)
            .select_related("session__unit")
            .order_by("-session__date"),
            "flags": [(flag, services.manages(viewer, flag.unit)) for flag in flags],
            "can_manage": bool(managed_posts),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def sign_agreement(request, user_id: int):
    paths = _require_reader(request)
    someone = _person(request, user_id, paths)
    managed_posts = _require_person_manager(request, someone)
    units = _person_units(someone, request.user, managed_only=False)
    posts = Post.objects.filter(pk__in=[post.pk for post in managed_posts]).select_related("unit")
    initial = {
        "unit": units.filter(level__rank=services.TOWNSHIP_RANK).first() or units.first(),
        "post": managed_posts[0],
    }
    form = AgreementForm(request.POST or None, units=units, posts=posts, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        agreement = _save(
            form,
            lambda: services.sign_agreement(
                by=request.user,
                user=someone,
                unit=data["unit"],
                year=data["year"],
                signed_on=data["signed_on"],
                valid_from=data["valid_from"],
                valid_to=data["valid_to"],
                post=data["post"],
                notes=data["notes"],
            ),
        )
        if agreement is not None:
            messages.success(request, _("The agreement of %(year)s is recorded.") % {"year": agreement.year})
            return redirect("teams:person", someone.pk)
    return _person_form(request, someone, form, _("Appointment agreement"), "agreement")


@login_required
@require_http_methods(["GET", "POST"])
def issue_badge(request, user_id: int):
    paths = _require_reader(request)
    someone = _person(request, user_id, paths)
    _require_person_manager(request, someone)
    units = _person_units(someone, request.user)
    form = BadgeForm(
        request.POST or None,
        units=units,
        initial={"unit": units.filter(level__rank=services.TOWNSHIP_RANK).first() or units.first()},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        badge = _save(
            form,
            lambda: services.issue_badge(
                by=request.user,
                user=someone,
                number=data["number"],
                issued_on=data["issued_on"],
                unit=data["unit"],
            ),
        )
        if badge is not None:
            messages.success(request, _("Badge %(number)s is issued.") % {"number": badge.number})
            return redirect("teams:person", someone.pk)
    return _person_form(request, someone, form, _("Issue a badge"), "badge")


@login_required
@require_POST
def return_badge(request, pk: int):
    _require_reader(request)
    badge = get_object_or_404(Badge.objects.visible_to(request.user).select_related("unit", "user"), pk=pk)
    _require_manager_of(request, badge.unit)
    form = ReturnBadgeForm(request.POST)
    returned = form.is_valid() and _save(
        form,
        lambda: services.return_badge(badge, by=request.user, returned_on=form.cleaned_data["returned_on"]),
    )
    if returned:
        messages.success(request, _("Badge %(number)s is returned.") % {"number": badge.number})
        return redirect("teams:person", badge.user_id)
    for error in form.errors.values():
        messages.error(request, " ".join(error))
    return redirect("teams:person", badge.user_id)


@login_required
@require_http_methods(["GET", "POST"])
def flag_worker(request, user_id: int):
    paths = _require_reader(request)
    someone = _person(request, user_id, paths)
    _require_person_manager(request, someone)
    units = _person_units(someone, request.user, grid_posts_only=True)
    form = FlagForm(request.POST or None, units=units, initial={"unit": units.first()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        flag = _save(
            form,
            lambda: services.flag_worker(
                by=request.user, user=someone, kind=data["kind"], reason=data["reason"], unit=data["unit"]
            ),
        )
        if flag is not None:
            messages.success(request, _("%(name)s is flagged.") % {"name": services.person_name(someone)})
            return redirect("teams:person", someone.pk)
    return _person_form(request, someone, form, _("Flag an outstanding worker"), "flag")


@login_required
@require_POST
def withdraw_flag(request, pk: int):
    _require_reader(request)
    flag = get_object_or_404(PipelineFlag.objects.visible_to(request.user).select_related("unit"), pk=pk)
    _require_manager_of(request, flag.unit)
    try:
        services.withdraw_flag(flag, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The flag is withdrawn."))
    return redirect("teams:person", flag.user_id)


def _person_form(request, someone, form, title: str, kind: str):
    return render(
        request,
        "teams/person_form.html",
        {"person": someone, "form": form, "title": title, "kind": kind},
        status=400 if form.is_bound and form.errors else 200,
    )


# --- training ------------------------------------------------------------------------------------------------


@login_required
@require_GET
def training(request):
    paths = _require_reader(request)
    unit = _unit(request, (request.GET.get("unit") or "").strip() or None, paths)
    viewer = request.user
    plans = (
        TrainingPlan.objects.filter(Q(unit=unit) | Q(filed_with=unit))
        .select_related("unit", "filed_with", "filed_by", "acknowledged_by")
        .order_by("-year", "unit__path", "-filed_at")
    )
    plan_page = Paginator(plans, PAGE_SIZE).get_page(request.GET.get("ppage"))
    page = Paginator(_sessions_with_counts(unit), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "teams/training.html",
        {
            "unit": unit,
            "plan_page": plan_page,
            "plans": [(plan, services.can_acknowledge(viewer, plan)) for plan in plan_page.object_list],
            "plan_query": _query_without(request, "ppage"),
            "page": page,
            "page_query": _query_without(request, "page"),
            "can_manage": services.manages(viewer, unit),
        },
    )


def _sessions_with_counts(unit):
    return (
        TrainingSession.objects.filter(unit__path__startswith=unit.path)
        .select_related("unit", "plan")
        .annotate(
            attended_count=Count("attendance", filter=Q(attendance__attended=True)),
            absent_count=Count("attendance", filter=Q(attendance__attended=False)),
        )
        .order_by("-date", "unit__path", "id")
    )


def _managed_unit(request) -> Unit:
    paths = _require_reader(request)
    unit = _unit(request, (request.GET.get("unit") or "").strip() or None, paths)
    _require_manager_of(request, unit)
    return unit


@login_required
@require_http_methods(["GET", "POST"])
def file_plan(request):
    unit = _managed_unit(request)
    form = PlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        plan = _save(
            form,
            lambda: services.file_training_plan(
                by=request.user, unit=unit, year=data["year"], title=data["title"], content=data["content"]
            ),
        )
        if plan is not None:
            messages.success(request, _("The plan is filed with %(unit)s.") % {"unit": plan.filed_with.name})
            return redirect(f"{reverse('teams:training')}?unit={unit.code}")
    return render(
        request,
        "teams/unit_form.html",
        {"unit": unit, "form": form, "title": _("File a training plan"), "kind": "plan"},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_POST
def acknowledge_plan(request, pk: int):
    _require_reader(request)
    plan = get_object_or_404(
        TrainingPlan.objects.visible_to(request.user).select_related("filed_with", "unit"), pk=pk
    )
    try:
        services.acknowledge_plan(plan, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The plan of %(unit)s is acknowledged.") % {"unit": plan.unit.name})
    return redirect(f"{reverse('teams:training')}?unit={plan.filed_with.code}")


def _unit_staff(unit, also=()):
    """The holders of active posts under `unit` (for ticking attendance), plus `also` (user ids)."""
    today = timezone.localdate()
    return (
        User.objects.filter(
            Q(
                posts__in=Post.objects.active(today)
                .filter(unit__path__startswith=unit.path)
                .exclude(role=Role.DEPARTMENT_USER)
            )
            | Q(pk__in=list(also))
        )
        .distinct()
        .order_by("full_name", "username")
    )


def _plans_for(unit):
    """The plans a session of `unit` may follow: its own and those of the levels above it."""
    prefixes = Unit.path_prefixes(unit.path)
    return (
        TrainingPlan.objects.filter(unit__path__in=prefixes)
        .select_related("unit")
        .order_by("-year", "-filed_at")
    )


@login_required
@require_http_methods(["GET", "POST"])
def record_session(request):
    unit = _managed_unit(request)
    staff = _unit_staff(unit)
    form = SessionForm(request.POST or None, staff=staff, plans=_plans_for(unit))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        ticked = {user.pk: user for user in data["attended"]}
        for user in data["others"]:
            ticked.setdefault(user.pk, user)
        absent = [user for user in staff if user.pk not in ticked]
        session = _save(
            form,
            lambda: services.record_session(
                by=request.user,
                unit=unit,
                date=data["date"],
                topic=data["topic"],
                hours=data["hours"],
                place=data["place"],
                plan=data["plan"],
                attended=list(ticked.values()),
                absent=absent,
            ),
        )
        if session is not None:
            messages.success(
                request, _("The session of %(date)s is recorded.") % {"date": session.date.isoformat()}
            )
            return redirect("teams:session", session.pk)
    return render(
        request,
        "teams/unit_form.html",
        {"unit": unit, "form": form, "title": _("Record a training session"), "kind": "session"},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def session(request, pk: int):
    _require_reader(request)
    session = get_object_or_404(
        TrainingSession.objects.visible_to(request.user).select_related("unit", "plan", "recorded_by"), pk=pk
    )
    rows = list(session.attendance.select_related("user").order_by("-attended", "user__full_name"))
    can_manage = services.manages(request.user, session.unit)
    form = None
    if can_manage:
        staff = _unit_staff(session.unit, also=[row.user_id for row in rows])
        initial = {"attended": [row.user_id for row in rows if row.attended]}
        form = AttendanceForm(request.POST or None, staff=staff, initial=initial)
        if request.method == "POST" and form.is_valid():
            ticked = {user.pk: user for user in form.cleaned_data["attended"]}
            for user in form.cleaned_data["others"]:
                ticked.setdefault(user.pk, user)
            absent = [user for user in staff if user.pk not in ticked]
            if (
                _save(
                    form,
                    lambda: services.record_attendance(
                        session, by=request.user, attended=list(ticked.values()), absent=absent
                    ),
                )
                is not None
            ):
                messages.success(request, _("The attendance is saved."))
                return redirect("teams:session", session.pk)
    elif request.method == "POST":
        raise PermissionDenied(
            _("Your posts do not allow keeping the staff ledger of %(unit)s.") % {"unit": session.unit.name}
        )
    return render(
        request,
        "teams/session.html",
        {"session": session, "rows": rows, "form": form, "can_manage": can_manage},
        status=400 if form is not None and form.is_bound and form.errors else 200,
    )
