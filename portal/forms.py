"""The portal's forms. Every error names the field and says how to put it right; none says
anything about whether a referral exists."""

from __future__ import annotations

from django import forms

from intake import forms as intake_forms
from intake import validation
from intake.models import Client
from intake.references import reference_is_well_formed
from portal.services import normalise_reference

CHANNELS = [("email", "Email"), ("sms", "Text message")]
YES_NO = [("yes", "Yes"), ("no", "No")]


class AskForLinkForm(forms.Form):
    reference = forms.CharField(
        label="Your referral reference",
        help_text="It starts with TH, like TH-7K3M-X9QP. It is on the page you saw when you "
        "sent your referral, and in our first message to you.",
        max_length=40,
        widget=forms.TextInput(
            attrs={"class": "nhsuk-input--width-10", "spellcheck": "false", "autocomplete": "off"}
        ),
        error_messages={
            "required": "Enter your referral reference, like TH-7K3M-X9QP",
            "max_length": "Your referral reference is 12 letters, numbers and dashes, like "
            "TH-7K3M-X9QP",
        },
    )
    date_of_birth = intake_forms.NhsDateField(
        label="Date of birth",
        label_noun="Date of birth",
        help_text="For example, 27 3 1985",
        error_messages={"required": "Enter your date of birth"},
    )
    channel = forms.ChoiceField(
        label="How should we send your sign-in link?",
        help_text="We can only send it a way you agreed we may contact you.",
        choices=CHANNELS,
        widget=forms.RadioSelect,
        error_messages={"required": "Select email or text message"},
    )

    def clean_reference(self):
        reference = normalise_reference(self.cleaned_data["reference"])
        if not reference_is_well_formed(reference):
            raise forms.ValidationError(
                "Enter your referral reference as it was given to you, like TH-7K3M-X9QP"
            )
        return reference


class ConsentForm(forms.Form):
    decision = forms.ChoiceField(
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": "Select yes or no"},
    )

    def __init__(self, *args, question: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decision"].label = question


class ContactForm(forms.Form):
    """The contact details a client may change. Blank means "do not hold this"."""

    email = forms.EmailField(
        label="Email address",
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages={
            "invalid": "Enter an email address in the correct format, like name@example.com",
            "max_length": "Email address must be 254 characters or fewer",
        },
    )
    mobile_phone = intake_forms.line_field(
        "Mobile number", limit=20, autocomplete="tel", width="20"
    )
    landline_phone = intake_forms.line_field("Landline number", limit=20, width="20")
    address = intake_forms.text_field("Postal address", limit=intake_forms.SHORT_TEXT_LIMIT, rows=4)
    preferred_channel = forms.ChoiceField(
        label="How would you prefer us to contact you?",
        required=False,
        choices=[("", "No preference"), *Client.Channel.choices],
        widget=forms.RadioSelect,
    )
    safe_contact_times = intake_forms.line_field(
        "Times when it is not safe or convenient to contact you",
        limit=200,
        hint="For example, weekday evenings",
    )

    def __init__(self, *args, stored: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored = stored or {}

    def _phone(self, name: str, kind: str) -> str:
        value = self.cleaned_data.get(name, "")
        # A number we already hold is kept as it is, even one today's checks would question:
        # nobody is stopped from changing something else because of it.
        if value and value.strip() == self.stored.get(name):
            return self.stored[name]
        return validation.clean_phone(value, kind=kind)

    def clean_mobile_phone(self):
        return self._phone("mobile_phone", "mobile")

    def clean_landline_phone(self):
        return self._phone("landline_phone", "landline")


# --- Corrections ------------------------------------------------------------------------------
CORRECTION_LIMIT = 1500


class CorrectionForm(forms.Form):
    """What is wrong in the record and what it should say, in the client's words."""

    wrong = intake_forms.text_field(
        "What is wrong?",
        limit=CORRECTION_LIMIT,
        required=True,
        hint="Tell us what is wrong and where you saw it, for example your address on "
        "your letters, or an answer in your copy of your data.",
        rows=5,
    )
    should_say = intake_forms.text_field(
        "What should it say?",
        limit=CORRECTION_LIMIT,
        required=True,
        hint="If it should not be in your record at all, tell us that.",
        rows=5,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["wrong"].error_messages["required"] = "Enter what is wrong in your record"
        self.fields["should_say"].error_messages["required"] = (
            "Enter what it should say, or that it should not be in your record"
        )


class WholeRecordForm(forms.Form):
    """Asking for a copy of the whole record: anything in particular, in the client's words."""

    details = intake_forms.text_field(
        "Is there anything in particular you want? (optional)",
        limit=CORRECTION_LIMIT,
        required=False,
        hint="For example, your assessment, or the letters we sent your GP. Leave it empty "
        "for everything.",
        rows=4,
    )


class WithdrawForm(forms.Form):
    confirm = forms.ChoiceField(
        label="Are you sure you want to withdraw your referral?",
        choices=[("yes", "Yes, withdraw my referral"), ("no", "No, keep my referral")],
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether you want to withdraw your referral"},
    )
