"""The caller's own profile: who they are, their posts, what they may do and where."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from wangge.people.models import Post
from wangge.people.roles import Capability, capabilities_of
from wangge.units.models import Unit

from .authentication import AUTHENTICATION_CLASSES
from .posts import PostSerializer, posts_with_relations


class ScopeSerializer(serializers.Serializer):
    is_global = serializers.BooleanField(help_text=_("Sees the whole deployment (system administrator)."))
    units = serializers.ListField(
        child=serializers.CharField(),
        help_text=_("Codes of the units whose subtrees the caller sees."),
    )


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    full_name = serializers.CharField()
    posts = PostSerializer(many=True, help_text=_("Active posts."))
    capabilities = serializers.ListField(child=serializers.ChoiceField(choices=Capability.choices))
    scope = ScopeSerializer()


class MeView(APIView):
    """Any signed-in user may ask, even without a post (they get no posts and an empty scope)."""

    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["me"], summary="The caller's profile, posts, capabilities and scope", responses=MeSerializer
    )
    def get(self, request):
        user = request.user
        scope = user.scope
        posts = posts_with_relations(Post.objects.visible_to(user).active().filter(user=user))
        capabilities = Capability.values if user.is_superuser else capabilities_of(scope.roles)
        scope_units = (
            Unit.objects.visible_to(user).filter(path__in=scope.paths).values_list("code", flat=True)
        )
        me = {
            "username": user.username,
            "full_name": user.full_name,
            "posts": posts,
            "capabilities": sorted(capabilities),
            "scope": {"is_global": scope.is_global, "units": list(scope_units)},
        }
        return Response(MeSerializer(me, context={"request": request}).data)
