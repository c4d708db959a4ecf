from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Threshold: letters and messages"

    def ready(self) -> None:
        from notifications import retention

        retention.register()
