"""Fold, check or rebuild the referral tally (intake.tally).

    manage.py referral_tally             fold the rows writes added, one a kind (as beat does)
    manage.py referral_tally --check     say whether the tally agrees with the referrals
    manage.py referral_tally --rebuild   recount it from the referrals

The tally is kept by PostgreSQL triggers; on SQLite there is none and this does nothing.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from intake import tally


class Command(BaseCommand):
    help = "Fold, check or rebuild the referral tally behind the staff referral list's count."

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--check", action="store_true", help="Compare it with the referrals.")
        action.add_argument("--rebuild", action="store_true", help="Recount it from the referrals.")

    def handle(self, *args, check=False, rebuild=False, **options):
        if not tally.kept():
            self.stdout.write("This database keeps no tally (SQLite counts the referrals).")
            return
        if rebuild:
            rows = tally.tally_rebuild()
            self.stdout.write(f"Rebuilt: {rows} kinds of referral.")
        elif check:
            wrong = tally.tally_differences()
            if wrong:
                raise CommandError(
                    f"The tally differs from the referrals for {len(wrong)} kinds; "
                    "run with --rebuild."
                )
            self.stdout.write("The tally agrees with the referrals.")
        else:
            rows = tally.tally_fold()
            self.stdout.write(f"Folded: {rows} kinds of referral.")
