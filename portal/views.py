"""The client portal's pages (docs/portal.md). Each page parses its input, calls one service
or selector, and renders. No page takes a record id it would trust: the session says whose
referral it is, and a letter is looked for among that referral's own messages."""

from __future__ import annotations

import functools
from uuid import UUID

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from common.client_address import client_address
from common.pages import page_context, refusal_on_form
from portal import forms, limits, selectors, services

# Why a session ended, as the sign-in page says it. Anything else (a made-up value in the
# address) shows nothing.
ENDED_WORDS = {
    "signed_out": "You have signed out.",
    "idle": "You were signed out because you had not used the portal for "
    "{idle} minutes. Ask for a new sign-in link to carry on.",
    "expired": "You were signed out because you had been signed in for {hours}. Ask for a "
    "new sign-in link to carry on.",
    "channel_withdrawn": "You were signed out because you told us not to contact you the "
    "way your sign-in link was sent. Ask for a new link by a way you agree to.",
    "none": "Please sign in to see your referral.",
}


def _ended_words(reason: str) -> str:
    words = ENDED_WORDS.get(reason, "")
    max_minutes = settings.PORTAL_SESSION_MAX_MINUTES
    hours = (
        f"{max_minutes // 60} hour{'s' if max_minutes // 60 != 1 else ''}"
        if max_minutes % 60 == 0
        else f"{max_minutes} minutes"
    )
    return words.format(idle=settings.PORTAL_SESSION_IDLE_MINUTES, hours=hours)


def _signed_out(reason: str) -> HttpResponse:
    response = redirect(f"{reverse('portal-start')}?ended={reason}")
    response.delete_cookie(services.COOKIE_NAME, path=services.COOKIE_PATH)
    return response


def portal_session_required(view):
    """The page needs a live portal session (its own cookie; a staff sign-in is not one)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        try:
            session = services.portal_session_open(
                key=request.COOKIES.get(services.COOKIE_NAME, "")
            )
        except services.SessionEnded as ended:
            return _signed_out(ended.reason)
        request.portal_session = session
        response = view(request, *args, **kwargs)
        services.portal_page_record(request=request, session=session, response=response)
        return response

    return wrapped


def _render(request, template: str, context: dict | None = None, status: int = 200):
    return render(
        request,
        template,
        {"portal_session": getattr(request, "portal_session", None), **(context or {})},
        status=status,
    )


# --- Getting in ---------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    if request.method in ("GET", "HEAD"):
        ended = request.GET.get("ended", "")
        return _render(
            request,
            "portal/start.html",
            {
                "form": forms.AskForLinkForm(),
                "ended": _ended_words(ended),
                "link_minutes": settings.PORTAL_LINK_MINUTES,
            },
        )
    form = forms.AskForLinkForm(request.POST)
    if not form.is_valid():
        return _render(
            request,
            "portal/start.html",
            {"form": form, "link_minutes": settings.PORTAL_LINK_MINUTES},
            status=400,
        )
    data = form.cleaned_data
    wait = limits.ask_wait(request, reference=data["reference"])
    if wait is not None:
        return limits.rate_limited_page(request, door=limits.ASK, wait_seconds=wait)
    services.portal_link_request(
        reference=data["reference"], date_of_birth=data["date_of_birth"], channel=data["channel"]
    )
    # The same answer whatever was found: nobody learns who has been referred.
    return redirect("portal-link-sent")


@require_safe
def link_sent(request: HttpRequest) -> HttpResponse:
    return _render(request, "portal/link_sent.html", {"link_minutes": settings.PORTAL_LINK_MINUTES})


@require_http_methods(["GET", "HEAD", "POST"])
def sign_in(request: HttpRequest, token: str) -> HttpResponse:
    """Opening the link (GET or HEAD) shows a button; only pressing it (a POST) spends the
    link, since mail scanners open links too."""
    if request.method in ("GET", "HEAD"):
        try:
            services.portal_link_check(token=token)
        except services.LinkUnusable as problem:
            return _link_problem(request, problem)
        return _render(request, "portal/sign_in.html")
    wait = limits.sign_in_wait(request)
    if wait is not None:
        return limits.rate_limited_page(request, door=limits.SIGN_IN, wait_seconds=wait)
    try:
        signed_in = services.portal_sign_in(token=token, address=client_address(request))
    except services.LinkUnusable as problem:
        return _link_problem(request, problem)
    response = redirect("portal-home")
    response.set_cookie(
        services.COOKIE_NAME,
        signed_in.key,
        path=services.COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _link_problem(request, problem: services.LinkUnusable) -> HttpResponse:
    status = 404 if problem.reason == "unknown" else 410
    return _render(
        request,
        "portal/link_problem.html",
        {"message": problem.message, "reason": problem.reason},
        status=status,
    )


@require_POST
@portal_session_required
def sign_out(request: HttpRequest) -> HttpResponse:
    services.portal_sign_out(session=request.portal_session)
    return _signed_out("signed_out")


# --- What the client sees -------------------------------------------------------------------


@require_safe
@portal_session_required
def home(request: HttpRequest) -> HttpResponse:
    referral = request.portal_session.referral
    overview = selectors.portal_overview(referral=referral)
    return _render(
        request,
        "portal/home.html",
        {
            **page_context(overview),
            "nav": "home",
            # Questionnaires (portal/questionnaire_views.py): how many are due now.
            "questionnaires_due": len(selectors.portal_questionnaires(referral=referral)),
        },
    )


@require_safe
@portal_session_required
def letters(request: HttpRequest) -> HttpResponse:
    messages = selectors.portal_messages(referral=request.portal_session.referral)
    return _render(request, "portal/letters.html", {"sent": messages, "nav": "letters"})


@require_safe
@portal_session_required
def letter_pdf(request: HttpRequest, public_id: UUID) -> HttpResponse:
    pdf = selectors.portal_message_pdf(
        referral=request.portal_session.referral, public_id=public_id
    )
    if pdf is None:
        raise Http404("No such letter.")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="letter-{public_id}.pdf"'
    return response


# --- Consent and contact ------------------------------------------------------------------


@require_safe
@portal_session_required
def choices(request: HttpRequest) -> HttpResponse:
    referral = request.portal_session.referral
    return _render(
        request,
        "portal/choices.html",
        {
            "choices": selectors.portal_choices(referral=referral),
            "others": selectors.portal_other_decisions(referral=referral),
            "client": referral.client,
            "changed": request.GET.get("changed", ""),
            "nav": "choices",
        },
    )


@require_http_methods(["GET", "POST"])
@portal_session_required
def choice_change(request: HttpRequest, topic: str) -> HttpResponse:
    if topic not in services.QUESTIONS:
        raise Http404("No such choice.")
    question = services.QUESTIONS[topic]
    if request.method == "GET":
        form = forms.ConsentForm(question=question)
        return _render(
            request, "portal/choice_change.html", {"form": form, "topic": topic, "nav": "choices"}
        )
    form = forms.ConsentForm(request.POST, question=question)
    if form.is_valid():
        session = request.portal_session
        try:
            services.portal_consent_set(
                session=session, topic=topic, agree=form.cleaned_data["decision"] == "yes"
            )
        except services.PortalError as problem:
            refusal_on_form(form, problem)
        else:
            if session.ended_at is not None:
                return _signed_out(session.end_reason)
            return redirect(f"{reverse('portal-choices')}?changed={topic}")
    return _render(
        request,
        "portal/choice_change.html",
        {"form": form, "topic": topic, "nav": "choices"},
        status=400,
    )


CONTACT_FIELDS = (
    "email",
    "mobile_phone",
    "landline_phone",
    "address",
    "preferred_channel",
    "safe_contact_times",
)


@require_http_methods(["GET", "POST"])
@portal_session_required
def contact(request: HttpRequest) -> HttpResponse:
    client = request.portal_session.referral.client
    stored = {name: getattr(client, name) for name in CONTACT_FIELDS}
    if request.method == "GET":
        form = forms.ContactForm(initial=stored)
        return _render(request, "portal/contact.html", {"form": form, "nav": "choices"})
    form = forms.ContactForm(request.POST, stored=stored)
    if form.is_valid():
        services.portal_contact_update(
            session=request.portal_session,
            values={name: form.cleaned_data[name] for name in CONTACT_FIELDS},
        )
        return redirect(f"{reverse('portal-choices')}?changed=contact")
    return _render(request, "portal/contact.html", {"form": form, "nav": "choices"}, status=400)


# --- Withdrawing ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@portal_session_required
def withdraw(request: HttpRequest) -> HttpResponse:
    referral = request.portal_session.referral
    context = {"can_withdraw": referral.status in services.WITHDRAWABLE}
    if request.method == "GET":
        return _render(request, "portal/withdraw.html", {**context, "form": forms.WithdrawForm()})
    form = forms.WithdrawForm(request.POST)
    if form.is_valid():
        if form.cleaned_data["confirm"] == "no":
            return redirect("portal-home")
        try:
            services.portal_referral_withdraw(session=request.portal_session)
        except services.PortalError as problem:
            refusal_on_form(form, problem)
        else:
            return redirect("portal-withdrawn")
    return _render(request, "portal/withdraw.html", {**context, "form": form}, status=400)


@require_safe
@portal_session_required
def withdrawn(request: HttpRequest) -> HttpResponse:
    return _render(request, "portal/withdrawn.html")
