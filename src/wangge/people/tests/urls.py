"""The project's routes plus the staff desk, for tests run before the desk is mounted in wangge.urls."""

from django.urls import include, path

from wangge.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
if not any(getattr(pattern, "namespace", None) == "staff" for pattern in urlpatterns):
    urlpatterns.append(path("staff/", include("wangge.people.staff_urls")))
