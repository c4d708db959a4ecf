"""Intake's part of the retention schedule (common.retention; docs/security.md, "Retention").

Four categories, each registered in `IntakeConfig.ready()`:

- `intake.drafts`: an unsubmitted self-referral saved to come back to. It expires after
  7 days and the hourly purge deletes it then; this is the backstop, deleting any draft
  saved more than `RETENTION_DRAFT_DAYS` ago, whatever state it is in.
- `intake.referrals_not_seen`: a referral withdrawn or signposted elsewhere that never
  became a clinical record: no risk flag was raised and no app above intake holds a row
  about it (an assessment appointment, an assessment, an allocation, a therapy: any row
  that protects the referral from deletion). `RETENTION_REFERRAL_NOT_SEEN_YEARS` after it
  was last changed, it is deleted with what only it owns (preferences, questionnaire
  answers, consent records, rights requests, messages), and its client too when they have
  no other referral. A referral under a restriction the client asked for is not deleted.
- `intake.clinical_records_due`: every other closed referral (ended, or withdrawn or
  signposted after care began or a risk was recorded) is a mental health record. After
  `RETENTION_CLINICAL_RECORD_YEARS` it is due for review, and this category only counts
  it: the Records Management Code of Practice asks for a recorded review, not automatic
  destruction, so nothing clinical is ever deleted by the schedule.
- `intake.api_token_uses`: the record of each authenticated API request (`ApiTokenUse`), a
  security log, deleted `RETENTION_TOKEN_USE_DAYS` after the request. The token itself
  keeps its last use.

A referral that is not closed (waiting, allocated, in therapy) is never touched, whatever
its age. "Last changed" is the referral's `updated_at`, which moves on with every status
change, so a period never starts before the referral was closed (it may start later).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from common import retention
from intake.models import (
    ApiTokenUse,
    Client,
    ConsentRecord,
    MeasureResponse,
    Referral,
    ReferralDraft,
    RightsRequest,
    RiskFlag,
)

logger = logging.getLogger(__name__)

CLOSED = (Referral.Status.ENDED, Referral.Status.SIGNPOSTED, Referral.Status.WITHDRAWN)
NOT_SEEN = (Referral.Status.SIGNPOSTED, Referral.Status.WITHDRAWN)
# Apps at intake's level or below whose rows about a referral go with it.
_OWN_APPS = {"intake", "notifications"}


def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February in a year that has none
        return moment.replace(year=moment.year - years, day=28)


def clinical_record_holders() -> list[tuple[type, str]]:
    """(model, field) for every row of an app above intake that protects a referral from
    deletion: therapy, assessment and allocation rows, found from the models themselves so
    a new one is held without being listed here (intake imports no app above it)."""
    holders = []
    for relation in Referral._meta.related_objects:
        model = relation.related_model
        if model._meta.app_label in _OWN_APPS or relation.many_to_many:
            continue
        if relation.on_delete.__name__ == "PROTECT":
            holders.append((model, relation.field.name))
    return holders


def _held() -> Q:
    """Referrals some app above intake still holds a row about, or with a risk flag."""
    condition = Q(Exists(RiskFlag.objects.filter(referral=OuterRef("pk"))))
    for model, field in clinical_record_holders():
        condition |= Q(Exists(model._default_manager.filter(**{field: OuterRef("pk")})))
    return condition


def referrals_not_seen_due(*, now: datetime) -> QuerySet[Referral]:
    cutoff = years_before(now, settings.RETENTION_REFERRAL_NOT_SEEN_YEARS)
    return (
        # A restriction in force (Art. 18) may be the client keeping the record for a legal
        # claim: it is not deleted while one is.
        Referral.objects.filter(
            status__in=NOT_SEEN, updated_at__lt=cutoff, restricted_at__isnull=True
        )
        .exclude(_held())
        .order_by("updated_at", "pk")
    )


def clinical_records_due(*, now: datetime) -> QuerySet[Referral]:
    """Closed referrals past the clinical record period: due for a recorded review."""
    cutoff = years_before(now, settings.RETENTION_CLINICAL_RECORD_YEARS)
    return Referral.objects.filter(status__in=CLOSED, updated_at__lt=cutoff).filter(
        Q(status=Referral.Status.ENDED) | _held()
    )


def drafts_remove(now: datetime, batch_size: int) -> int:
    cutoff = now - timedelta(days=settings.RETENTION_DRAFT_DAYS)
    ids = list(
        ReferralDraft.objects.filter(created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    ReferralDraft.objects.filter(pk__in=ids).delete()
    return len(ids)


def api_token_uses_remove(now: datetime, batch_size: int) -> int:
    cutoff = now - timedelta(days=settings.RETENTION_TOKEN_USE_DAYS)
    ids = list(
        ApiTokenUse.objects.filter(at__lt=cutoff)
        .order_by("at", "pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    ApiTokenUse.objects.filter(pk__in=ids).delete()
    return len(ids)


def referrals_not_seen_remove(now: datetime, batch_size: int) -> int:
    from notifications.retention import notifications_delete_for_referrals

    # Locked and re-read under the lock: a referral reopened or given an appointment
    # since the list was read is no longer in it.
    rows = list(
        referrals_not_seen_due(now=now)
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("pk", "client_id")[:batch_size]
    )
    if not rows:
        return 0
    referral_ids = [pk for pk, _ in rows]
    client_ids = {client_id for _, client_id in rows}
    notifications_delete_for_referrals(referral_ids=referral_ids)
    MeasureResponse.objects.filter(referral_id__in=referral_ids).delete()
    ConsentRecord.objects.filter(referral_id__in=referral_ids).delete()
    RightsRequest.objects.filter(referral_id__in=referral_ids).delete()
    Referral.objects.filter(pk__in=referral_ids).delete()  # preferences go with it
    # A client with no referral left has nothing the service still needs.
    orphans = Client.objects.filter(pk__in=client_ids, referrals__isnull=True)
    ConsentRecord.objects.filter(client__in=orphans).delete()
    orphans.delete()
    return len(referral_ids)


def clinical_records_count(now: datetime, batch_size: int) -> int:
    """Counts, never removes: see the module docstring."""
    due = clinical_records_due(now=now).count()
    logger.info("retention: clinical records due for review: %d", due)
    return 0


def register() -> None:
    retention.register(name="intake.drafts", action="deleted", remove=drafts_remove)
    retention.register(
        name="intake.referrals_not_seen", action="deleted", remove=referrals_not_seen_remove
    )
    retention.register(
        name="intake.clinical_records_due",
        action="counted for review (never deleted)",
        remove=clinical_records_count,
    )
    retention.register(name="intake.api_token_uses", action="deleted", remove=api_token_uses_remove)
