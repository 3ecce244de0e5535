from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from wangge.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("units/", include("wangge.units.urls")),
    path("me/", include("wangge.people.urls")),
    path("cases/", include("wangge.cases.urls")),
    path("ledger/", include("wangge.ledger.urls")),
    path("work/", include("wangge.fieldwork.urls")),
    path("teams/", include("wangge.teams.urls")),
    path("staff/", include("wangge.people.staff_urls")),
    path("meetings/", include("wangge.meetings.urls")),
    path("appraisal/", include("wangge.appraisal.urls")),
    path("annual/", include("wangge.annual.urls")),
    path("ratings/", include("wangge.ratings.urls")),
    path("payroll/", include("wangge.payroll.urls")),
    path("points/", include("wangge.points.urls")),
    path("dashboard/", include("wangge.dashboard.urls")),
    path("field/", include("wangge.cases.field_urls")),
    path("p/", include("wangge.cases.public_urls")),
    path("p/grid/", include("wangge.people.public_urls")),
    path("notices/", include("wangge.notices.urls")),
    path("api/", include("wangge.api.urls")),
    path("admin/", admin.site.urls),
]
