from django.urls import path

from . import public_views

app_name = "public"

urlpatterns = [
    path("report/<str:code>/", public_views.report, name="report"),
    path("track/", public_views.track, name="track"),
    path("track/<str:code>/", public_views.tracking, name="tracking"),
    path("board/<str:code>/", public_views.board, name="board"),
]
