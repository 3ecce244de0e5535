from __future__ import annotations

import datetime
import re

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import PointRule, ShopItem
from .services import MAX_QUANTITY

NUMBER_SPLIT = re.compile(r"[\s,，、;；]+")


class HouseholdNumberForm(forms.Form):
    number = forms.CharField(label=_("Household number"), max_length=40)

    def clean_number(self):
        return self.cleaned_data["number"].strip()


class AwardForm(forms.Form):
    client_uuid = forms.UUIDField(widget=forms.HiddenInput)
    rule = forms.ModelChoiceField(label=_("Good deed or deduction"), queryset=PointRule.objects.none())
    quantity = forms.IntegerField(label=_("Times"), min_value=1, max_value=MAX_QUANTITY, initial=1)
    date = forms.DateField(
        label=_("Day of the deed"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    case = forms.CharField(
        label=_("Case number"),
        required=False,
        max_length=24,
        help_text=_("For a reported hazard: the number of the case it became."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, rules, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].queryset = rules
        self.fields["rule"].label_from_instance = rule_label

    def clean_case(self):
        return self.cleaned_data["case"].strip()


def rule_label(rule: PointRule) -> str:
    sign = "-" if rule.kind == "deduction" else "+"
    return f"{rule.name} ({sign}{rule.points})"


class RedeemForm(forms.Form):
    client_uuid = forms.UUIDField(widget=forms.HiddenInput)
    household = forms.CharField(label=_("Household number"), max_length=40)
    item = forms.ModelChoiceField(label=_("Goods"), queryset=ShopItem.objects.none())
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY, initial=1)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = items
        self.fields["item"].label_from_instance = lambda item: f"{item.name} ({item.price})"

    def clean_household(self):
        return self.cleaned_data["household"].strip()


class ReverseForm(forms.Form):
    note = forms.CharField(label=_("Why is this entry reversed?"), max_length=200)


class AdjustForm(forms.Form):
    client_uuid = forms.UUIDField(widget=forms.HiddenInput)
    points = forms.IntegerField(
        label=_("Points"),
        help_text=_("Positive to add, negative to take."),
        min_value=-100000,
        max_value=100000,
    )
    note = forms.CharField(label=_("Reason"), max_length=200)


class ItemForm(forms.ModelForm):
    class Meta:
        model = ShopItem
        fields = ["name", "description", "price", "stock", "is_active", "sort_order"]

    def __init__(self, *args, creating: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["stock"]  # the stock moves by restocking and stocktakes, which are logged

    def _post_clean(self):
        # The service validates (the village's keeper, the name unique in its shop).
        pass


class StockForm(forms.Form):
    delta = forms.IntegerField(
        label=_("Pieces"),
        help_text=_("Positive for goods delivered, negative for a stocktake's shortfall."),
        min_value=-100000,
        max_value=100000,
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)


def parse_month(value: str) -> datetime.date | None:
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return datetime.date(year, month, 1)
    except (TypeError, ValueError):
        return None


class MonthField(forms.CharField):
    widget = forms.TextInput(attrs={"type": "month"})

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        day = parse_month(value)
        if day is None:
            raise forms.ValidationError(_("Give a month as YYYY-MM."))
        return day

    def prepare_value(self, value):
        return f"{value:%Y-%m}" if isinstance(value, datetime.date) else value


class SelectionForm(forms.Form):
    rule = forms.ModelChoiceField(label=_("Title"), queryset=PointRule.objects.none())
    day = MonthField(label=_("Month"), help_text=_("For a quarterly title, any month of the quarter."))
    households = forms.CharField(
        label=_("Household numbers"),
        help_text=_("One or more, separated by spaces, commas or new lines."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, rules, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].queryset = rules
        self.fields["rule"].label_from_instance = lambda r: (
            f"{r.name} · {r.get_period_display()} (+{r.points})"
        )

    def clean_households(self):
        numbers = [n for n in NUMBER_SPLIT.split(self.cleaned_data["households"]) if n]
        if not numbers:
            raise forms.ValidationError(_("Choose at least one household."))
        if len(numbers) > 500:
            raise forms.ValidationError(_("At most 500 households at once."))
        return list(dict.fromkeys(numbers))


class MonthFilterForm(forms.Form):
    month = MonthField(label=_("Month"), required=False)
