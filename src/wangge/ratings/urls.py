from django.urls import path

from . import public_views, views

app_name = "ratings"

urlpatterns = [
    path("", views.to_rate, name="to_rate"),
    path("case/<int:case_id>/department/<int:department_id>/", views.rate, name="rate"),
    path("case/<int:pk>/panel/", views.case_panel, name="case_panel"),
    path("given/", views.given, name="given"),
    path("results/", views.results, name="results"),
    path("results/export/", views.results_export, name="results_export"),
    path("providers/", views.provider_results, name="provider_results"),
    path("providers/export/", views.provider_results_export, name="provider_results_export"),
    path("p/", public_views.rate_provider, name="public"),
]
