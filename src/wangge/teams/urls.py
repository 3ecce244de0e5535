from django.urls import path

from . import views

app_name = "teams"

urlpatterns = [
    path("", views.staff_ledger, name="ledger"),
    path("export/", views.staff_ledger_export, name="export"),
    path("staffing/<str:code>/", views.staffing, name="staffing"),
    path("person/<int:user_id>/", views.person, name="person"),
    path("person/<int:user_id>/agreement/", views.sign_agreement, name="sign_agreement"),
    path("person/<int:user_id>/badge/", views.issue_badge, name="issue_badge"),
    path("person/<int:user_id>/flag/", views.flag_worker, name="flag"),
    path("badge/<int:pk>/return/", views.return_badge, name="return_badge"),
    path("flag/<int:pk>/withdraw/", views.withdraw_flag, name="withdraw_flag"),
    path("training/", views.training, name="training"),
    path("training/plan/new/", views.file_plan, name="file_plan"),
    path("training/plan/<int:pk>/acknowledge/", views.acknowledge_plan, name="acknowledge_plan"),
    path("training/session/new/", views.record_session, name="record_session"),
    path("training/session/<int:pk>/", views.session, name="session"),
]
