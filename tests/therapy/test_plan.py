"""The session plan: versions with who, when and why; checks on what is entered; breaks
that send the client notice; the current plan for the client portal."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from notifications.models import Notification
from tests.factories import SiteFactory
from tests.therapy.conftest import current_therapy
from therapy import services
from therapy.models import SessionPlan
from therapy.selectors import session_plan_current

pytestmark = pytest.mark.django_db


def next_weekday(weekday: int, after: date | None = None) -> date:
    day = (after or timezone.localdate()) + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def date_parts(name: str, day: date | None) -> dict:
    if day is None:
        return {f"{name}_day": "", f"{name}_month": "", f"{name}_year": ""}
    return {
        f"{name}_day": str(day.day),
        f"{name}_month": str(day.month),
        f"{name}_year": str(day.year),
    }


TUESDAY = next_weekday(1)


def plan_data(**changes) -> dict:
    data = {
        "length": "fixed",
        "session_count": "16",
        "sessions_per_week": "1",
        "day_1": "1",
        "time_1": "10:00",
        "mode": "video",
        **date_parts("starts_on", TUESDAY),
        **date_parts("ends_on", TUESDAY + timedelta(weeks=20)),
        **date_parts("review_1", TUESDAY + timedelta(weeks=8)),
        "ending_plan": "Notice early signs such as poor sleep; call the GP; refer again.",
        "measures_every_sessions": "4",
        "repeat_measures": ["phq9", "gad7"],
        "reason": "",
    }
    data.update(changes)
    return data


@pytest.fixture
def signed_in(client, therapist):
    client.force_login(therapist)
    return client


def edit_url(referral):
    return reverse("session-plan-edit", args=[referral.public_id])


def test_first_plan_then_a_change_makes_a_second_version_with_who_when_and_why(
    signed_in, in_therapy, therapist
):
    response = signed_in.post(edit_url(in_therapy), plan_data())
    assert response.status_code == 302, response.content.decode()[:3000]

    response = signed_in.post(
        edit_url(in_therapy),
        plan_data(day_1="3", time_1="17:15", reason="Moved to Thursday evenings for work")
        | date_parts("starts_on", next_weekday(3)),
    )
    assert response.status_code == 302

    first, second = SessionPlan.objects.filter(referral=in_therapy).order_by("version")
    assert first.change_reason == "First plan agreed"
    assert first.regular_times == [{"weekday": 1, "time": "10:00"}]
    assert second.version == 2 and second.created_by == therapist
    assert second.change_reason == "Moved to Thursday evenings for work"
    assert second.regular_times == [{"weekday": 3, "time": "17:15"}]
    assert session_plan_current(in_therapy) == second
    page = signed_in.get(reverse("session-plan", args=[in_therapy.public_id])).text
    assert "Version 2" in page and "Thursday at 17:15" in page
    assert "Moved to Thursday evenings for work" in page


def test_a_change_needs_a_reason_and_an_unchanged_plan_makes_no_version(signed_in, in_therapy):
    signed_in.post(edit_url(in_therapy), plan_data())
    no_reason = signed_in.post(edit_url(in_therapy), plan_data(session_count="20"))
    assert "Say why the plan is changing" in no_reason.text
    unchanged = signed_in.post(edit_url(in_therapy), plan_data(reason="Just checking"))
    assert "Nothing in the plan has changed" in unchanged.text
    assert SessionPlan.objects.filter(referral=in_therapy).count() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"length": ""}, "Select a fixed number of sessions or open-ended"),
        ({"session_count": ""}, "Enter the number of sessions"),
        ({"session_count": "lots"}, "The number of sessions must be a whole number"),
        ({"sessions_per_week": "2"}, "Session 2: select a day"),
        ({"sessions_per_week": "2", "day_2": "1", "time_2": "15:00"}, "are both on Tuesday"),
        (
            {"sessions_per_week": "2", "day_2": "4", "time_2": "15:00"},
            "Select whether use of the couch was discussed",
        ),
        ({"day_2": "4", "time_2": "15:00"}, "You chose 1 session a week but filled in session 2"),
        ({"time_1": "ten"}, "Enter the time of session 1 in the 24-hour clock"),
        ({"mode": "in_person"}, "Select the site for in-person sessions"),
        (date_parts("ends_on", None), "Enter the planned ending date for a fixed number"),
        (date_parts("ends_on", TUESDAY - timedelta(days=7)), "must be after the start date"),
        (date_parts("ends_on", TUESDAY + timedelta(weeks=10)), "16 sessions at 1 a week need"),
        (date_parts("starts_on", TUESDAY + timedelta(days=1)), "The start date is a Wednesday"),
        (
            date_parts("review_1", TUESDAY + timedelta(weeks=30)),
            "Review date 1 must be on or before the planned ending",
        ),
        (
            {"length": "open_ended", "session_count": ""} | date_parts("review_1", None),
            "Enter at least one review date for open-ended therapy",
        ),
        ({"repeat_measures": []}, "Select at least one questionnaire to repeat"),
        ({"measures_every_sessions": "0"}, "Questionnaires can be repeated every session"),
    ],
)
def test_plan_errors_are_specific_and_keep_what_was_typed(
    signed_in, in_therapy, service, changes, message
):
    SiteFactory(service=service, name="Riverside Centre")
    response = signed_in.post(edit_url(in_therapy), plan_data(**changes))
    assert response.status_code == 200
    assert message in response.text.replace("&#x27;", "'")
    assert "Notice early signs such as poor sleep" in response.text
    assert not SessionPlan.objects.exists()


def test_more_than_once_a_week_with_the_couch_discussed_and_in_person(
    signed_in, in_therapy, service
):
    site = SiteFactory(service=service, name="Northgate Clinic")
    response = signed_in.post(
        edit_url(in_therapy),
        plan_data(
            sessions_per_week="3",
            day_2="3",
            time_2="10:00",
            day_3="4",
            time_3="09:00",
            couch_discussed="yes",
            mode="in_person",
            site=str(site.public_id),
            room="2",
            session_count="60",
        )
        | date_parts("ends_on", TUESDAY + timedelta(weeks=26)),
    )
    assert response.status_code == 302
    plan = SessionPlan.objects.get()
    assert plan.sessions_per_week == 3 and plan.couch_discussed == "yes"
    assert [t["weekday"] for t in plan.regular_times] == [1, 3, 4]
    assert plan.site == site and plan.room == "2"


def test_a_planned_break_is_a_new_version_and_sends_the_client_notice(signed_in, in_therapy):
    signed_in.post(edit_url(in_therapy), plan_data())
    starts = TUESDAY + timedelta(weeks=6)
    url = reverse("session-plan-break-add", args=[in_therapy.public_id])

    response = signed_in.post(
        url,
        date_parts("starts_on", starts)
        | date_parts("ends_on", starts + timedelta(days=13))
        | {"kind": "therapist_leave"},
    )

    assert response.status_code == 302
    plan = session_plan_current(in_therapy)
    assert plan.version == 2 and len(plan.breaks) == 1
    assert plan.change_reason.startswith("Planned break added (therapist's leave)")
    notice = Notification.objects.get(kind="therapist_break")
    assert notice.context["break_starts_on"] == starts.isoformat()
    assert notice.context["resumes_on"] == (starts + timedelta(days=14)).isoformat()

    # The client's own holiday is planned too, but needs no notice from us.
    later = starts + timedelta(weeks=4)
    signed_in.post(
        url,
        date_parts("starts_on", later)
        | date_parts("ends_on", later + timedelta(days=6))
        | {"kind": "client_holiday"},
    )
    assert Notification.objects.filter(kind="therapist_break").count() == 1
    assert len(session_plan_current(in_therapy).breaks) == 2

    overlapping = signed_in.post(
        url,
        date_parts("starts_on", starts + timedelta(days=3))
        | date_parts("ends_on", starts + timedelta(days=20))
        | {"kind": "other"},
    )
    assert "This overlaps the break from" in overlapping.text

    # A later change of times keeps the breaks and sends no second notice.
    signed_in.post(edit_url(in_therapy), plan_data(time_1="11:00", reason="Later start"))
    assert len(session_plan_current(in_therapy).breaks) == 2
    assert Notification.objects.filter(kind="therapist_break").count() == 1


def test_break_checks(signed_in, in_therapy):
    url = reverse("session-plan-break-add", args=[in_therapy.public_id])
    before_plan = signed_in.get(url, follow=True)
    assert "Agree a session plan before adding breaks" in before_plan.text
    signed_in.post(edit_url(in_therapy), plan_data())
    past = timezone.localdate() - timedelta(days=3)
    response = signed_in.post(
        url, date_parts("starts_on", past) | date_parts("ends_on", past) | {"kind": "other"}
    )
    assert "A planned break must start today or later" in response.text
    backwards = signed_in.post(
        url,
        date_parts("starts_on", TUESDAY + timedelta(days=9))
        | date_parts("ends_on", TUESDAY + timedelta(days=2))
        | {"kind": "other"},
    )
    assert "must be on or after the first" in backwards.text


def test_removing_a_break_needs_a_reason_and_is_a_version(signed_in, in_therapy, therapist):
    signed_in.post(edit_url(in_therapy), plan_data())
    starts = TUESDAY + timedelta(weeks=3)
    plan = services.session_plan_break_add(
        referral=in_therapy,
        user=therapist,
        starts_on=starts,
        ends_on=starts + timedelta(days=6),
        kind="service_closure",
    )
    break_id = plan.breaks[0]["id"]
    url = reverse("session-plan-break-remove", args=[in_therapy.public_id, break_id])
    signed_in.post(url, {"reason": ""})
    assert session_plan_current(in_therapy).version == 2
    signed_in.post(url, {"reason": "Clinic stays open after all"})
    current = session_plan_current(in_therapy)
    assert current.version == 3 and current.breaks == []
    assert current.change_reason == "Break removed: Clinic stays open after all"
    missing = signed_in.post(
        reverse("session-plan-break-remove", args=[in_therapy.public_id, "nope"]),
        {"reason": "x"},
        follow=True,
    )
    assert "That break is not in the current plan" in missing.text


def test_coordinator_may_change_the_plan_but_another_therapist_may_not(
    client, in_therapy, coordinator, therapist_user
):
    client.force_login(coordinator)
    assert client.post(edit_url(in_therapy), plan_data()).status_code == 302
    client.force_login(therapist_user)  # a therapist of the service, not this client's
    assert client.get(edit_url(in_therapy)).status_code == 404
    assert client.get(reverse("session-plan", args=[in_therapy.public_id])).status_code == 404


def test_handed_over_therapist_keeps_read_access_but_cannot_change(
    client, in_therapy, therapist, therapist_user, coordinator
):
    services.therapy_start(
        referral=in_therapy,
        therapist=therapist_user,
        started_on=timezone.localdate(),
        user=coordinator,
    )
    assert current_therapy(in_therapy).therapist == therapist_user
    client.force_login(therapist)
    assert client.get(reverse("session-plan", args=[in_therapy.public_id])).status_code == 200
    assert client.get(edit_url(in_therapy)).status_code == 403


def test_a_bad_time_does_not_also_blame_the_start_date(signed_in, in_therapy):
    response = signed_in.post(edit_url(in_therapy), plan_data(time_1="half ten"))
    assert "Enter the time of session 1 in the 24-hour clock" in response.text
    assert "The start date is a" not in response.text


def test_current_plan_is_what_the_client_portal_will_show(in_therapy, therapist):
    assert session_plan_current(in_therapy) is None
    for minute in ("10:00", "10:30"):
        services.session_plan_save(
            referral=in_therapy,
            user=therapist,
            values={
                "length": "open_ended",
                "sessions_per_week": 1,
                "regular_times": [{"weekday": TUESDAY.weekday(), "time": minute}],
                "mode": "phone",
                "starts_on": TUESDAY,
                "review_dates": [TUESDAY + timedelta(weeks=12)],
                "measures_every_sessions": 6,
                "repeat_measures": ["core10"],
            },
            reason="Later start" if minute == "10:30" else "",
        )
    current = session_plan_current(in_therapy)
    assert current.version == 2 and current.regular_times[0]["time"] == "10:30"
    assert current.session_count is None and current.ends_on is None


def test_a_too_long_reason_for_removing_a_break_is_refused_clearly_and_kept(
    signed_in, in_therapy, therapist
):
    signed_in.post(edit_url(in_therapy), plan_data())
    starts = TUESDAY + timedelta(weeks=3)
    plan = services.session_plan_break_add(
        referral=in_therapy,
        user=therapist,
        starts_on=starts,
        ends_on=starts + timedelta(days=6),
        kind="service_closure",
    )
    break_id = plan.breaks[0]["id"]
    page = signed_in.get(reverse("session-plan", args=[in_therapy.public_id])).text
    # No maxlength that would cut the text off; a character count says the limit.
    assert ' maxlength="300"' not in page
    assert 'data-module="nhsuk-character-count" data-maxlength="300"' in page
    reason = " ".join(["The clinic stays open after all."] * 10)
    assert len(reason) > 300
    url = reverse("session-plan-break-remove", args=[in_therapy.public_id, break_id])

    response = signed_in.post(url, {"reason": reason})

    assert response.status_code == 400  # refused, as every refused form is
    assert f"The reason must be 300 characters or fewer (you have {len(reason)})" in response.text
    assert f">{escape(reason)}</textarea>" in response.text or f'value="{escape(reason)}"' in (
        response.text
    )
    assert session_plan_current(in_therapy).version == 2
    empty = signed_in.post(url, {"reason": "  "})
    assert empty.status_code == 400
    assert "Say why the break is being removed" in empty.text
    assert session_plan_current(in_therapy).version == 2
