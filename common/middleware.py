"""Response headers and staff session limits, for every request (docs/security.md)."""

from __future__ import annotations

import time

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.utils.cache import patch_cache_control

from common import sessions

# Third-party pages whose own markup carries inline styles: the Django admin, DRF's
# browsable API and the Swagger UI at /api/docs/. They alone may use inline styles; their
# scripts stay held to our own files and the nonce like every other page.
INLINE_STYLE_PREFIXES = ("/admin/", "/api/")


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with style-src relaxed for INLINE_STYLE_PREFIXES only."""

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if request.path_info.startswith(INLINE_STYLE_PREFIXES) and parts.update is None:
            parts.update = {"style-src": [UNSAFE_INLINE]}
        return parts


class NoStoreMiddleware:
    """Every response the application makes says Cache-Control: no-store, so no browser,
    shared computer's back button or proxy keeps a copy of a page about a client. Static
    files are served above this (whitenoise) and stay cacheable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        patch_cache_control(response, no_store=True)
        return response


SIGNED_OUT = {
    sessions.IDLE: (
        "You were signed out because you had not used the service for {idle} minutes. "
        "Sign in again to carry on."
    ),
    sessions.TOO_LONG: (
        "You were signed out because you had been signed in for {limit} hours. "
        "Sign in again to carry on."
    ),
}


class StaffSessionLimitsMiddleware:
    """Signs out a session idle for STAFF_SESSION_IDLE_MINUTES, or signed in for longer than
    STAFF_SESSION_MAX_HOURS, ending it on the server; the sign-in page then says why."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            ended = sessions.staff_session_touch(
                request.session,
                now=int(time.time()),
                idle_seconds=settings.STAFF_SESSION_IDLE_MINUTES * 60,
                max_seconds=settings.STAFF_SESSION_MAX_HOURS * 3600,
            )
            if ended:
                logout(request)
                messages.info(
                    request,
                    SIGNED_OUT[ended].format(
                        idle=settings.STAFF_SESSION_IDLE_MINUTES,
                        limit=settings.STAFF_SESSION_MAX_HOURS,
                    ),
                )
        return self.get_response(request)
