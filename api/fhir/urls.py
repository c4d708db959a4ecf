"""HL7 FHIR R4 export and import of referrals (UK Core profiles where they exist); paths
under /api/v1/."""

from django.urls import path

from api.fhir import views

urlpatterns = [
    path(
        "referrals/<uuid:referral_id>/fhir",
        views.ReferralFhirExportApi.as_view(),
        name="api-fhir-referral-export",
    ),
    path(
        "fhir/ServiceRequest",
        views.ServiceRequestFhirImportApi.as_view(),
        name="api-fhir-servicerequest-create",
    ),
]
