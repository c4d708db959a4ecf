"""Intake's background work: the resume-link email and purging old drafts."""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

from intake import drafts
from intake.models import ReferralDraft


@shared_task(
    name="intake.tasks.draft_resume_link_send",
    autoretry_for=(smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError),
    retry_backoff=True,
    max_retries=5,
    expires=3600,
)
def draft_resume_link_send(draft_public_id: str) -> None:
    draft = ReferralDraft.objects.filter(public_id=draft_public_id, used_at__isnull=True).first()
    if draft is None or draft.expires_at <= timezone.now():
        return
    message = drafts.draft_resume_message(draft)
    if message is None:
        return
    email, code = message
    context = {
        "code": code,
        "link": f"{settings.SITE_URL}/refer/resume/{code}/",
        "expires_at": draft.expires_at,
        "service_name": settings.SERVICE_NAME,
    }
    send_mail(
        subject="Your saved referral",
        message=render_to_string("intake/email/resume_link.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )


@shared_task(name="intake.tasks.drafts_purge", ignore_result=True)
def drafts_purge() -> None:
    drafts.drafts_purge()
    # Abandoned wizard sessions go too: nothing of an unfinished referral outlives them.
    Session.objects.filter(expire_date__lt=timezone.now()).delete()
