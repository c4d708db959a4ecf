from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"

    def ready(self) -> None:
        from common import pages
        from intake import audit_references, messages, retention, rights

        messages.register()
        retention.register()
        audit_references.register()
        # A referral under restriction: a banner on its staff pages.
        pages.register_record_notice(rights.restriction_notice)
