"""The special-population and key-person panel of a resident's page:
`{% load ledger_special %}{% special_panel resident %}`.

It shows the resident's 9+X records (main data items, attention level, helper; guardian phones masked),
the key-person listings with their history, and the links and buttons the viewing user may use.
"""

from __future__ import annotations

import datetime

from django import template
from django.utils.translation import gettext as _

from .. import specials
from ..choices import ResidentStatus
from ..privacy import masked
from ..services import keeps

register = template.Library()

# Shown in the panel's heading line of each record instead of among its data items.
_HEAD_FIELDS = {"attention_level", "helper_name", "help_notes", "is_closed"}


def _display(record, field) -> str:
    value = getattr(record, field.name)
    if field.name in specials.SPECIAL_PERSONAL_FIELDS:
        return masked(value or "", field.name)
    if field.choices:
        return str(getattr(record, f"get_{field.name}_display")())
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return "" if value is None else str(value)


def record_rows(record, kind: str) -> list[tuple[str, str]]:
    """(label, shown value) of the record's own data items that have a value."""
    rows = []
    for name in specials.kind_fields(kind):
        if name in _HEAD_FIELDS:
            continue
        field = record._meta.get_field(name)
        shown = _display(record, field)
        if shown:
            rows.append((str(field.verbose_name), shown))
    return rows


@register.inclusion_tag("ledger/_special_panel.html", takes_context=True)
def special_panel(context, resident):
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    # Buttons only for those who keep the record: staff of where the person lives (not the 户籍 grid).
    can_manage = keeps(user, resident)
    kinds = []
    for slug, model, record in specials.records_of(resident):
        kinds.append(
            {
                "slug": slug,
                "label": model._meta.verbose_name,
                "record": record,
                "rows": record_rows(record, slug) if record is not None else [],
            }
        )
    listings = list(
        resident.key_listings.select_related(
            "applying_unit", "applied_by", "listed_by", "delisting_applied_by", "closed_by"
        ).order_by("-applied_at", "-id")
    )
    labels = specials.action_labels()
    rows = []
    for listing in listings:
        actions = specials.listing_actions(user, listing)
        rows.append({"listing": listing, "actions": [(a, labels[a]) for a in actions]})
    open_listing = next((x for x in listings if x.state in specials.OPEN_LISTING_STATES), None)
    return {
        "resident": resident,
        "kinds": kinds,
        "has_records": any(k["record"] is not None for k in kinds),
        "listings": rows,
        "open_listing": open_listing,
        "can_manage": can_manage,
        "can_add": can_manage and resident.status == ResidentStatus.PRESENT,
        "can_apply": can_manage and open_listing is None and resident.status == ResidentStatus.PRESENT,
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
