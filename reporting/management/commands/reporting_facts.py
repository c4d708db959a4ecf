"""Build the reporting page's facts now (what the beat task does every
REPORTING_FACTS_MINUTES): every service, or one."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from common.models import Service
from reporting import facts


class Command(BaseCommand):
    help = "Build the reporting facts for every service (or one) now."

    def add_arguments(self, parser):
        parser.add_argument("--service", type=int, help="Only this service (its id).")

    def handle(self, *args, service: int | None = None, **options):
        if service is not None and not Service.objects.filter(pk=service).exists():
            raise CommandError(f"There is no service with the id {service}.")
        builds = [facts.build(service_id=service)] if service is not None else facts.build_all()
        for build in builds:
            self.stdout.write(
                f"service {build.service_id}: {build.referrals} referrals in {build.seconds:.2f} s"
            )
