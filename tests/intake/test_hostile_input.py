"""Hostile input, generated: every self-referral step and every partner API field.

Huge numbers, deep nesting, control characters (NUL among them, which PostgreSQL refuses in
text), lone surrogates and very long strings. Whatever arrives, the answer is never a 500:
a page with the NHS error summary (or the next step, when the input happens to be valid),
or a JSON 400 from the API. Examples are few and derandomised so the suite stays quick and
repeatable; the named cases that once answered 500 have their own tests beside them.
"""

from __future__ import annotations

import json

import pytest
from django import forms as django_forms
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from intake import wizard
from intake.api import ConsentInput, PreferencesInput, QuestionnaireInput, ReferralCreateApi
from intake.models import Referral
from tests.intake.test_api import BODY, URL
from tests.intake.walk import MINIMAL, post_step, walk

pytestmark = pytest.mark.django_db

FEW = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

NOT_SURROGATE = st.characters(codec=None, exclude_categories=("Cs",))
CONTROL = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.sampled_from(
    ["\x7f", "\u200b", "\u202e", "\ufeff", "\u2028"]
)
SPECIAL_WORDS = st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "NaN",
        "Infinity",
        "1e400",
        "-0",
        "0x1F",
        "٣",  # Arabic-Indic three
        "²",  # superscript two: isdigit() but not a decimal
        "𝟘",
        "   ",
        "[[[[[[",
        "{'a': 1}",
        "<script>alert(1)</script>",
        "'; DROP TABLE intake_referral; --",
        "../../../etc/passwd",
    ]
)
HUGE_NUMBERS = st.integers(min_value=10**12, max_value=10**60).map(str) | st.integers(
    min_value=-(10**60), max_value=-1
).map(str)


def _long(draw_char, length):
    return draw_char * length


def _examples(values):
    def decorate(test):
        for value in reversed(values):
            test = example(value=value)(test)
        return test

    return decorate


# Each kind of hostile text at least once, whatever the random draw.
KNOWN_HOSTILE = _examples(
    ["\x00", "99999999999999999999", "-1", "x" * 100_000, "\x01\x1b[2J\x7f", "[" * 5000, "²"]
)
LONG_TEXT = st.builds(_long, NOT_SURROGATE, st.integers(min_value=201, max_value=60_000))
FORM_TEXT = st.one_of(
    SPECIAL_WORDS,
    HUGE_NUMBERS,
    LONG_TEXT,
    st.text(NOT_SURROGATE | CONTROL, max_size=40),
    st.text(CONTROL, min_size=1, max_size=10),
)


# --- The self-referral wizard ------------------------------------------------------------

PATH_TO = {
    **MINIMAL,
    "safety": {**MINIMAL["safety"], "in_area": "yes"},
    "questionnaires": {"answer_now": "yes"},
    "phq9": {f"item_{n}": "0" for n in range(1, 10)},
    "gad7": {f"item_{n}": "0" for n in range(1, 8)},
}
STEP_FORMS = dict(wizard.STEPS)


def _field_names(step: str, service) -> list[tuple[str, bool]]:
    """(posted name, takes a list) for every control on a step."""
    kwargs = {"service": service}
    if step == wizard.PREFERENCES:
        kwargs["sites"] = list(service.sites.all())
    form = STEP_FORMS[step](**kwargs)
    names = []
    for name, field in form.fields.items():
        if isinstance(field.widget, django_forms.MultiWidget):
            names.extend((f"{name}_{part}", False) for part in ("day", "month", "year"))
        else:
            names.append((name, isinstance(field.widget, django_forms.CheckboxSelectMultiple)))
    return names


@pytest.fixture
def referral_service(service, settings):
    settings.SELF_REFERRAL_SERVICE = service.slug
    service.signpost_current_services = ["crisis_team"]
    service.gp_postcode_areas = ["LS"]
    service.save()
    return service


@pytest.mark.parametrize(
    "step",
    [
        wizard.SAFETY,
        wizard.ABOUT,
        wizard.CONTACT,
        wizard.GP,
        wizard.DIFFICULTIES,
        wizard.QUESTIONNAIRES,
        wizard.PHQ9,
        wizard.GAD7,
        wizard.PREFERENCES,
        wizard.CONSENT,
    ],
)
def test_no_wizard_step_answers_500_to_hostile_input(client, referral_service, step):
    # Its own address, so its many saves spend no other test's save allowance.
    client.defaults["REMOTE_ADDR"] = "192.0.2.10"
    walk(client, PATH_TO, stop_before=step)
    controls = _field_names(step, referral_service)
    usual = PATH_TO.get(step, {})

    @FEW
    @given(value=FORM_TEXT)
    @KNOWN_HOSTILE
    def post_hostile(value):
        # One control at a time gets the hostile value; the others keep their usual answer,
        # so a hostile part meets valid neighbours (a huge day beside a real month and year).
        for name, many in controls:
            posted = {**usual, name: [value, value[:5]] if many else value}
            response = post_step(client, step, posted)

            assert response.status_code in (200, 302), (name, response.status_code)
            if response.status_code == 200:
                assert "There is a problem" in response.text, name
            # "Save and come back later" keeps even an unfinished page.
            saved = post_step(client, step, posted, save_draft="1")
            assert saved.status_code in (200, 302), (name, saved.status_code)
            if saved.status_code == 200:
                assert "There is a problem" in saved.text, name

    post_hostile()


def test_a_date_of_birth_of_huge_numbers_is_a_form_error_that_keeps_them(client, referral_service):
    walk(client, PATH_TO, stop_before="about")
    huge = "99999999999999999999"
    response = post_step(
        client,
        "about",
        {**MINIMAL["about"], "date_of_birth_day": huge, "date_of_birth_month": huge},
    )

    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "Date of birth must be a real date" in response.text
    assert f'value="{huge}"' in response.text and "Ashdown" in response.text


def test_saving_a_page_with_a_nul_character_says_so_and_keeps_the_rest(client, referral_service):
    walk(client, PATH_TO, stop_before="difficulties")
    response = post_step(
        client,
        "difficulties",
        {"presenting_problem": "It started\x00 last winter", "hopes": "To sleep again"},
        save_draft="1",
    )

    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "Null characters are not allowed" in response.text
    assert "To sleep again" in response.text


# --- The partner API ----------------------------------------------------------------------

DEEP = "__deeply_nested__"


def _scalars():
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.sampled_from([10**4000, -(10**4000)]),  # beyond Python's 4300-digit parse limit
        st.floats(allow_nan=True, allow_infinity=True),
        FORM_TEXT,
        st.text(st.characters(codec=None), max_size=10),  # lone surrogates too
        st.builds(lambda n: f"{DEEP}{n}", st.integers(min_value=10, max_value=100_000)),
    )


JSON_VALUES = st.recursive(
    _scalars(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(NOT_SURROGATE | CONTROL, max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


KNOWN_HOSTILE_JSON = _examples(
    [
        "\x00",
        "\ud800",
        10**30,
        float("inf"),
        "x" * 100_000,
        f"{DEEP}5000",
        [f"{DEEP}100000"],
        {"a": {"b": [None, True, -1]}},
    ]
)


def _encode(body) -> str:
    """JSON text, with markers turned into nesting far deeper than json.dumps can write."""
    text = json.dumps(body, allow_nan=True)  # NaN and Infinity are hostile too
    while DEEP in text:
        start = text.index(f'"{DEEP}')
        end = text.index('"', start + 1)
        depth = int(text[start + 1 + len(DEEP) : end])
        text = text[:start] + "[" * depth + "]" * depth + text[end + 1 :]
    return text


# Read from the serializers, so a field added to the API later is fuzzed without a list here.
REFERRAL_FIELDS = list(ReferralCreateApi.InputSerializer().fields)
PREFERENCE_FIELDS = list(PreferencesInput().fields)
CONSENT_FIELDS = list(ConsentInput().fields)
QUESTIONNAIRE_FIELDS = list(QuestionnaireInput().fields)
FIELD_PATHS = (
    [(name,) for name in REFERRAL_FIELDS]
    + [("preferences", name) for name in PREFERENCE_FIELDS]
    + [("consents", 0, name) for name in CONSENT_FIELDS]
    + [("questionnaires", 0, name) for name in QUESTIONNAIRE_FIELDS]
    + [("questionnaires", 0, "answers", 8)]
)


def _with(body: dict, path: tuple, value) -> dict:
    body = json.loads(json.dumps(body))
    body.setdefault("preferences", {})
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize("path", FIELD_PATHS, ids=lambda path: ".".join(map(str, path)))
def test_no_api_field_answers_500_to_hostile_input(api, path):
    @FEW
    @given(value=JSON_VALUES)
    @KNOWN_HOSTILE_JSON
    def post_hostile(value):
        before = Referral.objects.count()
        response = api.generic(
            "POST", URL, _encode(_with(BODY, path, value)), content_type="application/json"
        )

        assert response.status_code in (201, 400), (response.status_code, response.content)
        assert response["Content-Type"] == "application/json"
        if response.status_code == 400:
            assert response.json()
            assert Referral.objects.count() == before

    post_hostile()


@FEW
@given(key=FORM_TEXT)
def test_no_idempotency_key_answers_500(api, key):
    response = api.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code in (200, 201, 400), response.status_code
    if response.status_code == 400:
        assert "Idempotency-Key" in response.json()["errors"]


def _body_with(name: str, raw: str) -> str:
    return json.dumps({**BODY, name: "@"}).replace('"@"', raw)


@pytest.mark.parametrize(
    "text",
    [
        _body_with("given_name", '"Sam\\u0000"'),
        _body_with("presenting_problem", '"\\ud800"'),
        "[" * 1000 + "]" * 1000,
        _body_with("given_name", "9" * 5000),
        _body_with("given_name", "NaN"),
        "",
        "\x00",
        '"just a string"',
        "[]",
    ],
    ids=["nul", "surrogate", "deep-1000", "5000-digits", "nan", "empty", "nul-body", "str", "list"],
)
def test_malformed_bodies_are_json_400s(api, text):
    response = api.generic("POST", URL, text, content_type="application/json")

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert not Referral.objects.exists()
