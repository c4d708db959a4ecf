"""The reporting page's per-referral facts (reporting/facts.py, docs/reporting.md "Facts"):
the sections counted from them give exactly the figures worked out from the tables, a build
replaces a service's rows (and only its), beat builds them, and a service never built is
worked out live."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

import measures
from config.celery import app as celery_app
from reporting import facts, selectors, sql
from reporting.forms import range_params
from reporting.models import FactsBuild, ReferralFacts
from reporting.tasks import facts_rebuild
from tests.reporting.conftest import (
    DNA,
    PERIOD,
    A,
    assess,
    finished_referrals,
    referral,
    score,
    treat,
)
from tests.reporting.test_selectors import END, START, ended_with_scores, recomputed_outcomes

pytestmark = pytest.mark.django_db

D = dt.date
FACTS_SLUGS = ("waiting-times", "caseness", "outcomes")
PERIODS = [
    PERIOD,
    selectors.Period(D(2026, 1, 5), D(2026, 1, 11)),  # one week
    selectors.Period(D(2026, 2, 9), D(2026, 2, 9)),  # one day: an end day of the edge cases
    selectors.Period(D(2025, 6, 1), D(2026, 6, 30)),  # more than a year
    selectors.Period(D(2026, 3, 20), D(2026, 3, 29)),  # after most ends
    selectors.Period(D(2024, 1, 1), D(2024, 12, 31)),  # nothing in it
]


def sections(service, period) -> dict[str, selectors.Section]:
    reads = selectors.Reads()
    return {
        slug: selectors.SECTIONS[slug](service_id=service.pk, period=period, reads=reads)
        for slug in FACTS_SLUGS
    }


def raw_reads(service, period) -> dict[str, list]:
    """Each read's rows, sorted: what the sections count, before they count it."""
    reads = selectors.Reads()
    return {
        "assessed": sorted(reads.assessed(service_id=service.pk, period=period), key=repr),
        "treated": sorted(
            reads.first_treatment_waits(service_id=service.pk, period=period), key=repr
        ),
        "finished": sorted(
            reads.finished_treatment_totals(service_id=service.pk, period=period), key=repr
        ),
    }


@pytest.fixture
def edge_cases(service, therapist_user):
    """Ties, a withheld total, one score only, no scores; a first session missed."""
    t = therapist_user
    ended_with_scores(  # two PHQ-9s and two GAD-7s at the same moments
        service,
        t,
        [
            ("phq9", 20, START, 10),
            ("phq9", 4, START, 10),
            ("gad7", 10, START, 10),
            ("phq9", 11, END, 10),
            ("gad7", 16, END, 10),
            ("gad7", 2, END, 10),
        ],
    )
    ended_with_scores(  # prefer not to say: totals withheld at both ends
        service,
        t,
        [
            ("gad7", None, START, 9),
            ("phq9", 18, START, 10),
            ("gad7", 14, START, 10),
            ("phq9", 18, END, 9),
            ("gad7", 3, END, 9),
            ("phq9", None, END, 10),
        ],
    )
    ended_with_scores(  # one PHQ-9 scored
        service, t, [("phq9", 20, START, 10), ("gad7", 15, START, 10), ("gad7", 2, END, 10)]
    )
    ended_with_scores(service, t, [])  # no scores at all
    missed_first = referral(service, D(2025, 12, 22), status="in_therapy")
    treat(missed_first, t, [(D(2025, 12, 29), DNA), (D(2026, 2, 2), A)])
    # Assessed with the PHQ-9 only, exactly 42 days after referral.
    assess(referral(service, D(2026, 1, 1), status="awaiting_allocation"), D(2026, 2, 12), phq9=9)


def test_the_sections_from_facts_are_exactly_the_sections_worked_out_live(
    world, edge_cases, service, other_service, therapist_user
):
    finished_referrals(service, therapist_user, 24)
    live = {p: sections(service, p) for p in PERIODS}
    live_reads = {p: raw_reads(service, p) for p in PERIODS}
    assert facts.built_at(service_id=service.pk) is None

    facts.build(service_id=service.pk)
    assert facts.built_at(service_id=service.pk) is not None
    for period in PERIODS:
        assert raw_reads(service, period) == live_reads[period], period
        assert sections(service, period) == live[period], period
    # Something was counted, in every section, for the seeded range.
    assert live_reads[PERIOD]["assessed"] and live_reads[PERIOD]["treated"]
    assert any(paired for paired, *_ in live_reads[PERIOD]["finished"])
    assert any(not paired for paired, *_ in live_reads[PERIOD]["finished"])
    # And the outcomes still agree with the recomputation one referral at a time.
    rows = {row[0]: row[1:] for row in sections(service, PERIOD)["outcomes"].table.rows}
    recomputed = recomputed_outcomes(service, PERIOD)
    assert rows == {k: v for k, v in recomputed.items() if k != "finished"}


def test_the_facts_read_is_the_facts_table_not_the_live_tables(world, service):
    facts.build(service_id=service.pk)
    # Emptied by hand: the sections now count nothing, so they are reading the facts.
    ReferralFacts.objects.filter(service=service).delete()
    reads = raw_reads(service, PERIOD)
    assert reads == {"assessed": [], "treated": [], "finished": []}
    assert sql.finished_treatment_totals(
        service_id=service.pk, first=PERIOD.first, last=PERIOD.last
    )


def test_a_build_is_idempotent_and_replaces_stale_rows(service, therapist_user):
    r = ended_with_scores(
        service, therapist_user, [("phq9", 20, START, 10), ("gad7", 15, START, 10)]
    )
    facts.build(service_id=service.pk)
    first = list(ReferralFacts.objects.order_by("pk").values())
    facts.build(service_id=service.pk)
    assert list(ReferralFacts.objects.order_by("pk").values()) == first
    assert ReferralFacts.objects.count() == 1

    def outcomes():
        return sections(service, PERIOD)["outcomes"].summary[0]

    assert "0 with paired PHQ-9 and GAD-7" in outcomes()
    # Second scores recorded after the build: not counted until the next build.
    score(r, measures.PHQ9, 4, END)
    score(r, measures.GAD7, 3, END)
    assert "0 with paired PHQ-9 and GAD-7" in outcomes()
    facts.build(service_id=service.pk)
    assert "1 with paired PHQ-9 and GAD-7" in outcomes()
    row = ReferralFacts.objects.get(referral=r)
    assert (row.first_phq9, row.last_phq9, row.first_gad7, row.last_gad7) == (20, 4, 15, 3)
    assert row.paired

    # A referral received since the build is in the facts at the next.
    later = referral(service, D(2026, 2, 1))
    facts.build(service_id=service.pk)
    assert set(ReferralFacts.objects.values_list("referral_id", flat=True)) == {r.pk, later.pk}


def test_a_build_touches_only_its_own_service(world, service, other_service):
    facts.build(service_id=other_service.pk)
    theirs = ReferralFacts.objects.filter(service=other_service).count()
    assert theirs == 1
    assert facts.built_at(service_id=service.pk) is None
    facts.build(service_id=service.pk)
    assert ReferralFacts.objects.filter(service=other_service).count() == theirs
    assert ReferralFacts.objects.filter(service=service).count() == sum(
        1 for r in world.refs.values() if r.service_id == service.pk
    )


def test_beat_builds_the_facts_every_few_minutes(world, service, other_service, settings):
    entries = [e for e in celery_app.conf.beat_schedule.values() if e["task"] == facts_rebuild.name]
    assert len(entries) == 1
    assert entries[0]["schedule"] == 5 * 60
    assert facts_rebuild.apply().get() == ReferralFacts.objects.count() > 0
    assert set(FactsBuild.objects.values_list("service_id", flat=True)) == {
        service.pk,
        other_service.pk,
    }


def test_the_command_builds_one_service_or_every_one(world, service, other_service, capsys):
    call_command("reporting_facts", "--service", str(service.pk))
    assert list(FactsBuild.objects.values_list("service_id", flat=True)) == [service.pk]
    assert f"service {service.pk}: " in capsys.readouterr().out
    call_command("reporting_facts")
    assert FactsBuild.objects.count() == 2
    with pytest.raises(CommandError, match="no service with the id 999999"):
        call_command("reporting_facts", "--service", "999999")


def test_never_built_the_page_works_its_figures_out_and_is_as_at_now(
    client, coordinator, world, settings
):
    settings.REPORTING_CACHE_SECONDS = 0
    client.force_login(coordinator)
    before = timezone.now()
    report = client.get(reverse("reporting-report"), range_params(PERIOD)).context["report"]
    assert report.as_at >= before
    outcomes = next(s for s in report.sections if s.slug == "outcomes")
    assert outcomes.summary[0].startswith("3 finished treatments")  # R1, R2 and R7


def test_once_built_the_page_is_as_at_the_build_and_says_so(
    client, coordinator, therapist_user, world, settings
):
    settings.REPORTING_CACHE_SECONDS = 300
    facts.build(service_id=coordinator.service_id)
    built = FactsBuild.objects.get(service_id=coordinator.service_id)
    yesterday = timezone.now() - dt.timedelta(days=1)
    FactsBuild.objects.filter(pk=built.pk).update(built_at=yesterday)
    client.force_login(coordinator)
    response = client.get(reverse("reporting-report"), range_params(PERIOD))
    report = response.context["report"]
    assert report.as_at == yesterday
    local = timezone.localtime(yesterday)
    assert f"Figures as at {local:%H:%M} on {local.day} {local:%B %Y}." in response.content.decode()
    # A new build is read at once, whatever the cache holds of the last.
    finished_referrals(coordinator.service, therapist_user, 3)
    facts.build(service_id=coordinator.service_id)
    again = client.get(reverse("reporting-report"), range_params(PERIOD)).context["report"]
    outcomes = next(s for s in again.sections if s.slug == "outcomes")
    assert outcomes.summary[0].startswith("6 finished treatments")
    assert timezone.localdate(again.as_at) == timezone.localdate()


def test_a_referral_deleted_takes_its_facts_with_it(service):
    kept, erased = referral(service, D(2026, 1, 5)), referral(service, D(2026, 1, 6))
    facts.build(service_id=service.pk)
    erased.delete()  # as the retention schedule deletes a referral past its time
    assert list(ReferralFacts.objects.values_list("referral_id", flat=True)) == [kept.pk]
