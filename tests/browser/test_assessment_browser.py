"""Assessment and therapy pages in real headless Chromium, with axe-core (WCAG 2.2 AA) on
the worklist, every wizard step, the plan and the progress view."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from assessment.models import Assessment
from common import roles
from intake import clinical_record
from intake.models import MeasureResponse, Referral, RiskFlag
from tests import factories
from tests.browser.conftest import assert_accessible, sign_in
from therapy import goals as therapy_goals
from therapy import services as therapy_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def submit(page, label="Save and continue") -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=label).click()


@pytest.fixture
def waiting(service):
    referral = factories.ReferralFactory(
        client__service=service,
        client__given_name="Robin",
        client__family_name="Ashdown",
        reference="TH-BCDF-GHJK",
        risk_level="medium",
        received_at=timezone.now() - timedelta(weeks=5),
        presenting_problem="It is hard to let people get close.",
    )
    clinical_record.measure_response_record(
        referral=referral,
        measure="phq9",
        answers=[2] * 8 + [1],
        context=MeasureResponse.Context.SELF_REFERRAL,
        completed_at=timezone.now() - timedelta(weeks=5),
    )
    return referral


def test_worklist_booking_and_every_wizard_step_are_accessible(
    page, live_server, assessor, waiting
):
    factories.SiteFactory(service=waiting.service, name="Riverside Centre")
    sign_in(page, live_server, assessor)
    page.goto("/staff/assessments/")
    assert "Open risk flags" in page.content()
    assert_accessible(page, "40-assessment-worklist")

    page.goto(f"/staff/referrals/{waiting.public_id}/assessment/book/")
    assert_accessible(page, "41-booking")
    submit(page, "Book and send the invitation")
    assert page.locator(".nhsuk-error-summary").is_visible()
    assert_accessible(page, "42-booking-errors")
    day = timezone.localdate() + timedelta(days=8)
    page.fill("#id_day_day", str(day.day))
    page.fill("#id_day_month", str(day.month))
    page.fill("#id_day_year", str(day.year))
    page.fill("#id_start", "10:30")
    page.check("#id_duration_1")
    page.check("#id_mode_1")
    page.fill("#id_video_link", "https://meet.example.nhs.uk/abc123")
    submit(page, "Book and send the invitation")
    assert "Assessment booked" in page.content()

    # The open flag must be acknowledged before the assessment can finish.
    RiskFlag.objects.filter(referral=waiting).update(
        acknowledged_at=timezone.now(), acknowledged_by=assessor, action_taken="Called; safe."
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Start the assessment for TH-BCDF-GHJK").click()
    assert "/presenting/" in page.url

    submit(page)  # nothing chosen: errors
    assert_accessible(page, "43-wizard-presenting-errors")
    page.check("#id_presenting-status_0")
    assert_accessible(page, "44-wizard-presenting")
    submit(page)
    page.check("#id_relationships-status_1")
    assert_accessible(page, "45-wizard-relationships")
    submit(page)
    page.check("#id_history-status_2")
    assert_accessible(page, "46-wizard-history")
    submit(page)
    page.check("#id_circumstances-status_0")
    page.fill("#id_circumstances-support", "A sister nearby.")
    assert_accessible(page, "47-wizard-circumstances")
    submit(page)
    for name in ("to_self", "to_others", "from_others", "safeguarding"):
        page.check(f"#id_risk-{name}_1" if name == "to_self" else f"#id_risk-{name}_0")
    page.fill("#id_risk-to_self_detail", "Passive thoughts some evenings; no plans.")
    page.check("#id_risk-level_2")
    page.fill("#id_risk-plan", "Safety plan agreed; crisis numbers given.")
    assert_accessible(page, "48-wizard-risk")
    submit(page)
    page.check("#id_measures-phq9_0")  # the online answers
    page.check("#id_measures-gad7_0")  # completed now
    page.check("#id_measures-core10_0")
    page.check("#id_measures-wsas_0")
    assert_accessible(page, "49-wizard-measures")
    submit(page)
    for code, items in (("gad7", 7), ("core10", 10), ("wsas", 5)):
        assert f"/{code}/" in page.url
        for n in range(1, items + 1):
            page.check(f"#id_{code}-item_{n}_1")
        if code == "core10":
            page.check("#id_core10-item_6_0")
        assert_accessible(page, f"50-wizard-{code}")
        submit(page)
    page.check("#id_formulation-status_0")
    page.fill("#id_formulation-text", "Closeness may feel risky after early losses.")
    page.check("#id_formulation-approach_explained_0")
    page.check("#id_formulation-client_view_1")
    assert_accessible(page, "51-wizard-formulation")
    submit(page)
    page.check("#id_recommendation-choice_0")
    page.check("#id_recommendation-sessions_per_week_0")
    page.fill("#id_recommendation-reason", "Relational difficulties; curious about patterns.")
    assert_accessible(page, "52-wizard-recommendation")
    submit(page)
    assert_accessible(page, "53-wizard-letters")
    submit(page)
    assert "Check the assessment" in page.content()
    assert_accessible(page, "54-wizard-check")
    submit(page, "Finish and lock the assessment")
    assert "Assessment finished and locked" in page.content()
    assert_accessible(page, "55-assessment-finished")
    waiting.refresh_from_db()
    assert waiting.status == Referral.Status.AWAITING_ALLOCATION
    assert Assessment.objects.get().status == Assessment.Status.FINISHED


def test_plan_goals_sessions_and_progress_are_accessible(page, live_server, service, coordinator):
    therapist = factories.UserFactory(username="frankie", service=service, roles=[roles.THERAPIST])
    referral = factories.ReferralFactory(
        client__service=service,
        status=Referral.Status.AWAITING_ALLOCATION,
        reference="TH-TWXY-ZBCD",
    )
    start = timezone.localdate() - timedelta(weeks=9)
    therapy_services.therapy_start(
        referral=referral, therapist=therapist, started_on=start, user=coordinator
    )
    therapy_services.session_plan_save(
        referral=referral,
        user=therapist,
        values={
            "length": "fixed",
            "session_count": 16,
            "sessions_per_week": 2,
            "regular_times": [
                {"weekday": start.weekday(), "time": "10:00"},
                {"weekday": (start.weekday() + 2) % 7, "time": "10:00"},
            ],
            "mode": "video",
            "site": None,
            "room": "",
            "starts_on": start,
            "ends_on": start + timedelta(weeks=12),
            "review_dates": [start + timedelta(weeks=6)],
            "ending_plan": "Notice poor sleep early; talk to a friend; contact the GP.",
            "couch_discussed": "yes",
            "measures_every_sessions": 4,
            "repeat_measures": ["phq9", "gad7"],
        },
        reason="",
    )
    for weeks, (phq, gad) in [(-1, (16, 12)), (3, (15, 12)), (7, (14, 11))]:
        at = timezone.make_aware(datetime.combine(start + timedelta(weeks=weeks), time(11)))
        for code, total, items in (("phq9", phq, 9), ("gad7", gad, 7)):
            answers = [min(3, max(0, total - 3 * i)) for i in range(items - 1)]
            answers.append(total - sum(answers)) if code == "gad7" else answers.append(0)
            clinical_record.measure_response_record(
                referral=referral,
                measure=code,
                answers=answers,
                context=MeasureResponse.Context.REVIEW,
                completed_at=at,
            )
    therapy_services._progress_flags_raise(referral)
    therapy_goals.goal_add(
        referral=referral,
        user=therapist,
        description="Say no without guilt",
        score=2,
        rated_on=start,
    )
    sign_in(page, live_server, therapist)
    for path, name in [
        ("/staff/clients/", "60-caseload"),
        (f"/staff/referrals/{referral.public_id}/therapy/", "61-client"),
        (f"/staff/referrals/{referral.public_id}/plan/", "62-plan"),
        (f"/staff/referrals/{referral.public_id}/plan/change/", "63-plan-change"),
        (f"/staff/referrals/{referral.public_id}/plan/breaks/add/", "64-plan-break"),
        (f"/staff/referrals/{referral.public_id}/goals/", "65-goals"),
        (f"/staff/referrals/{referral.public_id}/sessions/", "66-sessions"),
        (f"/staff/referrals/{referral.public_id}/progress/", "67-progress"),
    ]:
        page.goto(path)
        assert_accessible(page, name)
    assert page.locator("svg.th-chart").count() == 3  # PHQ-9, GAD-7 and goals
    assert "Not on track" in page.content()

    page.goto(f"/staff/referrals/{referral.public_id}/plan/change/")
    page.fill("#id_reason", "")
    page.fill("#id_time_1", "half ten")
    submit(page, "Save the plan")
    assert page.locator(".nhsuk-error-summary").is_visible()
    assert_accessible(page, "68-plan-change-errors")

    sign_in(page, live_server, coordinator)
    page.goto("/staff/therapy/")
    assert_accessible(page, "69-therapy-overview")
