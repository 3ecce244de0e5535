from decimal import Decimal

from django import template

from wangge.appraisal.indicators import LOWER_IS_BETTER, RATES

register = template.Library()


@register.filter
def figure_value(figure) -> str:
    """A rate as a percentage with one decimal, a count as itself, nothing to compute from as a dash."""
    if figure.value is None:
        return "—"
    if figure.indicator in RATES:
        return f"{(Decimal(figure.value) * 100).quantize(Decimal('0.1'))}%"
    return str(figure.value)


@register.filter
def lower_is_better(indicator: str) -> bool:
    return indicator in LOWER_IS_BETTER


@register.filter
def item_for(points: dict, indicator: str):
    return points.get(indicator)
