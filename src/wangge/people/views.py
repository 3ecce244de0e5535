"""The staff's own page (/me/) and the desk pages of the grid staff: AB岗 pairs and absences (TEAM-3), the
emergency reserve (TEAM-4), and the household contact cards as PDF (TEAM-6, INFO-4).

The desk pages need Capability.MANAGE_STAFF (403 without it) through a post above the unit (404 for a
unit elsewhere, the same as a missing one). Contact cards need VIEW_LEDGERS and a household in the
user's ledger scope. Every write goes through people.services.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from wangge.core.audit import log_personal_data_access
from wangge.core.forms import apply_service_errors
from wangge.core.models import AccessPurpose
from wangge.core.pii import mask_phone
from wangge.core.scope import minimal_prefixes
from wangge.units.models import Unit

from . import services
from .cards import build_cards
from .models import Absence, AbsenceReason, CoverPair, Post, ReserveKind, ReserveMember, User
from .roles import GRID_ROLES, Capability, Role

PAGE_SIZE = 50
CARDS_PER_SHEET = 4  # contact cards per A4 page, two by two


# --- forms ------------------------------------------------------------------------------------------------


class PostChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, post):
        return f"{post.user.get_full_name()} · {post.title or post.get_role_display()} · {post.unit.name}"


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return f"{user.get_full_name()} ({user.username})"


DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")  # what <input type=date> reads


class PairForm(forms.Form):
    a_post = PostChoiceField(label=gettext_lazy("A post"), queryset=Post.objects.none())
    b_user = UserChoiceField(label=gettext_lazy("B (covers)"), queryset=User.objects.none())
    start_date = forms.DateField(label=gettext_lazy("From"), widget=DATE_INPUT)
    end_date = forms.DateField(label=gettext_lazy("Until"), required=False, widget=DATE_INPUT)

    def __init__(self, *args, unit: Unit, village: Unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["a_post"].queryset = (
            Post.objects.active()
            .filter(unit__path__startswith=unit.path, role__in=GRID_ROLES)
            .select_related("user", "unit")
            .order_by("unit__path", "id")
        )
        self.fields["b_user"].queryset = (
            User.objects.filter(
                is_active=True,
                posts__in=Post.objects.active()
                .filter(unit__path__startswith=village.path)
                .exclude(role=Role.DEPARTMENT_USER),
            )
            .distinct()
            .order_by("full_name", "username")
        )


class AbsenceForm(forms.Form):
    post = PostChoiceField(label=gettext_lazy("A post"), queryset=Post.objects.none())
    start = forms.DateField(label=gettext_lazy("First day away"), widget=DATE_INPUT)
    end = forms.DateField(label=gettext_lazy("Last day away"), widget=DATE_INPUT)
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=AbsenceReason.choices)
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, unit: Unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["post"].queryset = (
            Post.objects.active()
            .filter(
                unit__path__startswith=unit.path,
                role__in=GRID_ROLES,
                cover_pairs__in=CoverPair.objects.filter(
                    Q(end_date__isnull=True) | Q(end_date__gte=timezone.localdate())
                ),
            )
            .distinct()
            .select_related("user", "unit")
            .order_by("unit__path", "id")
        )


class EndPairForm(forms.Form):
    pair = forms.IntegerField(widget=forms.HiddenInput)
    end_date = forms.DateField(label=gettext_lazy("Until"), widget=DATE_INPUT)


class MemberForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=64)
    kind = forms.ChoiceField(label=gettext_lazy("Drawn from"), choices=ReserveKind.choices)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=32)
    skills = forms.CharField(label=gettext_lazy("Skills"), max_length=200, required=False)
    available = forms.BooleanField(label=gettext_lazy("Ready to be called"), required=False, initial=True)
    notes = forms.CharField(
        label=gettext_lazy("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PhotoForm(forms.Form):
    photo = forms.FileField(label=gettext_lazy("Photo"))


# --- helpers ----------------------------------------------------------------------------------------------


def _require_manager_page(request) -> None:
    user = request.user
    if not user.has_capability(Capability.MANAGE_STAFF):
        raise PermissionDenied(_("Your posts do not keep the staff ledger."))


def _managed_unit(request, code: str) -> Unit:
    """A unit in force whose staff the user keeps; 404 for any other code."""
    _require_manager_page(request)
    unit = Unit.objects.current().select_related("level").filter(code=code).first()
    if unit is None or not services.can_manage_staff(request.user, unit):
        raise Http404
    return unit


def _page(request, items, param: str):
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get(param))


def _query_without(request, name: str) -> str:
    params = request.GET.copy()
    params.pop(name, None)
    return params.urlencode()


def _crumbs(request, unit: Unit) -> list[Unit]:
    """The unit's ancestors the user also keeps, for the breadcrumbs."""
    return [a for a in unit.ancestors() if services.can_manage_staff(request.user, a)]


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- my page ----------------------------------------------------------------------------------------------


@login_required
@require_safe
def profile(request):
    user = request.user
    today = timezone.localdate()
    return render(
        request,
        "people/profile.html",
        {
            "posts": user.active_posts(),
            "covering": services.covering(user, today),
            "my_absences": Absence.objects.live()
            .filter(post__user=user, end__gte=today)
            .select_related("post__unit", "cover")
            .order_by("start"),
            "b_duties": CoverPair.objects.active(today)
            .filter(b_user=user)
            .select_related("a_post__user", "a_post__unit"),
            "photo_form": PhotoForm(),
        },
    )


@login_required
@require_POST
def my_photo(request):
    """Put up or take down one's own notice-board photo."""
    if request.POST.get("remove"):
        services.remove_photo(request.user, by=request.user)
        messages.success(request, _("Your photo is removed."))
        return redirect("people:profile")
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.set_photo(request.user, form.cleaned_data["photo"], by=request.user)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Your photo is saved."))
            return redirect("people:profile")
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect("people:profile")


# --- staff desk ---------------------------------------------------------------------------------------------


@login_required
@require_safe
def staff_home(request):
    """The AB page of the top unit whose staff the user keeps."""
    _require_manager_page(request)
    scope = request.user.scope
    if scope.is_global:
        unit = Unit.objects.current().filter(depth=1).order_by("path").first()
    else:
        paths = minimal_prefixes(scope.paths_for(Capability.MANAGE_STAFF))
        unit = Unit.objects.current().filter(path__in=paths).order_by("path").first()
    if unit is None:
        raise PermissionDenied(_("Your posts do not keep the staff ledger."))
    return redirect("staff:ab", code=unit.code)


@login_required
@require_http_methods(["GET", "POST"])
def ab_page(request, code):
    """AB岗 of a unit: the pairs in force, who is away and who covers, the absences, the posts without a B;
    from a village down, the forms to pair posts and record absences."""
    unit = _managed_unit(request, code)
    user = request.user
    today = timezone.localdate()
    can_edit = unit.level.rank >= services.VILLAGE_RANK
    village = services.village_of(unit) if can_edit else None
    pair_form = absence_form = None
    if can_edit:
        pair_form = PairForm(unit=unit, village=village, initial={"start_date": today}, prefix="pair")
        absence_form = AbsenceForm(unit=unit, initial={"start": today, "end": today}, prefix="absence")

    if request.method == "POST":
        action = request.POST.get("action")
        done = None
        if action == "pair" and can_edit:
            pair_form = PairForm(request.POST, unit=unit, village=village, prefix="pair")
            if pair_form.is_valid():
                data = pair_form.cleaned_data
                try:
                    pair = services.pair_posts(
                        data["a_post"],
                        data["b_user"],
                        by=user,
                        start=data["start_date"],
                        end=data["end_date"],
                    )
                except ValidationError as error:
                    apply_service_errors(pair_form, error)
                else:
                    done = _("%(b)s is now the B of %(a)s.") % {
                        "b": pair.b_user.get_full_name(),
                        "a": pair.a_post.user.get_full_name(),
                    }
        elif action == "absence" and can_edit:
            absence_form = AbsenceForm(request.POST, unit=unit, prefix="absence")
            if absence_form.is_valid():
                data = absence_form.cleaned_data
                try:
                    absence = services.record_absence(
                        data["post"],
                        by=user,
                        start=data["start"],
                        end=data["end"],
                        reason=data["reason"],
                        note=data["note"],
                    )
                except ValidationError as error:
                    apply_service_errors(absence_form, error)
                else:
                    done = _("Absence recorded: %(b)s covers from %(start)s to %(end)s.") % {
                        "b": absence.cover.get_full_name(),
                        "start": absence.start.isoformat(),
                        "end": absence.end.isoformat(),
                    }
        elif action == "end_pair":
            form = EndPairForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Give the last day of the pair."))
                return redirect("staff:ab", code=unit.code)
            pair = (
                CoverPair.objects.filter(
                    pk=form.cleaned_data["pair"], a_post__unit__path__startswith=unit.path
                )
                .select_related("a_post__unit")
                .first()
            )
            if pair is None:
                raise Http404
            try:
                services.end_pair(pair, by=user, end=form.cleaned_data["end_date"])
            except ValidationError as error:
                for text in error.messages:
                    messages.error(request, text)
                return redirect("staff:ab", code=unit.code)
            done = _("The pair ends on %(date)s.") % {"date": form.cleaned_data["end_date"].isoformat()}
        elif action == "cancel":
            absence = (
                Absence.objects.filter(
                    pk=_int(request.POST.get("absence")), post__unit__path__startswith=unit.path
                )
                .select_related("post__unit")
                .first()
            )
            if absence is None:
                raise Http404
            try:
                services.cancel_absence(absence, by=user)
            except ValidationError as error:
                for text in error.messages:
                    messages.error(request, text)
                return redirect("staff:ab", code=unit.code)
            done = _("The absence is called off.")
        else:
            raise Http404
        if done:
            messages.success(request, done)
            return redirect("staff:ab", code=unit.code)

    under = Q(a_post__unit__path__startswith=unit.path)
    pairs = (
        CoverPair.objects.filter(under)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .select_related("a_post__user", "a_post__unit", "b_user")
        .order_by("a_post__unit__path", "start_date", "id")
    )
    absences = (
        Absence.objects.filter(post__unit__path__startswith=unit.path)
        .select_related("post__user", "post__unit", "cover")
        .order_by("-start", "-id")
    )
    away_today = (
        Absence.objects.on(today)
        .filter(post__unit__path__startswith=unit.path)
        .select_related("post__user", "post__unit", "cover")
        .order_by("post__unit__path", "id")
    )
    return render(
        request,
        "people/ab.html",
        {
            "unit": unit,
            "crumbs": _crumbs(request, unit),
            "children": unit.children().current().order_by("path"),
            "today": today,
            "can_edit": can_edit,
            "pair_form": pair_form,
            "absence_form": absence_form,
            "pairs": _page(request, pairs, "page"),
            "pairs_query": _query_without(request, "page"),
            "absences": _page(request, absences, "apage"),
            "absences_query": _query_without(request, "apage"),
            "away_today": list(away_today[:PAGE_SIZE]),
            "unpaired": _page(request, services.posts_without_b(unit, today), "npage"),
            "unpaired_query": _query_without(request, "npage"),
            "can_print_cards": unit.is_grid and request.user.has_capability(Capability.VIEW_LEDGERS),
        },
    )


@login_required
@require_safe
def absence_page(request, pk):
    """An absence and who covered it: the cover's steps on cases under the A post's unit on those days.
    Open to whoever keeps the staff of the unit, and to the absent holder and the cover themselves."""
    user = request.user
    absence = (
        Absence.objects.select_related("post__user", "post__unit", "cover", "recorded_by", "pair")
        .filter(pk=pk)
        .first()
    )
    involved = absence is not None and user.pk in (absence.post.user_id, absence.cover_id)
    if not involved:
        _require_manager_page(request)
        if absence is None or not services.can_manage_staff(user, absence.post.unit):
            raise Http404
    actions = services.cover_actions(absence)
    cases = {}
    for action in actions:
        cases.setdefault(action.case_id, {"case": action.case, "kinds": []})["kinds"].append(action)
    return render(
        request,
        "people/absence.html",
        {
            "absence": absence,
            "unit": absence.post.unit,
            "actions": _page(request, actions, "page"),
            "actions_query": _query_without(request, "page"),
            "case_count": len(cases),
            "can_manage": services.can_manage_staff(user, absence.post.unit),
        },
    )


# --- emergency reserve ----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def reserve_page(request, code):
    """应急预备队 of a unit: members by kind with counts and how many are ready, the reserves kept below, the
    form to add one, and candidates drawn from the B posts and the ledgers."""
    unit = _managed_unit(request, code)
    user = request.user
    form = MemberForm(initial={"available": True, "kind": ReserveKind.VOLUNTEER})
    if request.method == "POST":
        action = request.POST.get("action")
        values = None
        if action == "add":
            form = MemberForm(request.POST)
            if form.is_valid():
                values = dict(form.cleaned_data)
        elif action == "add_user":
            candidate = User.objects.filter(pk=_int(request.POST.get("user")), is_active=True).first()
            if candidate is None or candidate.pk not in {c.user.pk for c in services.b_candidates(unit)}:
                raise Http404
            values = {"kind": ReserveKind.B_POST, "user": candidate}
        elif action == "add_resident":
            candidate = (
                services.resident_candidates(unit, user).filter(pk=_int(request.POST.get("resident"))).first()
            )
            if candidate is None:
                raise Http404
            values = {"kind": services.suggested_kind(candidate), "resident": candidate}
        else:
            raise Http404
        if values is not None:
            try:
                member = services.add_reserve_member(unit, by=user, **values)
            except ValidationError as error:
                if action == "add":
                    apply_service_errors(form, error)
                else:
                    for text in error.messages:
                        messages.error(request, text)
                    return redirect("staff:reserve", code=unit.code)
            else:
                messages.success(request, _("%(name)s joins the reserve.") % {"name": member.name})
                return redirect("staff:reserve", code=unit.code)

    members = (
        ReserveMember.objects.filter(unit=unit)
        .select_related("user", "resident")
        .order_by("kind", "name", "id")
    )
    page = _page(request, members, "page")
    reveal = request.GET.get("reveal") == "1" and services.can_unmask_reserve(user, unit)
    if reveal:
        log_personal_data_access(
            user, [m for m in page.object_list if m.phone], ["phone"], AccessPurpose.VIEW
        )
    rows = [
        {"member": m, "phone": m.phone if reveal else mask_phone(m.phone) if m.phone else ""}
        for m in page.object_list
    ]
    residents = _page(request, services.resident_candidates(unit, user), "spage")
    below = services.reserves_below(unit).exclude(pk=unit.pk)
    return render(
        request,
        "people/reserve.html",
        {
            "unit": unit,
            "crumbs": _crumbs(request, unit),
            "children": unit.children().current().order_by("path"),
            "figures": services.reserve_figures(unit),
            "page": page,
            "rows": rows,
            "page_query": _query_without(request, "page"),
            "reveal": reveal,
            "can_reveal": services.can_unmask_reserve(user, unit),
            "form": form,
            "b_candidates": services.b_candidates(unit),
            "residents": residents,
            "resident_rows": [
                {
                    "resident": r,
                    "kind": ReserveKind(services.suggested_kind(r)).label,
                    "phone": mask_phone(r.phone) if r.phone else "",
                }
                for r in residents.object_list
            ],
            "residents_query": _query_without(request, "spage"),
            "below": _page(request, below, "rpage"),
            "below_query": _query_without(request, "rpage"),
            "can_print_cards": unit.is_grid and user.has_capability(Capability.VIEW_LEDGERS),
        },
    )


def _managed_member(request, pk) -> ReserveMember:
    _require_manager_page(request)
    member = ReserveMember.objects.select_related("unit", "user", "resident").filter(pk=pk).first()
    if member is None or not services.can_manage_staff(request.user, member.unit):
        raise Http404
    return member


def _member_form(member: ReserveMember, unmask: bool, data=None) -> MemberForm:
    """The edit form; without the right to see the number, the phone field starts empty and an empty
    field keeps the number on record."""
    initial = {
        "name": member.name,
        "kind": member.kind,
        "phone": member.phone if unmask else "",
        "skills": member.skills,
        "available": member.available,
        "notes": member.notes,
    }
    form = MemberForm(data, initial=initial)
    if not unmask:
        form.fields["phone"].required = False
        form.fields["phone"].help_text = _("Leave empty to keep the number on record (%(masked)s).") % {
            "masked": mask_phone(member.phone) if member.phone else "—"
        }
    return form


@login_required
@require_http_methods(["GET", "POST"])
def reserve_member(request, pk):
    """Edit one member of a reserve; the number is shown unmasked (and the look logged) to those allowed."""
    member = _managed_member(request, pk)
    user = request.user
    unmask = services.can_unmask_reserve(user, member.unit)
    if request.method == "POST":
        form = _member_form(member, unmask, request.POST)
        if form.is_valid():
            values = dict(form.cleaned_data)
            if not values["phone"]:
                values.pop("phone")  # kept as it is
            try:
                services.update_reserve_member(member, by=user, **values)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("%(name)s is updated.") % {"name": values["name"]})
                return redirect("staff:reserve", code=member.unit.code)
    else:
        if unmask and member.phone:
            log_personal_data_access(user, [member], ["phone"], AccessPurpose.VIEW)
        form = _member_form(member, unmask)
    return render(
        request, "people/reserve_member.html", {"member": member, "unit": member.unit, "form": form}
    )


@login_required
@require_POST
def reserve_remove(request, pk):
    member = _managed_member(request, pk)
    code, name = member.unit.code, member.name
    services.remove_reserve_member(member, by=request.user)
    messages.success(request, _("%(name)s has left the reserve.") % {"name": name})
    return redirect("staff:reserve", code=code)


# --- contact cards ------------------------------------------------------------------------------------------


def _require_ledgers(request) -> None:
    if not request.user.has_capability(Capability.VIEW_LEDGERS):
        raise PermissionDenied(_("Your posts do not open the ledgers."))


def _cards_pdf(request, cards, filename: str) -> HttpResponse:
    import weasyprint  # loads Pango and fonts: only the PDFs need it

    sheets = [cards[i : i + CARDS_PER_SHEET] for i in range(0, len(cards), CARDS_PER_SHEET)]
    html = render_to_string(
        "people/cards_print.html",
        {"sheets": sheets, "services_line": services.SERVICES_LINE, "today": timezone.localdate()},
        request=request,
    )
    pdf = weasyprint.HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_safe
def household_card(request, number):
    """民情联系卡 of one household in the user's ledger scope, as a PDF."""
    from wangge.ledger.models import Household

    _require_ledgers(request)
    household = get_object_or_404(
        Household.objects.visible_to(request.user).select_related("grid"), number=number, grid__isnull=False
    )
    return _cards_pdf(request, build_cards(request, [household]), f"card-{household.number}.pdf")


@login_required
@require_safe
def grid_cards(request, code):
    """The contact cards of every household of a grid in the user's ledger scope, several to an A4 page."""
    from wangge.ledger.choices import HouseholdStatus
    from wangge.ledger.models import Household

    _require_ledgers(request)
    unit = Unit.objects.visible_to(request.user).current().filter(code=code).first()
    if unit is None or not unit.is_grid:
        raise Http404
    households = (
        Household.objects.visible_to(request.user)
        .filter(grid__path__startswith=unit.path, status=HouseholdStatus.ACTIVE)
        .select_related("grid")
        .order_by("grid__path", "number")
    )
    limit = getattr(settings, "WANGGE_CONTACT_CARDS_MAX", 600)
    count = households.count()
    if count > limit:
        return render(
            request,
            "people/cards_too_many.html",
            {
                "unit": unit,
                "count": count,
                "limit": limit,
                "children": unit.children().current().order_by("path"),
            },
            status=400,
        )
    return _cards_pdf(
        request,
        build_cards(request, list(households)),
        f"cards-{unit.code}-{timezone.localdate():%Y%m%d}.pdf",
    )
