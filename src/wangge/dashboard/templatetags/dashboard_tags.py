from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def percent(fraction) -> str:
    """A fraction as a percentage with one decimal (0.9355 → 93.6%); nothing measured as a dash."""
    if fraction is None or fraction == "":
        return "—"
    return f"{(Decimal(fraction) * 100).quantize(Decimal('0.1'))}%"


@register.filter
def kpi(figures, name: str):
    """One KPI of a unit's figures: `{{ child|kpi:"on_time_closure"|percent }}` is its value."""
    return figures.kpi(name).value
