"""The assessment wizard: one URL per section under /staff/assessments/<id>/, free movement
between sections, save as draft and resume (on any device: the draft lives on the
assessment row, not in the browser session), a check page, and a finish that locks it.

Built on django-formtools' NamedUrlWizardView with a storage backend that keeps the wizard's
state in `Assessment.draft_data`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import OrderedDict

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView
from formtools.wizard.storage.base import BaseStorage
from formtools.wizard.views import NamedUrlWizardView, StepsHelper

import measures
from assessment import forms, selectors, services
from assessment.models import Assessment, AssessmentMeasure
from common import roles
from common.access import role_required
from intake.selectors import gp_share_ok

PRESENTING = "presenting"
RELATIONSHIPS = "relationships"
HISTORY = "history"
CIRCUMSTANCES = "circumstances"
RISK = "risk"
MEASURES = "measures"
FORMULATION = "formulation"
RECOMMENDATION = "recommendation"
LETTERS = "letters"
CHECK = "check"
MEASURE_STEPS = list(measures.MEASURES)  # phq9, gad7, core10, wsas

STEPS = [
    (PRESENTING, forms.PresentingForm),
    (RELATIONSHIPS, forms.RelationshipsForm),
    (HISTORY, forms.HistoryForm),
    (CIRCUMSTANCES, forms.CircumstancesForm),
    (RISK, forms.RiskForm),
    (MEASURES, forms.MeasuresChoiceForm),
    (measures.PHQ9, forms.Phq9EntryForm),
    (measures.GAD7, forms.Gad7EntryForm),
    (measures.CORE10, forms.Core10EntryForm),
    (measures.WSAS, forms.WsasEntryForm),
    (FORMULATION, forms.FormulationForm),
    (RECOMMENDATION, forms.RecommendationForm),
    (LETTERS, forms.LettersForm),
    (CHECK, forms.CheckForm),
]
TITLES = {
    PRESENTING: "Presenting difficulties",
    RELATIONSHIPS: "Relationships and patterns",
    HISTORY: "History and previous help",
    CIRCUMSTANCES: "Current circumstances and support",
    RISK: "Risk assessment",
    MEASURES: "Questionnaires",
    **{code: f"{m.name}: {m.title}" for code, m in measures.MEASURES.items()},
    FORMULATION: "Formulation",
    RECOMMENDATION: "Recommendation",
    LETTERS: "Outcome letters",
    CHECK: "Check the assessment before finishing it",
}
TEXT_STEPS = [PRESENTING, RELATIONSHIPS, HISTORY, CIRCUMSTANCES, RISK, FORMULATION]
ANSWER_STEPS = [*TEXT_STEPS, RECOMMENDATION, LETTERS]
RETURN_TO_CHECK = "return_to_check"
# Each page carries the version of its section as it was when the page was opened, so a save
# over someone else's newer save of the same section is refused (their work is not lost, and
# neither is what this person typed). The check page carries the version of the whole draft.
VERSION_FIELD = "section_version"
SAVED_BY = "saved:"  # extra_data key prefix: who last saved each section, and when
# Fields the wizard posts that are not answers: never kept in the draft.
NOT_ANSWERS = {"csrfmiddlewaretoken", "save_draft", VERSION_FIELD}


def _measure_entered(code: str):
    def condition(wizard) -> bool:
        try:
            data = wizard.get_cleaned_data_for_step(MEASURES) or {}
        except KeyError:
            return False
        return data.get(code) == AssessmentMeasure.Source.ENTERED

    return condition


class DraftStorage(BaseStorage):
    """formtools storage kept on the assessment row; written back once per request."""

    def __init__(self, prefix, request=None, file_storage=None, *, assessment: Assessment):
        super().__init__(prefix, request, file_storage)
        stored = assessment.draft_data or {}
        if isinstance(stored.get(self.step_data_key), dict):
            self._data = copy.deepcopy(stored)
        else:
            self.init_data()
        self.loaded = copy.deepcopy(self._data)
        self._loaded = self._fingerprint()

    def _get_data(self):
        return self._data

    def _set_data(self, value):
        self._data = value

    data = property(_get_data, _set_data)

    def _fingerprint(self) -> str:
        return json.dumps(self._data, sort_keys=True, default=str)

    @property
    def changed(self) -> bool:
        return self._fingerprint() != self._loaded


class AssessmentWizard(NamedUrlWizardView):
    form_list = STEPS
    condition_dict = {code: _measure_entered(code) for code in MEASURE_STEPS}
    url_name = "assessment-step"
    done_step_name = "finish"
    template_name = "assessment/wizard/step.html"

    # --- set-up ---------------------------------------------------------------------------

    def get_prefix(self, request, *args, **kwargs):
        return "assessment"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_role(roles.ASSESSOR):
            raise PermissionDenied
        try:
            self.assessment = selectors.assessment_get(
                user=request.user, public_id=kwargs["assessment_id"]
            )
        except Assessment.DoesNotExist:
            raise Http404("No such assessment") from None
        if self.assessment.is_locked:
            messages.info(request, services.AssessmentLocked().message)
            return redirect("assessment-detail", public_id=self.assessment.public_id)
        self.referral = self.assessment.referral
        self.online = selectors.self_referral_responses(referral=self.referral)
        self.gp_ok = gp_share_ok(referral=self.referral)
        # WizardView.dispatch, with this assessment's own storage.
        self.prefix = self.get_prefix(request, *args, **kwargs)
        self.storage = DraftStorage(self.prefix, request, assessment=self.assessment)
        self.steps = StepsHelper(self)
        response = TemplateView.dispatch(self, request, *args, **kwargs)
        if self.storage.changed:
            services.assessment_draft_store(
                assessment=self.assessment, data=self.storage.data, loaded=self.storage.loaded
            )
        return response

    def section_version(self, step: str) -> str:
        """A short digest of a section as stored (of every section, for the check page)."""
        stored = self.storage.data.get(self.storage.step_data_key, {})
        part = stored if step == CHECK else stored.get(step)
        digest = hashlib.sha256(json.dumps(part, sort_keys=True, default=str).encode())
        return digest.hexdigest()[:16]

    def _mark_saved(self, step: str) -> None:
        user = self.request.user
        self.storage.extra_data = {
            **self.storage.extra_data,
            f"{SAVED_BY}{step}": {
                "user": user.pk,
                "by": user.get_full_name() or user.get_username(),
                "at": timezone.localtime().strftime("%H:%M on %-d %B"),
            },
        }

    def get_step_url(self, step):
        return reverse(
            self.url_name, kwargs={"assessment_id": self.assessment.public_id, "step": step}
        )

    def get_form_kwargs(self, step=None):
        context = {"online": self.online, "gp_ok": self.gp_ok}
        return {"referral": self.referral, "context": context}

    def get_form_initial(self, step):
        if step == HISTORY:
            # What the client wrote in the self-referral, as a starting point.
            return {"previous_help": self.referral.previous_help}
        if step == PRESENTING and self.referral.presenting_problem:
            return {"own_words": self.referral.presenting_problem}
        return {}

    def process_step(self, form):
        self._mark_saved(self.steps.current)
        return {
            key: values for key, values in dict(form.data.lists()).items() if key not in NOT_ANSWERS
        }

    # --- navigation -----------------------------------------------------------------------

    def first_unfinished_step(self) -> str | None:
        for step in self.get_form_list():
            if step == CHECK:
                return None
            if self.get_cleaned_data_for_step(step) is None:
                return step
        return None

    def get(self, request, *args, **kwargs):
        step = kwargs.get("step")
        if step == self.done_step_name:
            # Finishing happens only on the POST from the check page.
            return redirect(self.get_step_url(CHECK))
        form_list = self.get_form_list()
        if step not in form_list:
            # Unknown or tampered step, or a questionnaire page that does not apply now.
            current = self.storage.current_step
            if current not in form_list:
                current = self.first_unfinished_step() or self.steps.first
                self.storage.current_step = current
            return redirect(self.get_step_url(current))
        extra = dict(self.storage.extra_data)
        if request.GET.get("change") == "1":
            extra[RETURN_TO_CHECK] = True
        else:
            extra.pop(RETURN_TO_CHECK, None)
        self.storage.extra_data = extra
        return super().get(request, *args, **kwargs)

    def post(self, *args, **kwargs):
        posted_step = self.request.POST.get(f"{self.prefix}-current_step")
        if posted_step not in self.get_form_list():
            messages.info(self.request, "That page no longer applies. Please continue from here.")
            return redirect(self.get_step_url(self.first_unfinished_step() or self.steps.first))
        if self.changed_meanwhile(posted_step):
            return self.render_changed_meanwhile(posted_step)
        if "save_draft" in self.request.POST:
            return self.save_draft(posted_step)
        # Sections can be filled in any order: the posted page is the one to validate.
        self.storage.current_step = posted_step
        return super().post(*args, **kwargs)

    def changed_meanwhile(self, step: str) -> bool:
        """Was this section saved by someone else since the posted page was opened? (This
        person's own later save, say from a page the back button brought back, is theirs.)"""
        posted = self.request.POST.get(VERSION_FIELD)
        if not posted or posted == self.section_version(step):
            return False
        if step == CHECK:
            return True
        saved = self.storage.extra_data.get(f"{SAVED_BY}{step}") or {}
        return saved.get("user") != self.request.user.pk

    def render_changed_meanwhile(self, step: str):
        """Someone saved this section (or, on the check page, any section) after this page
        was opened. Nothing is saved; the page comes back with what was typed, and says so."""
        self.storage.current_step = step
        form = self.get_form(step=step, data=self.request.POST)
        form.is_valid()
        if step == CHECK:
            message = (
                "The assessment was changed after you opened this page. Check it again "
                "below before finishing it."
            )
        else:
            saved = self.storage.extra_data.get(f"{SAVED_BY}{step}") or {}
            who = f" by {saved['by']} at {saved['at']}" if saved else ""
            message = (
                f"This section was saved{who} after you opened it, so your changes have not "
                "been saved yet. They are still below. Open the section in another tab to see "
                "the saved version, then save again to replace it with yours."
            )
        form.add_error(None, message)
        return self.render(form)

    def render_next_step(self, form, **kwargs):
        if self.storage.extra_data.get(RETURN_TO_CHECK):
            current = self.steps.current
            following = self.get_next_step(current)
            # A questionnaire chosen on the way back needs its own page first.
            if (
                current == MEASURES
                and following in MEASURE_STEPS
                and self.get_cleaned_data_for_step(following) is None
            ):
                self.storage.current_step = following
                return redirect(self.get_step_url(following))
            self.storage.current_step = CHECK
            return redirect(self.get_step_url(CHECK))
        return super().render_next_step(form, **kwargs)

    def save_draft(self, step: str):
        form = self.get_form(step=step, data=self.request.POST)
        self.storage.current_step = step
        self.storage.set_step_data(step, self.process_step(form))
        messages.success(
            self.request,
            f"Draft saved. You can carry on with the assessment of {self.referral.reference} "
            "from your worklist.",
        )
        return redirect("assessment-worklist")

    # --- pages ----------------------------------------------------------------------------

    def get_template_names(self):
        current = self.steps.current
        if current in MEASURE_STEPS:
            return ["assessment/wizard/measure.html"]
        return [f"assessment/wizard/{current}.html", "assessment/wizard/step.html"]

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        current = self.steps.current
        order = list(self.get_form_list())
        index = order.index(current)
        context.update(
            assessment=self.assessment,
            referral=self.referral,
            title=TITLES[current],
            previous_url=self.get_step_url(order[index - 1])
            if index
            else reverse("assessment-worklist"),
            contents=[
                {"title": TITLES[step], "url": self.get_step_url(step), "current": step == current}
                for step in order
                if step not in MEASURE_STEPS
            ],
            gp_ok=self.gp_ok,
            online=self.online,
            section_version=self.section_version(current),
        )
        if current == CHECK:
            context.update(self.check_context())
        return context

    def _cleaned(self, step: str) -> dict | None:
        if step not in self.get_form_list():
            return None
        return self.get_cleaned_data_for_step(step)

    def answers(self) -> tuple[dict, dict[str, services.MeasurePlan]]:
        values: dict = {}
        for step in ANSWER_STEPS:
            for name, value in (self._cleaned(step) or {}).items():
                values[f"{step}_{name}"] = value
        plans = {}
        chosen = self._cleaned(MEASURES) or {}
        for code in MEASURE_STEPS:
            source = chosen.get(code) or AssessmentMeasure.Source.NOT_DONE
            answers = None
            if source == AssessmentMeasure.Source.ENTERED:
                entered = self._cleaned(code)
                if entered is not None:
                    answers = forms.answers_from(measures.get_measure(code), entered)
            plans[code] = services.MeasurePlan(source=source, answers=answers)
        return values, plans

    def measure_rows(self, plans) -> list[selectors.MeasureRow]:
        rows = []
        for code, plan in plans.items():
            measure = measures.get_measure(code)
            source = AssessmentMeasure.Source(plan.source).label
            result, risk = "", ()
            if plan.source == AssessmentMeasure.Source.ONLINE and code in self.online:
                previous = self.online[code]
                result = selectors.score_text(
                    previous.total, previous.band, previous.withheld_reason
                )
            elif plan.source == AssessmentMeasure.Source.ENTERED:
                if plan.answers is None:
                    result = "Answers not entered yet"
                else:
                    scored = measures.score(code, plan.answers)
                    result = selectors.score_text(
                        scored.total, scored.band or "", scored.withheld_reason or ""
                    )
                    risk = scored.risk_items_endorsed
            rows.append(selectors.MeasureRow(code, measure.name, source, result, risk))
        return rows

    def check_context(self, problems=None) -> dict:
        values, plans = self.answers()
        rows = self.measure_rows(plans)
        sections = selectors.assessment_sections(values, rows)
        incomplete = {
            step for step in self.get_form_list() if step != CHECK and self._cleaned(step) is None
        }
        change = {step: self.get_step_url(step) + "?change=1" for step in self.get_form_list()}
        level = values.get("risk_level")
        return {
            "sections": [
                {
                    "section": section,
                    "incomplete": section.step in incomplete,
                    "change_url": change.get(section.step, change[MEASURES]),
                }
                for section in sections
            ],
            "incomplete": [TITLES[s] for s in self.get_form_list() if s in incomplete],
            "problems": [
                {
                    "message": problem.message,
                    "url": reverse("staff-referral-detail", args=[self.referral.public_id])
                    if problem.step == "referral"
                    else change.get(problem.step, change[CHECK]),
                }
                for problem in (problems or [])
            ],
            "outcome_status": services._status_after(values)
            if values.get("recommendation_choice")
            else None,
            "raises_flag": level in ("medium", "high") or any(row.risk_items for row in rows),
        }

    # --- finishing ------------------------------------------------------------------------

    def render_done(self, form, **kwargs):
        final = OrderedDict()
        for step in self.get_form_list():
            step_form = self.get_form(step=step, data=self.storage.get_step_data(step))
            if not step_form.is_valid():
                messages.info(self.request, f"Complete '{TITLES[step]}' before finishing.")
                return self.render_revalidation_failure(step, step_form, **kwargs)
            final[step] = step_form
        return self.done(list(final.values()), form_dict=final, **kwargs)

    def done(self, form_list, form_dict, **kwargs):
        values, plans = self.answers()
        try:
            services.assessment_finish(
                assessment=self.assessment,
                user=self.request.user,
                answers=values,
                measure_plans=plans,
            )
        except services.AssessmentLocked as locked:
            messages.info(self.request, locked.message)
            return redirect("assessment-detail", public_id=self.assessment.public_id)
        except services.AssessmentIncomplete as incomplete:
            return self.render_check_with(incomplete.problems)
        except services.AssessmentError as error:
            return self.render_check_with([services.Problem(CHECK, error.message)])
        self.referral.refresh_from_db(fields=["status"])
        messages.success(
            self.request,
            "Assessment finished and locked. The referral is now "
            f"'{self.referral.get_status_display()}'.",
        )
        return redirect("assessment-detail", public_id=self.assessment.public_id)

    def render_check_with(self, problems):
        self.storage.current_step = CHECK
        form = self.get_form(step=CHECK, data=self.storage.get_step_data(CHECK))
        context = self.get_context_data(form=form)
        context.update(self.check_context(problems))
        return self.render_to_response(context)


assessment_wizard = role_required(roles.ASSESSOR)(
    AssessmentWizard.as_view(url_name="assessment-step", done_step_name="finish")
)
