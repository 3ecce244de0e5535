"""Who may take which step on a case. The state machine says what moves exist; this says who may make them.

Each rule combines a capability (from the role) with a relation to the case (from the post's unit or
department). `allowed_actions` is what the UI shows as buttons and what a refused API call lists.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import OuterRef, Subquery
from django_fsm import can_proceed

from wangge.core.scope import scope_for
from wangge.people.roles import Capability

from .choices import (
    SOURCES_NEEDING_VERIFICATION,
    ActionKind,
    AssignmentStatus,
    CaseState,
    ExtensionStatus,
    Rating,
)
from .models import Case, CaseAction


def covers(user, unit) -> bool:
    """True when one of the user's territorial posts sits at `unit` or above it."""
    if unit is None:
        return False
    scope = scope_for(user)
    return scope.is_global or any(unit.path.startswith(p) for p in scope.territorial_paths)


def acts_for(user, assignment) -> bool:
    """True when the user works for the unit or department an assignment went to: a post in that
    department, or a territorial post at the assigned unit or below it (the level above supervises,
    it does not accept or submit in the unit's name)."""
    if assignment is None:
        return False
    scope = scope_for(user)
    if scope.is_global:
        return True
    if assignment.department_id:
        return assignment.department_id in scope.department_ids
    return any(p.startswith(assignment.unit.path) for p in scope.territorial_paths)


def _can(user, capability) -> bool:
    return user is not None and user.is_authenticated and user.has_capability(capability)


def open_co_assignments(case: Case, user=None):
    """Co-handler assignments still to report back, optionally only those the user works for."""
    rows = [
        a
        for a in case.assignments.all()
        if not a.is_lead and a.status in (AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED)
    ]
    return [a for a in rows if user is None or acts_for(user, a)]


def _lead(case):
    return case.lead_assignment


def _owner_desk(capability):
    return lambda user, case: _can(user, capability) and covers(user, case.owner_unit)


def _register(user, case):
    if case.state == CaseState.REPORTED and case.source in SOURCES_NEEDING_VERIFICATION:
        return False
    return _can(user, Capability.HANDLE_CASES) and covers(user, case.owner_unit)


def _escalate(user, case):
    return _owner_desk(Capability.HANDLE_CASES)(user, case) and case.owner_unit.depth > 1


def _handler(user, case):
    return _can(user, Capability.HANDLE_CASES) and acts_for(user, _lead(case))


def last_submitter():
    """The actor of a case's latest SUBMIT action, as a subquery: lists annotate it as `submitter_id`."""
    return Subquery(
        CaseAction.objects.filter(case=OuterRef("pk"), kind=ActionKind.SUBMIT)
        .order_by("-time", "-id")
        .values("actor")[:1]
    )


def submitter_id(case) -> int | None:
    """Who submitted the result being checked: the list's annotation, else one query kept on the case."""
    if not hasattr(case, "submitter_id"):
        latest = case.actions.filter(kind=ActionKind.SUBMIT).order_by("-time", "-id")
        case.submitter_id = latest.values_list("actor", flat=True).first()
    return case.submitter_id


def _checker(user, case):
    """The dispatching level, or the grid worker who reported it, checks on site — never whoever
    handled it (a member of the lead department, or the person who submitted the result)."""
    if not _can(user, Capability.HANDLE_CASES):
        return False
    if not (
        covers(user, case.dispatched_from) or (case.reporter_id is not None and case.reporter_id == user.pk)
    ):
        return False
    lead = _lead(case)
    if lead is not None and lead.department_id and lead.department_id in scope_for(user).department_ids:
        return False
    return submitter_id(case) != user.pk


def _rater(user, case):
    """Staff record the reporter's rating after a return visit (回访); a resident rates by tracking code."""
    return (case.reporter_id is not None and case.reporter_id == user.pk) or (
        _can(user, Capability.HANDLE_CASES) and covers(user, case.unit)
    )


def _reopen(user, case):
    return _can(user, Capability.DISPATCH_CASES) and covers(user, case.owner_unit)


def _long_term(user, case):
    return _can(user, Capability.MANAGE_LONG_TERM) and covers(user, case.unit)


def _follow_up(user, case):
    return _long_term(user, case) or (_can(user, Capability.HANDLE_CASES) and covers(user, case.unit))


def _urge(user, case):
    """A supervisor urges cases in their area that another unit or department is responsible for."""
    if not (_can(user, Capability.SUPERVISE_CASES) and covers(user, case.unit)):
        return False
    scope = scope_for(user)
    own = case.owner_unit.path in scope.territorial_paths and case.state == CaseState.REGISTERED
    return scope.is_global or not own


def _report_back(user, case):
    return _can(user, Capability.HANDLE_CASES) and bool(open_co_assignments(case, user))


def _request_extension(user, case):
    return _handler(user, case)


def _decide_extension(user, case):
    return _can(user, Capability.DISPATCH_CASES) and covers(user, case.dispatched_from)


def _publish(user, case):
    return _can(user, Capability.PUBLISH_CASES) and covers(user, case.unit)


RULES: dict[str, Callable] = {
    "verify": _owner_desk(Capability.HANDLE_CASES),
    "register": _register,
    "reject": _owner_desk(Capability.HANDLE_CASES),
    "handle_in_place": _owner_desk(Capability.HANDLE_CASES),
    "escalate": _escalate,
    "dispatch": _owner_desk(Capability.DISPATCH_CASES),
    "accept": _handler,
    "return_": _handler,
    "report_back": _report_back,
    "submit": _handler,
    "check_pass": _checker,
    "check_fail": _checker,
    "rate": _rater,
    "reopen": _reopen,
    "publish": _publish,
    "hold": _long_term,
    "follow_up": _follow_up,
    "resume": _long_term,
    "urge": _urge,
    "request_extension": _request_extension,
    "decide_extension": _decide_extension,
}


def _has_pending_extension(case) -> bool:
    return any(e.status == ExtensionStatus.PENDING for e in case.extensions.all())


# Conditions on the case itself, not on who acts: when one fails the step does not exist right now, which
# is a conflict (409) like a wrong state, not a missing right (403).
PRECONDITIONS: dict[str, Callable] = {
    "rate": lambda case: not case.rating,
    "reopen": lambda case: case.rating == Rating.UNSATISFIED,
    "report_back": lambda case: bool(open_co_assignments(case)),
    "request_extension": lambda case: not _has_pending_extension(case),
    "decide_extension": _has_pending_extension,
    "publish": lambda case: not case.published_at,
}


def state_allows(case: Case, action: str) -> bool:
    return can_proceed(getattr(case, action)) and PRECONDITIONS.get(action, lambda case: True)(case)


def may(user, case: Case, action: str) -> bool:
    return state_allows(case, action) and RULES[action](user, case)


def allowed_actions(user, case: Case) -> list[str]:
    """The steps this user may take on this case now, in the order of the loop."""
    return [action for action in RULES if may(user, case, action)]
