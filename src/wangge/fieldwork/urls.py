from django.urls import path

from . import views, visit_views

app_name = "fieldwork"

urlpatterns = [
    path("log/", views.work_log, name="log"),
    path("logs/", views.work_logs, name="logs"),
    path("visits/", visit_views.my_visits, name="visits"),
    path("visits/all/", visit_views.visit_list, name="visit_list"),
    path("visits/<int:pk>/", visit_views.visit_detail, name="visit"),
    path("visit/<str:number>/", visit_views.new_visit, name="new_visit"),
    path("patrol/", visit_views.new_patrol, name="new_patrol"),
    path("publicity/", visit_views.publicity, name="publicity"),
    path("coverage/", visit_views.coverage, name="coverage"),
]
