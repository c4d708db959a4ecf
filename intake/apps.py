from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"

    def ready(self) -> None:
        from intake import audit_references, messages, retention

        messages.register()
        retention.register()
        audit_references.register()
