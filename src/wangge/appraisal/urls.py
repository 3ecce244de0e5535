from django.urls import path

from . import views

app_name = "appraisal"

urlpatterns = [
    path("", views.index, name="index"),
    path("scorecard/", views.scorecard, name="scorecard"),
    path("people/<int:pk>/", views.person, name="person"),
    path("ranking/", views.ranking, name="ranking"),
    path("ranking.xlsx", views.ranking_xlsx, name="ranking_xlsx"),
    path("ranking.pdf", views.ranking_pdf, name="ranking_pdf"),
    path("ranking/compute/", views.compute, name="compute"),
    path("inspections/", views.inspections, name="inspections"),
    path("inspections/new/", views.inspection_new, name="inspection_new"),
    path("inspections/<int:pk>/", views.inspection_detail, name="inspection"),
    path("findings/<int:pk>/rectified/", views.rectified, name="rectified"),
]
