from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Threshold: audit trail"

    def ready(self) -> None:
        from audit import receivers, retention

        retention.register()
        receivers.register()
