"""The reporting page's date range: two dates, checked together."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from intake.forms import NhsDateField
from reporting.selectors import Period

# Two years: a year compared with the one before is the longest view a manager needs, and it
# bounds the weeks and months every chart draws.
LONGEST_DAYS = 731
FIELDS = ("from_date", "to_date")


def default_period(today: dt.date | None = None) -> Period:
    """The last twelve months, to today."""
    today = today or timezone.localdate()
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today.replace(year=today.year - 1, day=28)
    return Period(first=year_ago + dt.timedelta(days=1), last=today)


class ReportRangeForm(forms.Form):
    from_date = NhsDateField(
        label_noun="The start date",
        label="From",
        help_text="For example, 1 4 2026",
        error_messages={"required": "Enter the date the report starts"},
    )
    to_date = NhsDateField(
        label_noun="The end date",
        label="To (inclusive)",
        help_text="For example, 31 3 2027",
        error_messages={"required": "Enter the date the report ends"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in FIELDS:
            for widget in self.fields[name].widget.widgets:
                # These are not the user's birthday (the widget's default).
                widget.attrs.pop("autocomplete", None)

    def clean(self):
        data = super().clean()
        first, last = data.get("from_date"), data.get("to_date")
        if first and last:
            if first > last:
                self.add_error(
                    "to_date", "The end date must be the same as or after the start date"
                )
            elif (last - first).days + 1 > LONGEST_DAYS:
                self.add_error(
                    "to_date",
                    "The range must be 2 years or shorter: choose a later start date or an "
                    "earlier end date",
                )
        return data

    @property
    def period(self) -> Period:
        return Period(first=self.cleaned_data["from_date"], last=self.cleaned_data["to_date"])


def range_form(params) -> ReportRangeForm:
    """Bound to the address's dates when any is given, else to the default range."""
    given = any(key.startswith(FIELDS) for key in params)
    if given:
        return ReportRangeForm(params)
    period = default_period()
    return ReportRangeForm(range_params(period))


def range_params(period: Period) -> dict[str, str]:
    params = {}
    for name, day in (("from_date", period.first), ("to_date", period.last)):
        params |= {
            f"{name}_day": str(day.day),
            f"{name}_month": str(day.month),
            f"{name}_year": str(day.year),
        }
    return params
