from django.apps import AppConfig


class AllocationConfig(AppConfig):
    name = "allocation"

    def ready(self) -> None:
        from allocation import messages

        messages.register()
