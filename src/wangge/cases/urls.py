from django.urls import path

from . import admission_views, views

app_name = "cases"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("assigned/", views.assigned, name="assigned"),
    path("long-term/", views.long_term, name="long_term"),
    path("batch-dispatch/", views.batch_dispatch, name="batch_dispatch"),
    path("admission/", admission_views.admission_list, name="admission"),
    path("admission/request/", admission_views.admission_request, name="admission_request"),
    path("admission/requests/<int:pk>/decide/", admission_views.admission_decide, name="admission_decide"),
    path("admission/items/", admission_views.admission_add_item, name="admission_add_item"),
    path(
        "admission/items/<int:pk>/remove/",
        admission_views.admission_remove_item,
        name="admission_remove_item",
    ),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/act/<str:action>/", views.act, name="act"),
    path("<int:pk>/attachments/<int:attachment_pk>/", views.attachment, name="attachment"),
]
