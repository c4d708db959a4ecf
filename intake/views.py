"""Staff pages over referrals (the self-referral wizard comes with its own issue)."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from intake import selectors
from intake.models import Referral


@login_required
@require_GET
def referral_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    if status not in {None, *Referral.Status.values}:
        status = None  # an unknown filter shows everything rather than an error page
    referrals = selectors.referral_list(user=request.user, status=status)
    return render(
        request,
        "intake/staff/referral_list.html",
        {"referrals": referrals, "status": status, "statuses": Referral.Status.choices},
    )


@login_required
@require_GET
def referral_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    try:
        referral = selectors.referral_get(user=request.user, public_id=public_id)
    except Referral.DoesNotExist:
        # Another service's referral looks exactly like one that does not exist.
        raise Http404("No such referral") from None
    return render(request, "intake/staff/referral_detail.html", {"referral": referral})
