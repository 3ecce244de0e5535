from django.urls import path

from . import views

app_name = "cases"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("assigned/", views.assigned, name="assigned"),
    path("long-term/", views.long_term, name="long_term"),
    path("batch-dispatch/", views.batch_dispatch, name="batch_dispatch"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/act/<str:action>/", views.act, name="act"),
    path("<int:pk>/attachments/<int:attachment_pk>/", views.attachment, name="attachment"),
]
