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
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.cases.models import Case
from wangge.core.audit import history_for
from wangge.core.forms import apply_service_errors
from wangge.core.models import ChangeLog
from wangge.core.scope import get_visible_or_404
from wangge.people.models import Post
from wangge.people.roles import Capability, Role
from wangge.units.models import Unit

from . import forms, privacy, services
from .choices import PARTY_ORGANISATION_KINDS, HouseholdStatus, Relation, ResidentStatus
from .filters import (
    EXACT_SEARCH_KEYS,
    PLAINTEXT_SEARCH_PARAMS,
    ExactSearchForm,
    HouseholdFilter,
    OrganisationFilter,
    PlaceFilter,
    ResidentFilter,
)
from .models import AttentionTag, Household, ImportKind, Organisation, Place, Resident

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


def _keeps(user, obj) -> bool:
    """Whether the user may change this record: it lives under a post of theirs granting MANAGE_LEDGERS."""
    return _can_manage(user) and type(obj).objects.writable_by(user).filter(pk=obj.pk).exists()


def _refuse_unless_kept(request, obj) -> HttpResponse | None:
    """The 403 page of a form for a record the user sees but does not keep, or None when they keep it."""
    if _keeps(request.user, obj):
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
        # Members are shown masked here: their dates of birth only in full for those without an ID number.
        "history": _history(
            history, user, name_members=True, full_birth_dates={m.pk for m in members if not m.id_number}
        ),
        "can_manage": _keeps(user, household),
        "is_active": household.status == HouseholdStatus.ACTIVE,
        "head_count": heads,
        "head_warning": household.status == HouseholdStatus.ACTIVE and heads != 1,
        "close_form": forms.CloseHouseholdForm(),
        "section": "households",
        "sections": SECTIONS,
    }
    return render(request, "ledger/household_detail.html", context)


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
        "can_manage": _keeps(user, resident),
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
        "can_manage": _keeps(request.user, place),
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
        "can_manage": _keeps(user, organisation),
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
