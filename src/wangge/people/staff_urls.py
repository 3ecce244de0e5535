"""The staff desk (mounted at /staff/): AB岗, absences, the emergency reserve, household contact cards."""

from django.urls import path

from . import views

app_name = "staff"

urlpatterns = [
    path("", views.staff_home, name="home"),
    path("ab/<str:code>/", views.ab_page, name="ab"),
    path("absences/<int:pk>/", views.absence_page, name="absence"),
    path("reserve/<str:code>/", views.reserve_page, name="reserve"),
    path("reserve/members/<int:pk>/", views.reserve_member, name="reserve_member"),
    path("reserve/members/<int:pk>/remove/", views.reserve_remove, name="reserve_remove"),
    path("cards/households/<str:number>.pdf", views.household_card, name="household_card"),
    path("cards/grids/<str:code>.pdf", views.grid_cards, name="grid_cards"),
]
