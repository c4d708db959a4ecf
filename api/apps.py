from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API over every resource, and HL7 FHIR R4 exchange (api/fhir)."""

    name = "api"
    verbose_name = "REST API and FHIR"

    def ready(self) -> None:
        from api import retention

        retention.register()
