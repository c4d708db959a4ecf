"""Staff pages for assessment. Thin: parse input, call one service or selector, render.
Another service's referral answers 404, like a missing one."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from assessment import forms, selectors, services
from assessment.models import Assessment
from common import access, roles
from common.access import ASSESSMENT_READERS, role_required
from common.pages import refusal_on_form
from intake.models import Referral

GET_POST = require_http_methods(["GET", "POST"])


# --- Assessor worklist and booking ----------------------------------------------------------


@role_required(roles.ASSESSOR)
@require_safe
def worklist(request: HttpRequest) -> HttpResponse:
    worklist = selectors.worklist_page(user=request.user, page=request.GET.get("page"))
    return render(
        request,
        "assessment/worklist.html",
        {
            "rows": worklist.rows,
            "open_flags": worklist.open_flags,
            "open_flag_count": worklist.open_flag_count,
        },
    )


@role_required(roles.ASSESSOR)
@require_safe
def finished(request: HttpRequest) -> HttpResponse:
    assessments = selectors.assessments_finished(user=request.user, page=request.GET.get("page"))
    return render(request, "assessment/finished.html", {"assessments": assessments})


def _assessor_referral(request, public_id: UUID) -> Referral:
    try:
        return selectors.assessor_referral_get(user=request.user, public_id=public_id)
    except Referral.DoesNotExist:
        raise Http404("No such referral") from None


@role_required(roles.ASSESSOR)
@GET_POST
def book(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _assessor_referral(request, public_id)
    if referral.status not in services.WAITING_FOR_ASSESSMENT:
        messages.info(
            request,
            f"{referral.reference} is '{referral.get_status_display()}', so there is no "
            "assessment to book.",
        )
        return redirect("assessment-worklist")
    page = selectors.booking_page(user=request.user, referral=referral)
    if request.method == "POST":
        form = forms.BookingForm(request.POST, sites=page.sites)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.assessment_book(
                    referral=referral,
                    user=request.user,
                    starts_at=data["starts_at"],
                    duration_minutes=int(data["duration"]),
                    mode=data["mode"],
                    site=form.site_chosen(),
                    room=data.get("room", ""),
                    video_link=data.get("video_link", ""),
                )
            except services.AssessmentError as error:
                refusal_on_form(form, error)
            else:
                messages.success(
                    request,
                    f"Assessment booked for {referral.reference}. The invitation is on its "
                    "way to the client.",
                )
                return redirect("assessment-worklist")
    else:
        form = forms.BookingForm(initial=page.initial, sites=page.sites)
    return render(
        request,
        "assessment/book.html",
        {"referral": referral, "form": form, "current": page.current},
    )


@role_required(roles.ASSESSOR)
@require_POST
def start(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _assessor_referral(request, public_id)
    try:
        assessment = services.assessment_start(referral=referral, user=request.user)
    except services.AssessmentError as error:
        messages.info(request, error.message)
        return redirect("assessment-worklist")
    if assessment.is_locked:
        return redirect("assessment-detail", public_id=assessment.public_id)
    step = (assessment.draft_data or {}).get("step") or "presenting"
    return redirect("assessment-step", assessment_id=assessment.public_id, step=step)


# --- A finished (or draft) assessment -------------------------------------------------------


def _assessment_for_reader(request, public_id: UUID) -> Assessment:
    try:
        assessment = selectors.assessment_get(user=request.user, public_id=public_id)
    except Assessment.DoesNotExist:
        raise Http404("No such assessment") from None
    user = request.user
    # Coordinators read its outcome (assessment_page leaves the rest out); an assessor, the
    # assessments of referrals they open; a therapist, their own clients' (common.access).
    if user.has_role(roles.COORDINATOR):
        return assessment
    if user.has_role(roles.ASSESSOR) and access.may_open_referral(user, assessment.referral):
        return assessment
    if user.has_role(roles.THERAPIST) and selectors.therapist_sees(
        user=user, referral=assessment.referral
    ):
        return assessment
    raise Http404("No such assessment")


@role_required(*ASSESSMENT_READERS)
@GET_POST
def detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    assessment = _assessment_for_reader(request, public_id)
    form = forms.AddendumForm(sections=services.ADDENDUM_SECTIONS)
    if request.method == "POST":
        if not request.user.has_role(roles.ASSESSOR):
            raise PermissionDenied
        form = forms.AddendumForm(request.POST, sections=services.ADDENDUM_SECTIONS)
        if not assessment.is_locked:
            messages.info(request, "This assessment is still in progress: change the draft.")
            return redirect("assessment-detail", public_id=public_id)
        if form.is_valid():
            try:
                services.assessment_addendum_add(
                    assessment=assessment,
                    user=request.user,
                    section=form.cleaned_data["section"],
                    text=form.cleaned_data["text"],
                )
            except services.AssessmentError as error:
                refusal_on_form(form, error)
            else:
                messages.success(request, "Addendum added.")
                return redirect("assessment-detail", public_id=public_id)
    page = selectors.assessment_page(user=request.user, assessment=assessment)
    return render(
        request,
        "assessment/detail.html",
        {
            "assessment": assessment,
            "referral": assessment.referral,
            "sections": page.sections,
            "letters_gp_summary": page.letters_gp_summary,
            "clinical_text": page.clinical_text,
            "addenda": page.addenda,
            "is_assessor": page.is_assessor,
            "form": form,
            "may_add": page.may_add,
        },
    )
