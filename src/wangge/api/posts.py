"""Posts (岗位) over the API, read-only: who serves where, in what role."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from wangge.people.models import Department, Post, User
from wangge.people.roles import Role
from wangge.units.models import Unit

from .authentication import AUTHENTICATION_CLASSES
from .pagination import BoundedLimitOffsetPagination


class PostUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["username", "full_name"]


class PostUnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["code", "name"]


class PostDepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["code", "name"]


class RoleSerializer(serializers.Serializer):
    key = serializers.ChoiceField(source="role", choices=Role.choices)
    label = serializers.CharField(source="get_role_display")


class PostSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-v1:post-detail")
    user = PostUserSerializer(read_only=True)
    unit = PostUnitSerializer(read_only=True)
    role = RoleSerializer(source="*", read_only=True)
    department = PostDepartmentSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Post
        fields = ["id", "url", "user", "unit", "role", "title", "department", "start_date", "end_date"]
        read_only_fields = fields


def posts_with_relations(queryset):
    """Everything a post's representation shows, in the same query."""
    return queryset.select_related("user", "unit", "department")


class PostFilterSet(filters.FilterSet):
    unit = filters.CharFilter(
        method="filter_unit", help_text=_("Code of a unit: the posts held there (see `subtree`).")
    )
    subtree = filters.BooleanFilter(
        method="filter_nothing", help_text=_("With `unit`: also the posts at every unit below it.")
    )
    role = filters.ChoiceFilter(choices=Role.choices)
    active = filters.BooleanFilter(
        method="filter_active",
        help_text=_("true (the default): posts held today; false: ended posts and posts not yet begun."),
    )

    class Meta:
        model = Post
        fields: list[str] = []

    def __init__(self, data=None, *args, **kwargs):
        data = data.copy() if data is not None else {}
        data.setdefault("active", "true")
        super().__init__(data, *args, **kwargs)

    def filter_unit(self, queryset, name, value):
        user = self.request.user if self.request else None
        path = Unit.objects.visible_to(user).filter(code=value).values_list("path", flat=True).first()
        if path is None:  # missing or out of scope: the same empty answer
            return queryset.none()
        if self.form.cleaned_data.get("subtree"):
            return queryset.filter(unit__path__startswith=path)
        return queryset.filter(unit__path=path)

    def filter_nothing(self, queryset, name, value):
        return queryset  # read by filter_unit

    def filter_active(self, queryset, name, value):
        if value:
            return queryset.active()
        today = timezone.localdate()
        return queryset.filter(Q(start_date__gt=today) | Q(end_date__lt=today))


@extend_schema_view(
    list=extend_schema(summary="List posts", description="Posts at units in the caller's scope."),
    retrieve=extend_schema(summary="Read one post"),
)
@extend_schema(tags=["posts"])
class PostViewSet(viewsets.ReadOnlyModelViewSet):
    """岗位. A post at a unit outside the caller's scope answers 404, like a missing one."""

    authentication_classes = AUTHENTICATION_CLASSES
    serializer_class = PostSerializer
    pagination_class = BoundedLimitOffsetPagination
    filterset_class = PostFilterSet

    def get_queryset(self):
        return posts_with_relations(Post.objects.visible_to(self.request.user))

    def filter_queryset(self, queryset):
        # The `active=true` default shapes lists; a post in scope is reachable by id whatever its dates.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)
