"""Forms of intake's office pages: rights requests and partner API tokens. They check what a
person typed; the services (intake.rights, intake.api_tokens) decide."""

from __future__ import annotations

from django import forms
from django.conf import settings

from common import roles
from intake.forms import NhsDateField, NhsDateWidget
from intake.models import RightsRequest
from intake.rights import DETAILS_LIMIT, MAX_EXTENSION_MONTHS


class OfficeDateWidget(NhsDateWidget):
    """The NHS date input without birthday autocomplete hints."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        for widget in self.widgets:
            widget.attrs.pop("autocomplete", None)


def _text(label: str, *, required_words: str, hint: str = "", rows: int = 4) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=DETAILS_LIMIT,
        help_text=hint,
        widget=forms.Textarea(attrs={"rows": rows, "data-maxlength": DETAILS_LIMIT}),
        error_messages={
            "required": required_words,
            "max_length": f"{label} must be {DETAILS_LIMIT} characters or fewer "
            "(you have %(show_value)d)",
        },
    )


class RightsRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label="What does the client ask for?",
        choices=[
            (
                RightsRequest.Kind.ACCESS,
                "A copy of their whole record (a subject access request)",
            ),
            (RightsRequest.Kind.CORRECTION, "A correction: something in their record is wrong"),
            (
                RightsRequest.Kind.RESTRICTION,
                "A restriction: stop using their record for now (it is kept)",
            ),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose whether the client asks for a copy, a correction or a restriction"
        },
    )
    details = _text(
        "What the client asks",
        required_words="Enter what the client asks for, in their words",
        hint="For example: their address is wrong, and what it should be",
    )
    received_on = NhsDateField(
        label="Date received",
        label_noun="Date received",
        widget=OfficeDateWidget,
        help_text="The time to answer runs from this day. For example, 14 3 2027",
        error_messages={
            "required": "Enter the date the request was received",
            "incomplete": "Date received must include a day, month and year",
        },
    )
    source = forms.ChoiceField(
        label="How did it come?",
        choices=[
            (value, label)
            for value, label in RightsRequest.Source.choices
            if value != RightsRequest.Source.PORTAL
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how the request came"},
    )


class ExtendForm(forms.Form):
    months = forms.TypedChoiceField(
        label="Extend by",
        coerce=int,
        choices=[(n, f"{n} more month{'s' if n > 1 else ''}") for n in range(1, 3)][
            :MAX_EXTENSION_MONTHS
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose an extension of one or two months"},
    )
    reason = _text(
        "Why more time is needed",
        required_words="Enter why more time is needed (the client is told)",
        hint="The client must be told of the extension, and why, within the first month",
        rows=3,
    )


class CompleteForm(forms.Form):
    status = forms.ChoiceField(
        label="Outcome",
        choices=[
            (RightsRequest.Status.DONE, "Done"),
            (RightsRequest.Status.REFUSED, "Refused"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether the request was done or refused"},
    )
    outcome = _text(
        "What was done, or why it was refused",
        required_words="Enter what was done, or why the request was refused",
        hint="Done: what was given, corrected or restricted, and how. Refused: the reason the "
        "client is told",
        rows=4,
    )
    client_told_of_ico = forms.BooleanField(
        label="If refused: the client has been told they can complain to the Information "
        "Commissioner's Office (ICO)",
        required=False,
    )


class LiftForm(forms.Form):
    reason = _text(
        "Why the restriction is lifted",
        required_words="Enter why the restriction is lifted",
        rows=3,
    )
    client_told = forms.BooleanField(
        label="The client has been told before it is lifted",
        required=False,
    )


class TokenIssueForm(forms.Form):
    name = forms.CharField(
        label="What the token is for",
        max_length=100,
        help_text="For example: the practice's referral system. Shown in lists; never secret",
        error_messages={
            "required": "Enter what the token is for",
            "max_length": "What the token is for must be 100 characters or fewer "
            "(you have %(show_value)d)",
        },
    )
    days = forms.IntegerField(
        label="Days until it expires",
        required=False,
        min_value=1,
        max_value=365,
        help_text="Leave empty for the usual period",
        error_messages={
            "invalid": "Days until it expires must be a whole number, like 90",
            "min_value": "Days until it expires must be at least 1",
            "max_value": "Days until it expires must be 365 or fewer",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].help_text = f"Leave empty for the usual {settings.API_TOKEN_DAYS} days"


ROLE_CHOICES = [
    (roles.PARTNER_REFERRER, "Partner referrer: sends referrals in, reads nothing"),
    (roles.COORDINATOR, "Coordinator: reads and acts as a coordinator does, for reporting"),
    (roles.SERVICE_ADMIN, "Service admin: reads what a service admin reads"),
]


class IntegrationAccountForm(forms.Form):
    """A named integration account: the system's username and the role it acts with."""

    username = forms.RegexField(
        label="Username for the system",
        regex=r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z",
        min_length=3,
        max_length=60,
        help_text="The system's name, not a person's. For example: reporting-system. Letters, "
        "digits, full stops, hyphens and underscores",
        error_messages={
            "required": "Enter a username for the system",
            "invalid": "The username must start with a letter or digit and have only letters, "
            "digits, full stops, hyphens and underscores",
            "min_length": "The username must be at least 3 characters",
            "max_length": "The username must be 60 characters or fewer (you have %(show_value)d)",
        },
    )
    role = forms.ChoiceField(
        label="The role it acts with",
        choices=ROLE_CHOICES,
        widget=forms.RadioSelect,
        help_text="It reads and does through the API what this role may, in this service only",
        error_messages={
            "required": "Select the role the system acts with",
            "invalid_choice": "Select the role the system acts with",
        },
    )
