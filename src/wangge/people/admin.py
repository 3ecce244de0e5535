from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from wangge.core.admin import ScopedAdmin, can
from wangge.people.roles import Capability

from .models import Department, Post, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Accounts are deployment-wide: system administrators manage them; posts carry the scope."""

    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("full_name", "email")}),
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
