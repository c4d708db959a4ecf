"""The staff referral list counts exactly the referrals it lists.

`common.access.referrals_opened_count` counts an assessor's reach (referrals to assess,
those they assessed or finished, any with an open risk flag) as parts that do not overlap,
so that indexes answer it; these tests hold it to `referrals_opened_by`, the rule as a
query, for every status filter, with referrals that fall in two or three parts at once.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from common import access, roles
from common.selectors import scope_to_service
from intake.models import Referral, RiskFlag
from tests import factories

pytestmark = pytest.mark.django_db

S = Referral.Status


def _flag(referral, *, acknowledged_by=None):
    return RiskFlag.objects.create(
        service=referral.service,
        referral=referral,
        source=RiskFlag.Source.PHQ9_ITEM9,
        detail="Thoughts of self-harm on several days",
        raised_at=referral.received_at,
        **(
            {
                "acknowledged_at": referral.received_at,
                "acknowledged_by": acknowledged_by,
                "action_taken": "Called the client",
            }
            if acknowledged_by is not None
            else {}
        ),
    )


def _assessed(service, status, *, assessor, finished_by=None):
    return factories.FinishedAssessmentFactory(
        referral__client__service=service,
        referral__status=status,
        assessor=assessor,
        finished_by=finished_by,
    ).referral


@pytest.fixture
def reach(service, other_service, assessor):
    """Referrals in and out of the assessor's reach, by name; `opened` those in it."""
    colleague = factories.UserFactory(service=service, roles=[roles.ASSESSOR])
    made = {
        # To assess (by status), one also flagged, one also assessed by them (a draft).
        "submitted": factories.ReferralFactory(client__service=service, status=S.SUBMITTED),
        "submitted_flagged": factories.ReferralFactory(client__service=service, status=S.SUBMITTED),
        "booked_by_them": _assessed(service, S.ASSESSMENT_BOOKED, assessor=assessor),
        "booked_by_colleague": _assessed(service, S.ASSESSMENT_BOOKED, assessor=colleague),
        # Assessed by them, in later statuses; one also flagged (counted once).
        "ended_by_them": _assessed(service, S.ENDED, assessor=assessor),
        "ended_by_them_flagged": _assessed(service, S.ENDED, assessor=assessor),
        "waiting_by_them": _assessed(service, S.AWAITING_ALLOCATION, assessor=assessor),
        # Finished by them, carried out by a colleague.
        "signposted_finished": _assessed(
            service, S.SIGNPOSTED, assessor=colleague, finished_by=assessor
        ),
        # Carried out and finished by them both: one referral, counted once.
        "withdrawn_both": _assessed(service, S.WITHDRAWN, assessor=assessor, finished_by=assessor),
        # An open risk flag, assessed by a colleague or not assessed at all.
        "therapy_flagged": _assessed(service, S.IN_THERAPY, assessor=colleague),
        "withdrawn_flagged": factories.ReferralFactory(client__service=service, status=S.WITHDRAWN),
        # Out of reach: a colleague's, a flag acknowledged, nobody's.
        "ended_by_colleague": _assessed(service, S.ENDED, assessor=colleague),
        "ended_acknowledged": _assessed(service, S.ENDED, assessor=colleague),
        "withdrawn": factories.ReferralFactory(client__service=service, status=S.WITHDRAWN),
        # Another service's, assessed by them and flagged: never theirs to see.
        "elsewhere": _assessed(other_service, S.ENDED, assessor=assessor),
    }
    for name in (
        "submitted_flagged",
        "ended_by_them_flagged",
        "therapy_flagged",
        "withdrawn_flagged",
        "elsewhere",
    ):
        _flag(made[name])
    _flag(made["ended_acknowledged"], acknowledged_by=colleague)
    _flag(made["therapy_flagged"])  # two open flags: still one referral
    out = {"ended_by_colleague", "ended_acknowledged", "withdrawn", "elsewhere"}
    made["opened"] = [r for name, r in made.items() if name not in out]
    return made


def _counts(user, status):
    referrals = scope_to_service(Referral.objects.all(), user)
    if status:
        referrals = referrals.filter(status=status)
    return (
        access.referrals_opened_count(user, referrals),
        access.referrals_opened_by(user, referrals).count(),
    )


@pytest.mark.parametrize("status", [None, *S.values])
def test_an_assessors_count_is_the_referrals_they_open_whatever_the_status(assessor, reach, status):
    expected = len([r for r in reach["opened"] if status in (None, r.status)])
    assert _counts(assessor, status) == (expected, expected)


def test_an_assessors_count_holds_every_part_of_their_reach(assessor, reach):
    # 11 in reach: 4 to assess (two of them also flagged or assessed by them), 5 assessed or
    # finished by them in later statuses (one also flagged), 2 flagged only.
    assert _counts(assessor, None) == (11, 11)


@pytest.mark.parametrize("persona", ["coordinator", "therapist_user", "service_admin"])
def test_other_roles_count_every_referral_of_their_service(request, persona, reach):
    user = request.getfixturevalue(persona)
    everything = Referral.objects.filter(service=user.service).count()
    assert _counts(user, None) == (everything, everything)
    ended = Referral.objects.filter(service=user.service, status=S.ENDED).count()
    assert _counts(user, S.ENDED) == (ended, ended)


def test_a_member_with_no_role_counts_nothing(service, reach):
    nobody = factories.UserFactory(service=service)
    assert _counts(nobody, None) == (0, 0)


@pytest.mark.parametrize("status", [None, S.ENDED, S.SUBMITTED, S.WITHDRAWN])
def test_the_referral_list_says_how_many_it_lists(client, assessor, reach, status):
    client.force_login(assessor)
    page = client.get(reverse("staff-referral-list"), {"status": status or ""}).content
    page = page.decode()
    shown = [r for r in reach["opened"] if status in (None, r.status)]
    for referral in shown:
        assert referral.reference in page
    for name in ("ended_by_colleague", "ended_acknowledged", "withdrawn", "elsewhere"):
        assert reach[name].reference not in page
    caption = re.search(r"(\d+) referrals?, oldest first", page)
    assert int(caption.group(1)) == len(shown)


def test_the_referral_list_counts_in_one_query_without_joining_every_assessment(
    client, assessor, reach
):
    client.force_login(assessor)
    url = reverse("staff-referral-list")
    client.get(url)  # warm per-process caches
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1
    # Assessments are looked up for each referral (an index), never joined to the list.
    assert "JOIN" not in counts[0].upper()


def test_an_assessors_count_reads_the_referrals_alone(assessor, reach):
    """Who assessed is carried on the referral (Referral.assessed_by and
    assessment_finished_by), so neither the count nor the list reads an assessment."""
    referrals = scope_to_service(Referral.objects.all(), assessor)
    with CaptureQueriesContext(connection) as queries:
        access.referrals_opened_count(assessor, referrals)
        list(access.referrals_opened_by(assessor, referrals).values_list("pk", flat=True))
    read = [q["sql"] for q in queries.captured_queries if "intake_referral" in q["sql"]]
    assert len(read) == 2
    for sql in read:
        assert "assessment_assessment" not in sql


def test_an_assessment_handed_to_a_colleague_moves_between_their_counts(service, assessor, reach):
    from assessment.models import Assessment

    colleague = factories.UserFactory(service=service, roles=[roles.ASSESSOR])
    before = _counts(assessor, None), _counts(colleague, None)
    Assessment.objects.filter(referral=reach["ended_by_them"]).update(assessor=colleague)
    assert _counts(assessor, None) == tuple(n - 1 for n in before[0])
    assert _counts(colleague, None) == tuple(n + 1 for n in before[1])
    assert not access.may_open_referral(assessor, reach["ended_by_them"])
    assert access.may_open_referral(colleague, reach["ended_by_them"])


def test_an_assessors_count_of_no_referrals_is_nought(assessor, reach):
    assert access.referrals_opened_count(assessor, Referral.objects.none()) == 0
    assert access.referrals_opened_count(assessor, Referral.objects.filter(pk__in=[])) == 0
