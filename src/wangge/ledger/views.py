"""The ledger pages (一格一档): households, residents, places and organisations.

Every page needs VIEW_LEDGERS (403 otherwise, and for a user with no post), every form MANAGE_LEDGERS;
lists start from `visible_to(user)` and one record is fetched with `get_visible_or_404`, so a record
outside the user's area answers 404 like a missing one. A record is changed only by those who keep it
(`writable_by`: staff of where it lives, under a post granting MANAGE_LEDGERS); whoever only reads it
(registration-grid staff, a second post elsewhere) sees no buttons to change it, and its forms answer 403
with the reason. Writes go through ledger.services only; their ValidationErrors land on the form field
they name. Lists always show ID numbers and phones masked; a record's own page shows them as
privacy.personal_values allows (unmasked and logged, or masked and marked), and a person's full date of
birth only with their unmasked ID number: with the masked one it would give the number back.

A household's keeper records a review (核查无变化, INFO-2) with one POST; an edit counts as one too. The
catalogue (数据资源目录, INFO-5) describes every ledger, with its figures in the user's area and the share of
households reviewed below each unit under the user's highest post.
"""

from __future__ import annotations

import dataclasses
import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Count, Max, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from wangge.cases.models import Case
from wangge.core.audit import history_for
from wangge.core.forms import apply_service_errors
from wangge.core.models import ChangeLog
from wangge.core.pii import EncryptedTextField
from wangge.core.scope import get_visible_or_404
from wangge.fieldwork.visits import household_visits
from wangge.people.models import Post
from wangge.people.roles import GLOBAL_ROLES, ROLE_CAPABILITIES, Capability, Role
from wangge.units.models import Unit

from . import forms, privacy, services
from .choices import (
    OPEN_LISTING_STATES,
    PARTY_ORGANISATION_KINDS,
    HouseholdStatus,
    Relation,
    ResidentStatus,
)
from .columns import columns_for
from .dossier import review_by_child
from .filters import (
    EXACT_SEARCH_KEYS,
    PLAINTEXT_SEARCH_PARAMS,
    ExactSearchForm,
    HouseholdFilter,
    OrganisationFilter,
    PlaceFilter,
    ResidentFilter,
)
from .models import (
    AttentionTag,
    Household,
    ImportKind,
    KeyPersonListing,
    Organisation,
    Place,
    Resident,
)

PAGE_SIZE = 50
HISTORY_LIMIT = 100
CASE_LIMIT = 20
EXPORT_FORMATS = ("xlsx", "csv")
# "Who serves this household" reaches up from the grid to the village/community (rank 3 of the scheme).
VILLAGE_RANK = 3

SECTIONS = [
    ("index", gettext_lazy("Overview")),
    ("households", gettext_lazy("Households")),
    ("residents", gettext_lazy("Residents")),
    ("places", gettext_lazy("Places and things")),
    ("organisations", gettext_lazy("Organisations")),
]


# ---------------------------------------------------------------------------------------------------
# Access


def _require(request, capability: str = Capability.VIEW_LEDGERS) -> None:
    """403 for a user with no post, without the ledgers, or (for forms) without MANAGE_LEDGERS."""
    user = request.user
    if user.scope.is_empty:
        raise PermissionDenied(_("You hold no active post."))
    if not user.has_capability(Capability.VIEW_LEDGERS):
        raise PermissionDenied(_("Your posts do not open the ledgers."))
    if capability != Capability.VIEW_LEDGERS and not user.has_capability(capability):
        raise PermissionDenied(_("Your posts do not allow changing the ledgers."))


def _can_manage(user) -> bool:
    return user.has_capability(Capability.MANAGE_LEDGERS)


def _refuse_unless_kept(request, obj) -> HttpResponse | None:
    """The 403 page of a form for a record the user sees but does not keep, or None when they keep it."""
    if services.keeps(request.user, obj):
        return None
    context = {
        "title": _("You may read this record but not change it"),
        "message": _(
            "This record is kept by the staff of where it lives; your posts let you read it only. "
            "Ask them to change it."
        ),
        "back_url": obj.get_absolute_url(),
        "sections": SECTIONS,
    }
    return render(request, "ledger/forbidden.html", context, status=403)


def birth_date_shown(resident, *, unmasked: bool) -> str:
    """A person's date of birth as a page may show it: in full with their unmasked ID number (or when they
    have none), else the year only: the masked ID hides the county digits and the date of birth, and the
    county digits are in every grid code, so the full date would give the whole number back."""
    if not resident.birth_date:
        return ""
    if unmasked or not resident.id_number:
        return resident.birth_date.isoformat()
    return str(resident.birth_date.year)


def _household(request, number: str) -> Household:
    return get_visible_or_404(
        Household.objects.select_related("grid__level", "registered_grid"), request.user, number=number
    )


def _resident(request, pk: int) -> Resident:
    return get_visible_or_404(
        Resident.objects.select_related(
            "household__grid", "household__registered_grid", "registered_grid", "party_organisation__unit"
        ),
        request.user,
        pk=pk,
    )


def _unit_visible(user, unit: Unit | None) -> bool:
    """Whether a unit's own page opens for the user (a link), or its name is only shown."""
    return unit is not None and user.scope.covers_path(unit.path)


def _page(request, queryset, param: str = "page"):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get(param))


def _query_without(request, *names) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def _list_context(request, filterset, page, section: str) -> dict:
    return {
        "filter": filterset,
        "filtered": filterset.filtered,
        "page": page,
        "page_query": _query_without(request, "page"),
        "section": section,
        "sections": SECTIONS,
        "can_manage": _can_manage(request.user),
    }


def _mask_rows(residents) -> None:
    """Lists show ID numbers and phones masked, whoever looks (privacy rule)."""
    for resident in residents:
        resident.masked_id_number = privacy.masked(resident.id_number, "id_number")
        resident.masked_phone = privacy.masked(resident.phone, "phone")


def _save(form, call):
    """Run a service call for a valid form; put its refusal on the form. Returns the result or None."""
    try:
        return call()
    except ValidationError as exc:
        apply_service_errors(form, exc)
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or _("Your role does not allow this."))
    return None


def _form_page(request, template: str, context: dict):
    context.setdefault("sections", SECTIONS)
    return render(request, template, context)


# ---------------------------------------------------------------------------------------------------
# History: change-log rows with field names by verbose name and values as stored (masked already)


def _field_maps(model) -> dict[str, models.Field]:
    fields = {f.attname: f for f in model._meta.concrete_fields}
    fields.update({f.name: f for f in model._meta.many_to_many})
    return fields


def _label(field) -> str:
    return capfirst(field.verbose_name)


def _year_of(value) -> str:
    """The year of a date as the change log holds it: "1970-01-01" (older rows, people without an ID
    number) or 1970 (rows of people with one)."""
    return str(value)[:4]


def _history(entries, user, *, name_members: bool = False, full_birth_dates=frozenset()) -> list[dict]:
    """Change-log rows described for a page: who, when, what, and each field's before/after.
    `name_members` labels residents' rows with their name (a household's page mixes its members' rows in).
    Dates of birth show as the year only, except for the residents in `full_birth_dates` (pks): those the
    page shows with their ID number unmasked, or who have none."""
    entries = list(entries)
    models_of = {
        e.content_type_id: ContentType.objects.get_for_id(e.content_type_id).model_class() for e in entries
    }
    # Foreign keys by id, resolved in one query per related model (units by name; records only if visible).
    wanted: dict[type, set] = {}

    def each_value(entry):
        model = models_of[entry.content_type_id]
        if model is None:
            return
        fields = _field_maps(model)
        changes = entry.changes or {}
        pairs = list(changes.get("after", {}).items()) if isinstance(changes.get("after"), dict) else []
        pairs += [(k, v) for k, v in changes.items() if k not in ("after", "note")]
        for key, value in pairs:
            field = fields.get(key)
            if field is not None:
                yield field, value

    for entry in entries:
        for field, value in each_value(entry):
            if field.many_to_one:
                values = value if isinstance(value, list) else [value]
                wanted.setdefault(field.related_model, set()).update(v for v in values if v not in (None, ""))
    names: dict[type, dict] = {}
    for model, ids in wanted.items():
        queryset = model.objects.filter(pk__in=ids)
        if model is not Unit and hasattr(queryset, "visible_to"):
            queryset = queryset.visible_to(user)
        names[model] = {obj.pk: (obj.name if model is Unit else str(obj)) for obj in queryset}
    tag_names = dict(AttentionTag.objects.values_list("code", "name"))
    full_birth = {str(pk) for pk in full_birth_dates}

    def show(field, value, entry) -> str:
        if value in (None, "", []):
            return "—"
        if field.name == "birth_date" and entry.object_id not in full_birth:
            return _year_of(value)
        if field.many_to_many:
            return "、".join(tag_names.get(code, code) for code in value)
        if field.many_to_one:
            return names.get(field.related_model, {}).get(value, f"#{value}")
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        return str(value)

    described = []
    for entry in entries:
        model = models_of[entry.content_type_id]
        changes = entry.changes or {}
        items = []
        if model is not None:
            fields = _field_maps(model)
            created = changes.get("after") if isinstance(changes.get("after"), dict) else None
            for key, value in (created or {}).items():
                field = fields.get(key)
                if field is None or not field.editable or value in (None, "", False, []):
                    continue
                items.append({"label": _label(field), "before": None, "after": show(field, value, entry)})
            for key, value in changes.items():
                field = fields.get(key)
                if key in ("after", "note") or field is None or not field.editable:
                    continue
                before, after = value if isinstance(value, list) and len(value) == 2 else (None, value)
                items.append(
                    {
                        "label": _label(field),
                        "before": show(field, before, entry),
                        "after": show(field, after, entry),
                    }
                )
        described.append(
            {
                "entry": entry,
                "subject": entry.object_repr if name_members and model is Resident else "",
                "items": items,
                "note": changes.get("note", ""),
                "created": "after" in changes,
            }
        )
    return described


def _changes_of(model, pks):
    return ChangeLog.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_id__in=[str(pk) for pk in pks]
    ).select_related("user", "acting_unit")


# ---------------------------------------------------------------------------------------------------
# The index


@login_required
def index(request):
    """台账首页: counts in the user's area, residents per tag, the search box and the ways onward."""
    _require(request)
    user = request.user
    residents = Resident.objects.visible_to(user).filter(status=ResidentStatus.PRESENT)
    per_tag = dict(
        Resident.tags.through.objects.filter(resident__in=residents.values("pk"))
        .values_list("attentiontag_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    tags = [(tag, per_tag.get(tag.pk, 0)) for tag in AttentionTag.objects.filter(is_active=True)]
    posts = (
        Post.objects.active()
        .filter(user=user)
        .exclude(role=Role.DEPARTMENT_USER)
        .select_related("unit__level")
        .order_by("unit__path")
    )
    dossier_units = list({post.unit_id: post.unit for post in posts}.values())
    context = {
        "section": "index",
        "sections": SECTIONS,
        "counts": {
            "households": Household.objects.visible_to(user).filter(status=HouseholdStatus.ACTIVE).count(),
            "residents": residents.count(),
            "places": Place.objects.visible_to(user).count(),
            "organisations": Organisation.objects.visible_to(user).count(),
        },
        "tags": tags,
        "dossier_units": dossier_units,
        "export_kinds": ImportKind.choices,
        "export_formats": EXPORT_FORMATS,
        "can_manage": _can_manage(user),
        "can_approve": user.has_capability(Capability.APPROVE_KEY_PERSONS),
        "can_unmask": privacy.can_unmask(user),
    }
    return render(request, "ledger/index.html", context)


# ---------------------------------------------------------------------------------------------------
# Households


@login_required
def household_list(request):
    _require(request)
    queryset = (
        Household.objects.visible_to(request.user)
        .select_related("grid", "registered_grid")
        .annotate(member_count=Count("members", filter=Q(members__status=ResidentStatus.PRESENT)))
        .order_by("number")
    )
    filterset = HouseholdFilter(request.GET, queryset=queryset, request=request)
    page = _page(request, filterset.qs)
    return render(
        request, "ledger/household_list.html", _list_context(request, filterset, page, "households")
    )


def _serving_posts(grid: Unit | None) -> list[Post]:
    """谁服务我: the active posts at the grid and each unit above it up to the village."""
    if grid is None:
        return []
    return list(
        Post.objects.active()
        .filter(unit__path__in=Unit.path_prefixes(grid.path), unit__level__rank__gte=VILLAGE_RANK)
        .exclude(role=Role.DEPARTMENT_USER)
        .select_related("user", "unit")
        .order_by("-unit__depth", "role", "id")
    )


@login_required
def household_detail(request, number):
    _require(request)
    user = request.user
    household = _household(request, number)
    members = list(
        household.members.select_related("registered_grid").prefetch_related("tags").order_by("status", "id")
    )
    members.sort(key=lambda m: m.status != ResidentStatus.PRESENT)
    _mask_rows(members)
    heads = sum(1 for m in members if m.status == ResidentStatus.PRESENT and m.relation == Relation.HEAD)
    landlord_phone = None
    if household.is_rental:  # shown (and, when unmasked, logged) only where the page shows it
        landlord_phone = privacy.personal_values(household, ["landlord_phone"], user, reveal=True)
        landlord_phone = landlord_phone["landlord_phone"]
    history = sorted(
        [
            *history_for(household)[:HISTORY_LIMIT],
            *_changes_of(Resident, [m.pk for m in members])[:HISTORY_LIMIT],
        ],
        key=lambda e: (e.time, e.pk),
        reverse=True,
    )[:HISTORY_LIMIT]
    serving = [("residence", household.grid, _serving_posts(household.grid))]
    if household.registered_grid_id:
        serving.append(("registration", household.registered_grid, _serving_posts(household.registered_grid)))
    is_active = household.status == HouseholdStatus.ACTIVE
    described = _history(
        history, user, name_members=True, full_birth_dates={m.pk for m in members if not m.id_number}
    )
    for item in described:  # a review changes no field: its row says so in words
        changes = item["entry"].changes or {}
        if "reviewed" in changes:
            item["note"] = _review_note(changes["reviewed"])
    context = {
        "household": household,
        "members": members,
        "present_count": sum(1 for m in members if m.status == ResidentStatus.PRESENT),
        "grid_visible": _unit_visible(user, household.grid),
        "registered_grid_visible": _unit_visible(user, household.registered_grid),
        "landlord_phone": landlord_phone,
        "serving": serving,
        "cases": Case.objects.visible_to(user)
        .filter(households=household)
        .order_by("-created_at", "-id")[:CASE_LIMIT],
        "visits": household_visits(household),
        # Members are shown masked here: their dates of birth only in full for those without an ID number.
        "history": described,
        "can_manage": services.keeps(user, household),
        "is_active": is_active,
        # 核查 (INFO-2): when and by whom the record was last confirmed; overdue after the period.
        "review_overdue": is_active
        and (household.reviewed_at is None or household.reviewed_at < services.review_cutoff()),
        "review_months": settings.WANGGE_REVIEW_MONTHS,
        "review_note_length": services.REVIEW_NOTE_LENGTH,
        "head_count": heads,
        "head_warning": household.status == HouseholdStatus.ACTIVE and heads != 1,
        "close_form": forms.CloseHouseholdForm(),
        "section": "households",
        "sections": SECTIONS,
    }
    return render(request, "ledger/household_detail.html", context)


def _review_note(note: str) -> str:
    label = _("Reviewed, unchanged (核查无变化)")
    return f"{label}: {note}" if note else label


@login_required
@require_POST
def household_review(request, number):
    """核查无变化: the keeper confirms the household's record is still right (INFO-2). Staff who only read
    the record (registration grid, a post without MANAGE_LEDGERS) are refused like on its forms."""
    _require(request, Capability.MANAGE_LEDGERS)
    household = _household(request, number)
    if refusal := _refuse_unless_kept(request, household):
        return refusal
    try:
        services.review_household(household, by=request.user, note=request.POST.get("note", ""))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("Household %(number)s reviewed: recorded as unchanged.") % {"number": household.number},
        )
    return redirect(household)


@login_required
def household_create(request):
    _require(request, Capability.MANAGE_LEDGERS)
    user = request.user
    data = request.POST if request.method == "POST" else None
    form = forms.HouseholdForm(data, user=user, initial={"grid": request.GET.get("grid", "")})
    if data is not None and form.is_valid():
        household = _save(form, lambda: services.create_household(by=user, **form.service_kwargs()))
        if household is not None:
            messages.success(request, _("Household %(number)s created.") % {"number": household.number})
            return redirect(household)
    return _form_page(
        request,
        "ledger/household_form.html",
        {"form": form, "title": _("New household"), "section": "households"},
    )


@login_required
def household_edit(request, number):
    _require(request, Capability.MANAGE_LEDGERS)
    user = request.user
    household = _household(request, number)
    if refusal := _refuse_unless_kept(request, household):
        return refusal
    data = request.POST if request.method == "POST" else None
    form = forms.HouseholdForm(data, instance=household, user=user)
    if data is not None and form.is_valid():
        saved = _save(form, lambda: services.update_household(household, by=user, **form.service_kwargs()))
        if saved is not None:
            messages.success(request, _("Household %(number)s saved.") % {"number": saved.number})
            return redirect(saved)
    return _form_page(
        request,
        "ledger/household_form.html",
        {
            "form": form,
            "household": household,
            "title": _("Edit household %(number)s") % {"number": household.number},
            "section": "households",
        },
    )


@login_required
def household_move(request, number):
    """搬迁: the household moves to another grid; its members go with it, its history stays."""
    _require(request, Capability.MANAGE_LEDGERS)
    user = request.user
    household = _household(request, number)
    if refusal := _refuse_unless_kept(request, household):
        return refusal
    data = request.POST if request.method == "POST" else None
    form = forms.MoveHouseholdForm(data, user=user, household=household)
    if data is not None and form.is_valid():
        moved = _save(
            form,
            lambda: services.move_household(
                household, form.cleaned_data["grid"], by=user, note=form.cleaned_data["note"]
            ),
        )
        if moved is not None:
            messages.success(
                request,
                _("Household %(number)s now lives in %(grid)s.")
                % {"number": moved.number, "grid": form.cleaned_data["grid"].name},
            )
            return redirect(moved)
    return _form_page(
        request,
        "ledger/household_move.html",
        {
            "form": form,
            "household": household,
            "title": _("Move household %(number)s") % {"number": household.number},
            "section": "households",
        },
    )


@login_required
def household_close(request, number):
    """销户: the household is closed and kept; refused while people are on its register."""
    _require(request, Capability.MANAGE_LEDGERS)
    user = request.user
    household = _household(request, number)
    if refusal := _refuse_unless_kept(request, household):
        return refusal
    if household.status != HouseholdStatus.ACTIVE:
        messages.error(request, _("Household %(number)s is closed already.") % {"number": household.number})
        return redirect(household)
    data = request.POST if request.method == "POST" else None
    form = forms.CloseHouseholdForm(data)
    if data is not None and form.is_valid():
        closed = _save(
            form, lambda: services.close_household(household, by=user, note=form.cleaned_data["note"])
        )
        if closed is not None:
            messages.success(request, _("Household %(number)s is closed.") % {"number": closed.number})
            return redirect(closed)
    return _form_page(
        request,
        "ledger/_form_page.html",
        {
            "form": form,
            "household": household,
            "title": _("Close household %(number)s") % {"number": household.number},
            "intro": _(
                "A closed household (销户) stays in the ledger with its history. Members still on the "
                "register must first be moved out, marked deceased or moved to another household."
            ),
            "submit_label": _("Close the household"),
            "danger": True,
            "cancel_url": household.get_absolute_url(),
            "section": "households",
        },
    )


# ---------------------------------------------------------------------------------------------------
# Residents


@login_required
def resident_list(request):
    """Search residents by name, tag, unit and status (GET), or by exact ID number or phone (POST); always
    masked. An exact search is POSTed, checked, and answered with a 303 to the list filtered by the value's
    blind index (`id_key` / `phone_key`), so no full ID number or phone lands in a URL, a server log, the
    browser history or the language form's `next`. Old plaintext parameters are dropped unread."""
    _require(request)
    if request.method != "POST" and any(name in request.GET for name in PLAINTEXT_SEARCH_PARAMS):
        query = _query_without(request, *PLAINTEXT_SEARCH_PARAMS)
        return redirect(f"{request.path}?{query}" if query else request.path)
    search_form = ExactSearchForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and search_form.is_valid():
        params = request.GET.copy()
        for name in ("page", *EXACT_SEARCH_KEYS, *PLAINTEXT_SEARCH_PARAMS):
            params.pop(name, None)
        for name, value in search_form.search_params.items():
            params[name] = value
        response = redirect(f"{request.path}?{params.urlencode()}")
        response.status_code = 303  # See Other: the browser GETs the list; a reload does not re-POST
        return response
    queryset = (
        Resident.objects.visible_to(request.user)
        .select_related("household__grid", "registered_grid")
        .prefetch_related("tags")
        .order_by("household__number", "id")
    )
    filterset = ResidentFilter(request.GET, queryset=queryset, request=request)
    # A refused exact search lists nobody rather than everybody (and its value is not echoed).
    page = _page(request, queryset.none() if search_form.is_bound else filterset.qs)
    _mask_rows(page.object_list)
    context = _list_context(request, filterset, page, "residents")
    exact = filterset.form.cleaned_data if filterset.form.is_valid() else {}
    search_query = _query_without(request, "page", *EXACT_SEARCH_KEYS)
    context.update(
        {
            "search_form": search_form,
            "search_action": f"{request.path}?{search_query}" if search_query else request.path,
            "exact_id": bool(exact.get("id_key")),
            "exact_phone": bool(exact.get("phone_key")),
            "clear_exact_query": search_query,
        }
    )
    return render(request, "ledger/resident_list.html", context)


@login_required
def resident_detail(request, pk):
    _require(request)
    user = request.user
    resident = _resident(request, pk)
    household = resident.household
    organisation = resident.party_organisation
    personal = privacy.personal_values(resident, ["id_number", "phone"], user, reveal=True)
    unmasked = not personal["id_number"].is_masked  # no ID number, or shown (and logged) unmasked
    context = {
        "resident": resident,
        "household": household,
        "personal": personal,
        "birth_date": birth_date_shown(resident, unmasked=unmasked),
        "birth_date_full": unmasked or not resident.id_number,
        "tags": list(resident.tags.all()),
        "organisation_visible": organisation is not None
        and Organisation.objects.visible_to(user).filter(pk=organisation.pk).exists(),
        "registration_grid": resident.registered_grid or household.registered_grid,
        "grid_visible": _unit_visible(user, household.grid),
        "history": _history(
            history_for(resident)[:HISTORY_LIMIT],
            user,
            full_birth_dates={resident.pk} if unmasked or not resident.id_number else (),
        ),
        "can_manage": services.keeps(user, resident),
        "section": "residents",
        "sections": SECTIONS,
    }
    return render(request, "ledger/resident_detail.html", context)


@login_required
def resident_create(request, number):
    _require(request, Capability.MANAGE_LEDGERS)
    user = request.user
    household = _household(request, number)
    if refusal := _refuse_unless_kept(request, household):
        return refusal
    data = request.POST if request.method == "POST" else None
    form = forms.ResidentForm(data, user=user, household=household)
    if data is not None and form.is_valid():
        resident = _save(
            form, lambda: services.create_resident(by=user, household=household, **form.service_kwargs())
        )
        if resident is not None:
            messages.success(
                request,
                _("%(name)s added to household %(number)s.")
                % {"name": resident.name, "number": household.number},
            )
            return redirect(resident)
    return _form_page(
        request,
        "ledger/resident_form.html",
        {
            "form": form,
            "household": household,
            "title": _("New member of household %(number)s") % {"number": household.number},
            "section": "residents",
        },
    )


@login_required
def resident_edit(request, pk):
    _require(request, Capability.MANAGE_LEDGERS)
    user = request.user
    resident = _resident(request, pk)
    if refusal := _refuse_unless_kept(request, resident):
        return refusal
    data = request.POST if request.method == "POST" else None
    form = forms.ResidentForm(data, instance=resident, user=user)
    if data is not None and form.is_valid():
        saved = _save(form, lambda: services.update_resident(resident, by=user, **form.service_kwargs()))
        if saved is not None:
            messages.success(request, _("%(name)s saved.") % {"name": saved.name})
            return redirect(saved)
    return _form_page(
        request,
        "ledger/resident_form.html",
        {
            "form": form,
            "resident": resident,
            "household": resident.household,
            "title": _("Edit %(name)s") % {"name": resident.name},
            "section": "residents",
        },
    )


@login_required
def resident_status(request, pk):
    """迁出 / 死亡 / back on the register: the record stays, the change is dated and logged."""
    _require(request, Capability.MANAGE_LEDGERS)
    user = request.user
    resident = _resident(request, pk)
    if refusal := _refuse_unless_kept(request, resident):
        return refusal
    data = request.POST if request.method == "POST" else None
    form = forms.ResidentStatusForm(data, resident=resident)
    if data is not None and form.is_valid():
        saved = _save(
            form,
            lambda: services.set_resident_status(
                resident,
                form.cleaned_data["status"],
                by=user,
                on=form.cleaned_data["status_date"],
                note=form.cleaned_data["note"],
            ),
        )
        if saved is not None:
            messages.success(
                request,
                _("%(name)s: %(status)s.") % {"name": saved.name, "status": saved.get_status_display()},
            )
            return redirect(saved)
    return _form_page(
        request,
        "ledger/resident_status.html",
        {
            "form": form,
            "resident": resident,
            "title": _("Change the status of %(name)s") % {"name": resident.name},
            "section": "residents",
        },
    )


# ---------------------------------------------------------------------------------------------------
# Places and organisations


@login_required
def place_list(request):
    _require(request)
    queryset = (
        Place.objects.visible_to(request.user).select_related("unit").order_by("unit__path", "kind", "name")
    )
    filterset = PlaceFilter(request.GET, queryset=queryset, request=request)
    page = _page(request, filterset.qs)
    return render(request, "ledger/place_list.html", _list_context(request, filterset, page, "places"))


@login_required
def place_detail(request, pk):
    _require(request)
    place = get_visible_or_404(Place.objects.select_related("unit"), request.user, pk=pk)
    context = {
        "place": place,
        "history": _history(history_for(place)[:HISTORY_LIMIT], request.user),
        "can_manage": services.keeps(request.user, place),
        "section": "places",
        "sections": SECTIONS,
    }
    return render(request, "ledger/place_detail.html", context)


def _create_on_unit(request, form_class, create, *, template: str, title: str, section: str):
    """The create page of a place or an organisation: both hang on a unit and go through one service."""
    _require(request, Capability.MANAGE_LEDGERS)
    user = request.user
    data = request.POST if request.method == "POST" else None
    form = form_class(data, user=user, initial={"unit": request.GET.get("unit", "")})
    if data is not None and form.is_valid():
        created = _save(form, lambda: create(by=user, **form.service_kwargs()))
        if created is not None:
            messages.success(request, _("%(name)s added.") % {"name": created.name})
            return redirect(created)
    return _form_page(request, template, {"form": form, "title": title, "section": section})


def _edit_on_unit(request, model, pk, form_class, update, *, template: str, name: str, section: str):
    """The edit page of a place or an organisation, for those who keep it."""
    _require(request, Capability.MANAGE_LEDGERS)
    user = request.user
    obj = get_visible_or_404(model.objects.select_related("unit"), user, pk=pk)
    if refusal := _refuse_unless_kept(request, obj):
        return refusal
    data = request.POST if request.method == "POST" else None
    form = form_class(data, instance=obj, user=user)
    if data is not None and form.is_valid():
        saved = _save(form, lambda: update(obj, by=user, **form.service_kwargs()))
        if saved is not None:
            messages.success(request, _("%(name)s saved.") % {"name": saved.name})
            return redirect(saved)
    context = {"form": form, name: obj, "title": _("Edit %(name)s") % {"name": obj.name}, "section": section}
    return _form_page(request, template, context)


@login_required
def place_create(request):
    return _create_on_unit(
        request,
        forms.PlaceForm,
        services.create_place,
        template="ledger/place_form.html",
        title=_("New place or thing"),
        section="places",
    )


@login_required
def place_edit(request, pk):
    return _edit_on_unit(
        request,
        Place,
        pk,
        forms.PlaceForm,
        services.update_place,
        template="ledger/place_form.html",
        name="place",
        section="places",
    )


@login_required
def organisation_list(request):
    _require(request)
    queryset = (
        Organisation.objects.visible_to(request.user)
        .select_related("unit")
        .order_by("unit__path", "kind", "name")
    )
    filterset = OrganisationFilter(request.GET, queryset=queryset, request=request)
    page = _page(request, filterset.qs)
    return render(
        request, "ledger/organisation_list.html", _list_context(request, filterset, page, "organisations")
    )


@login_required
def organisation_detail(request, pk):
    _require(request)
    user = request.user
    organisation = get_visible_or_404(Organisation.objects.select_related("unit"), user, pk=pk)
    is_party = organisation.kind in PARTY_ORGANISATION_KINDS
    members = None
    if is_party:
        members = _page(
            request,
            Resident.objects.visible_to(user)
            .filter(party_organisation=organisation, status=ResidentStatus.PRESENT)
            .select_related("household__grid")
            .order_by("household__number", "id"),
        )
    context = {
        "organisation": organisation,
        "is_party": is_party,
        "members": members,
        "page_query": _query_without(request, "page"),
        "history": _history(history_for(organisation)[:HISTORY_LIMIT], user),
        "can_manage": services.keeps(user, organisation),
        "section": "organisations",
        "sections": SECTIONS,
    }
    return render(request, "ledger/organisation_detail.html", context)


@login_required
def organisation_create(request):
    return _create_on_unit(
        request,
        forms.OrganisationForm,
        services.create_organisation,
        template="ledger/organisation_form.html",
        title=_("New organisation"),
        section="organisations",
    )


@login_required
def organisation_edit(request, pk):
    return _edit_on_unit(
        request,
        Organisation,
        pk,
        forms.OrganisationForm,
        services.update_organisation,
        template="ledger/organisation_form.html",
        name="organisation",
        section="organisations",
    )


# ---------------------------------------------------------------------------------------------------
# The data resource catalogue (数据资源目录, INFO-5)

DESCRIPTIONS = {
    "households": gettext_lazy(
        "Every household at its address: the grid it lives in and, when it differs, the grid of its "
        "household register (户籍); whether it is rented out and who lets it. Reviewed (核查) periodically "
        "when nothing changes."
    ),
    "residents": gettext_lazy(
        "Every person of a household: identity, relation to the householder, residence and registration, "
        "occupation, political status and party organisation, attention tags, and whether they are still "
        "on the register."
    ),
    "places": gettext_lazy(
        "Buildings, shops, schools, hazards, water sources, service stations and other places and things "
        "on a unit, with their location, published duty contact and risk level."
    ),
    "organisations": gettext_lazy(
        "Social organisations, enterprises, village councils and the party branches and groups of the "
        "grids, with their published contact and number of members."
    ),
    "released_prisoner": gettext_lazy(
        "Released prisoners: original offence and sentence, release, handover, resettlement, risk "
        "assessment and the help they get."
    ),
    "community_correction": gettext_lazy(
        "People under community correction: category, period, supervision and the help they get."
    ),
    "mental_health": gettext_lazy(
        "People with a severe mental disorder: diagnosis, guardian, risk grade, treatment and assistance."
    ),
    "drug_user": gettext_lazy("Drug users: when first found, control status, drug and the help they get."),
    "key_youth": gettext_lazy("Key youth: group, guardian, means of help and offending."),
    "key_persons": gettext_lazy(
        "Key persons: each listing from application through approval to delisting, with its category, "
        "reason and attention level; every step is decided by the level above the applying unit."
    ),
}
# What "current" means per ledger (the lists' default view); places and organisations have no such state.
CURRENT_LABELS = {
    "households": gettext_lazy("active"),
    "residents": gettext_lazy("on the register"),
    "special": gettext_lazy("followed"),
    "key_persons": gettext_lazy("open listings"),
}
KEY_PERSON_ITEMS = ("resident", "category", "reason", "attention_level", "state")
# The ledgers kept in files too (import, export), with what their lists show by default.
FILE_LEDGERS = (
    (ImportKind.HOUSEHOLDS, Household, Q(status=HouseholdStatus.ACTIVE)),
    (ImportKind.RESIDENTS, Resident, Q(status=ResidentStatus.PRESENT)),
    (ImportKind.PLACES, Place, None),
    (ImportKind.ORGANISATIONS, Organisation, None),
)


@dataclasses.dataclass
class CatalogueEntry:
    """One ledger of the catalogue: what it holds, who keeps it, its data items and its figures in scope."""

    key: str
    title: str
    description: str
    keepers: list[str]
    personal: list[str]
    list_url: str
    list_label: str
    total: int = 0
    current: int | None = None  # None where every record is current (places, organisations)
    current_label: str = ""
    last_change: datetime.datetime | None = None
    import_kind: str = ""
    columns: tuple = ()  # columns.Column of the kind's files
    items: list[str] = dataclasses.field(default_factory=list)  # data items of a record kept on pages only
    approvers: list[str] = dataclasses.field(default_factory=list)


def _roles_with(capability: str) -> list[str]:
    """The display names of the roles that carry `capability` (the technical administrator left out)."""
    return [
        str(label)
        for value, label in Role.choices
        if value not in GLOBAL_ROLES and capability in ROLE_CAPABILITIES[value]
    ]


def _personal_fields(model) -> list[str]:
    """The model's personal data: encrypted at rest, masked on display (core.pii, decision 0007)."""
    return [_label(f) for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]


def _figures(entry: CatalogueEntry, queryset, current: Q | None = None) -> CatalogueEntry:
    """The records in the user's scope, the current ones, and the time of the last change: one query."""
    figures = {"total": Count("pk"), "last_change": Max("updated_at")}
    if current is not None:
        figures["current"] = Count("pk", filter=current)
    for name, value in queryset.aggregate(**figures).items():
        setattr(entry, name, value)
    return entry


def _top_unit(user) -> Unit | None:
    """The highest unit of the user's posts that open the ledgers (the first one, when several)."""
    roles = [value for value in Role.values if Capability.VIEW_LEDGERS in ROLE_CAPABILITIES[value]]
    post = (
        Post.objects.active()
        .filter(user=user, role__in=roles)
        .select_related("unit__level")
        .order_by("unit__depth", "unit__path")
        .first()
    )
    if post is not None:
        return post.unit
    if user.scope.is_global:
        return Unit.objects.current().filter(depth=1).select_related("level").order_by("path").first()
    return None


def catalogue_entries(user) -> list[CatalogueEntry]:
    """Every ledger with its description, keepers, personal data, file columns and figures in scope."""
    from .specials import SPECIAL_KINDS, kind_fields  # specials builds on services, not on the views

    keepers = _roles_with(Capability.MANAGE_LEDGERS)
    entries = []
    for kind, model, current in FILE_LEDGERS:
        entry = CatalogueEntry(
            key=kind,
            title=capfirst(model._meta.verbose_name_plural),
            description=str(DESCRIPTIONS[kind]),
            keepers=keepers,
            personal=_personal_fields(model),
            list_url=reverse(f"ledger:{kind}"),
            list_label=capfirst(model._meta.verbose_name_plural),
            current_label=str(CURRENT_LABELS.get(kind, "")),
            import_kind=kind,
            columns=columns_for(kind),
        )
        entries.append(_figures(entry, model.objects.visible_to(user), current))
    tag_names = dict(AttentionTag.objects.values_list("code", "name"))
    for kind, model in SPECIAL_KINDS.items():
        entry = CatalogueEntry(
            key=kind,
            title=capfirst(model._meta.verbose_name_plural),
            description=str(DESCRIPTIONS[kind]),
            keepers=keepers,
            personal=_personal_fields(model),
            list_url=f"{reverse('ledger:residents')}?{urlencode({'tag': model.tag_code})}",
            list_label=_("Residents tagged %(tag)s") % {"tag": tag_names.get(model.tag_code, model.tag_code)},
            current_label=str(CURRENT_LABELS["special"]),
            items=[_label(model._meta.get_field(name)) for name in kind_fields(kind)],
        )
        entries.append(_figures(entry, model.objects.visible_to(user), Q(is_closed=False)))
    entry = CatalogueEntry(
        key="key_persons",
        title=capfirst(KeyPersonListing._meta.verbose_name_plural),
        description=str(DESCRIPTIONS["key_persons"]),
        keepers=keepers,
        personal=[],
        list_url=reverse("ledger:key_persons"),
        list_label=capfirst(KeyPersonListing._meta.verbose_name_plural),
        current_label=str(CURRENT_LABELS["key_persons"]),
        items=[_label(KeyPersonListing._meta.get_field(name)) for name in KEY_PERSON_ITEMS],
        approvers=_roles_with(Capability.APPROVE_KEY_PERSONS),
    )
    entries.append(
        _figures(entry, KeyPersonListing.objects.visible_to(user), Q(state__in=OPEN_LISTING_STATES))
    )
    return entries


@login_required
@require_safe
def catalogue(request):
    """数据资源目录 (INFO-5): what each ledger holds, who keeps it, its personal data, the columns of its
    files with their rules, its records in the user's area and their last change; and, level by level,
    the share of households reviewed within the period below the user's highest unit."""
    _require(request)
    user = request.user
    top = _top_unit(user)
    review_total, review_children = None, []
    if top is not None:
        children = list(top.children().current().select_related("level").order_by("code"))
        review_total, review_children = review_by_child(user, top, children, services.review_cutoff())
    context = {
        "entries": catalogue_entries(user),
        "top_unit": top,
        "review_total": review_total,
        "review_children": review_children,
        "review_months": settings.WANGGE_REVIEW_MONTHS,
        "readers": _roles_with(Capability.VIEW_LEDGERS),
        "unmaskers": _roles_with(Capability.VIEW_PERSONAL_DATA),
        "export_formats": EXPORT_FORMATS,
        "can_manage": _can_manage(user),
        "section": "catalogue",
        "sections": SECTIONS,
    }
    return render(request, "ledger/catalogue.html", context)
