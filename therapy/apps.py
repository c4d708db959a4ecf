from django.apps import AppConfig


class TherapyConfig(AppConfig):
    name = "therapy"

    def ready(self) -> None:
        from therapy import messages

        messages.register()
