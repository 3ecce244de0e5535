"""Money on the payroll pages: yuan with two decimals and grouped thousands (1,999.96), as in finance."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def money(value) -> str:
    if value is None or value == "":
        return ""
    try:
        return f"{Decimal(value):,.2f}"
    except (InvalidOperation, ValueError, TypeError):
        return str(value)


@register.filter
def percent(rate) -> str:
    """An insurance rate fraction as a percentage: 0.2658 → 26.58 %."""
    if rate is None:
        return ""
    return f"{Decimal(rate) * 100:.2f} %"
