"""factory_boy factories for the domain's rows."""

from __future__ import annotations

import datetime as dt
from datetime import time

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from allocation.models import Therapist, WeeklySlot
from common.models import Service, Site, User
from intake.models import Client, Referral, RiskFlag
from intake.references import reference_generate


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Talking Therapies Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    duty_inbox_email = factory.LazyAttribute(lambda o: f"duty@{o.slug}.example.nhs.uk")


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    service = factory.SubFactory(ServiceFactory)
    name = factory.Sequence(lambda n: f"Clinic {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.nhs.uk")
    service = factory.SubFactory(ServiceFactory)
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            # get_or_create: transactional tests flush the groups the migration made.
            self.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in extracted))


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    service = factory.SubFactory(ServiceFactory)
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    date_of_birth = dt.date(1990, 5, 17)


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referral

    client = factory.SubFactory(ClientFactory)
    service = factory.SelfAttribute("client.service")
    reference = factory.LazyFunction(reference_generate)
    received_at = factory.LazyFunction(timezone.now)


class RiskFlagFactory(factory.django.DjangoModelFactory):
    """An open flag raised by staff on a referral."""

    class Meta:
        model = RiskFlag

    referral = factory.SubFactory(ReferralFactory)
    service = factory.SelfAttribute("referral.service")
    source = RiskFlag.Source.STAFF
    detail = "Raised by staff"
    raised_at = factory.LazyFunction(timezone.now)


class TherapistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Therapist

    service = factory.SubFactory(ServiceFactory)
    # Linked to a therapist's sign-in, as a profile must be before clients are allocated.
    user = factory.SubFactory(
        "tests.factories.UserFactory",
        service=factory.SelfAttribute("..service"),
        roles=["Therapist"],
    )
    display_name = factory.Faker("name")
    gender = "female"
    languages = factory.LazyFunction(lambda: ["English"])
    modalities = factory.LazyFunction(lambda: ["psychodynamic"])
    frequencies = factory.LazyFunction(lambda: [1])
    capacity = 30


class WeeklySlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WeeklySlot

    therapist = factory.SubFactory(TherapistFactory)
    weekday = 1
    start = time(10, 0)


# --- Assessment and therapy -----------------------------------------------------------------


class TherapyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "therapy.Therapy"

    referral = factory.SubFactory(ReferralFactory, status=Referral.Status.IN_THERAPY)
    service = factory.SelfAttribute("referral.service")
    therapist = factory.SubFactory(UserFactory, service=factory.SelfAttribute("..service"))
    started_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(weeks=12))
    started_by = factory.SelfAttribute("therapist")


class SessionPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "therapy.SessionPlan"

    referral = factory.SubFactory(ReferralFactory, status=Referral.Status.IN_THERAPY)
    service = factory.SelfAttribute("referral.service")
    version = 1
    length = "fixed"
    session_count = 16
    sessions_per_week = 1
    regular_times = factory.LazyFunction(lambda: [{"weekday": 1, "time": "10:00"}])
    mode = "video"
    starts_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(weeks=12))
    ends_on = factory.LazyAttribute(lambda o: o.starts_on + dt.timedelta(weeks=20))
    repeat_measures = factory.LazyFunction(lambda: ["phq9", "gad7"])
    measures_every_sessions = 4
    change_reason = "First plan agreed"
    created_by = factory.SubFactory(UserFactory, service=factory.SelfAttribute("..service"))


# --- Allocation -----------------------------------------------------------------------------


class PreferencesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "intake.Preferences"

    referral = factory.SubFactory(ReferralFactory, status=Referral.Status.AWAITING_ALLOCATION)
    mode = "either"
    availability = factory.LazyFunction(lambda: ["tue_morning", "tue_evening", "thu_evening"])


class FinishedAssessmentFactory(factory.django.DjangoModelFactory):
    """A finished assessment: what allocation reads is its recommendation."""

    class Meta:
        model = "assessment.Assessment"

    referral = factory.SubFactory(ReferralFactory, status=Referral.Status.AWAITING_ALLOCATION)
    service = factory.SelfAttribute("referral.service")
    assessor = factory.SubFactory(UserFactory, service=factory.SelfAttribute("..service"))
    status = "finished"
    finished_at = factory.LazyFunction(timezone.now)
    recommendation_choice = "psychodynamic"
    recommendation_modality = "psychodynamic"
    recommendation_sessions_per_week = 1


class LeavePeriodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "allocation.LeavePeriod"

    therapist = factory.SubFactory(TherapistFactory)
    starts_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=1))
    ends_on = factory.LazyAttribute(lambda o: o.starts_on + dt.timedelta(days=20))
