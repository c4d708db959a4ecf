"""Issue, list and revoke partner API tokens.

    manage.py api_token issue <username> --name "Practice system" [--days 90]
    manage.py api_token list [--user <username>]
    manage.py api_token revoke <prefix>

The key is printed once, when issued; the service keeps only its hash and its prefix.
Issuing and revoking are on the audit trail (with no member of staff: "via" manage.py).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from intake.api_tokens import (
    LIST_LIMIT,
    ApiToken,
    api_token_issue_audited,
    api_token_revoke_audited,
    api_tokens_list,
)


class Command(BaseCommand):
    help = "Issue, list and revoke partner API tokens (keys are shown once, when issued)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        issue = actions.add_parser("issue", help="Issue a token for an account.")
        issue.add_argument("username")
        issue.add_argument("--name", required=True, help="What the token is for, or who holds it.")
        issue.add_argument("--days", type=int, help="Days until it expires (API_TOKEN_DAYS).")
        listing = actions.add_parser("list", help="List tokens (never their keys).")
        listing.add_argument("--user", help="Only this account's tokens.")
        revoke = actions.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("prefix")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _issue(self, *, username, name, days, **_):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is called {username!r}.")
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        issued = api_token_issue_audited(account=user, name=name, days=days, via="manage.py")
        self.stdout.write(
            f"Token {issued.token.prefix} for {username}, expires "
            f"{issued.token.expires_at:%Y-%m-%d}. The key (shown this once; it is not stored):\n"
            f"{issued.key}\n"
            f"Send it as 'Authorization: Token {issued.key}'."
        )

    def _list(self, *, user, **_):
        tokens = list(api_tokens_list(username=user))
        for token in tokens:
            last = f"{token.last_used_at:%Y-%m-%d %H:%M} from {token.last_used_address}"
            self.stdout.write(
                f"{token.prefix}  {token.user.username}  {token.state}  "
                f"expires {token.expires_at:%Y-%m-%d}  "
                f"last used {last if token.last_used_at else 'never'}  {token.name}"
            )
        if len(tokens) == LIST_LIMIT:
            self.stdout.write(f"(The newest {LIST_LIMIT} only; use --user to narrow.)")

    def _revoke(self, *, prefix, **_):
        tokens = list(ApiToken.objects.filter(prefix=prefix)[:2])
        if not tokens:
            raise CommandError(f"No token starts {prefix!r} (manage.py api_token list).")
        if len(tokens) > 1:
            raise CommandError(f"More than one token starts {prefix!r}; revoke them in the admin.")
        token = api_token_revoke_audited(token=tokens[0], via="manage.py")
        self.stdout.write(f"Token {token.prefix} revoked at {token.revoked_at:%Y-%m-%d %H:%M}.")
