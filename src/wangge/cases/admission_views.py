"""The admission list pages (准入事项清单, WORK-4): a keeper's list with its pending requests, the request
form a refused dispatcher comes to, and the keepers' steps (add, remove, approve, refuse).

Keepers and items are fetched through `AdmissionItem.objects.visible_to`'s rule: a list is seen at, above
and below its keeper, so another township's list answers 404; a user with no post gets 403. Every write
goes through wangge.cases.admission, which checks KEEP_ADMISSION_LIST and the requester's post.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case as SqlCase
from django.db.models import IntegerField, Q, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from wangge.core.forms import apply_service_errors
from wangge.core.scope import scope_for
from wangge.units.models import Unit

from . import admission
from .choices import AdmissionBasis, AdmissionRequestStatus
from .models import AdmissionItem, AdmissionRequest, Case, Category

PAGE_SIZE = 50


def _require_post(request):
    if request.user.scope.is_empty:
        raise PermissionDenied(_("You hold no active post."))


def visible_keepers(user):
    """Units that keep (or could keep) a list the user may see: the county and townships at or above the
    user's units, and those below them."""
    scope = scope_for(user)
    keepers = Unit.objects.current().filter(level__rank__in=admission.KEEPER_RANKS)
    if scope.is_global:
        return keepers
    above = sorted({prefix for path in scope.paths for prefix in Unit.path_prefixes(path)})
    return keepers.filter(Q(path__in=above) | scope.path_q("path"))


def _keeper(request, code: str) -> Unit:
    keeper = visible_keepers(request.user).filter(code=code).select_related("level").first()
    if keeper is None:
        raise Http404
    return keeper


def _default_keeper(user) -> Unit | None:
    """The list in force for the user's own unit, else the nearest county or township above it."""
    unit = user.primary_unit()
    if unit is None:
        return visible_keepers(user).order_by("depth", "path").first()
    keeper = admission.keeper_in_force(unit)
    if keeper is not None:
        return keeper
    return (
        Unit.objects.filter(path__in=Unit.path_prefixes(unit.path), level__rank__in=admission.KEEPER_RANKS)
        .order_by("-depth")
        .first()
    )


def _query_without(request, name: str) -> str:
    params = request.GET.copy()
    params.pop(name, None)
    return params.urlencode()


# ---------------------------------------------------------------------------------------------------
# Forms


class AdmissionCategoryField(forms.ChoiceField):
    """A top category (admitting all its subcategories) or a subcategory, grouped by top category."""

    def load(self):
        self.lookup: dict[str, Category] = {}
        groups: dict[int, tuple[str, list]] = {}
        categories = Category.objects.filter(is_active=True).select_related("parent").order_by("code")
        for category in categories:
            self.lookup[str(category.pk)] = category
            if category.parent_id is None:
                label = _("%(category)s (all its subcategories)") % {"category": category}
                groups.setdefault(category.pk, (str(category), []))[1].insert(0, (str(category.pk), label))
            else:
                groups.setdefault(category.parent_id, (str(category.parent), []))[1].append(
                    (str(category.pk), str(category))
                )
        self.choices = [("", "—"), *groups.values()]

    def clean(self, value):
        value = super().clean(value)
        return self.lookup.get(value) if value else None


class ItemForm(forms.Form):
    category = AdmissionCategoryField(label=gettext_lazy("Category"))
    basis = forms.ChoiceField(label=gettext_lazy("Basis"), choices=AdmissionBasis.choices)
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("The law, document or decision it rests on, and any conditions."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].load()


class RequestForm(forms.Form):
    keeper = forms.ChoiceField(label=gettext_lazy("Admission list of"))
    category = AdmissionCategoryField(label=gettext_lazy("Category"))
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "Why grids should take on this task type, and what training, conditions and support come with it."
        ),
    )
    case = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, keepers: list[Unit], **kwargs):
        super().__init__(*args, **kwargs)
        self.keepers = {k.code: k for k in keepers}
        self.fields["keeper"].choices = [(k.code, f"{k.name} ({k.level.name})") for k in keepers]
        self.fields["category"].load()

    def clean_keeper(self):
        return self.keepers[self.cleaned_data["keeper"]]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "approve"), ("refuse", "refuse")], widget=forms.HiddenInput
    )
    note = forms.CharField(
        label=gettext_lazy("Decision note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


# ---------------------------------------------------------------------------------------------------
# Pages


@login_required
@require_http_methods(["GET"])
def admission_list(request):
    """One keeper's list, grouped by top category, and its requests (pending ones first)."""
    _require_post(request)
    user = request.user
    code = request.GET.get("keeper", "")
    keeper = _keeper(request, code) if code else _default_keeper(user)
    if keeper is None:
        raise Http404
    items = (
        AdmissionItem.objects.filter(keeper=keeper)
        .select_related("category__parent", "added_by", "request")
        .order_by("category__code")
    )
    item_page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(item_page.object_list)
    for item in rows:
        item.top = item.category.parent or item.category
    requests = (
        AdmissionRequest.objects.visible_to(user)
        .filter(keeper=keeper)
        .select_related(
            "category__parent",
            "requested_by",
            "requesting_unit",
            "requesting_department",
            "decided_by",
            "case",
        )
        .annotate(
            pending_first=SqlCase(
                When(status=AdmissionRequestStatus.PENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("pending_first", "-requested_at", "-id")
    )
    request_page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("rpage"))
    can_keep = admission.may_keep(user, keeper)
    in_force = keeper if item_page.paginator.count else admission.keeper_in_force(keeper)
    return render(
        request,
        "cases/admission.html",
        {
            "keeper": keeper,
            "in_force": in_force,
            "page": item_page,
            "rows": rows,
            "page_query": _query_without(request, "page"),
            "request_page": request_page,
            "request_query": _query_without(request, "rpage"),
            "can_keep": can_keep,
            "can_request": admission.requester_for(user, keeper) is not None,
            "item_form": ItemForm() if can_keep else None,
            "keepers": list(visible_keepers(user).filter(depth__lte=keeper.depth + 1).order_by("path")[:60]),
        },
    )


def _requestable_keepers(user) -> list[Unit]:
    return [
        k
        for k in visible_keepers(user).select_related("level").order_by("path")
        if admission.requester_for(user, k)
    ]


@login_required
@require_http_methods(["GET", "POST"])
def admission_request(request):
    """Ask a keeper to admit a task type; ?case=<id> comes from a refused dispatch and fills the form."""
    _require_post(request)
    user = request.user
    keepers = _requestable_keepers(user)
    if not keepers:
        raise PermissionDenied(
            _(
                "Admission to a list is requested by those who dispatch cases under it, or by a department serving it."
            )
        )
    if request.method == "POST":
        form = RequestForm(request.POST, keepers=keepers)
        if form.is_valid():
            data = form.cleaned_data
            case = None
            if data["case"]:
                case = Case.objects.visible_to(user).filter(pk=data["case"]).first()
            try:
                admission.request_admission(
                    keeper=data["keeper"],
                    category=data["category"],
                    by=user,
                    reason=data["reason"],
                    case=case,
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Your request to admit %(category)s is sent to %(keeper)s.")
                    % {"category": data["category"].name, "keeper": data["keeper"].name},
                )
                return redirect(admission.list_url(data["keeper"]))
    else:
        initial = {}
        case_pk = request.GET.get("case", "")
        if case_pk:
            case = (
                Case.objects.visible_to(user)
                .filter(pk=case_pk if case_pk.isdigit() else 0)
                .select_related("unit", "category")
                .first()
            )
            if case is None:
                raise Http404
            initial["case"] = case.pk
            if case.category_id:
                initial["category"] = str(case.category_id)
            keeper = admission.keeper_in_force(case.unit)
            if keeper is not None:
                initial["keeper"] = keeper.code
        if request.GET.get("keeper"):
            initial["keeper"] = request.GET["keeper"]
        if request.GET.get("category"):
            category = Category.objects.filter(code=request.GET["category"]).first()
            if category is not None:
                initial["category"] = str(category.pk)
        form = RequestForm(keepers=keepers, initial=initial)
    return render(request, "cases/admission_request.html", {"form": form})


@login_required
@require_POST
def admission_decide(request, pk):
    _require_post(request)
    pending = AdmissionRequest.objects.visible_to(request.user).select_related("keeper").filter(pk=pk).first()
    if pending is None:
        raise Http404
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to approve or refuse."))
        return redirect(admission.list_url(pending.keeper))
    approve = form.cleaned_data["decision"] == "approve"
    try:
        decided = admission.decide_request(
            pending, by=request.user, approve=approve, note=form.cleaned_data["note"]
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("%(category)s: %(status)s.")
            % {"category": decided.category.name, "status": decided.get_status_display()},
        )
    return redirect(admission.list_url(pending.keeper))


@login_required
@require_POST
def admission_add_item(request):
    _require_post(request)
    keeper = _keeper(request, request.POST.get("keeper", ""))
    admission.check_may_keep(request.user, keeper)
    form = ItemForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            admission.add_item(
                keeper=keeper,
                category=data["category"],
                by=request.user,
                basis=data["basis"],
                note=data["note"],
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(
                request, _("%(category)s is added to the list.") % {"category": data["category"].name}
            )
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect(admission.list_url(keeper))


@login_required
@require_POST
def admission_remove_item(request, pk):
    _require_post(request)
    item = (
        AdmissionItem.objects.visible_to(request.user)
        .select_related("keeper", "category")
        .filter(pk=pk)
        .first()
    )
    if item is None:
        raise Http404
    keeper, name = item.keeper, item.category.name
    admission.remove_item(item, by=request.user)
    messages.success(request, _("%(category)s is taken off the list.") % {"category": name})
    return redirect(admission.list_url(keeper))
