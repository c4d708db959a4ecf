"""Session authentication for the API that counts only a two-factor verified session (its
own module: DRF's settings import it while rest_framework.views is still loading)."""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication

from common.two_factor import is_verified


class VerifiedSessionAuthentication(SessionAuthentication):
    """DRF's session authentication, for sessions past the two-factor code step only. A
    session signed in with the password alone is not authenticated here (the next class,
    a partner's API token, may still be); the request then has no user and is refused."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None or not is_verified(result[0]):
            return None
        return result
