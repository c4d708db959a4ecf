from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("", include("common.urls")),
    path("", include("staff.urls")),
    path("", include("intake.urls")),
    path("", include("assessment.urls")),
    path("", include("therapy.urls")),
    path("", include("notifications.urls")),
    path("", include("allocation.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("intake.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's set-up script as a file, not inline (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

handler400 = "common.views.bad_request"
handler403 = "common.views.permission_denied"
handler404 = "common.views.page_not_found"
handler500 = "common.views.server_error"
