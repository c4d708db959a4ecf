import os
import shlex
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from demo.services import demo_seed


class Command(BaseCommand):
    help = "Create demo data (idempotent). Passwords are printed once, when users are created."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Give the demo staff users new passwords and two-factor setup keys, and "
            "print them.",
        )

    def handle(self, *args, reset_passwords: bool = False, **options):
        report = demo_seed(reset_passwords=reset_passwords)
        self.stdout.write(
            f"Demo service '{report.service}': {report.therapists} therapists, "
            f"{report.referrals} referrals."
        )
        issued = report.created_users + report.reset_users
        if issued:
            self.stdout.write(self.style.WARNING("Demo staff sign-ins (shown this once):"))
            for username, password, role in issued:
                self.stdout.write(f"  {username:<14} {password:<18} {role}")
        if report.authenticators:
            self.stdout.write(
                self.style.WARNING("Two-factor setup keys (shown this once):")
                + " after the password, sign-in asks for the 6-digit code from an "
                "authenticator app. Add each key to one (or open its otpauth link on a phone):"
            )
            for username, key, uri in report.authenticators:
                self.stdout.write(f"  {username:<14} {key}\n  {'':<14} {uri}")
        if issued or report.authenticators:
            self.stdout.write("Sign in at http://127.0.0.1:8000/staff/login/")
        if report.portal_client:
            reference, born = report.portal_client
            self.stdout.write(
                f"Client portal: at http://127.0.0.1:8000/portal/ give reference {reference}, "
                f"date of birth {born.day} {born:%B %Y}, and email; the sign-in link is in the "
                "demo's mail (var/mail/ in embedded mode, the mail catcher with Docker)."
            )
        if report.api_token:
            self.stdout.write(
                f"Partner API token (shown this once): {report.api_token}\n"
                "  POST http://127.0.0.1:8000/api/v1/referrals/ with "
                f"'Authorization: Token {report.api_token}'; docs at /api/docs/"
            )
        if not issued:
            self.stdout.write(
                "Demo staff users already exist; their passwords and two-factor setup keys "
                f"were shown when they were created. For new ones, run:\n  {reset_command()}"
            )


def reset_command() -> str:
    """The command that gives new passwords, as it can be pasted into a shell here: this
    run's Python (the project's .venv, not whatever `python` is on the PATH) and, for a
    development run without a SECRET_KEY, DEBUG=1, without which settings refuse to start.
    Database settings are not repeated: they may hold a password."""
    venv = Path.cwd() / ".venv"
    if venv.exists() and venv.resolve() == Path(sys.prefix).resolve():
        python = ".venv/bin/python"
    else:
        python = sys.executable
    words = [python, "manage.py", "seed_demo", "--reset-passwords"]
    if settings.DEBUG and not os.environ.get("SECRET_KEY"):
        words.insert(0, "DEBUG=1")
    return " ".join(shlex.quote(word) if "=" not in word else word for word in words)
