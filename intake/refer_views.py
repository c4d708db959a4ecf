"""The public pages around the self-referral wizard: start, not eligible, saved,
resume, confirmation."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe
from formtools.wizard.views import normalize_name

from intake import drafts, selectors
from intake.limits import limit_resume
from intake.wizard import CONFIRMATION_SESSION_KEY, SelfReferralWizard

WIZARD_SESSION_KEY = f"wizard_{normalize_name(SelfReferralWizard.__name__)}"
INELIGIBLE_REASONS = {"age", "area"}


@require_safe
def start(request: HttpRequest) -> HttpResponse:
    service = selectors.self_referral_service()
    if service is None:
        return redirect("refer-unavailable")
    in_progress = bool(request.session.get(WIZARD_SESSION_KEY, {}).get("step_data"))
    return render(
        request, "intake/refer/start.html", {"service": service, "in_progress": in_progress}
    )


@require_safe
def unavailable(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/refer/unavailable.html", status=503)


@require_safe
def ineligible(request: HttpRequest) -> HttpResponse:
    reason = request.GET.get("reason")
    service = selectors.self_referral_service()
    return render(
        request,
        "intake/refer/ineligible.html",
        {"reason": reason if reason in INELIGIBLE_REASONS else "", "service": service},
    )


@require_safe
def saved(request: HttpRequest) -> HttpResponse:
    details = request.session.pop(drafts.SAVED_SESSION_KEY, None)
    if details is None:
        # The code is shown once; a refresh must not show it to the next person at the screen.
        return redirect("refer-start")
    request.session.pop(WIZARD_SESSION_KEY, None)
    return render(request, "intake/refer/saved.html", details)


class ResumeForm(forms.Form):
    code = forms.CharField(
        label="Your code",
        max_length=20,
        help_text="12 letters and numbers, like 7K3M-X9QP-4RTW",
        error_messages={
            "required": "Enter the code you were given when you saved",
            "max_length": "The code must be 20 characters or fewer, like 7K3M-X9QP-4RTW",
        },
    )

    def clean_code(self):
        code = drafts.normalise_code(self.cleaned_data["code"])
        if len(code.replace("-", "")) != drafts.CODE_LENGTH:
            raise forms.ValidationError(
                "The code is 12 letters and numbers, like 7K3M-X9QP-4RTW. Check and try again"
            )
        return code


@require_http_methods(["GET", "POST"])
@limit_resume
def resume(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        # The emailed link carries its code after "#": never sent here, so never in a log.
        # The page fills the form from it; only the POST uses the code (mail scanners follow
        # links too, and some run scripts, so nothing is posted for the person).
        return render(request, "intake/refer/resume.html", {"form": ResumeForm()})
    form = ResumeForm(request.POST)
    if form.is_valid():
        try:
            data = drafts.draft_resume(
                code=form.cleaned_data["code"], client_key=drafts.client_key(request)
            )
        except drafts.DraftRateLimited:
            form.add_error("code", "Too many tries. Please wait 15 minutes and try again")
        except drafts.DraftUnavailable as problem:
            form.add_error("code", str(problem))
        else:
            request.session[WIZARD_SESSION_KEY] = data
            request.session.pop(CONFIRMATION_SESSION_KEY, None)
            messages.info(request, "Welcome back. Your answers so far are kept.")
            return redirect("refer-step", step=data.get("step") or "safety")
    return render(request, "intake/refer/resume.html", {"form": form}, status=400)


@require_safe
def confirmation(request: HttpRequest) -> HttpResponse:
    details = request.session.get(CONFIRMATION_SESSION_KEY)
    if details is None:
        return redirect("refer-start")
    return render(
        request,
        "intake/refer/confirmation.html",
        {**details, "service": selectors.self_referral_service()},
    )
