"""The portal's questionnaire pages (docs/portal.md, "Questionnaires"): what is due, one page
per questionnaire, the page after saving (crisis help at once when a risk question was
answered above 0), and the client's own scores over time, shown only when they choose to
look. Each page parses its input, calls one service or selector, and renders; the session
says whose referral it is."""

from __future__ import annotations

from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_http_methods, require_safe

import measures
from common.pages import refusal_on_form
from intake.models import Referral
from portal import selectors, services
from portal.questionnaire_forms import QuestionnaireForm
from portal.views import _render, portal_session_required


@require_safe
@portal_session_required
def questionnaires(request: HttpRequest) -> HttpResponse:
    referral = request.portal_session.referral
    return _render(
        request,
        "portal/questionnaires.html",
        {
            "due": selectors.portal_questionnaires(referral=referral),
            "in_therapy": referral.status == Referral.Status.IN_THERAPY,
            "nav": "questionnaires",
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
@portal_session_required
def questionnaire(request: HttpRequest, code: str) -> HttpResponse:
    measure = measures.MEASURES.get(code)
    if measure is None:
        raise Http404("No such questionnaire.")
    referral = request.portal_session.referral
    due = selectors.portal_questionnaire_due(referral=referral, code=code)
    context = {"measure": measure, "due": due, "nav": "questionnaires"}
    if due is None:
        # Done already (another tab, an old link) or not asked for now: say so plainly.
        return _render(request, "portal/questionnaire_not_due.html", context)
    if request.method != "POST":
        return _render(
            request,
            "portal/questionnaire.html",
            {**context, "form": QuestionnaireForm(measure=measure)},
        )
    form = QuestionnaireForm(request.POST, measure=measure)
    if form.is_valid():
        try:
            done = services.portal_questionnaire_complete(
                session=request.portal_session, measure=code, answers=form.answers()
            )
        except services.PortalError as problem:
            refusal_on_form(form, problem)
        else:
            return redirect("portal-questionnaire-saved", public_id=done.response.public_id)
    return _render(request, "portal/questionnaire.html", {**context, "form": form}, status=400)


@require_safe
@portal_session_required
def questionnaire_saved(request: HttpRequest, public_id: UUID) -> HttpResponse:
    saved = selectors.portal_questionnaire_saved(
        referral=request.portal_session.referral, public_id=public_id
    )
    if saved is None:
        raise Http404("No such questionnaire.")
    return _render(
        request, "portal/questionnaire_saved.html", {"saved": saved, "nav": "questionnaires"}
    )


@require_safe
@portal_session_required
def progress(request: HttpRequest) -> HttpResponse:
    scores = selectors.portal_progress(referral=request.portal_session.referral)
    return _render(request, "portal/progress.html", {"scores": scores, "nav": "questionnaires"})


urlpatterns = [
    path("portal/questionnaires/", questionnaires, name="portal-questionnaires"),
    path(
        "portal/questionnaires/saved/<uuid:public_id>/",
        questionnaire_saved,
        name="portal-questionnaire-saved",
    ),
    path("portal/questionnaires/<slug:code>/", questionnaire, name="portal-questionnaire"),
    path("portal/progress/", progress, name="portal-progress"),
]
