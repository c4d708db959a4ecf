"""Staff pages over referrals."""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from common.access import ANY_STAFF, CLINICIANS, role_required
from intake import clinical_record, selectors
from intake.models import Referral


@role_required(*ANY_STAFF)
@require_safe
def referral_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    if status not in {None, *Referral.Status.values}:
        status = None  # an unknown filter shows everything rather than an error page
    referrals = selectors.referral_page(
        user=request.user,
        status=status,
        page=request.GET.get("page"),
        after=request.GET.get("after"),
        before=request.GET.get("before"),
    )
    return render(
        request,
        "intake/staff/referral_list.html",
        {"referrals": referrals, "status": status, "statuses": Referral.Status.choices},
    )


class AcknowledgeForm(forms.Form):
    action_taken = forms.CharField(
        label="What was done",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: called the client, safety plan agreed, GP informed",
        error_messages={
            "required": "Say what was done about this risk before acknowledging it",
            "max_length": "What was done must be 2000 characters or fewer (you have "
            "%(show_value)d)",
        },
    )


def _overview_or_404(request, public_id):
    try:
        return selectors.referral_overview(user=request.user, public_id=public_id)
    except Referral.DoesNotExist:
        # Another service's referral looks exactly like one that does not exist.
        raise Http404("No such referral") from None


@role_required(*ANY_STAFF)
@require_safe
def referral_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    overview = _overview_or_404(request, public_id)
    return render(
        request,
        "intake/staff/referral_detail.html",
        {"overview": overview, "referral": overview.referral, "form": AcknowledgeForm()},
    )


@role_required(*CLINICIANS)
@require_POST
def risk_flag_acknowledge(request: HttpRequest, public_id: UUID, flag_id: UUID) -> HttpResponse:
    overview = _overview_or_404(request, public_id)
    flag = selectors.risk_flag_get(user=request.user, referral=overview.referral, public_id=flag_id)
    if flag is None:
        raise Http404("No such risk flag")
    form = AcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            clinical_record.risk_flag_acknowledge(
                flag=flag, user=request.user, action_taken=form.cleaned_data["action_taken"]
            )
        except clinical_record.RiskFlagError as problem:
            messages.error(request, str(problem))
        else:
            messages.success(request, "Risk flag acknowledged.")
            return redirect("staff-referral-detail", public_id=public_id)
    return render(
        request,
        "intake/staff/referral_detail.html",
        {
            "overview": overview,
            "referral": overview.referral,
            "form": form,
            "form_flag": flag.public_id,
        },
        status=400,
    )
