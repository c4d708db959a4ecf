from django.apps import AppConfig


class AllocationConfig(AppConfig):
    name = "allocation"

    def ready(self) -> None:
        from allocation import messages, receivers
        from intake import signals

        messages.register()
        signals.referral_submitted.connect(
            receivers.referral_submitted, dispatch_uid="allocation.referral_submitted"
        )
        signals.referral_status_changed.connect(
            receivers.referral_status_changed, dispatch_uid="allocation.referral_status_changed"
        )
