"""Public landing page, staff home, health endpoints and error pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from allocation.selectors import (
    allocations_starting,
    run_current,
    therapist_for_user,
    therapist_list,
)
from assessment.selectors import progress_flags_open, risk_flags_open, therapist_caseload
from common import health, roles
from common.access import is_integration_account, staff_required
from common.forms import StaffAuthenticationForm
from common.models import User
from common.selectors import scope_to_service
from intake.models import Referral
from intake.selectors import referral_list, referral_waiting_counts


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "common/home.html")


class StaffLoginView(LoginView):
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True

    def dispatch(self, request, *args, **kwargs):
        # An integration account's session is shown the form (and why it cannot be used),
        # not sent round to a home page that refuses it.
        if is_integration_account(request.user):
            self.redirect_authenticated_user = False
        return super().dispatch(request, *args, **kwargs)


@staff_required
@require_GET
def staff_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context: dict = {"roles": sorted(user.role_names), "has_service": bool(user.service_id)}
    if user.service_id:
        context["counts"] = referral_waiting_counts(user=user)
    if user.has_role(roles.ASSESSOR):
        context["awaiting_assessment"] = referral_list(user=user, status=Referral.Status.SUBMITTED)[
            :10
        ]
    if user.has_role(roles.ASSESSOR):
        context["open_risk_flags"] = risk_flags_open(user=user).count()
    if user.has_role(roles.THERAPIST):
        context["therapist"] = therapist_for_user(user=user)
        context["my_clients"] = therapist_caseload(user=user)
        context["starting_with_me"] = allocations_starting(user=user)
        context["my_progress_flags"] = progress_flags_open(user=user, therapist=user)
    if user.has_role(roles.COORDINATOR):
        context["progress_flags"] = progress_flags_open(user=user)
        context["allocation_run"] = run_current(service_id=user.service_id)
    if user.has_role(roles.SERVICE_ADMIN):
        context["staff"] = (
            scope_to_service(User.objects.all(), user)
            .filter(is_active=True)
            .prefetch_related("groups")
            .order_by("last_name", "first_name")
        )
        context["therapist_count"] = therapist_list(user=user).count()
    return render(request, "common/staff_home.html", context)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "alive"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    ready, body = health.readiness()
    return JsonResponse(body, status=200 if ready else 503)


def bad_request(request, exception=None):
    return render(request, "common/errors/400.html", status=400)


def permission_denied(request, exception=None):
    return render(request, "common/errors/403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "common/errors/404.html", status=404)


def server_error(request):
    # No context processors here: the database may be what failed.
    html = loader.get_template("common/errors/500.html").render(
        {"service_name": settings.SERVICE_NAME}
    )
    return HttpResponse(html, status=500)
