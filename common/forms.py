"""Staff sign-in."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from common.access import INTEGRATION_REFUSED, is_integration_account


class StaffAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "The username or password is not right. Check them and try again.",
        "integration_account": INTEGRATION_REFUSED,
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        # Checked only once the password is right, so the form never tells a stranger which
        # usernames are integration accounts.
        if is_integration_account(user):
            raise forms.ValidationError(
                self.error_messages["integration_account"], code="integration_account"
            )
