"""HL7 FHIR R4 export and import of referrals (UK Core profiles where they exist); paths
under /api/v1/."""

import uuid

from django.urls import path, register_converter

from api.fhir import views


class ReferralIdConverter:
    """Any one path segment: a UUID as a UUID (so the audit names the referral read), anything
    else as given, so the view answers it with a FHIR 404 and not the HTML error page."""

    regex = "[^/]+"

    def to_python(self, value):
        try:
            return uuid.UUID(value)
        except ValueError:
            return value

    def to_url(self, value):
        return str(value)


register_converter(ReferralIdConverter, "fhir_referral_id")

urlpatterns = [
    path(
        "referrals/<fhir_referral_id:referral_id>/fhir",
        views.ReferralFhirExportApi.as_view(),
        name="api-fhir-referral-export",
    ),
    path(
        "fhir/ServiceRequest",
        views.ServiceRequestFhirImportApi.as_view(),
        name="api-fhir-servicerequest-create",
    ),
]
