"""Render Django form fields with the NHS.UK frontend's markup.

`{% nhs_field form.name %}` picks the component by widget (input, textarea with a
character count, radios, checkboxes, date input, single checkbox). No field carries a
`maxlength` attribute, which would cut off text without a word: the form's error says the
limit and the page keeps what was typed;
`{% nhs_error_summary form %}` lists every error with a link to its field;
`{% nhs_fields form %}` renders every field of a form, each field a choice reveals (the
form's ``reveals``) inside that choice's conditional content. Without JavaScript the
conditional content is simply shown, so the page still works.
"""

from __future__ import annotations

from django import forms, template
from django.forms.formsets import BaseFormSet
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

register = template.Library()

COUNTED_INPUT_LIMIT = 200


def field_kind(bound) -> str:
    widget = bound.field.widget
    # CheckboxSelectMultiple is a subclass of RadioSelect: test it first.
    if isinstance(widget, forms.CheckboxSelectMultiple):
        return "checkboxes"
    if isinstance(widget, forms.RadioSelect):
        return "radios"
    if isinstance(widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(widget, forms.Textarea):
        return "textarea"
    if isinstance(widget, forms.MultiWidget):
        return "date"
    if isinstance(widget, forms.Select):
        return "select"
    return "input"


def anchor(bound) -> str:
    """The id an error summary link should point at: the first control of the field."""
    kind = field_kind(bound)
    base = bound.auto_id
    if kind in {"radios", "checkboxes"}:
        return f"{base}_0"
    if kind == "date":
        return f"{base}_day"
    return base


@register.simple_tag
def nhs_fields(form):
    """Every field of the form, in order; a field revealed by a choice is rendered inside
    that choice's conditional content (``form.reveals``: {field: {choice: [fields]}})."""
    reveals = getattr(form, "reveals", {}) or {}
    inside = {
        name for by_choice in reveals.values() for names in by_choice.values() for name in names
    }

    def render(bound):
        conditional = {
            str(choice): mark_safe(
                "".join(render(form[name]) for name in names if name in form.fields)
            )
            for choice, names in reveals.get(bound.name, {}).items()
        }
        return nhs_field(bound, conditional=conditional)

    return mark_safe("".join(render(bound) for bound in form if bound.name not in inside))


@register.simple_tag
def nhs_field(bound, **options):
    if bound.is_hidden:
        return str(bound)
    kind = field_kind(bound)
    value = bound.value()
    if kind == "checkboxes":
        selected = {str(v) for v in (value or [])}
    else:
        selected = {"" if value is None else str(value)}
    date_parts = []
    if kind == "date":
        raw = value if isinstance(value, list | tuple) else bound.field.widget.decompress(value)
        names = ("day", "month", "year")
        date_parts = [
            {
                "name": f"{bound.html_name}_{name}",
                "id": f"{bound.auto_id}_{name}",
                "label": name.capitalize(),
                "value": "" if raw[i] is None else raw[i],
                "width": 4 if name == "year" else 2,
                "autocomplete": bound.field.widget.widgets[i].attrs.get("autocomplete", ""),
            }
            for i, name in enumerate(names)
        ]
    maxlength = getattr(bound.field, "max_length", None)
    # A one-line input counts characters only where the limit is one a person might reach
    # (free text, not names, numbers or codes); every limit is checked by the server anyway.
    counted = (
        kind == "input"
        and bool(maxlength)
        and maxlength >= COUNTED_INPUT_LIMIT
        and getattr(bound.field.widget, "input_type", "text") == "text"
    )
    conditional = options.get("conditional") or {}
    items = [
        {
            "value": choice_value,
            "label": choice_label,
            "id": f"{bound.auto_id}_{position}",
            "checked": str(choice_value) in selected,
            "conditional": conditional.get(str(choice_value), ""),
        }
        for position, (choice_value, choice_label) in enumerate(
            list(getattr(bound.field, "choices", []) or [])
        )
    ]
    context = {
        "field": bound,
        "kind": kind,
        "id": bound.auto_id,
        "name": bound.html_name,
        "label": bound.label,
        "hint": bound.help_text,
        "errors": bound.errors,
        "value": "" if value is None else value,
        "selected": selected,
        "choices": list(getattr(bound.field, "choices", []) or []),
        "date_parts": date_parts,
        "maxlength": maxlength,
        "counted": counted,
        "attrs": bound.field.widget.attrs,
        "heading": options.get("heading", False),
        "required": bound.field.required,
        "items": items,
    }
    return render_to_string(f"nhs/fields/{kind}.html", context)


@register.simple_tag
def nhs_error_summary(*forms_to_check):
    items = []
    for form in forms_to_check:
        if form is None or not form.errors:
            continue
        first = next(iter(form), None)
        for error in form.non_field_errors():
            items.append({"href": f"#{anchor(first)}" if first else "#maincontent", "text": error})
        for bound in form:
            for error in bound.errors:
                items.append({"href": f"#{anchor(bound)}", "text": error})
    if not items:
        return ""
    return render_to_string("nhs/error_summary.html", {"items": items})


@register.simple_tag(takes_context=True)
def page_has_errors(context) -> bool:
    """Whether any form (or formset) on the page came back with errors: the base template
    starts the page's title with "Error: " then, on every page, whatever the view."""
    for value in context.flatten().values():
        if isinstance(value, forms.BaseForm | BaseFormSet) and value.is_bound and value.errors:
            return True
    return False
