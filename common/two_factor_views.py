"""The two-factor steps of staff sign-in, and a service admin's reset of a member's two-factor
sign-in (common/two_factor.py holds the logic; docs/security.md, "Two-factor sign-in")."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from common import roles, two_factor
from common.access import integration_refusal, is_integration_user, role_required
from common.client_address import client_address
from common.forms import TwoFactorCodeForm, TwoFactorResetForm
from common.models import User

SIGNED_OUT_WRONG_CODES = (
    "You were signed out after {limit} wrong codes in a row. Sign in again to try again, "
    "or ask a service admin to reset your two-factor sign-in."
)


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


def _with_next(name: str, target: str) -> str:
    return redirect_to_login(target, reverse(name))["Location"]


def _signed_in_member(request: HttpRequest):
    """None when the request may go on to a code step; else the response to give."""
    if not request.user.is_authenticated:
        return redirect_to_login(_next(request))
    if is_integration_user(request.user):
        raise PermissionDenied(integration_refusal(request.user))
    if two_factor.is_verified(request.user):
        return redirect(_next(request))
    return None


def _verified(request: HttpRequest, device) -> None:
    otp_login(request, device)
    request.session.pop(two_factor.SESSION_WRONG_CODES, None)
    # A new session key once fully signed in, as at the password step.
    request.session.cycle_key()


def _wrong_code(request: HttpRequest) -> HttpResponse | None:
    """Count a wrong code; at the limit, end the session and say why."""
    if two_factor.wrong_code_count(request.session) < settings.TWO_FACTOR_ATTEMPTS_LIMIT:
        return None
    logout(request)
    messages.error(request, SIGNED_OUT_WRONG_CODES.format(limit=settings.TWO_FACTOR_ATTEMPTS_LIMIT))
    return redirect("staff-login")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def two_factor_code(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the app, or a recovery code."""
    answer = _signed_in_member(request)
    if answer is not None:
        return answer
    target = _next(request)
    if not two_factor.has_authenticator(user=request.user):
        return redirect(_with_next("staff-two-factor-setup", target))
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = two_factor.two_factor_check(user=request.user, code=form.cleaned_data["code"])
        if check.ok:
            _verified(request, check.device)
            return redirect(target)
        ended = _wrong_code(request)
        if ended is not None:
            return ended
        form.add_error("code", check.error)
    return render(
        request,
        "registration/two_factor_code.html",
        {"form": form, "next": target},
        status=400 if form.errors else 200,
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Setting up an authenticator app, for a member who has none: the key, as text and as a
    QR code, confirmed with a code; then the recovery codes, shown this once."""
    answer = _signed_in_member(request)
    if answer is not None:
        return answer
    target = _next(request)
    if two_factor.has_authenticator(user=request.user):
        return redirect(_with_next("staff-two-factor", target))
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        enrolment = two_factor.two_factor_enrol(user=request.user, code=form.cleaned_data["code"])
        if enrolment.device is not None:
            _verified(request, enrolment.device)
            return render(
                request,
                "registration/two_factor_recovery_codes.html",
                {"codes": enrolment.recovery_codes, "next": target},
            )
        ended = _wrong_code(request)
        if ended is not None:
            return ended
        form.add_error("code", enrolment.error)
    device = two_factor.authenticator_pending(user=request.user)
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "form": form,
            "next": target,
            "key": two_factor.setup_key(device),
            "qr_code": two_factor.qr_code_svg(device.config_url),
        },
        status=400 if form.errors else 200,
    )


@role_required(roles.SERVICE_ADMIN)
@require_http_methods(["GET", "HEAD", "POST"])
def two_factor_reset(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """A service admin resets another member's two-factor sign-in, giving a reason."""
    member = get_object_or_404(User, public_id=public_id, service_id=request.user.service_id)
    own = member.pk == request.user.pk
    form = TwoFactorResetForm(request.POST or None)
    if request.method == "POST" and not own and form.is_valid():
        two_factor.two_factor_reset(
            member=member,
            by=request.user,
            reason=form.cleaned_data["reason"],
            address=client_address(request),
        )
        messages.success(
            request,
            f"Two-factor sign-in reset for {member.get_full_name() or member.username}. "
            "They have been signed out and will set it up again when they next sign in.",
        )
        return redirect("staff-home")
    return render(
        request,
        "common/two_factor_reset.html",
        {
            "form": form,
            "member": member,
            "own": own,
            "set_up": two_factor.has_authenticator(user=member),
        },
        status=400 if form.errors or (own and request.method == "POST") else 200,
    )
