"""准入事项清单 (WORK-4, seed 000 "建立网格事项准入制度"): the task types a level lets its grids take on.

A county or a township keeps a list: categories admitted by law or regulation, by a superior's rule, or
approved by this level. A top category admits all its subcategories. The list in force for a unit is
the one kept by its nearest ancestor-or-self that has any item; a township that keeps no list of its own
works under the county's, and a unit with no list above it is not restricted at all.

`services.dispatch` calls `check_dispatch`: a case dispatched to a village or a grid (rank 3 and below)
under a list in force must be of an admitted category, or the dispatch is refused on the target's field.
Departments and townships are not restricted. Whoever dispatches may ask the keeper to admit the type
(`request_admission`); holders of KEEP_ADMISSION_LIST over the keeper approve or refuse it
(`decide_request`), and approval adds the item with the basis "approved by this level".
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.audit import diff, record_change, snapshot
from wangge.core.models import ChangeAction
from wangge.core.scope import scope_for
from wangge.notices.models import NotificationKind
from wangge.notices.services import notify, unit_staff
from wangge.people.models import Department
from wangge.people.roles import ROLE_CAPABILITIES, Capability, Role
from wangge.units.models import Unit

from .choices import AdmissionBasis, AdmissionRequestStatus
from .models import AdmissionItem, AdmissionRequest, Case, Category

# Units of these ranks keep lists (县, 乡镇/街道); units of GRID_RANK and below are the grids' side.
KEEPER_RANKS = (1, 2)
GRID_RANK = 3

# The kinds of the notices sent to the keepers when a request arrives and to the requester when decided.
REQUEST_NOTICE = NotificationKind.ADMISSION_REQUESTED
DECISION_NOTICE = NotificationKind.ADMISSION_DECIDED


def list_url(keeper: Unit) -> str:
    return f"{reverse('cases:admission')}?keeper={keeper.code}"


# ---------------------------------------------------------------------------------------------------
# The list in force


def keeper_in_force(unit: Unit) -> Unit | None:
    """The nearest ancestor-or-self of `unit` that keeps a list with at least one item, or None."""
    keeper_id = (
        AdmissionItem.objects.filter(keeper__path__in=Unit.path_prefixes(unit.path))
        .order_by("-keeper__depth")
        .values_list("keeper_id", flat=True)
        .first()
    )
    return Unit.objects.get(pk=keeper_id) if keeper_id is not None else None


def admits(keeper: Unit, category: Category) -> bool:
    """True when the keeper's list holds the category or its top category."""
    wanted = [category.pk] + ([category.parent_id] if category.parent_id else [])
    return AdmissionItem.objects.filter(keeper=keeper, category_id__in=wanted).exists()


def refusing_keeper(category: Category, unit: Unit) -> Unit | None:
    """The keeper whose list in force at `unit` does not admit `category`; None when the case may go."""
    if unit.level.rank < GRID_RANK:
        return None
    keeper = keeper_in_force(unit)
    if keeper is None or admits(keeper, category):
        return None
    return keeper


def refusal_message(category: Category, keeper: Unit) -> str:
    return _(
        "%(category)s is not on the grid admission list of %(keeper)s: it may be dispatched to a grid only "
        "once its admission is approved."
    ) % {"category": category.name, "keeper": keeper.name}


def check_dispatch(case: Case, targets) -> None:
    """Refuse a dispatch that gives a village or grid a task type its list in force does not admit.

    `targets` is the dispatch's [(unit, department), …], the lead first; the error names "lead" or
    "co_handlers". Cases without a category, departments and townships pass.
    """
    category = case.category
    if category is None:
        return
    for index, (unit, _department) in enumerate(targets):
        if unit is None:
            continue
        keeper = refusing_keeper(category, unit)
        if keeper is not None:
            field = "lead" if index == 0 else "co_handlers"
            raise ValidationError(
                {field: ValidationError(refusal_message(category, keeper), code="not_admitted")}
            )


# ---------------------------------------------------------------------------------------------------
# Who may do what


def _check_keeper(keeper: Unit, field: str = "keeper") -> None:
    if keeper.level.rank not in KEEPER_RANKS:
        raise ValidationError(
            {
                field: _("Admission lists are kept by the county and the townships, not by %(unit)s.")
                % {"unit": keeper.name}
            }
        )


def may_keep(user, keeper: Unit) -> bool:
    """Holders of KEEP_ADMISSION_LIST whose post sits at the keeper or above it."""
    return scope_for(user).grants(Capability.KEEP_ADMISSION_LIST, keeper.path)


def check_may_keep(user, keeper: Unit) -> None:
    if not may_keep(user, keeper):
        raise PermissionDenied(
            _(
                "Only the county command centre or a township administrator over %(unit)s keeps its admission list."
            )
            % {"unit": keeper.name}
        )


def _related(path: str, keeper: Unit) -> bool:
    """A unit at, above or below the keeper."""
    return keeper.path.startswith(path) or path.startswith(keeper.path)


@dataclass(frozen=True)
class Requester:
    """On whose behalf a request is made: a dispatching unit, or a department."""

    unit: Unit | None
    department: Department | None


def requester_for(user, keeper: Unit) -> Requester | None:
    """The post through which `user` may ask `keeper` to admit a task type: a territorial post with
    DISPATCH_CASES at, above or below the keeper, or a department post of a department at, above or
    below it. None when the user may not ask."""
    if user is None or not user.is_authenticated:
        return None
    posts = list(user.active_posts())
    for post in posts:
        if (
            post.role == Role.DEPARTMENT_USER
            and post.department_id
            and _related(post.department.unit.path, keeper)
        ):
            return Requester(unit=post.department.unit, department=post.department)
    dispatching = [
        post
        for post in posts
        if post.role != Role.DEPARTMENT_USER
        and Capability.DISPATCH_CASES in ROLE_CAPABILITIES.get(post.role, frozenset())
        and _related(post.unit.path, keeper)
    ]
    if dispatching:
        return Requester(unit=min(dispatching, key=lambda p: p.unit.depth).unit, department=None)
    if scope_for(user).is_global:
        return Requester(unit=user.primary_unit() or keeper, department=None)
    return None


# ---------------------------------------------------------------------------------------------------
# Keeping the list


def _check_category(category: Category, field: str = "category") -> None:
    if category is None:
        raise ValidationError({field: _("Choose a category.")})
    if not category.is_active:
        raise ValidationError({field: _("This category is no longer in use.")})


def _already_admitted(keeper: Unit, category: Category) -> str | None:
    """Why the keeper's list already admits the category, or None."""
    if AdmissionItem.objects.filter(keeper=keeper, category=category).exists():
        return _("%(category)s is already on the admission list of %(keeper)s.") % {
            "category": category.name,
            "keeper": keeper.name,
        }
    if (
        category.parent_id
        and AdmissionItem.objects.filter(keeper=keeper, category_id=category.parent_id).exists()
    ):
        return _("%(category)s is already admitted by %(keeper)s through its top category %(top)s.") % {
            "category": category.name,
            "keeper": keeper.name,
            "top": category.parent.name,
        }
    return None


def add_item(*, keeper: Unit, category: Category, by, basis: str, note: str = "", now=None) -> AdmissionItem:
    """Put a task type on the keeper's list, by law or regulation, a superior's rule or this level's approval."""
    _check_keeper(keeper)
    check_may_keep(by, keeper)
    _check_category(category)
    if basis not in AdmissionBasis.values:
        raise ValidationError(
            {
                "basis": _(
                    "Choose the basis: a law or regulation, a superior's rule, or this level's approval."
                )
            }
        )
    reason = _already_admitted(keeper, category)
    if reason:
        raise ValidationError({"category": reason})
    try:
        with transaction.atomic():
            item = AdmissionItem.objects.create(
                keeper=keeper,
                category=category,
                basis=basis,
                note=(note or "").strip(),
                added_by=by,
                added_at=now or timezone.now(),
            )
            record_change(item, ChangeAction.CREATE, by, {"after": snapshot(item)}, acting_unit=keeper)
    except IntegrityError as exc:  # the same item added at the same moment by someone else
        raise ValidationError({"category": _already_admitted(keeper, category) or str(exc)}) from exc
    return item


def remove_item(item: AdmissionItem, *, by) -> None:
    """Take a task type off the list; cases already given to grids keep their course."""
    check_may_keep(by, item.keeper)
    with transaction.atomic():
        record_change(item, ChangeAction.DELETE, by, {"before": snapshot(item)}, acting_unit=item.keeper)
        item.delete()


# ---------------------------------------------------------------------------------------------------
# Requests


def request_admission(
    *, keeper: Unit, category: Category, by, reason: str, case: Case | None = None, now=None
) -> AdmissionRequest:
    """Ask the keeper to admit a task type; at most one request per keeper and category is pending."""
    _check_keeper(keeper)
    requester = requester_for(by, keeper)
    if requester is None:
        raise PermissionDenied(
            _(
                "Admission to the list of %(keeper)s is requested by those who dispatch cases there, or by "
                "a department serving it."
            )
            % {"keeper": keeper.name}
        )
    _check_category(category)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why grids should take on this task type.")})
    already = _already_admitted(keeper, category)
    if already:
        raise ValidationError({"category": already})
    try:
        with transaction.atomic():
            request = AdmissionRequest.objects.create(
                keeper=keeper,
                category=category,
                requested_by=by,
                requested_at=now or timezone.now(),
                requesting_unit=requester.unit,
                requesting_department=requester.department,
                case=case,
                reason=reason,
            )
            record_change(
                request, ChangeAction.CREATE, by, {"after": snapshot(request)}, acting_unit=requester.unit
            )
            notify(
                unit_staff(keeper, Capability.KEEP_ADMISSION_LIST),
                REQUEST_NOTICE,
                _("Admission request: %(category)s on the list of %(keeper)s")
                % {"category": category.name, "keeper": keeper.name},
                body=reason,
                url=list_url(keeper),
            )
    except IntegrityError as exc:
        pending = (
            AdmissionRequest.objects.filter(
                keeper=keeper, category=category, status=AdmissionRequestStatus.PENDING
            )
            .select_related("requested_by")
            .first()
        )
        if pending is None:
            raise
        raise ValidationError({"category": _pending_message(pending)}) from exc
    return request


def _pending_message(pending: AdmissionRequest) -> str:
    return _(
        "A request to admit %(category)s is already awaiting approval (asked by %(who)s on %(date)s)."
    ) % {
        "category": pending.category.name,
        "who": pending.requested_by,
        "date": timezone.localtime(pending.requested_at).date().isoformat(),
    }


def decide_request(
    request: AdmissionRequest, *, by, approve: bool, note: str = "", now=None
) -> AdmissionRequest:
    """Approve (the item is added, basis "approved by this level") or refuse (with a reason) a pending
    request; the requester is told either way."""
    now = now or timezone.now()
    note = (note or "").strip()
    with transaction.atomic():
        # Lock the bare row, then read it with its relations (PostgreSQL locks no nullable outer join).
        AdmissionRequest.objects.select_for_update().filter(pk=request.pk).values_list("pk", flat=True).get()
        request = AdmissionRequest.objects.select_related(
            "keeper__level", "category__parent", "requested_by", "case"
        ).get(pk=request.pk)
        check_may_keep(by, request.keeper)
        if request.status != AdmissionRequestStatus.PENDING:
            raise ValidationError(
                {
                    "status": _("This request was already decided: %(status)s.")
                    % {"status": request.get_status_display()}
                }
            )
        if not approve and not note:
            raise ValidationError({"decision_note": _("Give the reason for refusing.")})
        before = snapshot(request, ["status", "decided_by", "decided_at", "decision_note"])
        request.status = AdmissionRequestStatus.APPROVED if approve else AdmissionRequestStatus.REFUSED
        request.decided_by, request.decided_at, request.decision_note = by, now, note
        request.save()
        record_change(
            request,
            ChangeAction.UPDATE,
            by,
            diff(before, snapshot(request, ["status", "decided_by", "decided_at", "decision_note"])),
            acting_unit=request.keeper,
        )
        if approve and not _already_admitted(request.keeper, request.category):
            item = AdmissionItem.objects.create(
                keeper=request.keeper,
                category=request.category,
                basis=AdmissionBasis.APPROVED,
                note=note or request.reason,
                request=request,
                added_by=by,
                added_at=now,
            )
            record_change(
                item, ChangeAction.CREATE, by, {"after": snapshot(item)}, acting_unit=request.keeper
            )
        notify(
            [request.requested_by],
            DECISION_NOTICE,
            _("Admission of %(category)s to the list of %(keeper)s: %(status)s")
            % {
                "category": request.category.name,
                "keeper": request.keeper.name,
                "status": request.get_status_display(),
            },
            body=note,
            url=list_url(request.keeper),
            case=request.case,
        )
    return request
