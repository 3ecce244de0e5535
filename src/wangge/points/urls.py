from django.urls import path

from . import views

app_name = "points"

urlpatterns = [
    path("", views.index, name="index"),
    path("award/", views.award_start, name="award_start"),
    path("book/<str:number>/", views.book, name="book"),
    path("book/<str:number>/pdf/", views.book_pdf, name="book_pdf"),
    path("book/<str:number>/award/", views.award, name="award"),
    path("book/<str:number>/adjust/", views.adjust, name="adjust"),
    path("entries/<int:pk>/reverse/", views.reverse_entry, name="reverse"),
    path("village/<str:code>/", views.summary, name="summary"),
    path("village/<str:code>/shop/", views.shop, name="shop"),
    path("village/<str:code>/shop/new/", views.item_new, name="item_new"),
    path("items/<int:pk>/edit/", views.item_edit, name="item_edit"),
    path("items/<int:pk>/stock/", views.item_stock, name="item_stock"),
    path("village/<str:code>/selections/", views.selections, name="selections"),
    path("selections/<int:pk>/", views.selection, name="selection"),
]
