from django.apps import AppConfig


class AssessmentConfig(AppConfig):
    name = "assessment"

    def ready(self) -> None:
        from assessment import messages

        messages.register()
