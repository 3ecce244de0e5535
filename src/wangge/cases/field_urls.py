from django.urls import path

from . import field_views

app_name = "field"

urlpatterns = [
    path("report/", field_views.report, name="report"),
    path("mine/", field_views.mine, name="mine"),
]
