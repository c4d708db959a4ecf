"""Staff pages for allocation: the waiting list with proposals, runs and their progress,
the coordinator's decisions, caseloads and therapist profiles. Thin: parse input, call one
service or selector, render. Another service's rows answer 404, like missing ones."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from allocation import (
    choosing,
    decisions,
    exclusions,
    forms,
    interpreters,
    selectors,
    services,
    therapists,
    waiting,
)
from allocation.engine.problem import OPEN_ENDED_WEEKS
from allocation.engine_input import windows_of
from allocation.models import (
    LeavePeriod,
    Proposal,
    ProposalRun,
    SiteAccess,
    Therapist,
    TherapistExclusion,
)
from allocation.selectors import language_name
from audit import services as audit
from common import roles
from common.access import OFFICE, THERAPIST_PROFILES, role_required
from common.models import Site
from common.pages import page_context, refusal_on_form
from intake.models import Referral

GET_POST = require_http_methods(["GET", "POST"])


coordinator_only = role_required(roles.COORDINATOR)


# --- The waiting list -------------------------------------------------------------------------


@coordinator_only
@require_safe
def waiting_list(request: HttpRequest) -> HttpResponse:
    form = forms.WaitingFilterForm(request.GET or None)
    filters = form.filters() if request.GET else waiting.WaitingFilters()
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 1
    listing = waiting.waiting_list(user=request.user, filters=filters, page=page)
    form.offer_languages(listing.languages)
    return render(
        request,
        "allocation/waiting_list.html",
        {"form": form, "listing": listing},
    )


@coordinator_only
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    if not request.user.service_id:
        messages.error(request, "Your account does not belong to a service.")
        return redirect("allocation-waiting-list")
    run = services.proposal_run_request(
        service_id=request.user.service_id,
        trigger=ProposalRun.Trigger.COORDINATOR,
        user=request.user,
    )
    return redirect("allocation-run", run.public_id)


def _run_or_404(request, public_id: UUID) -> ProposalRun:
    try:
        return selectors.run_get(user=request.user, public_id=public_id)
    except ProposalRun.DoesNotExist:
        raise Http404("No such run") from None


@coordinator_only
@require_safe
@never_cache
def run_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    run = _run_or_404(request, public_id)
    # Without JavaScript the page reloads itself while the run is in progress, unless the
    # coordinator asked it to stop; with JavaScript it updates the status in place.
    auto = request.GET.get("auto") != "off"
    return render(
        request,
        "allocation/run.html",
        {"run": run, "auto_refresh": auto and run.in_progress},
    )


@coordinator_only
@require_safe
@never_cache
def run_status(request: HttpRequest, public_id: UUID) -> JsonResponse:
    run = _run_or_404(request, public_id)
    return JsonResponse(
        {
            "html": render_to_string("allocation/_run_status.html", {"run": run}, request),
            "status": run.status,
            "status_label": run.get_status_display(),
            "phase": run.phase,
            "considered": run.considered,
            "placed": run.placed,
            "in_progress": run.in_progress,
            "error": run.error,
        }
    )


# --- One referral: its proposal and the decisions ---------------------------------------------


def _referral_or_404(request, public_id: UUID) -> Referral:
    referral = waiting.referral_get(user=request.user, public_id=public_id)
    if referral is None:
        raise Http404("No such referral")
    return referral


def _referral_page(request, referral: Referral, **forms_given) -> HttpResponse:
    page = waiting.referral_allocation(user=request.user, referral=referral)
    accept_form = forms_given.get("accept_form")
    if accept_form is None and page.proposal is not None and page.proposal.placed:
        first = page.first_appointment
        accept_form = forms.AcceptForm(
            initial={"first_appointment": timezone.localtime(first).date() if first else None}
        )
    status = 400 if any(f is not None and f.errors for f in forms_given.values()) else 200
    excluded = exclusions.exclusions_of(referral=referral)
    needs = exclusions.needs_of(referral=referral)
    genders = list(needs.gender_excluded)
    return render(
        request,
        "allocation/referral.html",
        {
            **page_context(page),
            "waiting": page.waiting,
            "accept_form": accept_form,
            "hold_form": forms_given.get("hold_form") or forms.HoldForm(),
            "exclusions": excluded,
            "exclusion_form": forms_given.get("exclusion_form")
            or _exclusion_form(referral, excluded),
            "gender_form": forms_given.get("gender_form")
            or forms.GenderExclusionForm(initial={"genders": genders}),
            "genders_excluded": [dict(forms.GENDER_EXCLUSION_CHOICES)[g] for g in genders],
            "allocation_needs": needs,
            "competence_form": forms_given.get("competence_form")
            or forms.CompetenceForm(
                initial={"competence": needs.competence, "specialism": needs.specialism}
            ),
            "course_form": forms_given.get("course_form")
            or forms.CourseForm(
                initial={
                    "earliest_start": needs.earliest_start,
                    "length": "open" if needs.therapy_weeks is None else "weeks",
                    "weeks": needs.therapy_weeks,
                }
            ),
            "open_ended_weeks": OPEN_ENDED_WEEKS,
            "access_form": forms_given.get("access_form")
            or forms.AccessForm(
                site_names=_site_names(referral),
                initial={
                    "step_free": "yes" if needs.step_free else "no",
                    "max_travel_minutes": needs.max_travel_minutes,
                    **{
                        f"travel_{i}": (needs.travel_minutes or {}).get(name)
                        for i, name in enumerate(_site_names(referral))
                    },
                },
            ),
            "times_form": forms_given.get("times_form") or _times_form(referral),
            "continuity_form": forms_given.get("continuity_form")
            or forms.ContinuityForm(initial={"continuity": needs.continuity}),
            "complexity_form": forms_given.get("complexity_form")
            or forms.ComplexityForm(
                initial={"complex_case": "yes" if needs.complex_case else "no"}
            ),
            "languages_form": forms_given.get("languages_form")
            or forms.LanguagesForm(
                initial={
                    "bsl": "yes" if needs.bsl else "no",
                    "spoken_language": needs.spoken_language,
                }
            ),
            "interpreter_languages": _language_names(
                interpreters.interpreter_languages(service_id=referral.service_id)
            ),
        },
        status=status,
    )


def _exclusion_form(referral, excluded, data=None) -> forms.ExclusionForm:
    """The team, less those already excluded, to choose from."""
    taken = {e.therapist_id for e in excluded}
    team = [
        t
        for t in Therapist.objects.filter(service_id=referral.service_id).order_by(
            "display_name", "id"
        )
        if t.pk not in taken
    ]
    return forms.ExclusionForm(data, therapists=team)


@coordinator_only
@require_safe
def referral_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return _referral_page(request, _referral_or_404(request, public_id))


def _proposal_or_404(request, public_id: UUID) -> Proposal:
    try:
        return selectors.proposal_get(user=request.user, public_id=public_id)
    except Proposal.DoesNotExist:
        raise Http404("No such proposal") from None


@coordinator_only
@require_POST
def proposal_accept(request: HttpRequest, public_id: UUID) -> HttpResponse:
    proposal = _proposal_or_404(request, public_id)
    form = forms.AcceptForm(request.POST)
    if form.is_valid():
        try:
            allocation = decisions.proposal_accept(
                proposal=proposal,
                user=request.user,
                first_appointment=form.cleaned_data["first_appointment"],
            )
        except services.AllocationError as error:
            refusal_on_form(form, error)
        else:
            messages.success(
                request,
                f"{proposal.referral.reference} is allocated to "
                f"{allocation.therapist.display_name}, first appointment "
                f"{timezone.localtime(allocation.first_appointment_at):%A %-d %B at %H:%M}. "
                "The allocation letter is on its way to the client.",
            )
            return redirect("allocation-waiting-list")
    return _referral_page(request, proposal.referral, accept_form=form)


@coordinator_only
@require_POST
def bulk_accept(request: HttpRequest) -> HttpResponse:
    form = forms.BulkAcceptForm(request.POST)
    back = reverse("allocation-waiting-list")
    if request.POST.get("next", "").startswith(back):
        back = request.POST["next"]
    if not form.is_valid():
        messages.error(request, "Select at least one proposal to accept.")
        return redirect(back)
    proposals = selectors.proposals_open(
        user=request.user, public_ids=form.cleaned_data["proposal"]
    )
    outcome = decisions.proposals_accept_many(proposals=proposals, user=request.user)
    for allocation in outcome.accepted:  # one audit event per allocation made
        audit.record(request=request, action=audit.Action.BULK_ACCEPT, obj=allocation)
    skipped = len(form.cleaned_data["proposal"]) - len(proposals)
    if outcome.accepted:
        messages.success(
            request,
            f"{len(outcome.accepted)} proposal{'s' if len(outcome.accepted) != 1 else ''} "
            "accepted. The allocation letters are on their way.",
        )
    for reference, why in outcome.refused:
        messages.error(request, f"{reference} was not allocated: {why}")
    if skipped:
        messages.error(
            request,
            f"{skipped} selected proposal{'s were' if skipped != 1 else ' was'} already decided "
            "or no longer in the proposal set, and left as they were.",
        )
    return redirect(back)


@coordinator_only
@GET_POST
def referral_choose(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _referral_or_404(request, public_id)
    if referral.status != Referral.Status.AWAITING_ALLOCATION:
        messages.info(
            request,
            f"{referral.reference} is '{referral.get_status_display()}', so there is no "
            "therapist to choose.",
        )
        return redirect("allocation-referral", referral.public_id)
    filter_form = forms.ChooseFilterForm()
    selected = request.POST.getlist("slots") if request.method == "POST" else []
    page = choosing.choose_options(
        user=request.user,
        referral=referral,
        filters=forms.ChooseFilterForm.filters_from(request.GET),
        selected=selected,
    )
    filter_form.offer(languages=page.languages, places=page.places)
    k = page.sessions_per_week
    if request.method == "POST":
        form = forms.ChooseForm(request.POST, options=page.choosable, sessions_per_week=k)
        if form.is_valid():
            data = form.cleaned_data
            try:
                allocation = decisions.allocation_choose(
                    referral=referral,
                    user=request.user,
                    slot_ids=[form.slot_rows[key].pk for key in data["slots"]],
                    reason=data["reason"],
                    first_appointment=data["first_appointment"],
                )
            except services.AllocationError as error:
                refusal_on_form(form, error)
            else:
                audit.record(
                    request=request,
                    action=audit.Action.OVERRIDE,
                    obj=allocation,
                    referral=referral,
                    reason=data["reason"],
                )
                messages.success(
                    request,
                    f"{referral.reference} is allocated to {allocation.therapist.display_name}, "
                    "first appointment "
                    f"{timezone.localtime(allocation.first_appointment_at):%A %-d %B at %H:%M}. "
                    "The allocation letter is on its way to the client.",
                )
                return redirect("allocation-waiting-list")
    else:
        form = forms.ChooseForm(options=page.choosable, sessions_per_week=k)
    return render(
        request,
        "allocation/choose.html",
        {
            "referral": referral,
            "form": form,
            "filter_form": filter_form,
            "page": page,
            "selected": set(form["slots"].value() or []),
            "query": request.GET.urlencode(),
        },
        status=400 if form.errors else 200,
    )


@coordinator_only
@require_POST
def referral_hold(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _referral_or_404(request, public_id)
    form = forms.HoldForm(request.POST)
    if form.is_valid():
        try:
            decisions.referral_hold(
                referral=referral, user=request.user, reason=form.cleaned_data["reason"]
            )
        except services.AllocationError as error:
            refusal_on_form(form, error)
        else:
            messages.success(
                request,
                f"{referral.reference} is on hold and left out of proposals until the hold is "
                "released.",
            )
            return redirect("allocation-waiting-list")
    return _referral_page(request, referral, hold_form=form)


@coordinator_only
@require_POST
def hold_release(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _referral_or_404(request, public_id)
    hold = selectors.hold_open(referral=referral)
    if hold is None:
        messages.info(request, f"{referral.reference} is not on hold.")
    else:
        try:
            decisions.hold_release(hold=hold, user=request.user)
        except services.AllocationError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                f"The hold on {referral.reference} is released. Run the allocation again to "
                "include them in the proposals.",
            )
    return redirect("allocation-referral", referral.public_id)


def _need_saved(request, referral, form, form_name: str, save, saved: str) -> HttpResponse:
    """One of the referral's allocation needs, sent from its form on the referral page: kept
    by `save(cleaned_data)` and back to the page saying `saved`, or the page again with the
    form's errors (a refusal from the service among them) and what was typed."""
    if form.is_valid():
        try:
            save(form.cleaned_data)
        except services.AllocationError as error:
            refusal_on_form(form, error)
        else:
            messages.success(request, f"{saved} Run the allocation again for new proposals.")
            return redirect("allocation-referral", referral.public_id)
    return _referral_page(request, referral, **{form_name: form})


@coordinator_only
@require_POST
def referral_exclude(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _referral_or_404(request, public_id)
    form = _exclusion_form(referral, exclusions.exclusions_of(referral=referral), request.POST)
    if form.is_valid():
        therapist = form.therapist_rows[form.cleaned_data["therapist"]]
        try:
            exclusions.therapist_exclude(
                referral=referral,
                therapist=therapist,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                user=request.user,
            )
        except services.AllocationError as error:
            refusal_on_form(form, error)
        else:
            messages.success(
                request,
                f"{therapist.display_name} is excluded for {referral.reference}: proposals "
                "will never place them together. Run the allocation again for new proposals.",
            )
            return redirect("allocation-referral", referral.public_id)
    return _referral_page(request, referral, exclusion_form=form)


@coordinator_only
@require_POST
def exclusion_remove(request: HttpRequest, public_id: UUID, exclusion_id: UUID) -> HttpResponse:
    referral = _referral_or_404(request, public_id)
    exclusion = (
        TherapistExclusion.objects.filter(referral=referral, public_id=exclusion_id)
        .select_related("therapist")
        .first()
    )
    if exclusion is None:
        raise Http404("No such exclusion")
    try:
        exclusions.exclusion_remove(exclusion=exclusion, user=request.user)
    except services.AllocationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"{exclusion.therapist.display_name} is no longer excluded for "
            f"{referral.reference}. Run the allocation again for new proposals.",
        )
    return redirect("allocation-referral", referral.public_id)


@coordinator_only
@require_POST
def referral_gender_exclusion(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _referral_or_404(request, public_id)
    form = forms.GenderExclusionForm(request.POST)

    def save(data):
        return exclusions.gender_exclusion_set(
            referral=referral, genders=data["genders"], user=request.user
        )

    return _need_saved(
        request,
        referral,
        form,
        "gender_form",
        save,
        f"The gender requirement for {referral.reference} is saved.",
    )


@coordinator_only
@require_POST
def referral_competence(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _referral_or_404(request, public_id)
    form = forms.CompetenceForm(request.POST)

    def save(data):
        return exclusions.competence_set(
            referral=referral,
            competence=data["competence"],
            specialism=data["specialism"],
            user=request.user,
        )

    return _need_saved(
        request,
        referral,
        form,
        "competence_form",
        save,
        f"The competence needed for {referral.reference} is saved.",
    )


@coordinator_only
@require_POST
def referral_course(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _referral_or_404(request, public_id)
    form = forms.CourseForm(request.POST)

    def save(data):
        return exclusions.course_set(
            referral=referral,
            earliest_start=data["earliest_start"],
            therapy_weeks=data["weeks"],
            user=request.user,
        )

    return _need_saved(
        request,
        referral,
        form,
        "course_form",
        save,
        f"The start and length of therapy for {referral.reference} are saved.",
    )


@coordinator_only
@require_POST
def referral_times(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _referral_or_404(request, public_id)
    form = forms.TimesForm(request.POST)

    def save(data):
        return exclusions.times_set(
            referral=referral,
            windows=data["windows"],
            preferred=data["preferred"],
            user=request.user,
        )

    return _need_saved(
        request,
        referral,
        form,
        "times_form",
        save,
        f"The times for {referral.reference} are saved.",
    )


def _times_form(referral: Referral) -> forms.TimesForm:
    """The form filled with the exact times recorded (empty when the parts of the day
    apply)."""
    preferences = getattr(referral, "preferences", None)
    return forms.TimesForm(
        initial={
            name: forms.window_lines(windows_of(getattr(preferences, field, None) or []))
            for name, field in (("windows", "time_windows"), ("preferred", "preferred_windows"))
        }
    )


def _site_names(referral: Referral) -> list[str]:
    return list(
        Site.objects.filter(service_id=referral.service_id)
        .order_by("name")
        .values_list("name", flat=True)
    )


@coordinator_only
@require_POST
def referral_access(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _referral_or_404(request, public_id)
    form = forms.AccessForm(request.POST, site_names=_site_names(referral))

    def save(data):
        return exclusions.access_set(
            referral=referral,
            step_free=data["step_free"] == "yes",
            max_travel_minutes=data["max_travel_minutes"],
            travel_minutes=form.travel(),
            user=request.user,
        )

    return _need_saved(
        request,
        referral,
        form,
        "access_form",
        save,
        f"Access and travel for {referral.reference} are saved.",
    )


@coordinator_only
@GET_POST
def site_access(request: HttpRequest) -> HttpResponse:
    """Which of the service's sites are step-free."""
    service_id = request.user.service_id
    sites = list(Site.objects.filter(service_id=service_id).order_by("name"))
    flags = set(
        SiteAccess.objects.filter(site__service_id=service_id, step_free=True).values_list(
            "site_id", flat=True
        )
    )
    if request.method == "POST":
        known = {str(site.public_id) for site in sites}
        chosen = set(request.POST.getlist("step_free"))
        if chosen - known:
            messages.error(request, "Select only the service's sites")
            return redirect("allocation-sites")
        count = exclusions.site_access_set(
            service_id=service_id, step_free_ids=chosen, user=request.user
        )
        messages.success(
            request,
            f"Step-free access saved ({count} step-free site{'' if count == 1 else 's'}). Run "
            "the allocation again for new proposals.",
        )
        return redirect("allocation-sites")
    return render(
        request,
        "allocation/sites.html",
        {"sites": [(site, site.pk in flags) for site in sites]},
    )


@coordinator_only
@require_POST
def referral_complexity(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _referral_or_404(request, public_id)
    form = forms.ComplexityForm(request.POST)

    def save(data):
        return exclusions.complexity_set(
            referral=referral, complex_case=data["complex_case"] == "yes", user=request.user
        )

    return _need_saved(
        request,
        referral,
        form,
        "complexity_form",
        save,
        f"Whether {referral.reference} is a complex case is saved.",
    )


@coordinator_only
@require_POST
def referral_continuity(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _referral_or_404(request, public_id)
    form = forms.ContinuityForm(request.POST)

    def save(data):
        return exclusions.continuity_set(
            referral=referral, continuity=data["continuity"], user=request.user
        )

    return _need_saved(
        request,
        referral,
        form,
        "continuity_form",
        save,
        f"Continuity for {referral.reference} is saved.",
    )


@coordinator_only
@require_POST
def referral_languages(request: HttpRequest, public_id: UUID) -> HttpResponse:
    referral = _referral_or_404(request, public_id)
    form = forms.LanguagesForm(request.POST)

    def save(data):
        return exclusions.languages_set(
            referral=referral,
            bsl=data["bsl"] == "yes",
            spoken_language=data["spoken_language"],
            user=request.user,
        )

    return _need_saved(
        request,
        referral,
        form,
        "languages_form",
        save,
        f"The language needs of {referral.reference} are saved.",
    )


def _language_names(codes: list[str] | None) -> list[str] | None:
    return None if codes is None else [language_name(code) for code in codes]


@coordinator_only
@GET_POST
def interpreter_settings(request: HttpRequest) -> HttpResponse:
    """The languages the service can book an interpreter for."""
    service_id = request.user.service_id
    current = interpreters.interpreter_languages(service_id=service_id)
    if request.method == "POST":
        form = forms.InterpreterLanguagesForm(request.POST)
        if form.is_valid():
            listed = form.cleaned_data["scope"] == "listed"
            languages = interpreters.parse_languages(form.cleaned_data["languages"])
            try:
                if listed and not languages and form.cleaned_data["languages"].strip():
                    raise services.AllocationError("Enter the languages", field="languages")
                interpreters.interpreter_languages_set(
                    service_id=service_id,
                    languages=languages if listed else None,
                    user=request.user,
                )
            except services.AllocationError as error:
                refusal_on_form(form, error)
            else:
                messages.success(
                    request,
                    "The languages the service can book an interpreter for are saved. Run "
                    "the allocation again for new proposals.",
                )
                return redirect("allocation-interpreters")
    else:
        form = forms.InterpreterLanguagesForm(
            initial={
                "scope": "any" if current is None else "listed",
                "languages": ", ".join(language_name(c) for c in current or []),
            }
        )
    return render(
        request,
        "allocation/interpreters.html",
        {
            "form": form,
            "current": _language_names(current),
        },
        status=400 if form.errors else 200,
    )


# --- Caseloads and therapist profiles --------------------------------------------------------

can_view_therapists = role_required(*THERAPIST_PROFILES)


@role_required(*OFFICE)
@require_safe
def caseloads(request: HttpRequest) -> HttpResponse:
    team = selectors.therapist_caseload_page(user=request.user, page=request.GET.get("page", 1))
    return render(
        request,
        "allocation/caseloads.html",
        {
            "page": team.page,
            "totals": team.totals,
            "can_add": request.user.has_role(roles.SERVICE_ADMIN),
        },
    )


def _therapist_or_404(request, public_id: UUID) -> Therapist:
    therapist = selectors.therapist_visible(user=request.user, public_id=public_id)
    if therapist is None:
        raise Http404("No such therapist")
    return therapist


def _editable_or_403(request, therapist: Therapist) -> None:
    if not therapists.can_edit_therapist(user=request.user, therapist=therapist):
        raise PermissionDenied


@can_view_therapists
@require_safe
def therapist_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    profile = selectors.therapist_profile(user=request.user, public_id=public_id)
    if profile is None:
        raise Http404("No such therapist")
    therapist = profile.therapist
    return render(
        request,
        "allocation/therapist.html",
        {
            "therapist": therapist,
            "row": profile.row,
            "clients": profile.clients,
            "leave": profile.leave,
            "can_edit": therapists.can_edit_therapist(user=request.user, therapist=therapist),
        },
    )


@role_required(roles.SERVICE_ADMIN)
@GET_POST
def therapist_add(request: HttpRequest) -> HttpResponse:
    if not request.user.service_id:
        raise Http404("No service")
    sites = list(request.user.service.sites.all())
    sign_ins = selectors.sign_ins_to_link(user=request.user)
    if request.method == "POST":
        form = forms.ProfileForm(request.POST, sites=sites, sign_ins=sign_ins)
        if form.is_valid():
            try:
                therapist = therapists.therapist_create(user=request.user, data=form.profile())
            except services.AllocationError as error:
                refusal_on_form(form, error)
            else:
                messages.success(
                    request, f"{therapist.display_name} is added. Now add their weekly slots."
                )
                return redirect("allocation-therapist", therapist.public_id)
    else:
        form = forms.ProfileForm(
            sites=sites,
            sign_ins=sign_ins,
            initial={"frequencies": ["1"], "offers_remote": "yes", "gender": "not_stated"},
        )
    return render(
        request,
        "allocation/profile_form.html",
        {"form": form, "therapist": None},
        status=400 if form.errors else 200,
    )


@can_view_therapists
@GET_POST
def therapist_edit(request: HttpRequest, public_id: UUID) -> HttpResponse:
    therapist = _therapist_or_404(request, public_id)
    _editable_or_403(request, therapist)
    sites = list(request.user.service.sites.all())
    sign_ins = (
        selectors.sign_ins_to_link(user=request.user, therapist=therapist)
        if request.user.has_role(roles.SERVICE_ADMIN)
        else None
    )
    if request.method == "POST":
        form = forms.ProfileForm(request.POST, sites=sites, sign_ins=sign_ins)
        if form.is_valid():
            try:
                therapists.therapist_update(
                    therapist=therapist, user=request.user, data=form.profile()
                )
            except services.AllocationError as error:
                refusal_on_form(form, error)
            else:
                messages.success(request, "Profile saved.")
                return redirect("allocation-therapist", therapist.public_id)
    else:
        form = forms.ProfileForm(
            sites=sites, sign_ins=sign_ins, initial=forms.ProfileForm.initial_for(therapist)
        )
    return render(
        request,
        "allocation/profile_form.html",
        {"form": form, "therapist": therapist, "open_ended_weeks": OPEN_ENDED_WEEKS},
        status=400 if form.errors else 200,
    )


@can_view_therapists
@GET_POST
def slot_add(request: HttpRequest, public_id: UUID) -> HttpResponse:
    therapist = _therapist_or_404(request, public_id)
    _editable_or_403(request, therapist)
    if request.method == "POST":
        form = forms.SlotForm(request.POST, therapist=therapist)
        if form.is_valid():
            data = form.cleaned_data
            try:
                slot = therapists.weekly_slot_add(
                    therapist=therapist,
                    user=request.user,
                    weekday=int(data["weekday"]),
                    start=data["start"],
                    length=data["length"],
                    site=form.chosen_site(),
                )
            except services.AllocationError as error:
                refusal_on_form(form, error)
            else:
                messages.success(request, f"The {slot} slot is added.")
                return redirect("allocation-therapist", therapist.public_id)
    else:
        form = forms.SlotForm(therapist=therapist)
    return render(
        request,
        "allocation/slot_form.html",
        {"form": form, "therapist": therapist},
        status=400 if form.errors else 200,
    )


@can_view_therapists
@require_POST
def slot_remove(request: HttpRequest, public_id: UUID, slot_id: UUID) -> HttpResponse:
    therapist = _therapist_or_404(request, public_id)
    _editable_or_403(request, therapist)
    slot = selectors.slot_get(therapist=therapist, public_id=slot_id)
    if slot is None:
        raise Http404("No such slot")
    try:
        therapists.weekly_slot_remove(slot=slot, user=request.user)
    except services.AllocationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The {slot} slot is removed.")
    return redirect("allocation-therapist", therapist.public_id)


@can_view_therapists
@GET_POST
def leave_add(request: HttpRequest, public_id: UUID) -> HttpResponse:
    therapist = _therapist_or_404(request, public_id)
    _editable_or_403(request, therapist)
    if request.method == "POST":
        form = forms.LeaveForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                therapists.leave_add(
                    therapist=therapist,
                    user=request.user,
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    note=data["note"],
                    kind=data["kind"] or LeavePeriod.Kind.LEAVE,
                )
            except services.AllocationError as error:
                refusal_on_form(form, error)
            else:
                what = "Planned break" if data["kind"] == LeavePeriod.Kind.BREAK else "Leave"
                messages.success(request, f"{what} recorded. Proposals will take it into account.")
                return redirect("allocation-therapist", therapist.public_id)
    else:
        form = forms.LeaveForm()
    return render(
        request,
        "allocation/leave_form.html",
        {"form": form, "therapist": therapist},
        status=400 if form.errors else 200,
    )


@can_view_therapists
@require_POST
def leave_remove(request: HttpRequest, public_id: UUID, leave_id: UUID) -> HttpResponse:
    therapist = _therapist_or_404(request, public_id)
    _editable_or_403(request, therapist)
    period = selectors.leave_get(therapist=therapist, public_id=leave_id)
    if period is None:
        raise Http404("No such leave")
    therapists.leave_remove(period=period, user=request.user)
    messages.success(request, "Leave removed.")
    return redirect("allocation-therapist", therapist.public_id)
