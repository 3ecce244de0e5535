from django.urls import path

from . import report_urls, views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("<str:code>/", views.unit_dashboard, name="unit"),
    path("<str:code>/map.json", views.map_data, name="map"),
    path("<str:code>/wall/", views.wall, name="wall"),
    path("<str:code>/wall/panel/", views.wall_panel, name="wall_panel"),
    *report_urls.urlpatterns,
]
