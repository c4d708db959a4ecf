"""Office pages for rights requests (intake.rights): the task list, recording a request on a
referral, and working one (extending it, completing it, lifting a restriction).

Coordinators and service admins use them (common.access.OFFICE); another service's request
or referral answers 404. Each view parses its form, calls one service and shows the result;
a refusal is shown beside its field, with everything typed kept."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from common.access import OFFICE, role_required
from common.pages import refusal_on_form
from intake import rights, selectors
from intake.models import Referral, RightsRequest
from intake.staff_forms import CompleteForm, ExtendForm, LiftForm, RightsRequestForm


@role_required(*OFFICE)
@require_safe
def rights_tasks(request: HttpRequest) -> HttpResponse:
    closed = request.GET.get("show") == "completed"
    return render(
        request,
        "intake/staff/rights/task_list.html",
        {
            "tasks": rights.rights_tasks_page(
                user=request.user, closed=closed, page=request.GET.get("page")
            ),
            "closed": closed,
        },
    )


def _referral_or_404(request, public_id) -> Referral:
    try:
        return selectors.referral_get(user=request.user, public_id=public_id)
    except Referral.DoesNotExist:
        raise Http404("No such referral") from None


@role_required(*OFFICE)
@require_http_methods(["GET", "HEAD", "POST"])
def rights_request_new(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _referral_or_404(request, public_id)
    form = RightsRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            opened = rights.rights_request_open(
                referral=referral,
                kind=form.cleaned_data["kind"],
                details=form.cleaned_data["details"],
                source=form.cleaned_data["source"],
                received_on=form.cleaned_data["received_on"],
                recorded_by=request.user,
            )
        except rights.RightsError as error:
            refusal_on_form(form, error)
        else:
            words = (
                " The restriction is in force now."
                if opened.kind == RightsRequest.Kind.RESTRICTION
                else ""
            )
            messages.success(
                request,
                f"The request is recorded, due by {opened.due_on:%-d %B %Y}.{words}",
            )
            return redirect("rights-request-detail", public_id=opened.public_id)
    return render(
        request,
        "intake/staff/rights/request_new.html",
        {"referral": referral, "form": form},
        status=400 if form.is_bound else 200,
    )


def _request_or_404(request, public_id) -> RightsRequest:
    found = rights.rights_request_get(user=request.user, public_id=public_id)
    if found is None:
        raise Http404("No such rights request")
    return found


def _detail(request, task: RightsRequest, *, status: int = 200, **forms) -> HttpResponse:
    context = {
        "task": task,
        # The referral, for the banner and the links: the page is about it.
        "referral": task.referral,
        "extend_form": forms.get("extend_form") or ExtendForm(prefix="extend"),
        "complete_form": forms.get("complete_form") or CompleteForm(prefix="complete"),
        "lift_form": forms.get("lift_form") or LiftForm(prefix="lift"),
    }
    return render(request, "intake/staff/rights/request_detail.html", context, status=status)


@role_required(*OFFICE)
@require_safe
def rights_request_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return _detail(request, _request_or_404(request, public_id))


def _task_change(request, public_id, form_class, prefix, change, done) -> HttpResponse:
    """One change to a task from its page: the form, then the service; every mistake or
    refusal goes back to the page, on the form, keeping what was typed."""
    task = _request_or_404(request, public_id)
    form = form_class(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            task = change(task, request.user, form.cleaned_data)
        except rights.RightsError as error:
            refusal_on_form(form, error)
        else:
            messages.success(request, done(task))
            return redirect("rights-request-detail", public_id=task.public_id)
    return _detail(request, task, status=400, **{f"{prefix}_form": form})


@role_required(*OFFICE)
@require_POST
def rights_request_extend(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return _task_change(
        request,
        public_id,
        ExtendForm,
        "extend",
        lambda task, user, data: rights.rights_request_extend(
            request=task, user=user, months=data["months"], reason=data["reason"]
        ),
        lambda task: f"Extended: now due by {task.due_on:%-d %B %Y}.",
    )


@role_required(*OFFICE)
@require_POST
def rights_request_complete(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return _task_change(
        request,
        public_id,
        CompleteForm,
        "complete",
        lambda task, user, data: rights.rights_request_complete(
            request=task,
            user=user,
            status=data["status"],
            outcome=data["outcome"],
            client_told_of_ico=data["client_told_of_ico"],
        ),
        lambda task: f"The request is completed: {task.get_status_display()}.",
    )


@role_required(*OFFICE)
@require_POST
def restriction_lift(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return _task_change(
        request,
        public_id,
        LiftForm,
        "lift",
        lambda task, user, data: rights.restriction_lift(
            request=task, user=user, reason=data["reason"], client_told=data["client_told"]
        ),
        lambda task: "The restriction is lifted.",
    )
