"""The staff ledger in the admin: scoped lists (`visible_to`), 404 outside the scope, and additions that go
through `teams.services` — the service runs when the add form validates (inside the admin's transaction),
so its field errors show on the form. A saved record is read-only here: returning a badge, acknowledging a
plan, marking attendance and withdrawing a flag are done on the staff pages, which call the services too.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import ModelFormMetaclass
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wangge.core.admin import ScopedAdmin
from wangge.people.models import Post
from wangge.people.roles import Capability

from . import services
from .models import (
    AppointmentAgreement,
    Badge,
    PipelineFlag,
    TrainingAttendance,
    TrainingPlan,
    TrainingSession,
)


class _AbstractModelFormMetaclass(ModelFormMetaclass, ABCMeta):
    """Lets a model form declare abstract methods."""


class ServiceAddForm(forms.ModelForm, metaclass=_AbstractModelFormMetaclass):
    """An admin add form whose validation is the service call itself."""

    request = None
    created = None

    @abstractmethod
    def create(self, by, data):
        """Write the record through the service and return it; raise its ValidationError as is."""

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.created = self.create(self.request.user, data)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        except PermissionDenied as error:
            self.add_error(None, str(error) or _("Your role does not allow this."))
        return data

    def _post_clean(self):
        # The service validates (and writes); the model's own checks would only repeat its rules.
        pass


class AgreementAddForm(ServiceAddForm):
    class Meta:
        model = AppointmentAgreement
        fields = ["user", "unit", "year", "post", "signed_on", "valid_from", "valid_to", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["valid_from"].required = False
        self.fields["valid_to"].required = False

    def create(self, by, data):
        return services.sign_agreement(by=by, **{name: data.get(name) for name in self.Meta.fields})


class BadgeAddForm(ServiceAddForm):
    class Meta:
        model = Badge
        fields = ["user", "number", "issued_on", "unit"]

    def create(self, by, data):
        return services.issue_badge(by=by, **{name: data.get(name) for name in self.Meta.fields})


class PlanAddForm(ServiceAddForm):
    class Meta:
        model = TrainingPlan
        fields = ["unit", "year", "title", "content"]

    def create(self, by, data):
        return services.file_training_plan(by=by, **{name: data.get(name) for name in self.Meta.fields})


class SessionAddForm(ServiceAddForm):
    class Meta:
        model = TrainingSession
        fields = ["unit", "plan", "date", "topic", "hours", "place"]

    def create(self, by, data):
        return services.record_session(by=by, **{name: data.get(name) for name in self.Meta.fields})


class FlagAddForm(ServiceAddForm):
    class Meta:
        model = PipelineFlag
        fields = ["user", "kind", "reason", "unit"]

    def create(self, by, data):
        return services.flag_worker(
            by=by, on=timezone.localdate(), **{name: data.get(name) for name in self.Meta.fields}
        )


class StaffRecordAdmin(ScopedAdmin):
    change_capability = Capability.MANAGE_STAFF
    add_form = None
    raw_id_fields = ["user"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None and self.add_form is not None:
            kwargs["form"] = self.add_form
        form_class = super().get_form(request, obj, change=change, **kwargs)
        return type(form_class.__name__, (form_class,), {"request": request})

    def get_fields(self, request, obj=None):
        if obj is None and self.add_form is not None:
            return list(self.add_form.Meta.fields)
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [f.name for f in self.model._meta.fields if f.name != "id"]
        return []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "unit":
            kwargs["queryset"] = services.managed_units(request.user).select_related("level")
        elif db_field.name == "post":
            kwargs["queryset"] = Post.objects.visible_to(request.user).select_related("unit", "user")
        elif db_field.name == "plan":
            kwargs["queryset"] = TrainingPlan.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        # Saved records are changed by the staff pages' services, never by editing the row.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        created = form.created
        obj.pk = created.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        pass


@admin.register(AppointmentAgreement)
class AppointmentAgreementAdmin(StaffRecordAdmin):
    add_form = AgreementAddForm
    list_display = ["user", "year", "unit", "post", "signed_on", "valid_from", "valid_to"]
    list_filter = ["year"]
    search_fields = ["user__full_name", "user__username", "unit__name"]
    list_select_related = ["user", "unit", "post__unit"]
    raw_id_fields = ["user", "post"]


@admin.register(Badge)
class BadgeAdmin(StaffRecordAdmin):
    add_form = BadgeAddForm
    list_display = ["number", "user", "unit", "issued_on", "returned_on"]
    list_filter = [("returned_on", admin.EmptyFieldListFilter)]
    search_fields = ["number", "user__full_name", "user__username"]
    list_select_related = ["user", "unit"]


@admin.register(TrainingPlan)
class TrainingPlanAdmin(StaffRecordAdmin):
    add_form = PlanAddForm
    list_display = ["title", "year", "unit", "filed_with", "filed_at", "acknowledged_at"]
    list_filter = ["year", ("acknowledged_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "unit__name"]
    list_select_related = ["unit", "filed_with"]
    raw_id_fields = []


class AttendanceInline(admin.TabularInline):
    model = TrainingAttendance
    fields = ["user", "attended"]
    readonly_fields = ["user", "attended"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TrainingSession)
class TrainingSessionAdmin(StaffRecordAdmin):
    add_form = SessionAddForm
    list_display = ["date", "topic", "unit", "hours", "plan"]
    list_filter = ["date"]
    search_fields = ["topic", "unit__name"]
    list_select_related = ["unit", "plan"]
    date_hierarchy = "date"
    raw_id_fields = []
    inlines = [AttendanceInline]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []


@admin.register(TrainingAttendance)
class TrainingAttendanceAdmin(ScopedAdmin):
    """Attendance is marked with its session on the training pages; read here."""

    change_capability = Capability.MANAGE_STAFF
    list_display = ["session", "user", "attended"]
    list_filter = ["attended"]
    search_fields = ["user__full_name", "user__username", "session__topic"]
    list_select_related = ["session", "user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PipelineFlag)
class PipelineFlagAdmin(StaffRecordAdmin):
    add_form = FlagAddForm
    list_display = ["user", "kind", "unit", "flagged_on", "withdrawn_on"]
    list_filter = ["kind", ("withdrawn_on", admin.EmptyFieldListFilter)]
    search_fields = ["user__full_name", "user__username"]
    list_select_related = ["user", "unit"]
