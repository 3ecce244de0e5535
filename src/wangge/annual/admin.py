"""The annual appraisal in the admin: scoped lists (`visible_to`: the rounds of units where the user
appraises), 404 outside the scope, and every write through `annual.services`.

A round under way can be renamed here (services.update_round); a finalised one is read-only. Entries,
ballots and awards are read here; the steps are taken on the appraisal pages. An award can be added here
too: the add form's validation is the service call. Ballots are secret and have no admin page at all:
even without the voter, the time and order of one sheet's rows would name who cast it; the entry page
shows the tallies.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from wangge.core.admin import ScopedAdmin
from wangge.people.roles import Capability

from . import services
from .models import AppraisalEntry, AppraisalRound, Award


class AppraisalAdmin(ScopedAdmin):
    change_capability = Capability.APPRAISE

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EntryInline(admin.TabularInline):
    model = AppraisalEntry
    fields = [
        "user",
        "unit",
        "rating",
        "votes_excellent",
        "votes_competent",
        "votes_incompetent",
        "onsite_score",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AppraisalRound)
class AppraisalRoundAdmin(AppraisalAdmin):
    list_display = ["title", "year", "unit", "voting", "status", "finalised_at"]
    list_filter = ["status", "year", "voting"]
    search_fields = ["title", "unit__name", "unit__code"]
    list_select_related = ["unit"]
    inlines = [EntryInline]

    def get_readonly_fields(self, request, obj=None):
        fields = [f.name for f in self.model._meta.fields]
        if obj is not None and not obj.is_finalised:
            fields.remove("title")
        return fields

    def has_change_permission(self, request, obj=None):
        """A round under way is renamed here; a finalised round is read-only."""
        if obj is not None and obj.is_finalised:
            return False
        return super(AppraisalAdmin, self).has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        try:
            services.update_round(obj, by=request.user, title=form.cleaned_data["title"])
        except ValidationError as error:
            raise PermissionDenied("; ".join(error.messages)) from error

    def save_related(self, request, form, formsets, change):
        pass  # the entries are read-only here


@admin.register(AppraisalEntry)
class AppraisalEntryAdmin(AppraisalAdmin):
    list_display = ["user", "year", "round", "unit", "rating", "dismissed_on"]
    list_filter = ["year", "rating"]
    search_fields = ["user__username", "user__full_name", "round__title", "unit__name"]
    list_select_related = ["user", "round", "unit"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


class AwardAddForm(forms.ModelForm):
    """Adding an award here runs services.award when the form validates; its errors land on the fields."""

    request = None
    created = None

    class Meta:
        model = Award
        fields = ["entry", "unit", "title", "awarded_on"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].required = False
        self.fields["unit"].required = False
        self.fields["awarded_on"].required = False

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.created = services.award(
                data["entry"],
                by=self.request.user,
                unit=data.get("unit"),
                title=data.get("title") or "",
                on=data.get("awarded_on"),
            )
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        except PermissionDenied as error:
            self.add_error(None, str(error) or _("Your role does not allow this."))
        return data

    def _post_clean(self):
        pass  # the service validates (and writes)


@admin.register(Award)
class AwardAdmin(ScopedAdmin):
    change_capability = Capability.APPRAISE
    list_display = ["year", "title", "user", "unit", "awarded_on", "awarded_by"]
    list_filter = ["year", "title"]
    search_fields = ["user__username", "user__full_name", "title", "unit__name"]
    list_select_related = ["user", "unit", "awarded_by"]
    raw_id_fields = ["entry", "unit"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = AwardAddForm
        form_class = super().get_form(request, obj, change=change, **kwargs)
        return type(form_class.__name__, (form_class,), {"request": request})

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(AwardAddForm.Meta.fields)
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [f.name for f in self.model._meta.fields]
        return []

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # The service already wrote the award when the form validated: show that one.
        obj.pk = form.created.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        pass
