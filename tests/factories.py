"""factory_boy factories for the domain's rows."""

from __future__ import annotations

import datetime as dt
from datetime import time

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from allocation.models import Therapist, WeeklySlot
from common.models import Service, Site, User
from intake.models import Client, Referral
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
            self.groups.add(*Group.objects.filter(name__in=extracted))


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


class TherapistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Therapist

    service = factory.SubFactory(ServiceFactory)
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
