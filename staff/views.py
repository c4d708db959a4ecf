"""The staff home: what needs each role's attention, drawn from every app's selectors."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from allocation.selectors import (
    allocations_starting,
    run_current,
    therapist_for_user,
    therapist_list,
)
from assessment.selectors import risk_flags_open
from common import roles
from common.access import staff_required
from common.selectors import staff_active
from intake.models import Referral
from intake.selectors import referral_list, referral_waiting_counts
from therapy.selectors import progress_flags_open, therapist_caseload


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
        context["staff"], context["staff_total"] = staff_active(user=user)
        context["therapist_count"] = therapist_list(user=user).count()
    return render(request, "staff/home.html", context)
