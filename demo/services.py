"""Demo data for `make run` and manual trials: one service, its staff, therapists and
referrals in several states, taken on through assessment, therapy and allocation.
Deterministic (seeded) and idempotent: running it again changes nothing and prints no
passwords. Each demo member of staff has an authenticator for two-factor sign-in; its setup
key is printed with the password. It writes through every app, so it lives on top of them all."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from allocation.engine import PARTS
from allocation.models import (
    SPECIALISMS,
    Allocation,
    AllocationNeeds,
    AllocationSettings,
    AllocationSlot,
    LeavePeriod,
    SiteAccess,
    Therapist,
    TherapistExclusion,
    WeeklySlot,
)
from allocation.selectors import first_appointment_for
from allocation.services import slot_json
from assessment.models import Assessment, AssessmentAppointment, Mode
from common import roles
from common.models import Service, Site, User
from common.two_factor import authenticator_issue, has_authenticator
from intake import clinical_record
from intake import services as intake_services
from intake.api_tokens import api_token_issue, api_tokens_live
from intake.models import (
    Client,
    ConsentRecord,
    MeasureResponse,
    Preferences,
    PrivacyNotice,
    Referral,
)
from intake.references import ALPHABET
from therapy import goals as therapy_goals
from therapy import services as therapy_services
from therapy.models import QuestionnaireRequest, Therapy, TherapySession

SERVICE_SLUG = "demo"
# Letters and messages name the service by its own name; the staff and public pages'
# header shows SERVICE_NAME. The demo's one service has that name, so both say the same.
# Earlier demo data used another name: the next seed renames it.
OLD_DEMO_NAME = "Threshold Psychotherapy Service (demo)"
# One line a paragraph: the consent page shows a line break where the text has one.
DEMO_PRIVACY_NOTICE = "\n\n".join(
    [
        (
            "We are an NHS service. We use the information you give us to assess your needs and "
            "provide your care. The law allows NHS services to do this as part of providing health "
            "care; it does not depend on your consent."
        ),
        (
            "We keep your information confidential and secure. We share it with your GP only if "
            "you agree, unless we are seriously worried about your safety or someone else's."
        ),
        "You choose how we contact you, and you can change your mind at any time.",
        (
            "You can ask to see the information we hold about you. To find out more, or to "
            "complain, contact the service's data protection officer."
        ),
    ]
)
STAFF = [
    ("assessor", "Asha", "Patel", [roles.ASSESSOR]),
    ("coordinator", "Morgan", "Hughes", [roles.COORDINATOR]),
    ("therapist", "Rowan", "Ellis", [roles.THERAPIST]),
    ("serviceadmin", "Sam", "Okafor", [roles.SERVICE_ADMIN]),
    ("partner", "Mill Lane", "Surgery", [roles.PARTNER_REFERRER]),
]
# Language mix skewed as in many English services: most therapists English only.
EXTRA_LANGUAGES = ["Polish", "Urdu", "Bengali", "Arabic", "Portuguese", "BSL", "Romanian"]
GIVEN = [
    "Alex",
    "Jordan",
    "Casey",
    "Jamie",
    "Robin",
    "Charlie",
    "Taylor",
    "Riley",
    "Avery",
    "Quinn",
    "Morgan",
    "Drew",
    "Emery",
    "Hayden",
    "Kai",
    "Logan",
    "Parker",
    "Reese",
]
FAMILY = [
    "Smith",
    "Jones",
    "Williams",
    "Brown",
    "Taylor",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Walker",
    "Wright",
    "Robinson",
    "Thompson",
    "White",
]
THERAPIST_NAMES = [
    "Rowan Ellis",  # the demo therapist's own profile: the sign-in of the same name
    "Ada Lewis",
    "Ben Carter",
    "Chloe Green",
    "Dev Sharma",
    "Ella Brooks",
    "Farid Khan",
    "Grace Owen",
    "Hana Kowalska",
    "Isaac Reid",
    "Jude Price",
    "Kemi Adeyemi",
    "Leo Marsh",
    "Maya Rahman",
    "Nina Silva",
    "Omar Haddad",
    "Pia Novak",
    "Rui Costa",
    "Sara Begum",
    "Tom Hart",
    "Uma Iyer",
    "Vera Popescu",
    "Will Fox",
    "Yara Nasser",
    "Zoe Quinn",
]


# How long ago referrals in each state were received (weeks, from..to): each must leave
# room for the steps its state implies, in order.
RECEIVED_WEEKS = {
    Referral.Status.ASSESSMENT_BOOKED: (1, 12),
    Referral.Status.AWAITING_ALLOCATION: (2, 26),
    Referral.Status.ALLOCATED: (5, 20),
    Referral.Status.IN_THERAPY: (16, 26),
    Referral.Status.ENDED: (22, 26),
}
# Therapy that has started began this many weeks ago; ended therapy ran for ENDED_WEEKS
# and finished a few weeks ago.
IN_THERAPY_WEEKS = 10
ENDED_WEEKS = 12


@dataclass
class SeedReport:
    created_users: list[tuple[str, str, str]] = field(default_factory=list)
    reset_users: list[tuple[str, str, str]] = field(default_factory=list)
    # (username, setup key, otpauth URI) of each demo member given a new authenticator.
    authenticators: list[tuple[str, str, str]] = field(default_factory=list)
    api_token: str = ""
    # (reference, date of birth) of the client who agreed to email: the portal's demo.
    portal_client: tuple[str, date] | None = None
    therapists: int = 0
    referrals: int = 0
    service: Service | None = None


@transaction.atomic
def demo_seed(*, reset_passwords: bool = False, seed: int = 20261126) -> SeedReport:
    report = SeedReport()
    service, _ = Service.objects.get_or_create(
        slug=SERVICE_SLUG,
        defaults={
            "name": settings.SERVICE_NAME,
            "duty_inbox_email": "duty@demo.threshold.invalid",
            "phone": "01632 960 000",
            "address": "Riverside Centre, 1 Mill Lane, Demo Town, DT1 1AA",
            "min_age": 18,
            "gp_postcode_areas": [],
            "signpost_current_services": ["crisis_team"],
        },
    )
    if service.name == OLD_DEMO_NAME:
        service.name = settings.SERVICE_NAME
        service.save(update_fields=["name"])
    report.service = service
    PrivacyNotice.objects.get_or_create(
        service=service,
        version="1.0",
        defaults={"text": DEMO_PRIVACY_NOTICE, "published_at": timezone.now()},
    )
    sites = [
        Site.objects.get_or_create(service=service, name=name, defaults={"address": address})[0]
        for name, address in [
            ("Riverside Centre", "1 Mill Lane, Demo Town, DT1 1AA"),
            ("Northgate Clinic", "40 Northgate, Demo Town, DT2 4BB"),
        ]
    ]
    _seed_staff(service, report, reset_passwords)
    # Each part draws from its own generator, so a second run (which creates nothing)
    # makes exactly the same choices as the first.
    _seed_therapists(service, sites, seed, report)
    _seed_referrals(service, random.Random(seed + 1), report)
    _seed_assessments(service)
    _seed_allocation(service, random.Random(seed + 2))
    _seed_journeys(service)
    _seed_portal_client(service, report)
    return report


PORTAL_CONSENT_WORDS = "Yes, you can contact me by email."


def _seed_portal_client(service: Service, report: SeedReport) -> None:
    """One client in therapy agrees to email, so the client portal can be tried: their sign-in
    link goes to the demo's mail (var/mail in embedded mode)."""
    referral = (
        Referral.objects.select_related("client")
        .filter(service=service, status=Referral.Status.IN_THERAPY)
        .order_by("reference")
        .first()
    )
    if referral is None:
        return
    client = referral.client
    if not client.email:
        client.email = f"{client.given_name}.{client.family_name}@demo.threshold.invalid".lower()
        client.save(update_fields=["email"])
    agreed = client.consents.filter(
        topic=ConsentRecord.Topic.CONTACT_EMAIL, decision=ConsentRecord.Decision.GRANTED
    )
    if not agreed.exists():
        intake_services.consent_record(
            client=client,
            referral=referral,
            topic=ConsentRecord.Topic.CONTACT_EMAIL,
            decision=ConsentRecord.Decision.GRANTED,
            wording=PORTAL_CONSENT_WORDS,
            wording_version="demo",
            via=ConsentRecord.Via.STAFF,
        )
    # Their therapist asks for a CORE-10, so the portal's questionnaire can be tried.
    therapy = referral.therapies.filter(ended_on__isnull=True).first()
    asked = QuestionnaireRequest.objects.filter(referral=referral, completed_at__isnull=True)
    if therapy is not None and not asked.exists():
        therapy_services.questionnaire_request(
            referral=referral, user=therapy.therapist, measure="core10"
        )
    report.portal_client = (referral.reference, client.date_of_birth)


def _seed_staff(service: Service, report: SeedReport, reset_passwords: bool) -> None:
    for username, first, last, role_names in STAFF:
        # The partner is an integration account: an API token, never a password.
        integration = roles.PARTNER_REFERRER in role_names
        user = User.objects.filter(username=username).first()
        if user is None:
            password = None if integration else secrets.token_urlsafe(12)
            user = User.objects.create_user(
                username=username,
                password=password,
                first_name=first,
                last_name=last,
                email=f"{username}@demo.threshold.invalid",
                service=service,
            )
            if not integration:
                report.created_users.append((username, password, ", ".join(role_names)))
        elif integration and user.has_usable_password():
            user.set_unusable_password()  # demo data made before integration accounts lost theirs
            user.save(update_fields=["password"])
        elif reset_passwords and not integration:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.save(update_fields=["password"])
            report.reset_users.append((username, password, ", ".join(role_names)))
        user.groups.add(*_role_groups(role_names))
        # Two-factor sign-in is on in the demo too: each member's authenticator is made here,
        # with its key printed beside the password (new with it, or if the member has none).
        issued = user.username in {name for name, _, _ in report.created_users + report.reset_users}
        if not integration and (issued or not has_authenticator(user=user)):
            authenticator = authenticator_issue(user=user)
            report.authenticators.append((username, authenticator.key, authenticator.uri))
        # A new key only when the account has no usable one (the key is shown once).
        if integration and not api_tokens_live(user=user).exists():
            report.api_token = api_token_issue(user=user, name="Demo partner system").key


def _role_groups(names) -> list[Group]:
    """The role groups, made if missing: a database emptied after migrating (as a test that
    flushes tables leaves it) has lost the rows the roles migration wrote."""
    return [Group.objects.get_or_create(name=name)[0] for name in names]


def _colleague(service: Service, name: str) -> User:
    first, _, last = name.partition(" ")
    username = "demo." + name.lower().replace(" ", ".").replace("'", "")
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first,
            "last_name": last,
            "email": f"{username}@demo.threshold.invalid",
            "service": service,
        },
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(*_role_groups([roles.THERAPIST]))
    return user


def _seed_therapists(service: Service, sites: list[Site], seed: int, report) -> None:
    therapist_user = User.objects.get(username="therapist")
    for name in THERAPIST_NAMES:
        rng = random.Random(f"{seed}-{name}")
        # Competence from a stream of its own, so every other field is what it was.
        skills = random.Random(f"{seed}-{name}-competence")
        grade = "trainee" if skills.random() < 0.15 else "qualified"
        competence = {
            "grade": grade,
            "supervised": grade == "trainee" or skills.random() < 0.2,
            "specialisms": sorted(
                skills.sample([code for code, _ in SPECIALISMS], k=skills.choice([0, 1, 1, 2]))
            ),
        }
        # The caseload mix from a stream of its own: some therapists cap their high-risk
        # or complex clients (docs/allocation.md, "Caseload mix").
        mix = random.Random(f"{seed}-{name}-caseload-mix")
        competence["max_high_risk"] = mix.choice([2, 3]) if mix.random() < 0.4 else None
        competence["max_complex"] = mix.choice([2, 4]) if mix.random() < 0.3 else None
        therapist, created = Therapist.objects.get_or_create(
            service=service,
            display_name=name,
            defaults={
                "gender": rng.choice(["female", "female", "male", "male", "non_binary"]),
                "languages": [
                    "English",
                    *rng.sample(EXTRA_LANGUAGES, k=rng.choice([0, 0, 0, 1, 1, 2])),
                ],
                "modalities": ["psychodynamic"] + (["dit"] if rng.random() < 0.4 else []),
                "frequencies": [1, 2] if rng.random() < 0.25 else [1],
                "offers_remote": rng.random() < 0.8,
                "capacity": rng.randint(20, 40),
                **competence,
            },
        )
        if name == therapist_user.get_full_name() and therapist.user_id != therapist_user.pk:
            # The demo therapist signs in as the profile of the same name (earlier demo data
            # linked the sign-in to another profile: the link moves).
            Therapist.objects.filter(user=therapist_user).update(user=None)
            therapist.user = therapist_user
            therapist.save(update_fields=["user"])
        elif therapist.user_id is None and name != therapist_user.get_full_name():
            # Every other profile belongs to a colleague with a sign-in of their own, so a
            # proposal for them can be accepted. Nobody signs in as them in the demo.
            therapist.user = _colleague(service, name)
            therapist.save(update_fields=["user"])
        if created:
            own_sites = rng.sample(sites, k=rng.choice([1, 1, 2]))
            therapist.sites.set(own_sites)
            used: set[tuple[int, time]] = set()
            for _ in range(rng.randint(3, 8)):
                weekday = rng.randint(0, 4)
                # Evening slots are scarce, as they are in most services.
                hour = rng.choice([9, 10, 11, 13, 14, 15, 16, 9, 10, 14, 17, 18])
                start = time(hour, 0)
                if (weekday, start) in used:
                    continue
                used.add((weekday, start))
                WeeklySlot.objects.create(
                    therapist=therapist,
                    weekday=weekday,
                    start=start,
                    length_minutes=50,
                    site=None
                    if therapist.offers_remote and rng.random() < 0.4
                    else rng.choice(own_sites),
                )
    report.therapists = Therapist.objects.filter(service=service).count()


def _seed_referrals(service: Service, rng: random.Random, report: SeedReport) -> None:
    statuses = (
        [Referral.Status.SUBMITTED] * 10
        + [Referral.Status.ASSESSMENT_BOOKED] * 5
        + [Referral.Status.AWAITING_ALLOCATION] * 12
        + [Referral.Status.ALLOCATED] * 3
        + [Referral.Status.IN_THERAPY] * 4
        + [Referral.Status.ENDED] * 2
    )
    if Referral.objects.filter(service=service).exists():
        # Seeded before (perhaps by an earlier version, with other references): keep them.
        report.referrals = Referral.objects.filter(service=service).count()
        return
    now = timezone.now()
    named: set[tuple[str, str]] = set()
    for index, status in enumerate(statuses):
        # Well formed, like a real one, so the portal takes it.
        reference = "-".join(
            ["TH", *("".join(rng.choice(ALPHABET) for _ in range(4)) for _ in range(2))]
        )
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        while (given, family) in named:  # no two demo clients share a name
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        named.add((given, family))
        born = date(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28))
        weeks = rng.uniform(0, 26) if status != Referral.Status.SUBMITTED else rng.uniform(0, 4)
        if status in RECEIVED_WEEKS:
            # Far enough back for what has happened since: assessment, allocation, sessions.
            low, high = RECEIVED_WEEKS[status]
            weeks = low + (high - low) * weeks / 26
        risk = rng.choice(["none_known"] * 6 + ["low"] * 3 + ["medium", "high"])
        if Referral.objects.filter(reference=reference).exists():
            continue
        client = Client.objects.create(
            service=service, given_name=given, family_name=family, date_of_birth=born
        )
        Referral.objects.create(
            service=service,
            client=client,
            reference=reference,
            status=status,
            source=Referral.Source.SELF if index % 4 else Referral.Source.GP,
            risk_level=risk,
            received_at=now - timedelta(weeks=weeks) if weeks else datetime.now(tz=timezone.utc),
        )
    report.referrals = Referral.objects.filter(service=service).count()


def _spread(total: int, items: int) -> list[int]:
    answers = []
    for _ in range(items):
        answers.append(min(3, total))
        total -= answers[-1]
    return answers


def _finished_assessment(service, referral, assessor, finished_at, sessions_per_week=1):
    Assessment.objects.create(
        service=service,
        referral=referral,
        assessor=assessor,
        status=Assessment.Status.FINISHED,
        finished_at=finished_at,
        finished_by=assessor,
        presenting_status="answered",
        presenting_own_words="Feels flat and cut off from people, worse since a move.",
        relationships_status="answered",
        relationships_patterns=["keeping_distance"],
        history_status="declined",
        circumstances_status="answered",
        circumstances_support="A close friend and a sister.",
        risk_to_self="none_identified",
        risk_to_others="none_identified",
        risk_from_others="none_identified",
        risk_safeguarding="not_asked",
        risk_level="low",
        risk_plan="Knows how to get urgent help.",
        formulation_status="answered",
        formulation_text="Withdrawing may protect against the pain of being let down.",
        formulation_approach_explained="yes",
        formulation_client_view="partly",
        recommendation_choice="psychodynamic",
        recommendation_modality="psychodynamic",
        recommendation_offered_here="yes",
        recommendation_sessions_per_week=sessions_per_week,
        recommendation_reason="Long-standing relational pattern; keen to understand it.",
    )


@dataclass(frozen=True)
class _Journey:
    """When each step of a referral's journey happened (or will), in order."""

    assessed_at: datetime
    allocated_at: datetime | None = None
    first_at: datetime | None = None  # the first appointment, on the regular slot
    ended_on: date | None = None


def _on_weekday(day: date, weekday: int) -> date:
    """The date on `weekday` in the week up to and including `day`."""
    return day - timedelta(days=(day.weekday() - weekday) % 7)


def _at(day: date, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


def _seed_assessments(service: Service) -> None:
    """Once: every referral with an assessment booked has its appointment (on a weekday,
    ahead), and every referral waiting for a therapist a finished assessment, after it was
    received (those that reached a therapist get theirs with their journey)."""
    if Assessment.objects.filter(service=service).exists():
        return
    assessor = User.objects.get(username="assessor")
    referrals = Referral.objects.filter(service=service).order_by("received_at", "id")
    today = timezone.localdate()
    day = today + timedelta(days=3)
    for index, referral in enumerate(referrals.filter(status=Referral.Status.ASSESSMENT_BOOKED)):
        while day.weekday() >= 5:  # clinics run on weekdays
            day += timedelta(days=1)
        AssessmentAppointment.objects.create(
            service=service,
            referral=referral,
            starts_at=_at(day, time(10) if index % 2 == 0 else time(14)),
            mode=Mode.VIDEO,
            video_link=f"https://video.demo.threshold.invalid/room-{index + 1}",
            booked_by=assessor,
        )
        day += timedelta(days=1)
    now = timezone.now()
    waiting = referrals.filter(status=Referral.Status.AWAITING_ALLOCATION)
    for index, referral in enumerate(waiting):
        # Halfway between referral and today: the wait for a therapist came after it.
        _finished_assessment(
            service,
            referral,
            assessor,
            referral.received_at + (now - referral.received_at) / 2,
            sessions_per_week=2 if index == 2 else 1,
        )


def _journey(
    referral: Referral, *, slot_weekday: int, slot_start: time, weeks: int = IN_THERAPY_WEEKS
) -> _Journey:
    """The demo's timeline for a referral that reached a therapist: assessed, allocated two
    weeks later, first appointment on the regular slot's day. Therapy in progress started
    `weeks` ago; ended therapy ran ENDED_WEEKS and ended a few weeks ago; an allocation
    not started yet was made this week, with the first appointment ahead."""
    today = timezone.localdate()
    received = referral.received_at
    if referral.status == Referral.Status.ALLOCATED:
        allocated_at = timezone.now() - timedelta(days=2)
        return _Journey(
            assessed_at=received + (allocated_at - received) / 2, allocated_at=allocated_at
        )
    if referral.status == Referral.Status.IN_THERAPY:
        start = _on_weekday(today - timedelta(weeks=weeks), slot_weekday)
        ended_on = None
    else:
        start = _on_weekday(today - timedelta(weeks=ENDED_WEEKS + 3), slot_weekday)
        ended_on = start + timedelta(weeks=ENDED_WEEKS - 1)
    first_at = _at(start, slot_start)
    allocated_at = first_at - timedelta(weeks=2)
    return _Journey(
        assessed_at=allocated_at - timedelta(weeks=2),
        allocated_at=allocated_at,
        first_at=first_at,
        ended_on=ended_on,
    )


def _seed_journeys(service: Service) -> None:
    """Once: the referrals that reached a therapist, each through the same steps the
    service takes. An allocation books a therapist's weekly slot; the session plan's
    regular time is that slot; the therapy record names the profile's sign-in and the
    first appointment; sessions fall on the slot's day. Two clients in therapy with the
    demo therapist have goals and repeated questionnaires (one recovering, one not on
    track)."""
    if Allocation.objects.filter(service=service).exists():
        return
    coordinator = User.objects.get(username="coordinator")
    assessor = User.objects.get(username="assessor")
    profiles = list(Therapist.objects.filter(service=service).order_by("display_name"))
    own = Therapist.objects.get(service=service, user__username="therapist")
    # Colleagues not on leave now (the first two profiles have leave: see _seed_allocation).
    colleagues = [p for p in profiles[3:] if p != own]
    referrals = Referral.objects.filter(
        service=service,
        status__in=[Referral.Status.ALLOCATED, Referral.Status.IN_THERAPY, Referral.Status.ENDED],
    ).order_by("received_at", "id")
    stories = [
        # (baseline PHQ-9, GAD-7), then at the 4th and 8th attended sessions; a missed week.
        ((17, 13), (12, 9), (8, 6), None),
        ((15, 12), (15, 11), (14, 12), 5),
    ]
    booked: set[int] = set()
    for index, referral in enumerate(referrals):
        story = None
        if referral.status == Referral.Status.IN_THERAPY and stories:
            story, therapist = stories.pop(0), own
        else:
            therapist = colleagues[index % len(colleagues)]
        # Not always the therapist's first slot of the week: the demo's days vary.
        slots = list(therapist.slots.order_by("weekday", "start"))
        slots = slots[index % len(slots) :] + slots[: index % len(slots)]
        slot = next(s for s in slots if s.pk not in booked)
        if referral.status != Referral.Status.ENDED:
            booked.add(slot.pk)
        journey = _journey(
            referral,
            slot_weekday=slot.weekday,
            slot_start=slot.start,
            # The demo therapist's two stories run ten weeks; colleagues' clients started
            # more recently, a week apart.
            weeks=IN_THERAPY_WEEKS if story else IN_THERAPY_WEEKS - 2 - index % 3,
        )
        _finished_assessment(service, referral, assessor, journey.assessed_at)
        _journey_seed(service, referral, therapist, slot, journey, coordinator, story)


def _journey_seed(service, referral, therapist, slot, journey, coordinator, story) -> None:
    today = timezone.localdate()
    first_at = journey.first_at or first_appointment_for(therapist=therapist, slots=[slot])
    start = timezone.localtime(first_at).date()
    started = referral.status != Referral.Status.ALLOCATED
    in_person = slot.site_id is not None
    ended = journey.ended_on is not None
    if ended:
        # The plan was made while the therapy ran; the referral ended afterwards.
        Referral.objects.filter(pk=referral.pk).update(status=Referral.Status.IN_THERAPY)
        referral.refresh_from_db()
    plan = therapy_services.session_plan_save(
        referral=referral,
        user=coordinator,
        values={
            "length": "fixed" if started else "open_ended",
            "session_count": (ENDED_WEEKS if journey.ended_on else 16) if started else None,
            "sessions_per_week": 1,
            "regular_times": [{"weekday": slot.weekday, "time": f"{slot.start:%H:%M}"}],
            "mode": Mode.IN_PERSON if in_person else Mode.VIDEO,
            "site": slot.site if in_person else None,
            "room": "",
            "starts_on": start,
            "ends_on": start + timedelta(weeks=18) if started else None,
            "review_dates": (
                [start + timedelta(weeks=6), start + timedelta(weeks=12)] if started else []
            ),
            "ending_plan": "",
            "couch_discussed": "",
            "measures_every_sessions": 4,
            "repeat_measures": ["phq9", "gad7"],
        },
        reason="Regular time set when the therapist was allocated",
    )
    if ended:
        Referral.objects.filter(pk=referral.pk).update(status=Referral.Status.ENDED)
        referral.refresh_from_db()
    allocation = Allocation.objects.create(
        service=service,
        referral=referral,
        therapist=therapist,
        source=Allocation.Source.RECORDED,
        regular_times=[slot_json(slot)],
        first_appointment_at=first_at,
        allocated_by=coordinator,
        allocated_at=journey.allocated_at,
        session_plan_version=plan.version,
        status=Allocation.Status.ENDED if ended else Allocation.Status.ACTIVE,
        ended_at=_at(journey.ended_on, time(18)) if ended else None,
    )
    AllocationSlot.objects.create(allocation=allocation, slot=slot, active=not ended)
    if not started:
        therapy_services.therapy_plan(
            referral=referral,
            therapist=therapist.user,
            first_appointment_at=first_at,
            user=coordinator,
        )
        return
    therapy = Therapy.objects.create(
        service=service,
        referral=referral,
        therapist=therapist.user,
        started_on=start,
        first_appointment_at=first_at,
        started_by=coordinator,
        ended_on=journey.ended_on,
        end_reason=Therapy.EndReason.COMPLETED if ended else "",
    )
    weeks = ENDED_WEEKS if ended else (today - start).days // 7 + 1
    if story is None:
        for week in range(weeks):
            occurred_on = start + timedelta(weeks=week)
            if occurred_on > today:
                break
            TherapySession.objects.create(
                service=service,
                referral=referral,
                therapy=therapy,
                occurred_on=occurred_on,
                attendance="attended",
                recorded_by=therapist.user,
            )
        return
    _story_seed(referral, therapy, therapist.user, start, story)


def _story_seed(referral, therapy, therapist, start: date, story) -> None:
    """Questionnaires at assessment and every 4th attended session, a goal, ten weeks of
    sessions on the regular day."""
    first, middle, latest, missed_week = story
    at = Assessment.objects.get(referral=referral).finished_at
    for code, total, items in (("phq9", first[0], 8), ("gad7", first[1], 7)):
        answers = _spread(total, items) + ([0] if code == "phq9" else [])
        clinical_record.measure_response_record(
            referral=referral,
            measure=code,
            answers=answers,
            context=MeasureResponse.Context.ASSESSMENT,
            completed_at=at,
        )
    therapy_goals.goal_add(
        referral=referral,
        user=therapist,
        description="To say what I need without feeling I am a burden",
        score=2,
        rated_on=start,
    )
    attended = 0
    for week in range(IN_THERAPY_WEEKS):
        missed = week == missed_week
        session = TherapySession.objects.create(
            service=therapy.service,
            referral=referral,
            therapy=therapy,
            occurred_on=start + timedelta(weeks=week),
            attendance="did_not_attend" if missed else "attended",
            recorded_by=therapist,
        )
        if missed:
            continue
        attended += 1
        scores = {4: middle, 8: latest}.get(attended)
        if scores:
            therapy_services.review_measures_record(
                referral=referral,
                user=therapist,
                session=session,
                results={
                    "phq9": [*_spread(scores[0], 8), 0],
                    "gad7": _spread(scores[1], 7),
                },
            )


# Exact times agreed with two clients: after work on two evenings; school hours on two
# days, rather late morning. (day, start, end), day 0 Monday.
DEMO_TIMES = (
    ([(1, "17:30", "20:00"), (3, "17:30", "20:00")], []),
    ([(0, "09:30", "14:30"), (2, "09:30", "14:30")], [(2, "10:00", "12:00")]),
)


def _seed_times(referrals: list[Referral]) -> None:
    for referral, (windows, preferred) in zip(referrals, DEMO_TIMES, strict=False):
        Preferences.objects.filter(referral=referral).update(
            time_windows=[{"day": d, "start": a, "end": b} for d, a, b in windows],
            preferred_windows=[{"day": d, "start": a, "end": b} for d, a, b in preferred],
        )


def _seed_allocation(service: Service, rng: random.Random) -> None:
    """Allocation's demo data, once: wishes of the people waiting for a therapist and
    some leave."""
    if LeavePeriod.objects.filter(therapist__service=service).exists():
        return  # done before
    sites = list(service.sites.order_by("name"))
    times = [f"{d}_{p}" for d in ("mon", "tue", "wed", "thu", "fri") for p in PARTS]
    waiting = Referral.objects.filter(service=service, status=Referral.Status.AWAITING_ALLOCATION)
    for referral in waiting.order_by("received_at"):
        if Preferences.objects.filter(referral=referral).exists():
            continue
        language = rng.choice(["", "", "", "", "Polish", "BSL"])
        gender = rng.choice(["", "", "female", "male"])
        Preferences.objects.create(
            referral=referral,
            language=language,
            interpreter_needed=language == "BSL",
            interpreter_language="BSL" if language == "BSL" else "",
            therapist_gender=gender,
            therapist_gender_strength=(rng.choice(["preference", "requirement"]) if gender else ""),
            mode=rng.choice(["either", "either", "in_person", "remote"]),
            site=rng.choice([None, *sites]),
            availability=sorted(rng.sample(times, k=rng.randint(3, 7))),
        )
    today = timezone.localdate()
    therapists = list(Therapist.objects.filter(service=service).order_by("display_name"))
    for therapist, start, days in ((therapists[1], 3, 14), (therapists[2], -2, 9)):
        LeavePeriod.objects.create(
            therapist=therapist,
            starts_on=today + timedelta(days=start),
            ends_on=today + timedelta(days=start + days),
            note="Annual leave",
        )
    if len(therapists) > 3:  # a planned break some weeks ahead: a block of training
        LeavePeriod.objects.create(
            therapist=therapists[3],
            kind=LeavePeriod.Kind.BREAK,
            starts_on=today + timedelta(days=35),
            ends_on=today + timedelta(days=39),
            note="Training block",
        )
    oldest = list(waiting.order_by("received_at")[:8])
    _seed_exclusions(service, oldest[:3], therapists)
    _seed_courses(service, oldest[3:], today)
    _seed_languages(service, oldest[5:6])
    _seed_times(list(waiting.order_by("-received_at")[:2]))
    coordinator = User.objects.get(username="coordinator")
    for site in sites[:1]:  # the first site is step-free; the others are not known to be
        SiteAccess.objects.get_or_create(
            site=site, defaults={"step_free": True, "updated_by": coordinator}
        )
    for referral in oldest[7:8]:  # a wheelchair user who can travel 45 minutes at most
        AllocationNeeds.objects.update_or_create(
            referral=referral,
            defaults={
                "service": service,
                "step_free": True,
                "max_travel_minutes": 45,
                "travel_minutes": {site.name: 20 + 30 * i for i, site in enumerate(sites)},
                "updated_by": coordinator,
            },
        )
    for referral in oldest[6:7]:  # continuity with the assessor required
        AllocationNeeds.objects.update_or_create(
            referral=referral,
            defaults={"service": service, "continuity": "required", "updated_by": coordinator},
        )
    # Complex cases among the longest waiters (docs/allocation.md, "Caseload mix").
    for referral in oldest[:8:3]:
        AllocationNeeds.objects.update_or_create(
            referral=referral,
            defaults={"service": service, "complex_case": True, "updated_by": coordinator},
        )


def _seed_languages(service: Service, referrals: list[Referral]) -> None:
    """The languages the service can book interpreters for (not BSL), and a client who
    needs BSL as well as English, so only a therapist who signs is proposed."""
    coordinator = User.objects.get(username="coordinator")
    AllocationSettings.objects.get_or_create(
        service=service,
        defaults={
            "interpreter_languages": ["arabic", "polish", "punjabi", "urdu"],
            "updated_by": coordinator,
        },
    )
    for referral in referrals:
        AllocationNeeds.objects.update_or_create(
            referral=referral,
            defaults={"service": service, "bsl": True, "updated_by": coordinator},
        )


def _seed_courses(service: Service, referrals: list[Referral], today) -> None:
    """Time on two of the longest waiting: a client who cannot start for three weeks, with
    a 16-week course; and a 24-week course."""
    coordinator = User.objects.get(username="coordinator")
    for referral, later, weeks in zip(referrals, (21, None), (16, 24), strict=False):
        AllocationNeeds.objects.update_or_create(
            referral=referral,
            defaults={
                "service": service,
                "earliest_start": today + timedelta(days=later) if later else None,
                "therapy_weeks": weeks,
                "updated_by": coordinator,
            },
        )


def _seed_exclusions(service: Service, oldest: list[Referral], therapists: list[Therapist]):
    """The coordinators' requirements on a few of the longest waiting: a conflict of
    interest with a named therapist, "not a man" together with the client's own
    preference, and a qualified therapist with a specialism."""
    if not oldest or not therapists:
        return
    coordinator = User.objects.get(username="coordinator")
    TherapistExclusion.objects.get_or_create(
        referral=oldest[0],
        therapist=therapists[0],
        defaults={
            "service": service,
            "reason": TherapistExclusion.Reason.CONFLICT_OF_INTEREST,
            "note": "The therapist supervises the client's partner",
            "recorded_by": coordinator,
        },
    )
    if len(oldest) > 2:  # a complex case: a qualified therapist with a trauma specialism
        AllocationNeeds.objects.get_or_create(
            referral=oldest[2],
            defaults={
                "service": service,
                "competence": AllocationNeeds.Competence.QUALIFIED,
                "specialism": "trauma",
                "updated_by": coordinator,
            },
        )
    for referral in oldest[1:2]:
        prefs = Preferences.objects.filter(referral=referral).first()
        if prefs is not None and prefs.therapist_gender == "male":
            continue  # "not a man" would contradict the client's own wish
        AllocationNeeds.objects.get_or_create(
            referral=referral,
            defaults={"service": service, "gender_excluded": ["male"], "updated_by": coordinator},
        )
        break
