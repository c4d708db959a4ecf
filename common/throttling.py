"""DRF throttles that count atomically in the shared cache, by the real client address.

DRF's own throttles keep a list of timestamps per caller and write it back (a read and a
write): a burst of parallel requests all read the same list and all get through. These
count with the cache's atomic increment instead (django-ratelimit's fixed windows), and
name anonymous callers by `common.client_address`, never by a forgeable header.
"""

from __future__ import annotations

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework.throttling import SimpleRateThrottle

from common.client_address import client_address

# Each scope's rate is a setting, read per request (so a test or an operator can change it).
RATE_SETTINGS = {
    "anon": "RATE_API_ANON",
    "user": "RATE_API_USER",
    "partner_referrals": "RATE_API_REFERRALS",
}


class _CountingThrottle(SimpleRateThrottle):
    def __init__(self):  # SimpleRateThrottle reads its rate here; ours is read per request
        self.wait_seconds = 1

    def get_rate(self):
        return getattr(settings, RATE_SETTINGS[self.scope])

    def allow_request(self, request, view):
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        usage = get_usage(
            request,
            group=f"api-{self.scope}",
            key=lambda _group, _request: ident,
            rate=self.get_rate(),
            increment=True,
        )
        if usage is None or not usage["should_limit"]:
            return True
        self.wait_seconds = max(int(usage["time_left"]), 1)
        return False

    def wait(self):
        return self.wait_seconds


class ClientAddressAnonThrottle(_CountingThrottle):
    """Callers not signed in, per client address."""

    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return client_address(request)


class AccountThrottle(_CountingThrottle):
    """Signed-in callers, per account."""

    scope = "user"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return str(request.user.pk)
        return None


class PartnerReferralThrottle(AccountThrottle):
    """Referrals sent through the partner API, per partner account."""

    scope = "partner_referrals"
