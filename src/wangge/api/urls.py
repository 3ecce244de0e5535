from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from wangge.cases.api import (
    CaseViewSet,
    CategoryTreeView,
    NotificationListView,
    NotificationReadView,
    PublicRateView,
    PublicReportView,
    PublicTrackingView,
)
from wangge.dashboard.api import DashboardView
from wangge.ledger.api import HouseholdViewSet, OrganisationViewSet, PlaceViewSet, ResidentViewSet

from .authentication import ObtainTokenView
from .docs import api_docs_view
from .me import MeView
from .posts import PostViewSet
from .units import UnitViewSet

router = SimpleRouter()
router.register("units", UnitViewSet, basename="unit")
router.register("posts", PostViewSet, basename="post")
router.register("cases", CaseViewSet, basename="case")
router.register("households", HouseholdViewSet, basename="household")
router.register("residents", ResidentViewSet, basename="resident")
router.register("places", PlaceViewSet, basename="place")
router.register("organisations", OrganisationViewSet, basename="organisation")

v1_patterns = [
    *router.urls,
    path("me/", MeView.as_view(), name="me"),
    path("auth/token/", ObtainTokenView.as_view(), name="auth-token"),
    path("categories/", CategoryTreeView.as_view(), name="category-tree"),
    path("dashboard/<str:code>/", DashboardView.as_view(), name="dashboard"),
    path("notifications/", NotificationListView.as_view(), name="notification-list"),
    path("notifications/read/", NotificationReadView.as_view(), name="notification-read"),
    path("public/units/<str:code>/reports/", PublicReportView.as_view(), name="public-report"),
    path("public/track/<str:code>/", PublicTrackingView.as_view(), name="public-track"),
    path("public/track/<str:code>/rate/", PublicRateView.as_view(), name="public-rate"),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", api_docs_view(url_name="api-schema"), name="api-docs"),
    path("v1/", include((v1_patterns, "api-v1"))),
]
