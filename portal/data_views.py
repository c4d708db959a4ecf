"""The portal's pages about the client's data (docs/portal.md): what we hold and a copy of
it to download (JSON and PDF), and asking for a correction. Apart from views.py so the
portal's other pages can grow beside them; the same session check and audit apply."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from common.pages import refusal_on_form
from intake import rights
from portal import data, forms, limits, services
from portal.views import _render, portal_session_required


@require_safe
@portal_session_required
def my_data(request: HttpRequest) -> HttpResponse:
    """What the copy holds and leaves out, the downloads, and the client's requests about
    their record with where each stands."""
    referral = request.portal_session.referral
    return _render(
        request,
        "portal/my_data.html",
        {
            "requests": rights.rights_requests_for_referral(referral=referral),
            "withheld": data.WITHHELD,
            "subject_access": data.SUBJECT_ACCESS,
            "sent": request.GET.get("sent") in ("correction", "access"),
            "nav": "my_data",
        },
    )


def _download(content: bytes, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Said here as well as by NoStoreMiddleware: a copy of someone's record is never cached.
    response["Cache-Control"] = "no-store"
    return response


@require_safe
@portal_session_required
def my_data_json(request: HttpRequest) -> HttpResponse:
    referral = request.portal_session.referral
    wait = limits.copy_wait(request, referral=referral)
    if wait is not None:
        return limits.rate_limited_page(request, door=limits.COPY, wait_seconds=wait)
    copy = data.portal_data_copy(referral=referral)
    return _download(
        json.dumps(copy, indent=2, ensure_ascii=False).encode("utf-8"),
        content_type="application/json; charset=utf-8",
        filename=f"my-data-{referral.reference}.json",
    )


@require_safe
@portal_session_required
def my_data_pdf(request: HttpRequest) -> HttpResponse:
    referral = request.portal_session.referral
    wait = limits.copy_wait(request, referral=referral)
    if wait is not None:
        return limits.rate_limited_page(request, door=limits.COPY, wait_seconds=wait)
    pdf = data.portal_data_copy_pdf(copy=data.portal_data_copy(referral=referral))
    return _download(
        pdf, content_type="application/pdf", filename=f"my-data-{referral.reference}.pdf"
    )


@require_http_methods(["GET", "HEAD", "POST"])
@portal_session_required
def correction(request: HttpRequest) -> HttpResponse:
    context = {"limit": services.MAX_OPEN_CORRECTIONS, "nav": "my_data"}
    if request.method != "POST":
        return _render(
            request, "portal/correction.html", {**context, "form": forms.CorrectionForm()}
        )
    form = forms.CorrectionForm(request.POST)
    if form.is_valid():
        try:
            services.portal_correction_request(
                session=request.portal_session,
                wrong=form.cleaned_data["wrong"],
                should_say=form.cleaned_data["should_say"],
            )
        except services.PortalError as problem:
            refusal_on_form(form, problem)
        else:
            return redirect(f"{reverse('portal-my-data')}?sent=correction")
    return _render(request, "portal/correction.html", {**context, "form": form}, status=400)


@require_http_methods(["GET", "HEAD", "POST"])
@portal_session_required
def whole_record(request: HttpRequest) -> HttpResponse:
    """Ask for a copy of the whole record: a subject access request to staff."""
    context = {"nav": "my_data"}
    if request.method != "POST":
        return _render(
            request, "portal/whole_record.html", {**context, "form": forms.WholeRecordForm()}
        )
    form = forms.WholeRecordForm(request.POST)
    if form.is_valid():
        try:
            services.portal_access_request(
                session=request.portal_session, details=form.cleaned_data["details"]
            )
        except services.PortalError as problem:
            refusal_on_form(form, problem)
        else:
            return redirect(f"{reverse('portal-my-data')}?sent=access")
    return _render(request, "portal/whole_record.html", {**context, "form": form}, status=400)
