from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Threshold: audit trail"

    def ready(self) -> None:
        from audit import retention

        retention.register()
