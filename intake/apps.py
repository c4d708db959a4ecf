from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"

    def ready(self) -> None:
        from intake import drafts
        from notifications import kinds

        # The save-and-return email is addressed, and its code issued, when it is sent.
        kinds.register_at_send(drafts.RESUME_LINK_KIND, drafts.draft_resume_link_address)
