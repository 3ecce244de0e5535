from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()


@register.filter
def percent(fraction) -> str:
    """A fraction as a percentage with one decimal (0.9355 → 93.6%); nothing measured as a dash."""
    if fraction is None or fraction == "":
        return "—"
    return f"{percent_value(fraction)}%"


def percent_value(fraction) -> Decimal:
    """A fraction in percent to one decimal, rounded half up as the monthly report rounds."""
    return (Decimal(fraction) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@register.filter
def kpi(figures, name: str):
    """One KPI of a unit's figures: `{{ child|kpi:"on_time_closure"|percent }}` is its value."""
    return figures.kpi(name).value
