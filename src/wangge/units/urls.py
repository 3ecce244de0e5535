from django.urls import path

from . import views

app_name = "units"

urlpatterns = [
    path("<str:code>/", views.unit_detail, name="detail"),
]
