"""The referral tally (intake.tally): the staff referral list's count, kept by PostgreSQL.

Triggers on the referral table write what each statement added and took away, so the sum
over the tally is a count of the referrals by kind, exactly, whatever wrote them: the ORM
one row at a time, in bulk, by queryset, or plain SQL. These tests write referrals every
such way, check the tally against a count of the referrals after each write and after a
fold, hold the count the list shows to the access rule as a query, and show that two
writers of the same kind of referral never wait for each other.
"""

from __future__ import annotations

import importlib
import random
import threading

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from common import access, roles
from common.selectors import scope_to_service
from config.celery import app as celery_app
from intake import tally
from intake.models import Referral, ReferralTally
from tests import factories

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        "connection.vendor != 'postgresql'",
        reason="the tally is kept by PostgreSQL triggers; SQLite counts the referrals",
    ),
]

S = Referral.Status


def _kinds() -> int:
    return len(
        set(
            Referral.objects.values_list(
                "service", "status", "assessed_by", "assessment_finished_by"
            ).distinct()
        )
    )


def _agrees() -> None:
    assert tally.tally_differences() == []


def _expected(user, status=None) -> int:
    referrals = scope_to_service(Referral.objects.all(), user)
    if status:
        referrals = referrals.filter(status=status)
    return access.referrals_opened_by(user, referrals).count()


def _flag(referral, *, acknowledged_by=None):
    if acknowledged_by is None:
        return factories.RiskFlagFactory(referral=referral)
    return factories.RiskFlagFactory(
        referral=referral,
        acknowledged_at=referral.received_at,
        acknowledged_by=acknowledged_by,
        action_taken="Called the client",
    )


def test_a_new_referral_is_tallied_in_its_transaction(service):
    assert ReferralTally.objects.count() == 0
    with transaction.atomic():
        referral = factories.ReferralFactory(client__service=service)
        # Seen at once by the writer: no wait for a task.
        assert list(ReferralTally.objects.values_list("service_id", "status", "n")) == [
            (service.pk, S.SUBMITTED, 1)
        ]
    _agrees()
    assert referral.status == S.SUBMITTED


def test_every_way_of_writing_referrals_keeps_the_tally(service, other_service, assessor):
    colleague = factories.UserFactory(service=service, roles=[roles.ASSESSOR])
    one = factories.ReferralFactory(client__service=service)
    _agrees()
    # One row saved with a new status.
    one.status = S.ASSESSMENT_BOOKED
    one.save()
    _agrees()
    # A save that changes nothing counted adds nothing to the tally.
    rows = ReferralTally.objects.count()
    one.save()
    assert ReferralTally.objects.count() == rows
    # Assessed: who carried it out and who finished it move onto the referral.
    assessed = factories.FinishedAssessmentFactory(
        referral__client__service=service, assessor=assessor, finished_by=colleague
    ).referral
    _agrees()
    # In bulk.
    client = factories.ClientFactory(service=service)
    Referral.objects.bulk_create(
        [
            Referral(
                service=service,
                client=client,
                status=random.Random(n).choice(S.values),
                received_at=one.received_at,
                reference=f"TH-BULK-{n:04d}",
                idempotency_key=f"bulk-{n}",
            )
            for n in range(40)
        ]
    )
    _agrees()
    # By queryset, many rows and many kinds at once.
    Referral.objects.filter(reference__startswith="TH-BULK-").update(status=S.ENDED)
    _agrees()
    Referral.objects.filter(pk=assessed.pk).update(assessed_by=colleague)
    _agrees()
    # Moved to another service (an import corrected), and by plain SQL.
    Referral.objects.filter(pk=one.pk).update(service=other_service)
    _agrees()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE intake_referral SET status = %s WHERE reference LIKE %s",
            [S.WITHDRAWN, "TH-BULK-000%"],
        )
    _agrees()
    # Deleted.
    Referral.objects.filter(reference__startswith="TH-BULK-00").delete()
    _agrees()
    # Folded: one row a kind, and still right.
    tally.tally_fold()
    _agrees()
    assert ReferralTally.objects.count() == _kinds()
    assert not ReferralTally.objects.filter(n__lte=0).exists()


def test_many_writes_at_random_keep_the_tally_right_before_and_after_folding(
    service, other_service, assessor
):
    colleague = factories.UserFactory(service=service, roles=[roles.ASSESSOR])
    made = [factories.ReferralFactory(client__service=service) for _ in range(6)]
    chance = random.Random(20261130)
    for _ in range(60):
        referral = chance.choice(made)
        move = chance.randrange(6)
        if move == 0:
            made.append(
                factories.ReferralFactory(
                    client__service=chance.choice([service, other_service]),
                    status=chance.choice(S.values),
                )
            )
        elif move == 1:
            Referral.objects.filter(pk=referral.pk).update(status=chance.choice(S.values))
        elif move == 2:
            Referral.objects.filter(pk=referral.pk).update(
                assessed_by=chance.choice([None, assessor, colleague])
            )
        elif move == 3:
            Referral.objects.filter(pk=referral.pk).update(
                assessment_finished_by=chance.choice([None, assessor, colleague])
            )
        elif move == 4 and len(made) > 2:
            made.remove(referral)
            referral.delete()
        elif move == 5:
            tally.tally_fold()
        _agrees()
        for user in (assessor, colleague):
            status = chance.choice([None, *S.values])
            assert tally.referrals_opened_count(user, status=status) == _expected(user, status)


@pytest.fixture
def mixed(service, other_service, assessor):
    """Referrals in and out of the assessor's reach, flagged and not, in every status."""
    colleague = factories.UserFactory(service=service, roles=[roles.ASSESSOR])
    chance = random.Random(7)
    for n, status in enumerate(S.values * 3):
        carried = chance.choice([None, assessor, colleague])
        finished = chance.choice([None, assessor, colleague]) if carried else None
        where = other_service if n % 7 == 0 else service
        if carried is None:
            referral = factories.ReferralFactory(client__service=where, status=status)
        else:
            referral = factories.FinishedAssessmentFactory(
                referral__client__service=where,
                referral__status=status,
                assessor=carried,
                finished_by=finished,
            ).referral
        if n % 3 == 0:
            _flag(referral, acknowledged_by=None if n % 2 == 0 else colleague)
        if n % 5 == 0:
            _flag(referral)  # a second flag on one referral: still one referral
    tally.tally_fold()


@pytest.mark.parametrize(
    "persona", ["assessor", "coordinator", "therapist_user", "service_admin", "nobody"]
)
def test_the_count_is_what_the_access_rule_opens(request, service, mixed, persona):
    if persona == "nobody":
        user = factories.UserFactory(service=service)
    else:
        user = request.getfixturevalue(persona)
    for status in (None, *S.values):
        assert tally.referrals_opened_count(user, status=status) == _expected(user, status), status


def test_the_referral_list_reads_its_count_from_the_tally(client, assessor, mixed):
    client.force_login(assessor)
    url = reverse("staff-referral-list")
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    counted = [q["sql"] for q in queries.captured_queries if "intake_referraltally" in q["sql"]]
    assert len(counted) == 1
    assert f"{_expected(assessor)} referrals, oldest first" in page


def test_the_migration_counts_the_referrals_already_held(service, other_service):
    for where in (service, service, other_service):
        factories.ReferralFactory(client__service=where)
    ReferralTally.objects.all().delete()  # as before the tally existed
    migration = importlib.import_module("intake.migrations.0023_referral_tally")
    migration.tally_from_referrals(apps, connection.schema_editor())
    _agrees()
    assert ReferralTally.objects.count() == 2


def test_rebuild_and_check_put_a_damaged_tally_right(service):
    factories.ReferralFactory(client__service=service)
    ReferralTally.objects.update(n=5)
    assert tally.tally_differences() == [(service.pk, S.SUBMITTED, None, None, 4)]
    with pytest.raises(Exception, match="differs from the referrals for 1 kinds"):
        call_command("referral_tally", "--check")
    call_command("referral_tally", "--rebuild")
    _agrees()
    call_command("referral_tally", "--check")


def test_beat_folds_the_tally(service):
    from intake import tasks

    assert celery_app.conf.beat_schedule["referral-tally-fold"]["task"] == tasks.tally_fold.name
    for status in (S.SUBMITTED, S.SUBMITTED, S.ENDED):
        factories.ReferralFactory(client__service=service, status=status)
    assert ReferralTally.objects.count() == 3
    tasks.tally_fold.apply()
    assert sorted(ReferralTally.objects.values_list("status", "n")) == [
        (S.ENDED, 1),
        (S.SUBMITTED, 2),
    ]


@pytest.mark.django_db(transaction=True)
def test_two_writers_of_the_same_kind_do_not_wait_for_each_other(service):
    """No writer holds a lock another needs: each statement adds its own tally rows."""
    client = factories.ClientFactory(service=service)
    first_wrote, second_done = threading.Event(), threading.Event()
    failures = []

    def first_writer():
        try:
            with transaction.atomic():
                factories.ReferralFactory(client=client, status=S.SUBMITTED)
                first_wrote.set()
                # Still open while the other writes the same kind of referral.
                if not second_done.wait(timeout=10):
                    failures.append("the second writer never finished")
        except Exception as error:  # reported below, in the test's thread
            failures.append(repr(error))
        finally:
            connections.close_all()

    thread = threading.Thread(target=first_writer)
    thread.start()
    try:
        assert first_wrote.wait(timeout=10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            factories.ReferralFactory(client=client, status=S.SUBMITTED)
            tally.tally_fold()  # folding meanwhile leaves the open transaction's rows alone
    finally:
        second_done.set()
        thread.join(timeout=10)
    assert failures == []
    _agrees()
    assert (
        tally.referrals_opened_count(
            factories.UserFactory(service=service, roles=[roles.COORDINATOR])
        )
        == Referral.objects.filter(service=service).count()
        == 2
    )
