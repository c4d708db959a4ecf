"""Staff sign-in."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from common.access import INTEGRATION_REFUSED, integration_refusal, is_integration_user


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
        if is_integration_user(user):
            raise forms.ValidationError(integration_refusal(user), code="integration_account")


class TwoFactorCodeForm(forms.Form):
    """The code step of signing in, and the confirming code when setting up. Checked by
    common.two_factor, whose errors the view adds to this field."""

    code = forms.CharField(
        label="Code",
        required=False,
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false"}
        ),
    )


class TwoFactorResetForm(forms.Form):
    reason = forms.CharField(
        label="Why are you resetting it?",
        help_text="For example: lost or replaced phone. This is kept with the record of the reset.",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Enter why you are resetting this member's two-factor sign-in.",
            "max_length": "The reason must be 500 characters or fewer.",
        },
    )
