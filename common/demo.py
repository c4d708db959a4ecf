"""Demo data for `make run` and manual trials: one service, its staff, therapists and
referrals in several states. Deterministic (seeded) and idempotent: running it again
changes nothing and prints no passwords."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from allocation.models import Therapist, WeeklySlot
from common import roles
from common.models import Service, Site, User
from intake.models import Client, Referral
from intake.references import ALPHABET

SERVICE_SLUG = "demo"
STAFF = [
    ("assessor", "Asha", "Patel", [roles.ASSESSOR]),
    ("coordinator", "Morgan", "Hughes", [roles.COORDINATOR]),
    ("therapist", "Rowan", "Ellis", [roles.THERAPIST]),
    ("serviceadmin", "Sam", "Okafor", [roles.SERVICE_ADMIN]),
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


@dataclass
class SeedReport:
    created_users: list[tuple[str, str, str]] = field(default_factory=list)
    reset_users: list[tuple[str, str, str]] = field(default_factory=list)
    therapists: int = 0
    referrals: int = 0
    service: Service | None = None


@transaction.atomic
def demo_seed(*, reset_passwords: bool = False, seed: int = 20261126) -> SeedReport:
    report = SeedReport()
    service, _ = Service.objects.get_or_create(
        slug=SERVICE_SLUG,
        defaults={
            "name": "Threshold Psychotherapy Service (demo)",
            "duty_inbox_email": "duty@demo.threshold.invalid",
            "phone": "01632 960 000",
            "address": "Riverside Centre, 1 Mill Lane, Demo Town, DT1 1AA",
            "min_age": 18,
            "gp_postcode_areas": [],
        },
    )
    report.service = service
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
    return report


def _seed_staff(service: Service, report: SeedReport, reset_passwords: bool) -> None:
    for username, first, last, role_names in STAFF:
        user = User.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(
                username=username,
                password=password,
                first_name=first,
                last_name=last,
                email=f"{username}@demo.threshold.invalid",
                service=service,
            )
            report.created_users.append((username, password, ", ".join(role_names)))
        elif reset_passwords:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.save(update_fields=["password"])
            report.reset_users.append((username, password, ", ".join(role_names)))
        user.groups.add(*Group.objects.filter(name__in=role_names))


def _seed_therapists(service: Service, sites: list[Site], seed: int, report) -> None:
    therapist_user = User.objects.get(username="therapist")
    for index, name in enumerate(THERAPIST_NAMES):
        rng = random.Random(f"{seed}-{name}")
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
            },
        )
        if index == 0 and therapist.user_id is None:
            therapist.user = therapist_user
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
    now = timezone.now()
    for index, status in enumerate(statuses):
        reference = "TH-DEMO-" + "".join(rng.choice(ALPHABET) for _ in range(4))
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        born = date(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28))
        weeks = rng.uniform(0, 26) if status != Referral.Status.SUBMITTED else rng.uniform(0, 4)
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
