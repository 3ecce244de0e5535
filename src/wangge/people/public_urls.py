"""Public pages of the grid staff, no sign-in: the notice board (公示牌, TEAM-6)."""

from django.urls import path

from . import public_views

app_name = "staff_public"

urlpatterns = [
    path("<str:code>/", public_views.board, name="board"),
    path("<str:code>/board.pdf", public_views.board_pdf, name="board_pdf"),
    path("<str:code>/photo/<int:user_id>/", public_views.photo, name="photo"),
]
