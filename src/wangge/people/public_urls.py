"""Public pages of the grid staff, no sign-in: the notice board (公示牌, TEAM-6)."""

from django.urls import path  # noqa: F401

app_name = "staff_public"

urlpatterns = []
