"""Intake's background work: purging old drafts, folding the referral tally.

The save-and-return email goes through the notifications outbox (intake.drafts).
"""

from __future__ import annotations

from celery import shared_task
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from intake import drafts, tally
from intake.models import ReferralDraft


@shared_task(name="intake.tasks.draft_resume_link_send", ignore_result=True)
def draft_resume_link_send(draft_public_id: str) -> None:
    """Only for tasks published before the email moved to the outbox: queue it there (once
    per draft, however often this runs)."""
    draft = ReferralDraft.objects.filter(public_id=draft_public_id, used_at__isnull=True).first()
    if draft is None or draft.expires_at <= timezone.now():
        return
    with transaction.atomic():
        drafts.draft_resume_link_queue(draft=draft)


@shared_task(name="intake.tasks.drafts_purge", ignore_result=True)
def drafts_purge() -> None:
    drafts.drafts_purge()
    # Abandoned wizard sessions go too: nothing of an unfinished referral outlives them.
    Session.objects.filter(expire_date__lt=timezone.now()).delete()


@shared_task(name="intake.tasks.tally_fold", ignore_result=True)
def tally_fold() -> None:
    tally.tally_fold()
