"""The baseline for the self-referral benchmark: a bare Django view (no DRF, no templates,
no forms) that inserts the same rows a submitted referral writes, in one transaction."""

from __future__ import annotations

import secrets
from datetime import date

from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from assessment.models import MeasureResponse
from common.models import Service
from intake.models import Client, ConsentRecord, Preferences, Referral

_service_id: int | None = None


@csrf_exempt
def bare_referral(request):
    global _service_id
    if _service_id is None:
        _service_id = Service.objects.values_list("id", flat=True).get(slug="bench")
    now = timezone.now()
    with transaction.atomic():
        client = Client.objects.create(
            service_id=_service_id,
            given_name="Robin",
            family_name="Ashdown",
            date_of_birth=date(1990, 5, 17),
            email="robin@example.com",
        )
        referral = Referral.objects.create(
            service_id=_service_id,
            client=client,
            received_at=now,
            reference="TH-" + secrets.token_hex(4).upper()[:4] + "-" + secrets.token_hex(2).upper(),
            idempotency_key=secrets.token_hex(16),
        )
        Preferences.objects.create(referral=referral, mode="either")
        for topic in ("contact_email", "outcome_data", "answers_own", "privacy_notice"):
            ConsentRecord.objects.create(
                client=client,
                referral=referral,
                topic=topic,
                decision="granted",
                wording="bench",
                wording_version="bench",
                via="self_referral",
                recorded_at=now,
            )
        for measure, answers in (("phq9", [1] * 9), ("gad7", [1] * 7)):
            MeasureResponse.objects.create(
                referral=referral,
                measure=measure,
                context="self_referral",
                answers=answers,
                total=sum(answers),
                band="mild",
                caseness=False,
                completed_at=now,
            )
    return HttpResponse("ok")
