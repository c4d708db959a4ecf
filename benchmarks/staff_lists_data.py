"""A seeded service of 50,000 referrals (two to three years of one service), for the staff
list and reporting benchmarks.

Referrals arrive evenly over three years and sit in the states a real service holds:
most have ended, been signposted or withdrawn; the newest wait for assessment, a few
thousand wait for a therapist, and about 1,500 are in therapy with 50 therapists. Every
assessed referral has a finished assessment; every one that reached therapy has a plan,
goals with ratings, sessions attended, missed or cancelled (with PHQ-9 and GAD-7 repeated
every fourth, on the session's day) and an allocation; therapies end for each of the
reasons, mostly planned. Every referral has its self-referral questionnaires, which its
finished assessment uses (a few declined), and messages, some failed and waiting for
follow-up; risk flags are acknowledged from half an hour to days after they are raised.
Rows go in with bulk_create, in batches.

Call `generate()` after django.setup(), against an empty migrated database.
"""

from __future__ import annotations

import datetime as dt
import random

SEED = 20251111
REFERRALS = 50_000
THERAPISTS = 50
BATCH = 5_000

# Share of referrals in each state, newest first: the newest are still waiting.
STATES = [
    ("submitted", 0.012),
    ("assessment_booked", 0.006),
    ("awaiting_allocation", 0.03),
    ("allocated", 0.004),
    ("in_therapy", 0.03),
    # the rest, older: ended, signposted or withdrawn
]
OLD_STATES = [("ended", 0.62), ("signposted", 0.28), ("withdrawn", 0.10)]

GIVEN = ["Robin", "Alex", "Sam", "Jo", "Priya", "Tomasz", "Aisha", "Chen", "Niamh", "Kwame"]
FAMILY = ["Ashdown", "Okafor", "Nowak", "Patel", "Byrne", "Mensah", "Li", "Evans", "Khan", "Hale"]


def generate(*, referrals: int = REFERRALS, seed: int = SEED, years: int = 3) -> dict:
    """Make the service and its rows, received evenly over `years` to now; return the
    people and ids the benchmark needs."""
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from allocation.models import Allocation, Therapist, WeeklySlot
    from assessment.models import Assessment, AssessmentMeasure
    from common import roles
    from common.models import Service, User
    from intake.models import Client, MeasureResponse, Preferences, Referral, RiskFlag
    from notifications.models import Notification, PrintBatch
    from therapy.models import (
        Goal,
        GoalRating,
        ProgressFlag,
        SessionPlan,
        SessionResponse,
        Therapy,
        TherapySession,
    )

    rng = random.Random(seed)
    now = timezone.now()
    today = timezone.localdate()
    service = Service.objects.create(
        name="Bench service", slug="bench-lists", duty_inbox_email="duty@bench.invalid"
    )

    def staff(username, *role_names):
        user = User.objects.create_user(
            username=username,
            password=None,
            first_name=username.title(),
            last_name="Bench",
            service=service,
        )
        user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in role_names))
        return user

    assessor = staff("assessor", roles.ASSESSOR)
    coordinator = staff("coordinator", roles.COORDINATOR)
    admin = staff("admin", roles.SERVICE_ADMIN)
    therapist_users = [staff(f"therapist{i}", roles.THERAPIST) for i in range(THERAPISTS)]
    therapists = Therapist.objects.bulk_create(
        Therapist(
            service=service,
            user=user,
            display_name=f"Therapist {i}",
            gender="female" if i % 2 else "male",
            languages=["English"],
            modalities=["psychodynamic"],
            frequencies=[1, 2],
            capacity=32,
        )
        for i, user in enumerate(therapist_users)
    )
    WeeklySlot.objects.bulk_create(
        WeeklySlot(therapist=t, weekday=d, start=dt.time(9 + h, 0))
        for t in therapists
        for d in range(5)
        for h in range(0, 8, 2)
    )

    # --- Clients and referrals, oldest first --------------------------------------------
    span = dt.timedelta(days=years * 365)
    counts = [(state, round(share * referrals)) for state, share in STATES]
    recent = sum(n for _, n in counts)
    old = referrals - recent
    states: list[str] = []
    for state, share in OLD_STATES:
        states += [state] * round(share * old)
    states = (states + ["ended"] * old)[:old]
    rng.shuffle(states)
    # states[i] belongs to the i-th oldest referral; the recent states follow, from in
    # therapy (the oldest of them) to waiting for assessment (the newest).
    for state, n in reversed(counts):
        states += [state] * n
    received = [now - span + span * (i + 0.5) / referrals for i in range(referrals)]

    clients = []
    for i in range(referrals):
        clients.append(
            Client(
                service=service,
                given_name=rng.choice(GIVEN),
                family_name=rng.choice(FAMILY),
                date_of_birth=dt.date(1960 + rng.randrange(45), 1 + rng.randrange(12), 1 + i % 28),
                email=f"client{i}@example.invalid",
            )
        )
    clients = Client.objects.bulk_create(clients, batch_size=BATCH)
    risk_levels = ["none_known"] * 14 + ["low"] * 4 + ["medium", "high"]
    referral_rows = Referral.objects.bulk_create(
        (
            Referral(
                service=service,
                client=clients[i],
                reference=f"TH-{i // 10000:04d}-{i % 10000:04d}",
                status=states[i],
                risk_level=rng.choice(risk_levels),
                received_at=received[i],
                presenting_problem="It is hard to let people close.",
            )
            for i in range(referrals)
        ),
        batch_size=BATCH,
    )
    by_state: dict[str, list[Referral]] = {}
    for referral in referral_rows:
        by_state.setdefault(referral.status, []).append(referral)

    waiting = by_state.get("awaiting_allocation", []) + by_state.get("allocated", [])
    Preferences.objects.bulk_create(
        (
            Preferences(
                referral=r,
                mode="either",
                availability=["tue_morning", "thu_evening"],
                language="Polish" if r.pk % 17 == 0 else "",
            )
            for r in waiting
        ),
        batch_size=BATCH,
    )

    # --- Self-referral questionnaires and risk flags ------------------------------------
    def responses():
        for r in referral_rows:
            for measure, items in (("phq9", 9), ("gad7", 7)):
                answers = [rng.randrange(4) for _ in range(items)]
                yield MeasureResponse(
                    referral=r,
                    measure=measure,
                    context="self_referral",
                    answers=answers,
                    total=sum(answers),
                    band="moderate",
                    caseness=sum(answers) >= 10,
                    completed_at=r.received_at,
                )

    first_scores: dict[int, dict[str, MeasureResponse]] = {}
    for response in MeasureResponse.objects.bulk_create(responses(), batch_size=BATCH):
        first_scores.setdefault(response.referral_id, {})[response.measure] = response
    flagged = [r for r in referral_rows if r.risk_level == "high"]
    open_window = now - dt.timedelta(weeks=8)
    RiskFlag.objects.bulk_create(
        (
            RiskFlag(
                service=service,
                referral=r,
                source="phq9_item9",
                detail="Thoughts of self-harm on several days",
                raised_at=r.received_at,
                **(
                    {}
                    if r.received_at > open_window
                    else {
                        # Most within the hour or the day, a few late (for reporting).
                        "acknowledged_at": r.received_at
                        + dt.timedelta(hours=rng.choice([0.5, 0.5, 2, 2, 3, 8, 20, 30, 100])),
                        "acknowledged_by": assessor,
                        "action_taken": "Called the client; safety plan agreed",
                    }
                ),
            )
            for r in flagged
        ),
        batch_size=BATCH,
    )

    # --- Assessments -------------------------------------------------------------------
    assessed_states = {"awaiting_allocation", "allocated", "in_therapy", "ended", "signposted"}
    assessed = [r for r in referral_rows if r.status in assessed_states]
    Assessment.objects.bulk_create(
        (
            Assessment(
                service=service,
                referral=r,
                assessor=assessor,
                status="finished",
                finished_at=r.received_at + dt.timedelta(weeks=4),
                finished_by=assessor,
                recommendation_choice="psychodynamic" if r.status != "signposted" else "signpost",
                recommendation_modality="psychodynamic",
                recommendation_sessions_per_week=1 + (r.pk % 7 == 0),
            )
            for r in assessed
        ),
        batch_size=BATCH,
    )
    # The questionnaires each finished assessment used: the self-referral's, a few declined.
    finished = Assessment.objects.filter(service=service, status="finished").values_list(
        "id", "referral_id"
    )
    AssessmentMeasure.objects.bulk_create(
        (
            AssessmentMeasure(
                assessment_id=assessment_id,
                measure=measure,
                **(
                    {"source": "declined"}
                    if referral_id % 23 == 0
                    else {"source": "online", "response": first_scores[referral_id][measure]}
                ),
            )
            for assessment_id, referral_id in finished.iterator(chunk_size=BATCH)
            for measure in ("phq9", "gad7")
        ),
        batch_size=BATCH,
    )
    Assessment.objects.bulk_create(
        (
            Assessment(service=service, referral=r, assessor=assessor, status="draft")
            for r in by_state.get("assessment_booked", [])[::2]
        ),
        batch_size=BATCH,
    )

    # --- Allocations, therapies, plans, goals, sessions ---------------------------------
    treated = by_state.get("ended", []) + by_state.get("in_therapy", [])
    allocated = by_state.get("allocated", [])
    current = by_state.get("in_therapy", [])
    therapist_of = {
        r.pk: i % THERAPISTS for i, r in enumerate(allocated + current + by_state["ended"])
    }
    Allocation.objects.bulk_create(
        (
            Allocation(
                service=service,
                referral=r,
                therapist=therapists[therapist_of[r.pk]],
                status="ended" if r.status == "ended" else "active",
                source="recorded",
                first_appointment_at=r.received_at + dt.timedelta(weeks=10)
                if r.status != "allocated"
                else now + dt.timedelta(days=1 + r.pk % 20),
                allocated_by=coordinator,
                allocated_at=r.received_at + dt.timedelta(weeks=8),
            )
            for r in allocated + treated
        ),
        batch_size=BATCH,
    )

    def start_of(r):
        started = timezone.localtime(r.received_at).date() + dt.timedelta(weeks=10)
        return min(started, today - dt.timedelta(weeks=1))

    therapies = Therapy.objects.bulk_create(
        (
            Therapy(
                service=service,
                referral=r,
                therapist=therapist_users[therapist_of[r.pk]],
                started_on=start_of(r),
                started_by=coordinator,
                ended_on=start_of(r) + dt.timedelta(weeks=20) if r.status == "ended" else None,
                end_reason=(["completed"] * 16 + ["non_attendance"] * 3 + ["handed_over"])[
                    r.pk % 20
                ]
                if r.status == "ended"
                else "",
            )
            for r in treated
        ),
        batch_size=BATCH,
    )
    SessionPlan.objects.bulk_create(
        (
            SessionPlan(
                service=service,
                referral_id=t.referral_id,
                version=1,
                length="fixed",
                session_count=20,
                sessions_per_week=1,
                regular_times=[{"weekday": 1, "time": "10:00"}],
                mode="in_person" if t.pk % 3 else "video",
                starts_on=t.started_on,
                ends_on=t.started_on + dt.timedelta(weeks=20),
                review_dates=[(t.started_on + dt.timedelta(weeks=w)).isoformat() for w in (8, 16)],
                repeat_measures=["phq9", "gad7"],
                measures_every_sessions=4,
                change_reason="First plan agreed",
                created_by=t.therapist,
            )
            for t in therapies
        ),
        batch_size=BATCH,
    )
    goals = Goal.objects.bulk_create(
        (
            Goal(
                service=service,
                referral_id=t.referral_id,
                description=text,
                agreed_on=t.started_on,
                created_by=t.therapist,
            )
            for t in therapies
            for text in ("Let people closer", "Sleep through the night")
        ),
        batch_size=BATCH,
    )
    GoalRating.objects.bulk_create(
        (
            GoalRating(
                goal=g,
                score=3 + k,
                rated_on=g.agreed_on + dt.timedelta(weeks=4 * k),
                recorded_by=g.created_by,
            )
            for g in goals
            for k in range(1 + (g.pk % 2))
        ),
        batch_size=BATCH,
    )
    attendance = ["attended"] * 8 + ["did_not_attend", "cancelled_by_client"]
    session_rows = []
    for t in therapies:
        last = t.ended_on or today - dt.timedelta(days=1)
        weeks = min(12, max(1, (last - t.started_on).days // 7))
        for w in range(weeks):
            session_rows.append(
                TherapySession(
                    service=service,
                    referral_id=t.referral_id,
                    therapy=t,
                    occurred_on=t.started_on + dt.timedelta(weeks=w),
                    attendance=rng.choice(attendance),
                    recorded_by=t.therapist,
                )
            )
    sessions = TherapySession.objects.bulk_create(session_rows, batch_size=BATCH)
    # PHQ-9 and GAD-7 at every fourth attended session, on the session's day: intake keeps
    # the answers, therapy the link to the session (SessionResponse). Scores drift down from
    # the self-referral's for most and up for a few, so the outcomes have every kind.
    reviewed = [s for i, s in enumerate(sessions) if i % 4 == 3 and s.attendance == "attended"]

    def review(s, measure, items):
        start = first_scores[s.referral_id][measure].total
        total = max(0, min(3 * items, start + rng.choice([-8, -6, -4, -2, 0, 1, 5])))
        answers = [total // items + (k < total % items) for k in range(items)]
        return MeasureResponse(
            referral_id=s.referral_id,
            measure=measure,
            context="review",
            answers=answers,
            total=total,
            band="mild",
            caseness=total >= (10 if measure == "phq9" else 8),
            completed_at=timezone.make_aware(dt.datetime.combine(s.occurred_on, dt.time(12))),
        )

    pairs = [(s, measure, items) for s in reviewed for measure, items in (("phq9", 9), ("gad7", 7))]
    responses = MeasureResponse.objects.bulk_create(
        (review(s, measure, items) for s, measure, items in pairs), batch_size=BATCH
    )
    SessionResponse.objects.bulk_create(
        (
            SessionResponse(session=s, response=r)
            for (s, _, _), r in zip(pairs, responses, strict=True)
        ),
        batch_size=BATCH,
    )
    ProgressFlag.objects.bulk_create(
        ProgressFlag(
            service=service,
            referral=r,
            reason="reliable_deterioration",
            detail="PHQ-9 up by 6 since the start",
            raised_at=now - dt.timedelta(days=r.pk % 30),
        )
        for r in current[::25]
    )

    # --- Messages ------------------------------------------------------------------------
    def messages():
        for r in referral_rows:
            yield Notification(
                service=service,
                referral=r,
                kind="acknowledgement",
                recipient="client",
                occurrence="submitted",
                idempotency_key=f"ack:{r.pk}",
                status="sent",
                channel="email",
                to_address=f"client{r.pk}@example.invalid",
                subject="We have your referral",
                body_text="Thank you for your referral. " * 20,
                sent_at=r.received_at,
            )
            if r.status in ("ended", "in_therapy"):
                failed = r.pk % 40 == 0
                yield Notification(
                    service=service,
                    referral=r,
                    kind="appointment_reminder",
                    recipient="client",
                    occurrence=f"reminder:{r.pk}",
                    idempotency_key=f"reminder:{r.pk}",
                    status="failed" if failed else "sent",
                    status_reason="The mailbox is full" if failed else "",
                    follow_up_needed=failed,
                    closed_at=r.received_at + dt.timedelta(weeks=10) if failed else None,
                    channel="email",
                    sent_at=None if failed else r.received_at + dt.timedelta(weeks=10),
                    appointment_at=r.received_at + dt.timedelta(weeks=10, days=1),
                )

    Notification.objects.bulk_create(messages(), batch_size=BATCH)
    PrintBatch.objects.bulk_create(
        PrintBatch(
            service=service,
            created_by=coordinator,
            letter_count=5,
            page_count=9,
            pdf=b"%PDF-1.7 bench",
            first_downloaded_at=now,
            first_downloaded_by=coordinator,
            download_count=1,
        )
        for _ in range(700)
    )
    busiest = max(therapists, key=lambda t: t.pk)  # any therapist: loads are even
    return {
        "service_id": service.pk,
        "assessor": assessor.pk,
        "coordinator": coordinator.pk,
        "service_admin": admin.pk,
        "therapist": busiest.user_id,
        "referral": str(referral_rows[len(referral_rows) // 2].public_id),
        "counts": {state: len(rows) for state, rows in sorted(by_state.items())},
    }
