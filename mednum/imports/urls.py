from django.urls import path

from mednum.imports import views

app_name = "imports"

urlpatterns = [
    path("import/", views.import_view, name="import"),
    path("import/suivi/<str:result_id>/<str:token>/", views.import_progress, name="suivi"),
    path("import/suivi/<str:result_id>/<str:token>/etat.json", views.import_progress_etat, name="suivi_etat"),
    path("import/rapport/<str:token>.csv", views.download_report, name="rapport"),
]
