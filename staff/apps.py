from django.apps import AppConfig


class StaffConfig(AppConfig):
    """The staff home for each role: a whole-service page on top of every app."""

    name = "staff"
    verbose_name = "Threshold: staff home"
