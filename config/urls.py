from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView


def _when_docs_public(view):
    """The schema and docs answer 404 unless API_DOCS_PUBLIC (read per request)."""

    def docs(request, *args, **kwargs):
        if not settings.API_DOCS_PUBLIC:
            raise Http404("The API documentation is not published here.")
        return view(request, *args, **kwargs)

    return docs


urlpatterns = [
    path("", include("common.urls")),
    path("", include("staff.urls")),
    path("", include("intake.urls")),
    path("", include("assessment.urls")),
    path("", include("therapy.urls")),
    path("", include("notifications.urls")),
    path("", include("allocation.urls")),
    path("", include("portal.urls")),
    path("", include("audit.urls")),
    path("", include("reporting.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("api/schema/", _when_docs_public(SpectacularAPIView.as_view()), name="api-schema"),
    # The split view serves Swagger UI's set-up script as a file, not inline (CSP).
    path(
        "api/docs/",
        _when_docs_public(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]

handler400 = "common.views.bad_request"
handler403 = "common.views.permission_denied"
handler404 = "common.views.page_not_found"
handler500 = "common.views.server_error"
