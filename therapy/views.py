"""Staff pages for therapy. Thin: parse input, call one service or selector, render.
Another service's (or another therapist's) client answers 404, like a missing one."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

import measures
from assessment.models import Mode
from assessment.selectors import assessor_referral_get
from common import roles
from common.access import CARE_TEAM, role_required
from common.pages import page_context, refusal_on_form
from intake.models import Referral
from therapy import forms, pages, selectors, services
from therapy import goals as goal_services
from therapy.models import TherapySession

GET_POST = require_http_methods(["GET", "POST"])


# --- Therapy: who sees whom -----------------------------------------------------------------


def _care_referral(request, public_id: UUID, *, write: bool = False, coordinator_writes=False):
    """The referral, if this user may see its therapy records; for writes, only the current
    therapist (and, where said, a coordinator)."""
    try:
        referral = selectors.care_referral_get(user=request.user, public_id=public_id)
    except Referral.DoesNotExist:
        raise Http404("No such client") from None
    if write:
        is_therapist = selectors.is_current_therapist(user=request.user, referral=referral)
        if not is_therapist and not (
            coordinator_writes and request.user.has_role(roles.COORDINATOR)
        ):
            raise PermissionDenied
    return referral


@role_required(roles.THERAPIST)
@require_safe
def caseload(request: HttpRequest) -> HttpResponse:
    caseload = selectors.caseload_page(user=request.user, page=request.GET.get("page"))
    return render(
        request, "therapy/caseload.html", {"rows": caseload.rows, "flags": caseload.flags}
    )


@role_required(roles.COORDINATOR)
@require_safe
def therapy_overview(request: HttpRequest) -> HttpResponse:
    overview = selectors.therapy_overview(
        user=request.user,
        page=request.GET.get("page"),
        waiting_page=request.GET.get("waiting_page"),
        allocated_page=request.GET.get("allocated_page"),
    )
    return render(
        request,
        "therapy/therapy_overview.html",
        {
            "allocated": overview.allocated,
            "waiting": overview.waiting,
            "rows": overview.rows,
            "flags": overview.flags,
        },
    )


@role_required(*CARE_TEAM)
@require_safe
def client(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _care_referral(request, public_id)
    page = pages.client_page(user=request.user, referral=referral)
    return render(request, "therapy/client.html", {"referral": referral, **page_context(page)})


def _service_referral(request, public_id: UUID) -> Referral:
    """A referral of the user's service, which need not be in therapy yet."""
    try:
        return assessor_referral_get(user=request.user, public_id=public_id)
    except Referral.DoesNotExist:
        raise Http404("No such referral") from None


@role_required(roles.COORDINATOR)
@GET_POST
def therapy_start(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _service_referral(request, public_id)
    page = pages.therapy_start_page(user=request.user, referral=referral)
    form = forms.TherapyStartForm(request.POST or None, therapists=page.therapists)
    if request.method == "POST" and form.is_valid():
        try:
            services.therapy_start(
                referral=referral,
                therapist=form.therapist_chosen(),
                started_on=form.cleaned_data["started_on"],
                user=request.user,
            )
        except services.TherapyError as error:
            refusal_on_form(form, error)
        else:
            messages.success(request, f"Therapy recorded as started for {referral.reference}.")
            return redirect("therapy-client", public_id=public_id)
    return render(
        request,
        "therapy/therapy_start.html",
        {
            "referral": referral,
            "form": form,
            "current": page.current,
            "recommendation": page.recommendation,
        },
    )


# --- Session plan ---------------------------------------------------------------------------


@role_required(*CARE_TEAM)
@require_safe
def plan(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _care_referral(request, public_id)
    return _plan_render(request, referral)


def _plan_render(request, referral, *, removing: tuple[str, forms.BreakRemoveForm] | None = None):
    """The plan page, with a form to remove each planned break; `removing` is a break's
    form sent back with its error, keeping what was typed."""
    page = pages.plan_page(user=request.user, referral=referral)
    remove_forms = []
    for item in (page.plan_text or {}).get("breaks", []) if page.plan else []:
        if removing is not None and removing[0] == item["id"]:
            form = removing[1]
        else:
            form = forms.BreakRemoveForm(break_id=item["id"])
        form.fields["reason"].label = (
            f"Why is the break from {item['starts']:%-d %b} to {item['ends']:%-d %b %Y} "
            "no longer planned?"
        )
        remove_forms.append((item, form))
    return render(
        request,
        "therapy/plan.html",
        {
            "referral": referral,
            **page_context(page),
            "remove_forms": remove_forms,
            "removing_form": removing[1] if removing else None,
        },
        status=400 if removing is not None and removing[1].errors else 200,
    )


@role_required(*CARE_TEAM)
@GET_POST
def plan_edit(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _care_referral(request, public_id, write=True, coordinator_writes=True)
    page = pages.plan_edit_page(user=request.user, referral=referral)
    first_version = page.current is None
    if request.method == "POST":
        form = forms.SessionPlanForm(request.POST, sites=page.sites, first_version=first_version)
        if form.is_valid():
            data = form.cleaned_data
            values = {
                "length": data["length"],
                "session_count": data.get("session_count"),
                "sessions_per_week": int(data["sessions_per_week"]),
                "regular_times": data["regular_times"],
                "mode": data["mode"],
                "site": form.site_chosen() if data["mode"] == Mode.IN_PERSON else None,
                "room": data.get("room", "") if data["mode"] == Mode.IN_PERSON else "",
                "starts_on": data["starts_on"],
                "ends_on": data.get("ends_on"),
                "review_dates": data["review_dates"],
                "ending_plan": data.get("ending_plan", ""),
                "couch_discussed": data.get("couch_discussed", ""),
                "measures_every_sessions": data["measures_every_sessions"],
                "repeat_measures": data["repeat_measures"],
            }
            try:
                saved = services.session_plan_save(
                    referral=referral,
                    user=request.user,
                    values=values,
                    reason=data.get("reason", ""),
                )
            except services.TherapyError as error:
                refusal_on_form(form, error)
            else:
                messages.success(request, f"Session plan saved as version {saved.version}.")
                return redirect("session-plan", public_id=public_id)
    else:
        form = forms.SessionPlanForm(
            initial=page.initial, sites=page.sites, first_version=first_version
        )
    return render(
        request,
        "therapy/plan_edit.html",
        {"referral": referral, "form": form, "current": page.current},
    )


@role_required(*CARE_TEAM)
@GET_POST
def break_add(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _care_referral(request, public_id, write=True, coordinator_writes=True)
    page = pages.break_add_page(referral=referral)
    if page.plan is None:
        messages.info(request, "Agree a session plan before adding breaks.")
        return redirect("session-plan", public_id=public_id)
    form = forms.BreakForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.session_plan_break_add(
                referral=referral,
                user=request.user,
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                kind=data["kind"],
                note=data.get("note", ""),
            )
        except services.TherapyError as error:
            refusal_on_form(form, error)
        else:
            notice = data["kind"] in forms.NOTIFIED_BREAKS
            messages.success(
                request,
                "Break added to the plan."
                + (" A notice of the break is on its way to the client." if notice else ""),
            )
            return redirect("session-plan", public_id=public_id)
    return render(
        request, "therapy/break_add.html", {"referral": referral, "form": form, "plan": page.plan}
    )


@role_required(*CARE_TEAM)
@require_POST
def break_remove(request: HttpRequest, public_id: UUID, break_id: str) -> HttpResponse:
    referral = _care_referral(request, public_id, write=True, coordinator_writes=True)
    form = forms.BreakRemoveForm(request.POST, break_id=break_id)
    if not form.is_valid():
        return _plan_render(request, referral, removing=(break_id, form))
    try:
        services.session_plan_break_remove(
            referral=referral,
            user=request.user,
            break_id=break_id,
            reason=form.cleaned_data["reason"],
        )
    except services.TherapyError as error:
        if error.field != "reason":
            messages.error(request, error.message)  # the break is gone: nothing to keep
            return redirect("session-plan", public_id=public_id)
        refusal_on_form(form, error)
        return _plan_render(request, referral, removing=(break_id, form))
    messages.success(request, "Break removed from the plan.")
    return redirect("session-plan", public_id=public_id)


# --- Goals ----------------------------------------------------------------------------------


@role_required(*CARE_TEAM)
@GET_POST
def goals(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _care_referral(request, public_id)
    page = pages.goals_page(user=request.user, referral=referral)
    active = page.active
    today = timezone.localdate()
    add_form = forms.GoalAddForm(prefix="add", initial={"rated_on": today})
    rate_form = forms.GoalRatingForm(prefix="rate", goals=active, initial={"rated_on": today})
    if request.method == "POST":
        if not page.may_change:
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "add":
                add_form = forms.GoalAddForm(request.POST, prefix="add")
                if add_form.is_valid():
                    goal_services.goal_add(
                        referral=referral,
                        user=request.user,
                        description=add_form.cleaned_data["description"],
                        score=add_form.cleaned_data["score"],
                        rated_on=add_form.cleaned_data["rated_on"],
                    )
                    messages.success(request, "Goal added.")
                    return redirect("goals", public_id=public_id)
            elif action == "rate":
                rate_form = forms.GoalRatingForm(request.POST, prefix="rate", goals=active)
                if rate_form.is_valid():
                    goal_services.goal_ratings_record(
                        referral=referral,
                        user=request.user,
                        ratings=rate_form.ratings(),
                        rated_on=rate_form.cleaned_data["rated_on"],
                    )
                    messages.success(request, "Ratings recorded.")
                    return redirect("goals", public_id=public_id)
            else:
                messages.info(request, "Choose what you want to do.")
                return redirect("goals", public_id=public_id)
        except goal_services.GoalRatingsRefused as refused:
            for field, message in refused.problems:
                refusal_on_form(rate_form, services.TherapyError(message, field=field))
        except services.TherapyError as error:
            refusal_on_form(add_form if action == "add" else rate_form, error)
    return render(
        request,
        "therapy/goals.html",
        {"referral": referral, **page_context(page), "add_form": add_form, "rate_form": rate_form},
    )


@role_required(roles.THERAPIST)
@GET_POST
def goal_close(request: HttpRequest, public_id: UUID, goal_id: UUID) -> HttpResponse:
    referral = _care_referral(request, public_id, write=True)
    goal = selectors.goal_get(referral=referral, public_id=goal_id)
    if goal is None:
        raise Http404("No such goal")
    form = forms.GoalCloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            goal_services.goal_close(
                goal=goal, user=request.user, reason=form.cleaned_data["reason"]
            )
        except services.TherapyError as error:
            refusal_on_form(form, error)
        else:
            messages.success(request, "Goal closed. Its ratings are kept.")
            return redirect("goals", public_id=public_id)
    return render(
        request, "therapy/goal_close.html", {"referral": referral, "goal": goal, "form": form}
    )


# --- Sessions and repeated questionnaires ---------------------------------------------------


@role_required(*CARE_TEAM)
@GET_POST
def sessions(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _care_referral(request, public_id)
    page = pages.sessions_page(user=request.user, referral=referral)
    if request.method == "POST":
        if not page.may_record:
            raise PermissionDenied
        form = forms.SessionRecordForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = services.therapy_session_record(
                    referral=referral,
                    user=request.user,
                    occurred_on=data["occurred_on"],
                    attendance=data["attendance"],
                    note=data.get("note", ""),
                )
            except services.TherapyError as error:
                refusal_on_form(form, error)
            else:
                messages.success(request, "Session recorded.")
                if result.missed_in_a_row >= selectors.MISSED_BEFORE_POLICY:
                    messages.warning(
                        request,
                        f"{result.missed_in_a_row} sessions missed in a row: the "
                        "non-attendance policy now applies.",
                    )
                    return redirect("non-attendance", public_id=public_id)
                if result.measures_due:
                    messages.info(request, "Questionnaires are due at this session.")
                    return redirect(
                        "session-measures",
                        public_id=public_id,
                        session_id=result.session.public_id,
                    )
                return redirect("sessions", public_id=public_id)
    else:
        form = forms.SessionRecordForm(initial={"occurred_on": timezone.localdate()})
    return render(
        request,
        "therapy/sessions.html",
        {"referral": referral, **page_context(page), "form": form},
    )


@role_required(roles.THERAPIST)
@GET_POST
def session_measures(request: HttpRequest, public_id: UUID, session_id: UUID) -> HttpResponse:
    referral = _care_referral(request, public_id, write=True)
    try:
        page = pages.session_measures_page(referral=referral, session_id=session_id)
    except TherapySession.DoesNotExist:
        raise Http404("No such session") from None
    session = page.session
    form = forms.ReviewMeasuresForm(request.POST or None, codes=page.codes)
    if session.attendance != TherapySession.Attendance.ATTENDED:
        messages.info(request, "Questionnaires are recorded only for sessions that happened.")
        return redirect("sessions", public_id=public_id)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.review_measures_record(
                referral=referral, user=request.user, session=session, results=form.results()
            )
        except services.TherapyError as error:
            refusal_on_form(form, error)
        else:
            messages.success(request, "Questionnaires recorded.")
            if result.risk_flags:
                messages.warning(
                    request,
                    "A risk question was answered above 0: a risk flag is open and the duty "
                    "clinician has been alerted.",
                )
            if result.progress_flags:
                messages.warning(
                    request,
                    "The questionnaires suggest therapy may not be on track. Take time with "
                    "the client to think about why.",
                )
            return redirect("progress", public_id=public_id)
    return render(
        request,
        "therapy/session_measures.html",
        {"referral": referral, "session": session, "form": form},
    )


# --- Progress --------------------------------------------------------------------------------


@role_required(*CARE_TEAM)
@require_safe
def progress(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _care_referral(request, public_id)
    return _progress_render(request, referral)


def _progress_render(request, referral, *, ask_form=None) -> HttpResponse:
    page = pages.progress_page(user=request.user, referral=referral)
    return render(
        request,
        "therapy/progress.html",
        {
            "referral": referral,
            **page_context(page),
            "review_form": forms.ProgressFlagReviewForm(),
            "ask_form": ask_form or forms.QuestionnaireRequestForm(),
        },
        status=400 if ask_form is not None and ask_form.errors else 200,
    )


@role_required(*CARE_TEAM)
@require_POST
def questionnaire_ask(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Ask the client to complete a questionnaire in the portal: whoever may see the
    progress page may ask."""
    referral = _care_referral(request, public_id)
    form = forms.QuestionnaireRequestForm(request.POST)
    if form.is_valid():
        try:
            asked = services.questionnaire_request(
                referral=referral, user=request.user, measure=form.cleaned_data["measure"]
            )
        except services.TherapyError as error:
            refusal_on_form(form, error)
        else:
            name = measures.MEASURES[asked.measure].name
            messages.success(
                request,
                f"The client is asked to complete the {name} online. It is on their list "
                "when they sign in to the client portal; their answers appear here once done.",
            )
            return redirect(reverse("progress", args=[public_id]) + "#ask-heading")
    return _progress_render(request, referral, ask_form=form)


@role_required(*CARE_TEAM)
@require_POST
def questionnaire_cancel(request: HttpRequest, public_id: UUID, request_id: UUID) -> HttpResponse:
    """Cancel a request the client has not completed: whoever may ask may cancel."""
    referral = _care_referral(request, public_id)
    cancelled = services.questionnaire_request_cancel(
        referral=referral, user=request.user, public_id=request_id
    )
    if cancelled is None:
        raise Http404("No such request, or it is done already")
    messages.success(
        request,
        f"The request for the {cancelled.measure_name} is cancelled: it is no longer on the "
        "client's list in the client portal.",
    )
    return redirect(reverse("progress", args=[public_id]) + "#ask-heading")


@role_required(roles.THERAPIST)
@GET_POST
def progress_flag_review(request: HttpRequest, public_id: UUID, flag_id: UUID) -> HttpResponse:
    referral = _care_referral(request, public_id, write=True)
    flag = selectors.progress_flag_get(referral=referral, public_id=flag_id)
    if flag is None:
        raise Http404("No such flag")
    form = forms.ProgressFlagReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.progress_flag_review(
                flag=flag, user=request.user, note=form.cleaned_data["note"]
            )
        except services.TherapyError as error:
            refusal_on_form(form, error)
        else:
            messages.success(request, "Thank you. The flag is closed and your note is kept.")
            return redirect("progress", public_id=public_id)
    return render(
        request,
        "therapy/flag_review.html",
        {"referral": referral, "flag": flag, "form": form},
    )


# --- Non-attendance and endings -------------------------------------------------------------


@role_required(*CARE_TEAM)
@GET_POST
def non_attendance(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _care_referral(request, public_id)
    page = pages.non_attendance_page(user=request.user, referral=referral)
    form = forms.NonAttendanceForm(request.POST or None)
    if request.method == "POST":
        if not page.may_act:
            raise PermissionDenied
        action = request.POST.get("action")
        if form.is_valid():
            note = form.cleaned_data.get("note", "")
            try:
                if action == "letter":
                    step = services.non_attendance_letter_send(
                        referral=referral, user=request.user, note=note
                    )
                    messages.success(
                        request,
                        "Letter queued to the client."
                        if step.letter_queued
                        else "Recorded. There is no standard letter for this step yet: write "
                        "to the client yourself and keep a copy in their record.",
                    )
                elif action == "discharge":
                    services.therapy_discharge_non_attendance(
                        referral=referral, user=request.user, note=note
                    )
                    messages.success(
                        request,
                        "The client has been discharged. A letter is on its way to them"
                        + (", and to their GP as they agreed." if page.gp_ok else "."),
                    )
                    return redirect("therapy-client", public_id=public_id)
                else:
                    messages.info(request, "Choose what you want to do.")
            except services.TherapyError as error:
                messages.error(request, error.message)
            return redirect("non-attendance", public_id=public_id)
    return render(
        request,
        "therapy/non_attendance.html",
        {
            "referral": referral,
            "state": page.state,
            "form": form,
            "may_act": page.may_act,
            "in_therapy": page.in_therapy,
        },
    )


@role_required(roles.THERAPIST)
@GET_POST
def therapy_end(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _care_referral(request, public_id, write=True)
    page = pages.therapy_end_page(referral=referral)
    if request.method == "POST":
        form = forms.TherapyEndForm(request.POST, gp_ok=page.gp_ok)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.therapy_end(
                    referral=referral,
                    user=request.user,
                    last_session_on=data["last_session_on"],
                    summary=data.get("summary", ""),
                    plan=data["plan"],
                    gp_summary=data.get("gp_summary", ""),
                )
            except services.TherapyError as error:
                refusal_on_form(form, error)
            else:
                messages.success(request, "Therapy ended. The ending letter is on its way.")
                return redirect("therapy-client", public_id=public_id)
    else:
        form = forms.TherapyEndForm(initial={"plan": page.ending_plan}, gp_ok=page.gp_ok)
    return render(
        request,
        "therapy/therapy_end.html",
        {"referral": referral, "form": form, "gp_ok": page.gp_ok},
    )


def client_url(referral) -> str:
    return reverse("therapy-client", args=[referral.public_id])
