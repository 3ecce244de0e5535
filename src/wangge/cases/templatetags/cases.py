"""Badges shown wherever a case is listed: `{% load cases %}{% deadline_badge case %}{% state_badge case %}`.

The colours come from cases/static/cases/cases.css; every badge also says in words what its colour
means, so nobody has to tell green from red to read a list.
"""

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from wangge.people.roles import Role

from ..choices import CaseState, UrgeLevel
from ..services import action_label as _action_label
from ..services import deadline_status

register = template.Library()

_NOW_KEY = "wangge_cases_now"


def _now(context):
    # One instant per rendering, so two rows due at the same moment never show different colours.
    render_context = getattr(context, "render_context", None)
    if render_context is None:
        return timezone.now()
    if _NOW_KEY not in render_context:
        render_context[_NOW_KEY] = timezone.now()
    return render_context[_NOW_KEY]


def deadline_words(status: str) -> str:
    return {"green": _("On time"), "yellow": _("Due soon"), "red": _("Overdue")}.get(status, "")


@register.simple_tag(takes_context=True)
def deadline_badge(context, case, now=None):
    """Green / yellow (临期) / red (超期) for the current stage's deadline, with the deadline itself.

    A case in long-term management says its clock is paused; a closed or rejected case shows nothing.
    """
    if case is None:
        return ""
    status = deadline_status(case, now or _now(context))
    if not status:
        if case.state == CaseState.ON_HOLD:
            return format_html(
                '<span class="deadline deadline-paused" data-deadline="paused">{}</span>', _("Clock paused")
            )
        return ""
    due = timezone.localtime(case.stage_due_at)
    return format_html(
        '<span class="deadline deadline-{status}" data-deadline="{status}" title="{title}">'
        '<span class="dot" aria-hidden="true"></span>{words} <time datetime="{iso}">{short}</time></span>',
        status=status,
        title=_("Stage deadline %(time)s") % {"time": due.strftime("%Y-%m-%d %H:%M")},
        words=deadline_words(status),
        iso=due.isoformat(),
        short=due.strftime("%m-%d %H:%M"),
    )


@register.simple_tag
def state_badge(case):
    """The case's status in words, coloured by how far along the loop it is."""
    if case is None:
        return ""
    return format_html(
        '<span class="state state-{}" data-state="{}">{}</span>',
        case.state,
        case.state,
        case.get_state_display(),
    )


@register.simple_tag
def urge_badge(case):
    """督办 card (reminder, yellow card, red card) while one is in force; nothing otherwise."""
    level = getattr(case, "urge_level", "")
    if not level:
        return ""
    return format_html(
        '<span class="urge urge-{}" data-urge="{}">{}</span>', level, level, UrgeLevel(level).label
    )


@register.filter
def action_label(action: str) -> str:
    """The words for a step named as in cases.policy (e.g. "return_" → 退回)."""
    return _action_label(action)


@register.filter
def role_label(role: str) -> str:
    """A post role's label, or the stored value when the role is unknown (old rows)."""
    try:
        return Role(role).label
    except ValueError:
        return role
