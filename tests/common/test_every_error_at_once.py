"""A form reports all its errors together: a mistake in one field never hides a mistake
elsewhere until the next try."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from types import SimpleNamespace

from intake.forms import ContactForm, ContactPreferencesForm
from therapy.forms import GoalRatingForm


def test_contact_step_reports_every_channel_mistake_together():
    form = ContactForm(
        {"email_ok": "yes", "email": "not-an-email", "mobile_ok": "yes", "landline_call_ok": "yes"}
    )

    assert not form.is_valid()
    assert {"email", "mobile_phone", "mobile_uses", "landline_phone"} <= set(form.errors)


def test_contact_preferences_report_voicemail_and_over_long_times_together():
    form = ContactPreferencesForm({"safe_contact_times": "x" * 201}, channels=["phone"])

    assert not form.is_valid()
    assert {"safe_contact_times", "voicemail_ok"} <= set(form.errors)


def test_contact_step_with_nothing_usable_says_so():
    form = ContactForm({"email_ok": "no", "mobile_ok": "no"})

    assert not form.is_valid()
    assert any("at least one way to contact you" in e for e in form.non_field_errors())


def test_contact_step_still_holds_back_the_channel_message_for_a_bad_email():
    form = ContactForm({"email": "not-an-email", "email_ok": "yes"})

    assert not form.is_valid()
    assert "email" in form.errors
    assert not form.non_field_errors()


def test_goal_ratings_report_a_future_date_and_no_rating_together():
    goal = SimpleNamespace(public_id=uuid.uuid4(), description="Say no without guilt")
    today = date(2027, 3, 14)
    later = today + timedelta(days=3)
    form = GoalRatingForm(
        {"rated_on_day": later.day, "rated_on_month": later.month, "rated_on_year": later.year},
        goals=[goal],
        today=today,
    )

    assert not form.is_valid()
    assert "rated_on" in form.errors
    assert "Enter a rating for at least one goal" in form.non_field_errors()
