from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (`manage.py seed_demo`): writes through every app, so it sits on top."""

    name = "demo"
    verbose_name = "Threshold: demo data"
