from django.urls import path

from . import views

app_name = "meetings"

urlpatterns = [
    path("", views.meeting_list, name="list"),
    path("new/", views.meeting_create, name="create"),
    path("due/", views.meetings_due, name="due"),
    path("<int:pk>/", views.meeting_detail, name="detail"),
    path("<int:pk>/edit/", views.meeting_edit, name="edit"),
    path("<int:pk>/resolutions/", views.resolution_add, name="add_resolution"),
    path("resolutions/<int:pk>/case/", views.resolution_spawn, name="spawn"),
    path("resolutions/<int:pk>/done/", views.resolution_close, name="close_resolution"),
]
