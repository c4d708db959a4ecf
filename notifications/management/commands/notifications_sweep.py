"""Run the notification sweeps by hand (or in a loop), e.g. in embedded mode, where there
is no beat: publish what the outbox has left queued, and queue check-ins and reminders."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from notifications import sweeps


class Command(BaseCommand):
    help = "Dispatch queued notifications and queue due check-ins and appointment reminders."

    def add_arguments(self, parser):
        parser.add_argument(
            "--every",
            type=int,
            default=0,
            help="Repeat every this many seconds until stopped (Ctrl-C); 0 runs once.",
        )

    def handle(self, *args, every: int = 0, **options):
        while True:
            checkins = sweeps.waiting_checkins_queue()
            reminders = sweeps.appointment_reminders_queue()
            dispatched = sweeps.outbox_sweep()
            self.stdout.write(
                f"queued {checkins} check-ins and {reminders} reminders; "
                f"dispatched {dispatched} notifications"
            )
            if every <= 0:
                return
            time.sleep(every)
