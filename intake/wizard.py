"""The self-referral wizard: one URL per step under /refer/, a check-your-answers page,
save-and-return, and a submit that is safe to repeat."""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from datetime import date

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from formtools.wizard.views import NamedUrlSessionWizardView, WizardView

from intake import drafts, forms, selectors, services
from intake.limits import limit_wizard_posts
from intake.submission import referral_input_from_steps

SAFETY = "safety"
URGENT_HELP = "urgent-help"
ABOUT = "about"
GENDER = "gender"
CONTACT = "contact"
CONTACT_PREFERENCES = "contact-preferences"
GP = "gp"
DIFFICULTIES = "difficulties"
SIGNPOST = "signpost"
QUESTIONNAIRES = "questionnaires"
PHQ9 = "phq9"
GAD7 = "gad7"
PREFERENCES = "preferences"
CONSENT = "consent"
CHECK = "check"

STEPS = [
    (SAFETY, forms.SafetyForm),
    (URGENT_HELP, forms.ContinueForm),
    (ABOUT, forms.AboutForm),
    (GENDER, forms.GenderForm),
    (CONTACT, forms.ContactForm),
    (CONTACT_PREFERENCES, forms.ContactPreferencesForm),
    (GP, forms.GpForm),
    (DIFFICULTIES, forms.DifficultiesForm),
    (SIGNPOST, forms.ContinueForm),
    (QUESTIONNAIRES, forms.QuestionnaireChoiceForm),
    (PHQ9, forms.Phq9Form),
    (GAD7, forms.Gad7Form),
    (PREFERENCES, forms.PreferencesForm),
    (CONSENT, forms.ConsentForm),
    (CHECK, forms.CheckForm),
]
TITLES = {
    SAFETY: "Before you start",
    URGENT_HELP: "Getting help now",
    ABOUT: "About you",
    GENDER: "Your gender",
    CONTACT: "Contacting you",
    CONTACT_PREFERENCES: "How we contact you",
    GP: "Your GP",
    DIFFICULTIES: "What brings you here",
    SIGNPOST: "You are already in contact with a mental health service",
    QUESTIONNAIRES: "Questionnaires",
    PHQ9: "Questionnaire 1 of 2: mood",
    GAD7: "Questionnaire 2 of 2: worry and anxiety",
    PREFERENCES: "Your preferences",
    CONSENT: "Your information and consent",
    CHECK: "Check your answers before sending your referral",
}
# Steps shown on the check page, with the heading of their section.
SUMMARY_STEPS = [
    ABOUT,
    GENDER,
    CONTACT,
    CONTACT_PREFERENCES,
    GP,
    DIFFICULTIES,
    QUESTIONNAIRES,
    PHQ9,
    GAD7,
    PREFERENCES,
    CONSENT,
]
RETURN_TO_CHECK = "return_to_check"
CONFIRMATION_SESSION_KEY = "referral_confirmation"


# Answers that decide which steps apply, and which steps are complete, are noted in the
# wizard's storage when a step is accepted. Each request then reads these notes instead of
# revalidating every earlier step. The cleaned answers of each accepted step are kept too
# (ANSWERS), so the submit builds the referral from them rather than validating all ten
# forms again; a journey without them (a draft saved before they were kept) revalidates.
NOTES = "notes"
DONE = "done"
ANSWERS = "answers"
NOTICE = "privacy_notice_id"
NOTED_FIELDS = {
    SAFETY: ("safe_now",),
    DIFFICULTIES: ("current_services",),
    QUESTIONNAIRES: ("answer_now",),
    PHQ9: ("item_9",),
}


class _NotStorable(TypeError):
    pass


def answers_encode(value):
    """A step's cleaned value in the session's JSON: dates tagged, the rest as they are."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [answers_encode(item) for item in value]
    raise _NotStorable(type(value).__name__)


def answers_decode(value):
    if isinstance(value, dict):
        return date.fromisoformat(value["date"])
    if isinstance(value, list):
        return [answers_decode(item) for item in value]
    return value


def _noted(wizard, field: str):
    return wizard.storage.extra_data.get(NOTES, {}).get(field)


def needs_urgent_help(wizard) -> bool:
    return _noted(wizard, "safe_now") == "no"


def needs_signpost(wizard) -> bool:
    chosen = _noted(wizard, "current_services") or []
    service = wizard.service
    rules = service.signpost_current_services if service else []
    return any(code in rules for code in chosen)


def answers_questionnaires(wizard) -> bool:
    return _noted(wizard, "answer_now") == "yes"


class SelfReferralWizard(NamedUrlSessionWizardView):
    form_list = STEPS
    condition_dict = {
        URGENT_HELP: needs_urgent_help,
        SIGNPOST: needs_signpost,
        PHQ9: answers_questionnaires,
        GAD7: answers_questionnaires,
    }
    url_name = "refer-step"
    done_step_name = "submit"

    def dispatch(self, request, *args, **kwargs):
        self.service = selectors.self_referral_service()
        if self.service is None:
            return redirect("refer-unavailable")
        return super().dispatch(request, *args, **kwargs)

    def get_template_names(self):
        return [f"intake/refer/{self.steps.current}.html", "intake/refer/step.html"]

    def get_form_kwargs(self, step=None):
        kwargs = {"service": self.service}
        if step == CONSENT:
            # The notice shown on the page is the one the answer is checked against.
            if not hasattr(self, "_notice"):
                self._notice = selectors.privacy_notice_current(service=self.service)
            kwargs["notice"] = self._notice
        if step == CONTACT_PREFERENCES:
            # Voicemail and a preferred way are asked about the ways we may use.
            kwargs["channels"] = forms.usable_channels(self.answers_for(CONTACT) or {})
        if step == PREFERENCES:
            if not hasattr(self, "_sites"):
                self._sites = list(self.service.sites.all())
            kwargs["sites"] = self._sites
        return kwargs

    # --- navigation -------------------------------------------------------------------

    def first_unfinished_step(self) -> str | None:
        done = set(self.storage.extra_data.get(DONE, []))
        for step in self.get_form_list():
            if step == CHECK:
                return None
            if step not in done:
                return step
        return None

    def _note(self, step: str, cleaned: dict | None) -> None:
        """Record a step as complete (with its deciding answers), or as not complete."""
        extra = dict(self.storage.extra_data)
        notes = dict(extra.get(NOTES, {}))
        done = set(extra.get(DONE, []))
        answers = dict(extra.get(ANSWERS, {}))
        for field in NOTED_FIELDS.get(step, ()):
            if cleaned is None:
                notes.pop(field, None)
            else:
                notes[field] = cleaned.get(field)
        answers.pop(step, None)
        if step == CONTACT:
            channels = forms.usable_channels(cleaned) if cleaned is not None else None
            if channels != notes.get("channels"):
                # What the next page asks depends on these: it is answered again.
                done.discard(CONTACT_PREFERENCES)
                answers.pop(CONTACT_PREFERENCES, None)
            notes["channels"] = channels
        if cleaned is None:
            done.discard(step)
        else:
            done.add(step)
            # A value the session cannot hold: the submit revalidates this journey instead.
            with contextlib.suppress(_NotStorable):
                answers[step] = {name: answers_encode(v) for name, v in cleaned.items()}
        extra[NOTES], extra[DONE], extra[ANSWERS] = notes, sorted(done), answers
        self.storage.extra_data = extra

    def get_form_step_data(self, form):
        # What was typed under a choice not made (all of it is posted without JavaScript)
        # is not kept, in the session or in a saved draft.
        return form.revealed_data()

    def process_step(self, form):
        # Called by formtools only for a valid form, just before it is stored.
        self._note(self.steps.current, form.cleaned_data)
        if self.steps.current == CONSENT:
            # The notice shown when they agreed (the form checked it is the one posted back)
            # is the one their consents refer to.
            notice = form.notice
            self.storage.extra_data = {
                **self.storage.extra_data,
                NOTICE: notice.pk if notice is not None else None,
            }
        return super().process_step(form)

    def get(self, request, *args, **kwargs):
        step = kwargs.get("step")
        if step == self.done_step_name:
            # Sending happens only on the POST from the check page, never on a GET.
            return redirect(self.get_step_url(CHECK))
        form_list = self.get_form_list()
        if step and step != self.done_step_name and step not in form_list:
            # Unknown or tampered step name (or a step that no longer applies).
            return redirect(self.get_step_url(self.first_unfinished_step() or self.steps.first))
        if step in form_list:
            unfinished = self.first_unfinished_step()
            order = list(form_list)
            if unfinished and order.index(step) > order.index(unfinished):
                # Jumping ahead: go back to the first step still to be answered.
                return redirect(self.get_step_url(unfinished))
            if request.GET.get("change") == "1":
                self.storage.extra_data = {**self.storage.extra_data, RETURN_TO_CHECK: True}
        return super().get(request, *args, **kwargs)

    @limit_wizard_posts
    def post(self, *args, **kwargs):
        posted_step = self.request.POST.get(self._management_field())
        if (
            not self.storage.data.get("step_data")
            and self.request.session.get(CONFIRMATION_SESSION_KEY)
            and posted_step == CHECK
        ):
            # A repeated "Send referral" after the referral was made: show the same result.
            return redirect("refer-confirmation")
        if posted_step not in self.get_form_list():
            messages.info(self.request, "That page has moved on. Please continue from here.")
            return redirect(self.get_step_url(self.first_unfinished_step() or self.steps.first))
        if "save_draft" in self.request.POST:
            return self.save_draft(posted_step)
        return super().post(*args, **kwargs)

    def _management_field(self) -> str:
        return f"{self.prefix}-current_step"

    def render_next_step(self, form, **kwargs):
        current = self.steps.current
        if current == SAFETY:
            reason = form.ineligible_reason()
            if reason:
                # Nothing is kept for someone this service cannot see.
                self.storage.reset()
                return redirect(reverse("refer-ineligible") + f"?reason={reason}")
        if self.storage.extra_data.get(RETURN_TO_CHECK):
            unfinished = self.first_unfinished_step()
            if unfinished is None:
                self.storage.extra_data = {
                    k: v for k, v in self.storage.extra_data.items() if k != RETURN_TO_CHECK
                }
                self.storage.current_step = CHECK
                return redirect(self.get_step_url(CHECK))
            self.storage.current_step = unfinished
            return redirect(self.get_step_url(unfinished))
        return super().render_next_step(form, **kwargs)

    # --- pages --------------------------------------------------------------------------

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        current = self.steps.current
        order = list(self.get_form_list())
        index = order.index(current)
        context.update(
            service=self.service,
            title=TITLES[current],
            previous_url=self.get_step_url(order[index - 1]) if index else reverse("home"),
            show_crisis_callout=self.shows_crisis_callout(current),
        )
        if current == CHECK:
            context["sections"] = self.summary()
        if current == CONSENT:
            context["built_in_notice"] = forms.BUILT_IN_NOTICE
        return context

    def shows_crisis_callout(self, step: str) -> bool:
        """After a risk answer, crisis help appears at once, on every following page."""
        if needs_urgent_help(self) and step != URGENT_HELP:
            return True
        return step != PHQ9 and self.item9_raises_concern()

    def item9_raises_concern(self) -> bool:
        item9 = _noted(self, "item_9")
        no_concern = (None, "", "0", forms.PREFER_NOT_TO_SAY)
        return answers_questionnaires(self) and item9 not in no_concern

    def has_risk_answer(self) -> bool:
        return needs_urgent_help(self) or self.item9_raises_concern()

    def summary(self) -> list[dict]:
        sections = []
        for step in self.get_form_list():
            if step not in SUMMARY_STEPS:
                continue
            cleaned = self.answers_for(step)
            if cleaned is None:
                continue
            form = self.get_form(step=step)  # unbound: only for labels and choices
            rows = []
            hidden = unrevealed(form, cleaned)
            for name, value in cleaned.items():
                field = form.fields.get(name)
                if field is None or field.widget.is_hidden or name in hidden:
                    continue
                if value in (None, "", [], False):
                    continue  # only what the person told us; Change lets them add more
                label = str(field.label).replace(" (optional)", "")
                rows.append({"label": label, "value": display_value(field, value)})
            if not rows:
                rows.append({"label": "Nothing shared", "value": "You can add something"})
            sections.append(
                {
                    "title": TITLES[step],
                    "rows": rows,
                    "change_url": self.get_step_url(step) + "?change=1",
                }
            )
        return sections

    # --- save and return ------------------------------------------------------------------

    def save_draft(self, step: str):
        form = self.get_form(step=step, data=self.request.POST)
        if _holds_nul(self.request.POST):
            # The draft is kept in PostgreSQL, which cannot store a NUL character: show
            # the page again with what was typed and where the problem is.
            if form.is_valid():
                form.add_error(None, NUL_IN_DRAFT)
            return self.render(form)
        # Keep what was typed on this page too, even if it is not complete yet.
        self._note(step, form.cleaned_data if form.is_valid() else None)
        self.storage.set_step_data(step, self.get_form_step_data(form))
        self.storage.current_step = step
        try:
            code = drafts.draft_save(
                data=self.storage.data,
                contact=self.answers_for(CONTACT) or {},
                client_key=drafts.client_key(self.request),
            )
        except drafts.DraftRateLimited:
            messages.error(
                self.request,
                "You have saved several times in a short while. "
                "Please wait a few minutes and try again.",
            )
            return redirect(self.get_step_url(step))
        # The saved page keeps the crisis help the steps were showing after a risk answer.
        self.request.session[drafts.SAVED_SESSION_KEY] = {
            **code.as_dict(),
            "show_crisis_callout": self.has_risk_answer(),
        }
        return redirect("refer-saved")

    # --- submit -------------------------------------------------------------------------

    def render_done(self, form, **kwargs):
        # Submit within the POST from the check page (the named-URL wizard would redirect
        # to a "done" URL and submit on that GET).
        kept = self.kept_answers()
        if kept is None:
            return WizardView.render_done(self, form, **kwargs)
        kept[CHECK] = form.cleaned_data
        response = self.submit(kept)
        self.storage.reset()
        return response

    def answers_for(self, step: str) -> dict | None:
        """One step's cleaned answers: as kept when it was accepted, else validated now."""
        stored = self.storage.extra_data.get(ANSWERS, {}).get(step)
        if stored is not None and step in self.storage.extra_data.get(DONE, []):
            return {name: answers_decode(v) for name, v in stored.items()}
        return self.get_cleaned_data_for_step(step)

    def kept_answers(self) -> dict[str, dict] | None:
        """Every applicable step's cleaned answers as accepted, or None when any is missing
        (then formtools validates every step again, and shows the first that fails)."""
        stored = self.storage.extra_data.get(ANSWERS, {})
        done = set(self.storage.extra_data.get(DONE, []))
        kept = {}
        for step in self.get_form_list():
            if step == CHECK:
                continue
            if step not in stored or step not in done:
                return None
            kept[step] = {name: answers_decode(v) for name, v in stored[step].items()}
        return kept

    def done(self, form_list, form_dict: OrderedDict, **kwargs):
        return self.submit({step: form.cleaned_data for step, form in form_dict.items()})

    def submit(self, answers: dict[str, dict]):
        key = self.storage.extra_data.get("submission_key") or drafts.new_submission_key()
        notice_id = self.storage.extra_data.get(NOTICE)
        notice_version = ""
        if notice_id is not None and not answers.get(CONSENT, {}).get("notice_version"):
            # Consent answers kept before the version was kept with them.
            notice_version = selectors.privacy_notice_version(notice_id=notice_id) or ""
        data = referral_input_from_steps(
            answers, service=self.service, notice_version=notice_version
        )
        data.privacy_notice_id = notice_id
        result = services.referral_submit(
            service=self.service, data=data, idempotency_key=key, via="self_referral"
        )
        self.request.session[CONFIRMATION_SESSION_KEY] = {
            "reference": result.referral.reference,
            "risk": result.risk_flags > 0,
        }
        return redirect("refer-confirmation")

    def render(self, form=None, **kwargs):
        if "submission_key" not in self.storage.extra_data:
            # One key per referral journey: every submit of it maps to one referral.
            self.storage.extra_data = {
                **self.storage.extra_data,
                "submission_key": drafts.new_submission_key(),
            }
        return super().render(form, **kwargs)


NUL_IN_DRAFT = (
    "Your answers on this page contain a character we cannot save (a null character). "
    "Remove it, then save again"
)


def _holds_nul(posted) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in posted.lists())


def unrevealed(form, cleaned: dict) -> set[str]:
    """The questions under a choice the answers did not make: not shown as answers."""
    hidden: set[str] = set()
    for parent, by_choice in getattr(form, "reveals", {}).items():
        chosen = cleaned.get(parent)
        chosen = {str(v) for v in chosen} if isinstance(chosen, list) else {str(chosen)}
        for choice, names in by_choice.items():
            if parent in hidden or choice not in chosen:
                hidden.update(names)
    return hidden


def display_value(field, value) -> str:
    if value in (None, "", []):
        return "Not given"
    if value is True:
        return "Yes"
    choices = dict(getattr(field, "choices", []) or [])
    if isinstance(value, list):
        return ", ".join(str(choices.get(v, v)) for v in value)
    if hasattr(value, "strftime"):
        return value.strftime("%-d %B %Y")
    return str(choices.get(value, value))
