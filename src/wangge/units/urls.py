from django.urls import path

from . import views

app_name = "units"

urlpatterns = [
    path("<str:code>/", views.unit_detail, name="detail"),
    path("<str:code>/map.geojson", views.unit_geojson, name="geojson"),
    path("<str:code>/export.csv", views.unit_export, name="export"),
    path("<str:code>/check/", views.unit_check, name="check"),
    path("<str:code>/add/", views.unit_create, name="create"),
    path("<str:code>/edit/", views.unit_edit, name="edit"),
    path("<str:code>/redraw/", views.unit_redraw, name="redraw"),
    path("<str:code>/move/", views.unit_move, name="move"),
    path("<str:code>/split/", views.unit_split, name="split"),
    path("<str:code>/merge/", views.unit_merge, name="merge"),
    path("<str:code>/retire/", views.unit_retire, name="retire"),
]
