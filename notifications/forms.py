"""Staff forms on the message pages."""

from __future__ import annotations

from django import forms


class ResendForm(forms.Form):
    prefix = "resend"

    reason = forms.CharField(
        label="Why are you sending it again?",
        max_length=500,
        error_messages={
            "required": "Enter why you are sending the message again",
            "max_length": "The reason must be 500 characters or fewer (you have %(show_value)d)",
        },
    )


class CancelForm(forms.Form):
    prefix = "cancel"

    reason = forms.CharField(
        label="Why are you cancelling it? (optional)",
        max_length=500,
        required=False,
        error_messages={
            "max_length": "The reason must be 500 characters or fewer (you have %(show_value)d)"
        },
    )


class FollowUpForm(forms.Form):
    prefix = "followup"

    note = forms.CharField(
        label="What did you do?",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Enter what you did, for example who you phoned and when",
            "max_length": "The note must be 1000 characters or fewer (you have %(show_value)d)",
        },
    )
