"""Encryption at rest: the special-category free text, questionnaire answers, drafts and
rendered messages are unreadable in the raw rows, read back whole through the ORM, and
survive a key rotation (docs/security.md, "Encryption at rest")."""

from __future__ import annotations

from datetime import date

import pytest
from cryptography.fernet import Fernet
from django.core import mail
from django.core.management import call_command
from django.db import connection

from assessment.models import Assessment
from assessment.services import assessment_draft_store
from common.encryption import TOKEN_PREFIX, UndecryptableValue
from intake.drafts import draft_save
from intake.models import MeasureResponse, Referral, ReferralDraft, RiskFlag, RiskFlagRepeat
from intake.services import ConsentDecision, MeasureAnswers, ReferralInput, referral_submit
from notifications import sending
from notifications.models import Notification
from notifications.outbox import notification_queue
from tests.factories import FinishedAssessmentFactory, RiskFlagFactory
from tests.notifications.people import make_referral

pytestmark = pytest.mark.django_db

DIFFICULTY = "Panic on the bus since my brother died"
HOPES = "To sleep through the night again"
PREVIOUS_HELP = "Six sessions of counselling at university"


def raw(model, column: str, pk) -> str:
    """The column's text exactly as PostgreSQL holds it, bypassing the ORM."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "{column}"::text FROM "{model._meta.db_table}" WHERE id = %s',
            [pk],
        )
        return cursor.fetchone()[0]


def raw_row(model, pk) -> str:
    """The whole row as text, every column."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT t::text FROM "{table}" t WHERE id = %s', [pk])
        return cursor.fetchone()[0]


def _submit(service) -> Referral:
    data = ReferralInput(
        given_name="Robin",
        family_name="Ashdown",
        date_of_birth=date(1990, 5, 17),
        email="robin@example.com",
        safe_now="no",
        presenting_problem=DIFFICULTY,
        hopes=HOPES,
        previous_help=PREVIOUS_HELP,
        consents=[
            ConsentDecision(
                topic="contact_email", granted=True, wording="Email?", wording_version="1"
            )
        ],
        questionnaires=[MeasureAnswers(measure="phq9", answers=[3, 2, 1, 0, 3, 2, 1, 0, 2])],
    )
    return referral_submit(service=service, data=data, idempotency_key="enc-1", via="api").referral


def test_referral_text_answers_and_risk_details_are_unreadable_in_the_raw_rows(service):
    referral = _submit(service)

    row = raw_row(Referral, referral.pk)
    for clear in (DIFFICULTY, HOPES, PREVIOUS_HELP):
        assert clear not in row
    for column in ("presenting_problem", "hopes", "previous_help"):
        assert raw(Referral, column, referral.pk).startswith(TOKEN_PREFIX)

    response = MeasureResponse.objects.get(referral=referral)
    stored = raw(MeasureResponse, "answers", response.pk)
    assert stored.startswith(f'"{TOKEN_PREFIX}')  # one JSON string: no item or value shows
    assert "[" not in stored

    flags = list(RiskFlag.objects.filter(referral=referral))
    assert flags
    for flag in flags:
        assert flag.detail and flag.detail not in raw_row(RiskFlag, flag.pk)

    # The ORM reads everything back exactly, numbers still numbers.
    again = Referral.objects.get(pk=referral.pk)
    assert (again.presenting_problem, again.hopes, again.previous_help) == (
        DIFFICULTY,
        HOPES,
        PREVIOUS_HELP,
    )
    assert MeasureResponse.objects.get(pk=response.pk).answers == [3, 2, 1, 0, 3, 2, 1, 0, 2]


def test_risk_actions_repeats_and_assessment_risk_and_formulation_are_encrypted(service):
    flag = RiskFlagFactory(
        referral__service=service, service=service, detail="Said they had a plan to overdose"
    )
    RiskFlag.objects.filter(pk=flag.pk).update(action_taken="Called the crisis team at 14:10")
    repeat = RiskFlagRepeat.objects.create(
        flag=flag, detail="Item 9 answered 3 again", seen_at=flag.raised_at
    )
    assessment = FinishedAssessmentFactory(
        referral__service=service,
        risk_to_self_detail="Cuts her arms when alone",
        risk_plan="Crisis line numbers given; GP told",
        formulation_text="Withdrawal protects against being let down",
        formulation_client_view_words="It makes sense of the loneliness",
    )

    flag_row, repeat_row = raw_row(RiskFlag, flag.pk), raw_row(RiskFlagRepeat, repeat.pk)
    assert "overdose" not in flag_row and "crisis team" not in flag_row
    assert "answered 3" not in repeat_row
    assessment_row = raw_row(Assessment, assessment.pk)
    for clear in ("Cuts her arms", "Crisis line", "Withdrawal protects", "loneliness"):
        assert clear not in assessment_row

    reread = Assessment.objects.get(pk=assessment.pk)
    assert reread.risk_plan == "Crisis line numbers given; GP told"
    assert reread.formulation_text == "Withdrawal protects against being let down"
    assert RiskFlag.objects.get(pk=flag.pk).action_taken == "Called the crisis team at 14:10"


def test_drafts_are_encrypted_whole(service, assessor):
    saved = draft_save(
        data={"step": "about", "presenting_problem": DIFFICULTY, "count": 2},
        contact={},
        client_key="test",
    )
    assert saved.code
    draft = ReferralDraft.objects.get()
    assert DIFFICULTY not in raw_row(ReferralDraft, draft.pk)
    assert "presenting_problem" not in raw(ReferralDraft, "data", draft.pk)
    assert draft.data == {"step": "about", "presenting_problem": DIFFICULTY, "count": 2}

    assessment = Assessment.objects.create(
        referral=_submit(service),
        service=service,
        assessor=assessor,
        status=Assessment.Status.DRAFT,
    )
    assert assessment_draft_store(
        assessment=assessment, data={"step_data": {"risk": {"risk_plan": ["Safety plan made"]}}}
    )
    assert "Safety plan" not in raw_row(Assessment, assessment.pk)
    assert Assessment.objects.get(pk=assessment.pk).draft_data == {
        "step_data": {"risk": {"risk_plan": ["Safety plan made"]}}
    }


def test_rendered_messages_are_encrypted(service):
    referral = make_referral(service, agreed=("email",), preferred="email")
    notification = notification_queue(kind="acknowledgement", referral=referral)
    sending.notification_deliver(public_id=notification.public_id)

    [message] = mail.outbox
    row = raw_row(Notification, notification.pk)
    assert message.subject not in row
    for line in message.body.splitlines():
        if len(line) > 12:
            assert line not in row
    kept = Notification.objects.get(pk=notification.pk)
    assert (kept.subject, kept.body_text) == (message.subject, message.body)
    assert kept.body_html == message.alternatives[0][0]


def test_empty_text_stays_empty_and_meets_the_acknowledgement_constraint(service):
    flag = RiskFlagFactory(referral__service=service, service=service)
    assert raw(RiskFlag, "action_taken", flag.pk) == ""
    assert RiskFlag.objects.get(pk=flag.pk).action_taken == ""


def test_rows_survive_a_key_rotation_and_the_command_re_encrypts_them(service, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    referral = _submit(service)
    response = MeasureResponse.objects.get(referral=referral)
    before = raw(Referral, "presenting_problem", referral.pk)

    # Rotation step 1: the new key first, the old one still listed. Old rows read.
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert Referral.objects.get(pk=referral.pk).presenting_problem == DIFFICULTY
    assert MeasureResponse.objects.get(pk=response.pk).answers[0] == 3

    # Step 2: rewrite every row under the new key.
    call_command("rotate_field_keys", verbosity=0)
    assert raw(Referral, "presenting_problem", referral.pk) != before

    # Step 3: the old key retired; everything still reads.
    settings.FIELD_ENCRYPTION_KEYS = [new]
    again = Referral.objects.get(pk=referral.pk)
    assert (again.presenting_problem, again.hopes) == (DIFFICULTY, HOPES)
    assert MeasureResponse.objects.get(pk=response.pk).answers == [3, 2, 1, 0, 3, 2, 1, 0, 2]
    for flag in RiskFlag.objects.filter(referral=referral):
        assert flag.detail and not flag.detail.startswith(TOKEN_PREFIX)


def test_a_value_no_key_opens_is_an_error_never_shown_as_ciphertext(service, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    referral = _submit(service)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(UndecryptableValue):
        Referral.objects.get(pk=referral.pk)


def test_clear_rows_from_before_encryption_read_and_the_command_encrypts_them(service):
    referral = _submit(service)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE intake_referral SET presenting_problem = %s WHERE id = %s",
            ["Written before encryption", referral.pk],
        )
    assert Referral.objects.get(pk=referral.pk).presenting_problem == "Written before encryption"

    call_command("rotate_field_keys", verbosity=0)

    assert raw(Referral, "presenting_problem", referral.pk).startswith(TOKEN_PREFIX)
    assert Referral.objects.get(pk=referral.pk).presenting_problem == "Written before encryption"
