from django.urls import path

from . import views

app_name = "payroll"

urlpatterns = [
    path("", views.home, name="home"),
    path("sheets/", views.sheets, name="sheets"),
    path("sheets/compute/", views.compute, name="compute"),
    path("sheets/<int:pk>/", views.sheet_detail, name="sheet"),
    path("sheets/<int:pk>/recompute/", views.recompute, name="recompute"),
    path("sheets/<int:pk>/finalise/", views.finalise, name="finalise"),
    path("sheets/<int:pk>/lines/<int:line_pk>/", views.line_detail, name="line"),
    path("sheets/<int:pk>/export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("sheets/<int:pk>/export.pdf", views.export_pdf, name="export_pdf"),
    path("rewards/", views.rewards, name="rewards"),
    path("rewards/new/", views.reward_new, name="reward_new"),
    path("rewards/<int:pk>/withdraw/", views.reward_withdraw, name="reward_withdraw"),
    path("budget/", views.budget, name="budget"),
    path("rules/", views.rules, name="rules"),
    path("mine/", views.mine, name="mine"),
    path("mine/<int:line_pk>/", views.my_line, name="my_line"),
]
