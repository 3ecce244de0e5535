from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from wangge.core.admin import ScopedAdmin, can
from wangge.people.roles import Capability

from . import services
from .models import Absence, CoverPair, Department, Post, ReserveMember, User


def _show_errors(form, error: ValidationError) -> None:
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


class StaffUserForm(UserChangeForm):
    """The account form; a new photo passes the same checks as on the staff's own page."""

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if photo and photo is not self.initial.get("photo") and hasattr(photo, "content_type"):
            try:
                services.check_photo(photo)
            except ValidationError as error:
                raise ValidationError(error.message_dict["photo"]) from error
        return photo


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Accounts are deployment-wide: system administrators manage them; posts carry the scope."""

    form = StaffUserForm
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("full_name", "email", "phone", "photo")}),
        (_("Status"), {"fields": ("is_active", "is_superuser", "last_login", "date_joined")}),
    )
    list_display = ["username", "full_name", "is_active", "last_login"]
    search_fields = ["username", "full_name"]
    list_filter = ["is_active", "is_superuser"]

    def has_module_permission(self, request):
        return can(request, Capability.CONFIGURE)

    def has_view_permission(self, request, obj=None):
        return can(request, Capability.CONFIGURE)

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission

    def save_model(self, request, obj, form, change):
        if "photo" not in form.changed_data:
            super().save_model(request, obj, form, change)
            return
        # The photo goes through the service: stored re-encoded, the old file removed, the change logged.
        upload = form.cleaned_data.get("photo")
        obj.photo = User.objects.get(pk=obj.pk).photo if obj.pk else ""
        super().save_model(request, obj, form, change)
        if upload:
            services.set_photo(obj, upload, by=request.user)
        else:
            services.remove_photo(obj, by=request.user)
        obj.refresh_from_db(fields=["photo"])


@admin.register(Post)
class PostAdmin(ScopedAdmin):
    change_capability = Capability.MANAGE_POSTS
    allow_delete = True
    list_display = ["user", "unit", "role", "title", "department", "start_date", "end_date"]
    list_filter = ["role", "end_date"]
    search_fields = ["user__username", "user__full_name", "unit__name", "unit__code", "title"]
    list_select_related = ["user", "unit", "department"]
    autocomplete_fields = ["user"]
    raw_id_fields = ["unit", "department"]
    fields = ["user", "unit", "role", "title", "department", "start_date", "end_date", "duties"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in {"unit", "department"}:
            kwargs["queryset"] = db_field.related_model.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Department)
class DepartmentAdmin(ScopedAdmin):
    change_capability = Capability.CONFIGURE
    list_display = ["name", "code", "unit", "phone"]
    search_fields = ["name", "code"]
    raw_id_fields = ["unit"]


# --- AB岗 and the reserve: written through people.services, like the desk pages ---------------------------


class StaffAdmin(ScopedAdmin):
    """The staff ledger's records: kept by MANAGE_STAFF, foreign keys offered from the user's scope."""

    change_capability = Capability.MANAGE_STAFF

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        model = db_field.related_model
        if model is User:
            kwargs["queryset"] = User.objects.filter(
                is_active=True, posts__in=Post.objects.active().visible_to(request.user)
            ).distinct()
        elif hasattr(model.objects, "visible_to"):
            kwargs["queryset"] = model.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CoverPairForm(forms.ModelForm):
    class Meta:
        model = CoverPair
        fields = ["a_post", "b_user", "start_date", "end_date"]

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and data.get("a_post") and data.get("b_user") and data.get("start_date"):
            try:
                services.check_pair(data["a_post"], data["b_user"], data["start_date"], data.get("end_date"))
            except ValidationError as error:
                _show_errors(self, error)
        elif self.instance.pk and data.get("end_date") is None:
            self.add_error("end_date", _("Give the last day of the pair."))
        return data


@admin.register(CoverPair)
class CoverPairAdmin(StaffAdmin):
    form = CoverPairForm
    list_display = ["a_post", "b_user", "start_date", "end_date"]
    list_filter = [("end_date", admin.EmptyFieldListFilter)]
    search_fields = [
        "a_post__user__full_name",
        "b_user__full_name",
        "a_post__unit__name",
        "a_post__unit__code",
    ]
    list_select_related = ["a_post__user", "a_post__unit", "b_user"]
    raw_id_fields = ["a_post"]

    def get_readonly_fields(self, request, obj=None):
        return ["a_post", "b_user", "start_date"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            saved = services.end_pair(obj, by=request.user, end=data["end_date"])
        else:
            saved = services.pair_posts(
                data["a_post"],
                data["b_user"],
                by=request.user,
                start=data["start_date"],
                end=data["end_date"],
            )
        obj.pk = saved.pk
        obj.refresh_from_db()


class AbsenceForm(forms.ModelForm):
    class Meta:
        model = Absence
        fields = ["post", "start", "end", "reason", "note"]

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and all(data.get(f) for f in ("post", "start", "end", "reason")):
            try:
                services.check_absence(data["post"], data["start"], data["end"], data["reason"])
            except ValidationError as error:
                _show_errors(self, error)
        return data

    def _post_clean(self):
        # The cover is taken from the pair by the service, not from the form.
        pass


@admin.register(Absence)
class AbsenceAdmin(StaffAdmin):
    """Absences are recorded here or on the AB page; once recorded they are history (call one off on
    the AB page)."""

    form = AbsenceForm
    list_display = ["post", "start", "end", "reason", "cover", "cancelled_at"]
    list_filter = ["reason", ("cancelled_at", admin.EmptyFieldListFilter)]
    search_fields = ["post__user__full_name", "cover__full_name", "post__unit__name", "post__unit__code"]
    list_select_related = ["post__user", "post__unit", "cover"]
    raw_id_fields = ["post"]
    date_hierarchy = "start"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["post", "start", "end", "reason", "note"]
        return [
            "post",
            "start",
            "end",
            "reason",
            "note",
            "cover",
            "recorded_by",
            "cancelled_at",
            "cancelled_by",
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj is not None else []

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = services.record_absence(
            data["post"],
            by=request.user,
            start=data["start"],
            end=data["end"],
            reason=data["reason"],
            note=data["note"],
        )
        obj.pk = saved.pk
        obj.refresh_from_db()


class ReserveMemberForm(forms.ModelForm):
    phone = forms.CharField(label=_("phone"), max_length=32, required=False)

    class Meta:
        model = ReserveMember
        fields = ["unit", "name", "kind", "phone", "user", "resident", "skills", "available", "notes"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        if self.instance.pk:
            self.fields["unit"].disabled = True
            self.initial["phone"] = ""
            self.fields["phone"].help_text = _("Leave empty to keep the number on record.")

    def clean(self):
        data = super().clean()
        unit = data.get("unit") or (self.instance.unit if self.instance.pk else None)
        if unit is None or self.request is None:
            return data
        values = {name: data.get(name) for name in services.MEMBER_FIELDS}
        if self.instance.pk and not values["phone"]:
            values["phone"] = self.instance.phone
        try:
            services.check_reserve_member(
                unit, self.request.user, values, self.instance if self.instance.pk else None
            )
        except ValidationError as error:
            _show_errors(self, error)
        return data

    def _post_clean(self):
        pass


@admin.register(ReserveMember)
class ReserveMemberAdmin(StaffAdmin):
    form = ReserveMemberForm
    allow_delete = True
    list_display = ["name", "kind", "unit", "available", "updated_at"]
    list_filter = ["kind", "available"]
    search_fields = ["name", "unit__name", "unit__code"]
    list_select_related = ["unit"]
    raw_id_fields = ["unit", "resident"]
    actions = None  # removal one by one, through the service

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)

        class BoundForm(form_class):
            def __init__(self, *args, **kw):
                super().__init__(*args, request=request, **kw)

        return BoundForm

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        values = {name: data.get(name) for name in services.MEMBER_FIELDS}
        if change:
            if not values["phone"]:
                values.pop("phone")
            saved = services.update_reserve_member(obj, by=request.user, **values)
        else:
            saved = services.add_reserve_member(data["unit"], by=request.user, **values)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        services.remove_reserve_member(obj, by=request.user)
