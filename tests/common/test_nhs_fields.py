"""The NHS.UK field renderer picks the right component for each kind of field."""

from __future__ import annotations

from django import forms
from django.template import Context, Template

from intake.forms import NhsDateField


class Sample(forms.Form):
    many = forms.MultipleChoiceField(
        choices=[("a", "A"), ("b", "B")], widget=forms.CheckboxSelectMultiple, required=False
    )
    one = forms.ChoiceField(choices=[("x", "X"), ("y", "Y")], widget=forms.RadioSelect)
    words = forms.CharField(max_length=20, widget=forms.Textarea)
    born = NhsDateField(label="Date of birth", label_noun="Date of birth")
    agree = forms.BooleanField()


def render(form, name):
    return Template("{% load nhs %}{% nhs_field f." + name + " %}").render(Context({"f": form}))


def test_each_field_kind_renders_its_nhs_component():
    form = Sample(
        data={
            "many": ["a", "b"],
            "one": "y",
            "words": "hi",
            "born_day": "1",
            "born_month": "2",
            "born_year": "1990",
            "agree": "on",
        }
    )
    many = render(form, "many")
    assert many.count('type="checkbox"') == 2 and many.count(" checked") == 2
    assert 'type="radio"' not in many
    one = render(form, "one")
    assert one.count('type="radio"') == 2 and 'value="y" checked' in one
    words = render(form, "words")
    assert "nhsuk-character-count" in words and 'data-maxlength="20"' in words
    born = render(form, "born")
    assert 'id="id_born_day"' in born and 'value="1990"' in born
    assert 'type="checkbox"' in render(form, "agree")


def test_errors_are_linked_from_the_summary_to_the_first_control():
    form = Sample(data={})
    summary = Template("{% load nhs %}{% nhs_error_summary f %}").render(Context({"f": form}))
    assert 'href="#id_one_0"' in summary
    assert 'href="#id_born_day"' in summary
    assert "There is a problem" in summary


class StaffDates(forms.Form):
    from assessment.forms import date_field

    starts_on = date_field("Start date", "Start date")


def test_a_huge_date_part_in_a_staff_date_is_a_form_error_that_keeps_what_was_typed():
    typed = {
        "starts_on_day": "99999999999999999999",
        "starts_on_month": "3",
        "starts_on_year": "2027",
    }
    form = StaffDates(data=typed)

    assert not form.is_valid()
    assert form.errors["starts_on"] == ["Start date must be a real date"]
    assert 'value="99999999999999999999"' in render(form, "starts_on")


class Limits(forms.Form):
    name = forms.CharField(max_length=100)
    reason = forms.CharField(max_length=300)
    notes = forms.CharField(widget=forms.Textarea, required=False)


def test_no_field_cuts_text_off_and_longer_lines_count_characters():
    form = Limits()
    name, reason, notes = render(form, "name"), render(form, "reason"), render(form, "notes")
    for html in (name, reason, notes):
        assert " maxlength=" not in html
    assert "nhsuk-character-count" not in name
    assert 'data-module="nhsuk-character-count" data-maxlength="300"' in reason
    assert 'id="id_reason-info"' in reason and "id_reason-info" in reason.split("<input")[1]
    # A textarea without a limit is a plain textarea: the count would have nothing to count to.
    assert "character-count" not in notes and "data-maxlength" not in notes


def form_classes():
    import importlib
    import inspect

    for module_name in (
        "intake.forms",
        "intake.views",
        "intake.refer_views",
        "assessment.forms",
        "therapy.forms",
        "allocation.forms",
        "notifications.forms",
    ):
        module = importlib.import_module(module_name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module_name:
                yield cls


def test_every_limit_has_a_message_that_says_the_limit():
    missing = []
    for cls in form_classes():
        for name, field in cls.base_fields.items():
            limit = getattr(field, "max_length", None)
            if not limit or field.widget.is_hidden:
                continue
            message = str(field.error_messages.get("max_length", ""))
            if f"{limit} characters or fewer" not in message:
                missing.append(f"{cls.__module__}.{cls.__name__}.{name}: {message!r}")
    assert not missing, "\n".join(missing)
