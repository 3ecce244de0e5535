from django.urls import path

from . import views

app_name = "fieldwork"

urlpatterns = [
    path("log/", views.work_log, name="log"),
    path("logs/", views.work_logs, name="logs"),
]
