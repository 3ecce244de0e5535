"""Pages of the special-population records and the key-person listings.

A resident or listing is fetched with `get_visible_or_404` (out of scope and missing both answer 404); a
user without a post gets 403, and so does a step the role does not allow. Every write goes through
ledger.specials; its ValidationErrors land on the form field they name, or as a message on the page the
user came from.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.forms.models import model_to_dict
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from wangge.core.forms import apply_service_errors
from wangge.core.scope import get_visible_or_404
from wangge.people.roles import Capability

from . import services, special_forms, specials
from .choices import OPEN_LISTING_STATES
from .models import KeyPersonListing, Resident
from .privacy import can_unmask, masked, personal_values

PAGE_SIZE = 50


def _require(request, capability: str) -> None:
    """No post: 403 before anything is looked up; then the role must allow the capability."""
    if request.user.scope.is_empty:
        raise PermissionDenied(_("You hold no active post."))
    if not request.user.has_capability(capability):
        raise PermissionDenied(_("Your role does not allow this."))


def _resident(request, pk: int) -> Resident:
    return get_visible_or_404(
        Resident.objects.select_related("household", "household__grid"), request.user, pk=pk
    )


def _require_kept(request, resident: Resident) -> None:
    """Writes are for the staff of where the person lives; registration-grid staff read (403)."""
    if not services.keeps(request.user, resident):
        raise PermissionDenied(_("This record is kept where it lives; you may read it but not change it."))


def _back(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


@login_required
@require_http_methods(["GET", "POST"])
def special_record_edit(request, pk: int, kind: str):
    """Add or edit one special-population record of a resident."""
    if kind not in specials.SPECIAL_KINDS:
        raise Http404
    _require(request, Capability.VIEW_LEDGERS)
    resident = _resident(request, pk)
    _require(request, Capability.MANAGE_LEDGERS)
    _require_kept(request, resident)
    user = request.user
    model = specials.SPECIAL_KINDS[kind]
    record = specials.record_for(resident, kind)
    form_class = special_forms.special_record_form_class(kind)
    personal = [name for name in specials.SPECIAL_PERSONAL_FIELDS if name in form_class.base_fields]
    unmask = can_unmask(user, resident)
    # Those who may not see the number get an empty field with the masked number as placeholder.
    masked_values = (
        None if unmask else {name: masked(getattr(record, name, "") or "", name) for name in personal}
    )

    if request.method == "POST":
        form = form_class(request.POST, masked_values=masked_values)
        if form.is_valid():
            try:
                specials.save_special_record(resident, kind, by=user, **form.service_data())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("%(kind)s of %(name)s saved.")
                    % {"kind": str(model._meta.verbose_name).capitalize(), "name": resident.name},
                )
                return redirect(resident.get_absolute_url())
    else:
        initial = model_to_dict(record, fields=specials.kind_fields(kind)) if record is not None else {}
        if record is not None and personal:
            if unmask:
                shown = personal_values(record, personal, user, reveal=True)  # logs the unmasked view
                initial.update({name: shown[name].value for name in personal})
            else:
                for name in personal:
                    initial.pop(name, None)
        form = form_class(initial=initial, masked_values=masked_values)

    return render(
        request,
        "ledger/special_record_form.html",
        {
            "resident": resident,
            "kind": kind,
            "kind_label": model._meta.verbose_name,
            "record": record,
            "form": form,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def key_person_apply(request, pk: int):
    """列管申请 for one resident."""
    _require(request, Capability.VIEW_LEDGERS)
    resident = _resident(request, pk)
    _require(request, Capability.MANAGE_LEDGERS)
    _require_kept(request, resident)
    if request.method == "POST":
        form = special_forms.KeyPersonApplyForm(request.POST)
        if form.is_valid():
            try:
                specials.apply_listing(resident, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("The listing of %(name)s is applied for; the level above decides.")
                    % {"name": resident.name},
                )
                return redirect(resident.get_absolute_url())
    else:
        form = special_forms.KeyPersonApplyForm()
    open_listing = resident.key_listings.filter(state__in=OPEN_LISTING_STATES).first()
    return render(
        request,
        "ledger/key_person_form.html",
        {"resident": resident, "form": form, "open_listing": open_listing},
    )


def _listing_rows(queryset):
    return queryset.select_related(
        "resident", "resident__household", "resident__household__grid", "applying_unit", "applied_by"
    )


@login_required
@require_http_methods(["GET"])
def key_person_list(request):
    """The key-person listings in scope, filtered by state; approvers see what waits for them first."""
    _require(request, Capability.VIEW_LEDGERS)
    user = request.user
    form = special_forms.KeyPersonFilterForm(request.GET or None)
    listings = KeyPersonListing.objects.visible_to(user)
    state, name = "", ""
    if form.is_bound and form.is_valid():
        state, name = form.cleaned_data["state"], form.cleaned_data["q"].strip()
    if form.is_bound and not form.is_valid():
        listings = listings.none()
    elif state == "all":
        pass
    elif state:
        listings = listings.filter(state=state)
    else:
        listings = listings.filter(state__in=OPEN_LISTING_STATES)
    if name:
        listings = listings.filter(resident__name__icontains=name)
    page = Paginator(_listing_rows(listings).order_by("-applied_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )

    waiting_rows, waiting_count = [], 0
    if user.has_capability(Capability.APPROVE_KEY_PERSONS):
        waiting = _listing_rows(specials.awaiting_decision(user)).select_related("delisting_applied_by")
        waiting_count = waiting.count()
        labels = specials.action_labels()
        for listing in waiting.order_by("applied_at", "id")[:PAGE_SIZE]:
            actions = specials.listing_actions(user, listing)
            waiting_rows.append({"listing": listing, "actions": [(a, labels[a]) for a in actions]})

    from .views import SECTIONS  # the ledger tabs; views.py does not import this module

    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "ledger/key_person_list.html",
        {
            "form": form,
            "page": page,
            "page_query": query.urlencode(),
            "filtered": bool(state or name),
            "waiting": waiting_rows,
            "waiting_count": waiting_count,
            "sections": SECTIONS,
        },
    )


@login_required
@require_POST
def key_person_act(request, pk: int, action: str):
    """One step on a listing: approve or refuse it, apply for delisting, approve or refuse that."""
    if action not in specials.ACTIONS:
        raise Http404
    _require(request, Capability.VIEW_LEDGERS)
    listing = get_visible_or_404(KeyPersonListing.objects.select_related("resident"), request.user, pk=pk)
    needed = Capability.MANAGE_LEDGERS if action == "apply_delisting" else Capability.APPROVE_KEY_PERSONS
    _require(request, needed)
    back = _back(request, listing.resident.get_absolute_url())
    form = special_forms.act_form_class(action)(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else error)
        return redirect(back)
    try:
        listing = specials.ACTIONS[action](listing, by=request.user, **form.cleaned_data)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return redirect(back)
    messages.success(
        request,
        _("%(name)s: %(state)s.") % {"name": listing.resident.name, "state": listing.get_state_display()},
    )
    return redirect(back)
