from django.urls import path

from . import dossier_views, import_views, special_views, views

app_name = "ledger"

urlpatterns = [
    path("", views.index, name="index"),
    # households and their members
    path("households/", views.household_list, name="households"),
    path("households/new/", views.household_create, name="household_new"),
    path("households/<str:number>/", views.household_detail, name="household"),
    path("households/<str:number>/edit/", views.household_edit, name="household_edit"),
    path("households/<str:number>/move/", views.household_move, name="household_move"),
    path("households/<str:number>/close/", views.household_close, name="household_close"),
    path("households/<str:number>/review/", views.household_review, name="household_review"),
    path("households/<str:number>/residents/new/", views.resident_create, name="resident_new"),
    path("residents/", views.resident_list, name="residents"),
    path("residents/<int:pk>/", views.resident_detail, name="resident"),
    path("residents/<int:pk>/edit/", views.resident_edit, name="resident_edit"),
    path("residents/<int:pk>/status/", views.resident_status, name="resident_status"),
    # places and organisations
    path("places/", views.place_list, name="places"),
    path("places/new/", views.place_create, name="place_new"),
    path("places/<int:pk>/", views.place_detail, name="place"),
    path("places/<int:pk>/edit/", views.place_edit, name="place_edit"),
    path("organisations/", views.organisation_list, name="organisations"),
    path("organisations/new/", views.organisation_create, name="organisation_new"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation"),
    path("organisations/<int:pk>/edit/", views.organisation_edit, name="organisation_edit"),
    # special population (9+X) and key persons
    path("residents/<int:pk>/special/<str:kind>/", special_views.special_record_edit, name="special_record"),
    path("residents/<int:pk>/key-person/apply/", special_views.key_person_apply, name="key_person_apply"),
    path("key-persons/", special_views.key_person_list, name="key_persons"),
    path("key-persons/<int:pk>/<str:action>/", special_views.key_person_act, name="key_person_act"),
    # 一格一档, and the catalogue of the ledgers (数据资源目录)
    path("catalogue/", views.catalogue, name="catalogue"),
    path("dossier/<str:code>/", dossier_views.dossier, name="dossier"),
    path("dossier/<str:code>/pdf/", dossier_views.dossier_pdf, name="dossier_pdf"),
    # import and export
    path("import/", import_views.import_start, name="import"),
    path("import/<int:pk>/", import_views.import_report, name="import_run"),
    path("import/<int:pk>/apply/", import_views.import_apply, name="import_apply"),
    path("templates/<str:kind>.<str:fmt>", import_views.template_download, name="template"),
    path("export/<str:kind>.<str:fmt>", import_views.export, name="export"),
]
