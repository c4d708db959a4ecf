"""The portal's questionnaire form: one measure, every item a set of radios with the
measure's own options and "Prefer not to say" (and "Does not apply to me" where the measure
allows it). Each error names the question and says how to put it right."""

from __future__ import annotations

from django import forms

import measures

PREFER_LABEL = "Prefer not to say"
NOT_APPLICABLE_LABEL = "Does not apply to me (for example, I am retired)"


class QuestionnaireForm(forms.Form):
    def __init__(self, *args, measure: measures.Measure, **kwargs):
        super().__init__(*args, **kwargs)
        self.measure = measure
        for number, wording in enumerate(measure.items, start=1):
            choices = [(str(i), label) for i, label in enumerate(measure.options)]
            if number in measure.not_applicable_items:
                choices.append((measures.NOT_APPLICABLE, NOT_APPLICABLE_LABEL))
            choices.append((measures.PREFER_NOT_TO_SAY, PREFER_LABEL))
            self.fields[f"item_{number}"] = forms.ChoiceField(
                label=f"{number}. {wording}",
                choices=choices,
                widget=forms.RadioSelect,
                error_messages={
                    "required": f"Question {number}: select an answer, or '{PREFER_LABEL}'",
                    "invalid_choice": f"Question {number}: select one of the answers shown, "
                    f"or '{PREFER_LABEL}'",
                },
            )

    def answers(self) -> list:
        """One entry per item for measures.score: the option number, or the sentinel."""
        values = []
        for number in range(1, self.measure.item_count + 1):
            raw = self.cleaned_data[f"item_{number}"]
            values.append(
                raw if raw in (measures.PREFER_NOT_TO_SAY, measures.NOT_APPLICABLE) else int(raw)
            )
        return values
