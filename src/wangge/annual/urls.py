from django.urls import path

from . import views

app_name = "annual"

urlpatterns = [
    path("", views.round_list, name="list"),
    path("new/", views.round_create, name="create"),
    path("<int:pk>/", views.round_detail, name="detail"),
    path("<int:pk>/people/", views.add_person, name="add_person"),
    path("<int:pk>/finalise/", views.finalise, name="finalise"),
    path("<int:pk>/report/", views.round_report, name="report"),
    path("<int:pk>/report.xlsx", views.report_xlsx, name="report_xlsx"),
    path("<int:pk>/report.pdf", views.report_pdf, name="report_pdf"),
    path("entries/<int:pk>/", views.entry_detail, name="entry"),
    path("entries/<int:pk>/remove/", views.remove_entry, name="remove_entry"),
    path("entries/<int:pk>/self-report/", views.entry_self_report, name="self_report"),
    path("entries/<int:pk>/votes/", views.entry_votes, name="votes"),
    path("entries/<int:pk>/on-site/", views.entry_onsite, name="onsite"),
    path("entries/<int:pk>/rating/", views.entry_rate, name="rate"),
    path("entries/<int:pk>/dismissal/", views.entry_dismiss, name="dismiss"),
    path("entries/<int:pk>/notice/", views.entry_notice, name="notice"),
    path("entries/<int:pk>/award/", views.entry_award, name="award"),
    path("entries/<int:pk>/flag/", views.entry_flag, name="flag"),
    path("ballot/", views.ballot, name="ballot"),
    path("mine/", views.mine, name="mine"),
    path("awards/", views.award_list, name="awards"),
]
