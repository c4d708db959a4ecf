from django.apps import AppConfig


class ReportingConfig(AppConfig):
    """Service reporting for coordinators and managers, and the monthly data-set return."""

    name = "reporting"
