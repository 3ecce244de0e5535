"""Display helpers of the rating pages."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def stars(value) -> str:
    """A 1–5 mark as five stars, e.g. ★★★★☆ for 4 (the number itself is shown beside it)."""
    try:
        count = max(0, min(5, int(value)))
    except (TypeError, ValueError):
        return ""
    return "★" * count + "☆" * (5 - count)


@register.filter
def percent(value) -> str:
    """A fraction (0.8333) as a percentage with two decimals (83.33%)."""
    if value is None:
        return ""
    return f"{(Decimal(value) * 100).quantize(Decimal('0.01'))}%"
