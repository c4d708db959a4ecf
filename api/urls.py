"""The API's routes under /api/v1/, beside the self-referral endpoint (intake.api_urls)."""

from django.urls import include, path

urlpatterns = [
    path("", include("api.fhir.urls")),
]
