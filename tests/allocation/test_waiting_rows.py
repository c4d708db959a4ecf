"""The waiting list's rows as they are shown, pinned: each state of the proposal column,
the needs, the wait and its warning, the risk, the name and the checkbox to accept, with
the rows read as plain values for the page at once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from allocation.models import (
    Allocation,
    AllocationNeeds,
    Hold,
    Proposal,
    ProposalRun,
    TherapistExclusion,
)
from intake.models import Referral
from tests import factories
from tests.allocation.conftest import make_therapist, make_waiting

pytestmark = pytest.mark.django_db


def _rows(html: str) -> list[str]:
    body = html.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr.*?</tr>", body, flags=re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]


def test_each_row_shows_its_state_needs_wait_risk_and_who(client, service, sites, ada, coordinator):
    now = timezone.now()
    bea = make_therapist(service, display_name="Bea Moss")
    run = ProposalRun.objects.create(
        service=service,
        status=ProposalRun.Status.DONE,
        trigger=ProposalRun.Trigger.COORDINATOR,
        finished_at=now,
    )
    slot = {"slot": "x", "weekday": 1, "start": "18:00", "length": 50, "site": "Riverside"}

    def proposal(referral, therapist=None, **extra):
        return Proposal.objects.create(
            service=service, run=run, referral=referral, therapist=therapist, **extra
        )

    placed = make_waiting(
        service,
        weeks=20,
        risk="high",
        language="Polish",
        therapist_gender="female",
        therapist_gender_strength="requirement",
        mode="in_person",
        site=sites["Riverside"],
    )
    p_placed = proposal(placed, ada, slots=[slot, {**slot, "weekday": 3, "site": ""}])
    decided = make_waiting(service, weeks=7, risk="medium", sessions=2, interpreter_needed=True)
    proposal(decided, bea, slots=[slot], decision=Proposal.Decision.OVERRIDDEN)
    unmatched = make_waiting(service, weeks=1, mode="remote", availability=[])
    proposal(unmatched, reasons=["No therapist has a free Tuesday evening " + "x" * 200])
    AllocationNeeds.objects.create(
        service=service,
        referral=unmatched,
        gender_excluded=["male"],
        competence="qualified",
        specialism="trauma",
        earliest_start=dt.date(2027, 1, 4),
        therapy_weeks=1,
        bsl=True,
        continuity="required",
        complex_case=True,
        step_free=True,
        max_travel_minutes=30,
        updated_by=coordinator,
    )
    TherapistExclusion.objects.create(
        service=service,
        referral=unmatched,
        therapist=bea,
        reason=TherapistExclusion.Reason.CONFLICT_OF_INTEREST,
        recorded_by=coordinator,
    )
    held = make_waiting(service, weeks=2, risk="medium")
    proposal(held, ada, slots=[slot])
    Hold.objects.create(
        service=service, referral=held, reason="Moving house " + "y" * 100, held_by=coordinator
    )
    restricted = make_waiting(service, weeks=4)
    Referral.objects.filter(pk=restricted.pk).update(restricted_at=now)
    proposal(restricted, ada, slots=[slot])
    allocated = make_waiting(service, weeks=5, time_windows=[])
    Referral.objects.filter(pk=allocated.pk).update(status=Referral.Status.ALLOCATED)
    Allocation.objects.create(
        service=service,
        referral=allocated,
        therapist=bea,
        source=Allocation.Source.OVERRIDE,
        override_reason="Nearer home",
        regular_times=[{"weekday": 0, "start": "09:00", "site": ""}],
        first_appointment_at=now,
        allocated_by=coordinator,
        allocated_at=now,
    )
    bare = factories.ReferralFactory(
        client__service=service,
        client__given_name="Cy",
        client__preferred_name="",
        client__family_name="Bare",
        status=Referral.Status.AWAITING_ALLOCATION,
        received_at=now - dt.timedelta(days=3),
    )
    client.force_login(coordinator)

    html = client.get(reverse("allocation-waiting-list")).content.decode()

    def name(referral):
        c = referral.client
        return f"{c.preferred_name or c.given_name} {c.family_name}"

    assert _rows(html) == [
        f"Select the proposal for {placed.reference} {placed.reference} {name(placed)} "
        "20 weeks Past 18 weeks High Therapy in Polish Therapist must be a woman "
        "In person (Riverside Centre) Ada Lewis Tuesday 18:00, Riverside Thursday 18:00, remote "
        f"See why {placed.reference} is matched with Ada Lewis",
        f"{decided.reference} {name(decided)} 7 weeks Past 6 weeks Medium "
        "More than once a week English interpreter Another therapist chosen Bea Moss "
        f"Tuesday 18:00, Riverside See why {decided.reference} is matched with Bea Moss",
        f"{allocated.reference} {name(allocated)} 5 weeks Low None recorded Allocated Bea Moss "
        "Monday 09:00, remote",
        f"{restricted.reference} {name(restricted)} 4 weeks Low None recorded "
        "Restricted The client restricted the use of their record",
        f"{held.reference} {name(held)} 2 weeks Medium None recorded On hold Moving house "
        + "y" * 66
        + "…",
        f"{unmatched.reference} {name(unmatched)} 1 week Low Remote only No times given "
        "A complex case Needs step-free access Travels at most 30 minutes "
        "Only the assessor (continuity required) Needs BSL as well as English "
        "Cannot start before 4 January 2027 A course of 1 week Needs a qualified therapist "
        "Needs the trauma specialism Therapist must not be a man 1 therapist excluded "
        "No match yet No therapist has a free Tuesday evening "
        + "x" * 79
        + f"… What would help for {unmatched.reference}",
        f"{bare.reference} Cy Bare 0 weeks None known None recorded Not in the current proposals",
    ]
    assert f'value="{p_placed.public_id}"' in html
    assert html.count('name="proposal" type="checkbox"') == 1


def test_the_run_in_force_and_the_latest_run_are_read_together(service, coordinator, other_staff):
    from allocation import selectors

    assert selectors.runs_current_and_latest(user=coordinator) == (None, None)
    now = timezone.now()

    def run(status, finished_minutes_ago=None, **extra):
        return ProposalRun.objects.create(
            service=service,
            status=status,
            trigger=ProposalRun.Trigger.NIGHTLY,
            finished_at=(
                now - dt.timedelta(minutes=finished_minutes_ago)
                if finished_minutes_ago is not None
                else None
            ),
            **extra,
        )

    older = run(ProposalRun.Status.DONE, 30)
    newer_done = run(ProposalRun.Status.DONE, 10)
    assert selectors.runs_current_and_latest(user=coordinator) == (newer_done, newer_done)
    queued = run(ProposalRun.Status.QUEUED)
    both = selectors.runs_current_and_latest(user=coordinator)
    assert both == (newer_done, queued)
    assert both == (
        selectors.run_current(service_id=service.pk),
        selectors.run_latest(user=coordinator),
    )
    assert older not in both
    # Another service's staff see none of them.
    assert selectors.runs_current_and_latest(user=other_staff) == (None, None)


def _run_with_proposals(service, placed: dict, unplaced=()) -> ProposalRun:
    """A finished run placing each referral of `placed` (referral: (therapist, priority))
    and none of `unplaced`."""
    run = ProposalRun.objects.create(
        service=service,
        status=ProposalRun.Status.DONE,
        trigger=ProposalRun.Trigger.COORDINATOR,
        finished_at=timezone.now(),
    )
    for referral, (therapist, priority) in placed.items():
        Proposal.objects.create(
            service=service, run=run, referral=referral, therapist=therapist, priority=priority
        )
    for referral in unplaced:
        Proposal.objects.create(service=service, run=run, referral=referral, reasons=["No slot"])
    return run


def test_the_list_sorts_by_the_engines_priority_and_filters_by_the_proposals(
    client, service, sites, ada, coordinator
):
    low = make_waiting(service, weeks=9)
    high = make_waiting(service, weeks=2)
    unmatched = make_waiting(service, weeks=5)
    outside = make_waiting(service, weeks=12)  # waiting, not in the run
    _run_with_proposals(service, {low: (ada, 10), high: (ada, 90)}, unplaced=[unmatched])
    client.force_login(coordinator)

    def references(**query) -> list[str]:
        html = client.get(reverse("allocation-waiting-list"), query).content.decode()
        return [re.search(r"TH-[A-Z0-9]+-[A-Z0-9]+", row).group() for row in _rows(html)]

    # By priority, the highest first; without one (no proposal), last, by wait.
    assert references(sort="priority") == [
        high.reference,
        low.reference,
        outside.reference,
        unmatched.reference,
    ]
    # By wait by default, the longest first.
    assert references() == [
        outside.reference,
        low.reference,
        unmatched.reference,
        high.reference,
    ]
    assert references(status="proposed") == [low.reference, high.reference]
    # No match yet: placed by no proposal, or in no proposal at all.
    assert references(status="no_match", sort="newest") == [
        unmatched.reference,
        outside.reference,
    ]


def test_the_usual_view_reads_in_one_query_whatever_the_page_holds(
    postgres, service, sites, ada, coordinator, django_assert_num_queries
):
    """On PostgreSQL the languages, the total, the runs and the page's rows are sent together;
    elsewhere the rows are read by the ORM, in a few queries more."""
    from allocation import waiting

    everyone = waiting.WaitingFilters()
    # Nobody waiting: an empty page, read with the rest.
    with django_assert_num_queries(1):
        listing = waiting.waiting_list(user=coordinator, filters=everyone)
    assert listing.rows == [] and listing.total == 0
    referrals = [make_waiting(service, weeks=w) for w in range(3)]
    _run_with_proposals(service, {r: (ada, 1) for r in referrals})
    with django_assert_num_queries(1):
        listing = waiting.waiting_list(user=coordinator, filters=everyone)
    assert len(listing.rows) == 3 and listing.total == 3
    referrals += [make_waiting(service, weeks=w) for w in range(27)]
    with django_assert_num_queries(1):
        listing = waiting.waiting_list(user=coordinator, filters=everyone)
    assert len(listing.rows) == 30 and listing.total == 30
    with django_assert_num_queries(1):
        listing = waiting.waiting_list(user=coordinator, filters=everyone, page=2, per_page=20)
    assert len(listing.rows) == 10 and listing.page.number == 2
    # Past the last page, the last page: read again once the total is known.
    with django_assert_num_queries(2):
        listing = waiting.waiting_list(user=coordinator, filters=everyone, page=5, per_page=20)
    assert len(listing.rows) == 10 and listing.page.number == 2
    # Filtered, the total is counted apart, and the page's rows read after.
    with django_assert_num_queries(3):
        listing = waiting.waiting_list(user=coordinator, filters=waiting.WaitingFilters(wait="6"))
    assert len(listing.rows) == listing.total == 21  # waiting 6 to 26 weeks


def test_the_usual_views_rows_show_the_proposals_of_the_run_the_page_names(
    postgres, service, ada, coordinator
):
    """The rows read the run in force inside their own statement, by the rule the runs are
    read by: the newest finished run, not a newer one still queued, nor an older one."""
    from allocation import selectors, waiting

    bea = make_therapist(service, display_name="Bea Moss")
    first, second = make_waiting(service, weeks=8), make_waiting(service, weeks=3)
    older = _run_with_proposals(service, {first: (bea, 1), second: (bea, 1)})
    in_force = _run_with_proposals(service, {first: (ada, 1)}, unplaced=[second])
    ProposalRun.objects.filter(pk=older.pk).update(finished_at=timezone.now() - dt.timedelta(1))
    queued = ProposalRun.objects.create(
        service=service, status=ProposalRun.Status.QUEUED, trigger=ProposalRun.Trigger.NIGHTLY
    )

    listing = waiting.waiting_list(user=coordinator, filters=waiting.WaitingFilters())

    assert (listing.run, listing.latest) == (in_force, queued)
    assert [(row.state, row.therapist_name) for row in listing.rows] == [
        ("placed", "Ada Lewis"),
        ("no_match", ""),
    ]
    assert (
        listing.rows[0].proposal_id == Proposal.objects.get(run=in_force, referral=first).public_id
    )
    # The same rows as the ORM reads for the run in force (the embedded SQLite mode).
    page = waiting._UnfilteredIds(service.pk)[0:50]
    *_, rows = waiting._list_read(user=coordinator, page_ids=page)
    run = selectors.run_current(service_id=service.pk)
    assert run == in_force
    assert (
        rows
        == waiting._rows_read(page, run=run)
        == waiting._rows_read_orm([{"id": first.pk}, {"id": second.pk}], run=run)
    )
    # No finished run: no proposals, as the ORM reads none.
    ProposalRun.objects.exclude(pk=queued.pk).delete()
    *_, rows = waiting._list_read(user=coordinator, page_ids=page)
    assert rows == waiting._rows_read_orm([{"id": first.pk}, {"id": second.pk}], run=None)
    assert [row["proposal"] for row in rows] == [None, None]


@pytest.mark.django_db(transaction=True)
def test_the_usual_view_reads_one_snapshot_outside_a_transaction(
    postgres, service, ada, coordinator
):
    """Outside a transaction the statements sent together are one read-only transaction at
    REPEATABLE READ (the list, its total and its runs as of one moment), ended with them;
    inside one (ATOMIC_REQUESTS, tests) they are sent as they are."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from psycopg.pq import TransactionStatus

    from allocation import waiting

    referrals = [make_waiting(service, weeks=w) for w in range(3)]
    _run_with_proposals(service, {r: (ada, 1) for r in referrals})

    def read():
        with CaptureQueriesContext(connection) as queries:
            listing = waiting.waiting_list(user=coordinator, filters=waiting.WaitingFilters())
        assert len(listing.rows) == listing.total == 3
        assert {row.state for row in listing.rows} == {"placed"}
        return [query["sql"] for query in queries.captured_queries]

    (sent,) = read()
    assert sent.startswith("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;")
    assert connection.connection.info.transaction_status == TransactionStatus.IDLE
    with connection.cursor() as cursor:
        cursor.execute("SHOW transaction_isolation")
        assert cursor.fetchone() == ("read committed",)
    with transaction.atomic():
        (sent,) = read()
    assert not sent.startswith("SET")


def test_the_unfiltered_pages_hold_what_the_filtered_query_reads_in_its_order(
    postgres, service, coordinator
):
    """The usual view reads its page's ids by its own SQL: the same referrals, in the same
    order (ties in the day received broken by id), page by page, as the queryset gives."""
    from allocation import waiting

    same_day = timezone.now() - dt.timedelta(weeks=3)
    for weeks in (9, 1, 4):
        make_waiting(service, weeks=weeks)
    for _ in range(3):
        Referral.objects.filter(pk=make_waiting(service).pk).update(received_at=same_day)
    factories.ReferralFactory(client__service=service, status=Referral.Status.SUBMITTED)

    def pages(filters):
        listing = waiting.waiting_list(user=coordinator, filters=filters, per_page=4)
        shown = [row.reference for row in listing.rows]
        if listing.page.has_next():
            shown += [
                row.reference
                for row in waiting.waiting_list(
                    user=coordinator, filters=filters, page=2, per_page=4
                ).rows
            ]
        return listing.total, shown

    total, shown = pages(waiting.WaitingFilters())
    expected = list(
        Referral.objects.filter(
            service=service,
            status__in=[Referral.Status.AWAITING_ALLOCATION, Referral.Status.ALLOCATED],
        )
        .order_by("received_at", "id")
        .values_list("reference", flat=True)
    )
    assert total == 6 and shown == expected
    # Past the last page, the last page, as before.
    late = waiting.waiting_list(
        user=coordinator, filters=waiting.WaitingFilters(), page=9, per_page=4
    )
    assert [row.reference for row in late.rows] == expected[4:]


def test_the_runs_read_with_the_list_are_the_runs_as_the_orm_reads_them(service, coordinator):
    """Each column converted by its field, on PostgreSQL (sent with the languages) and in
    the embedded SQLite mode alike."""
    from allocation import selectors, waiting

    done = ProposalRun.objects.create(
        service=service,
        status=ProposalRun.Status.DONE,
        trigger=ProposalRun.Trigger.COORDINATOR,
        finished_at=timezone.now(),
        considered=4,
        placed=3,
        objective={"placed": 3},
        stats={"seconds": 1.5},
        stale_since=timezone.now(),
        stale_reason="a therapist's slots changed",
    )
    queued = ProposalRun.objects.create(
        service=service, status=ProposalRun.Status.QUEUED, trigger=ProposalRun.Trigger.NIGHTLY
    )
    listing = waiting.waiting_list(user=coordinator, filters=waiting.WaitingFilters())
    fields = [field.attname for field in ProposalRun._meta.concrete_fields]
    for read, expected in ((listing.run, done), (listing.latest, queued)):
        expected = ProposalRun.objects.get(pk=expected.pk)
        assert [getattr(read, name) for name in fields] == [
            getattr(expected, name) for name in fields
        ]
        assert not read._state.adding
    assert selectors.runs_current_and_latest(user=coordinator) == (done, queued)


def test_the_list_is_empty_for_an_account_without_a_service(service, coordinator):
    from allocation import waiting

    make_waiting(service)
    nobody = factories.UserFactory(username="nobody", service=None, is_superuser=True)
    listing = waiting.waiting_list(user=nobody, filters=waiting.WaitingFilters())
    assert listing.rows == [] and listing.total == 0 and listing.languages == []


def test_each_value_a_row_shows_is_escaped(client, service, sites, ada, coordinator):
    held = make_waiting(service, weeks=3)
    held.client.given_name = "<b>Al</b>"
    held.client.preferred_name = ""
    held.client.save()
    Hold.objects.create(
        service=service, referral=held, reason="<script>x</script> & more", held_by=coordinator
    )
    unmatched = make_waiting(service, weeks=2)
    _run_with_proposals(service, {}, unplaced=[unmatched])
    Proposal.objects.filter(referral=unmatched).update(reasons=['No "slot" <i>here</i>'])
    client.force_login(coordinator)

    html = client.get(reverse("allocation-waiting-list")).content.decode()

    assert "&lt;b&gt;Al&lt;/b&gt;" in html and "<b>Al" not in html
    assert "&lt;script&gt;x&lt;/script&gt; &amp; more" in html and "<script>x" not in html
    assert "No &quot;slot&quot; &lt;i&gt;here&lt;/i&gt;" in html and "<i>here" not in html


def test_the_filters_offer_their_options_with_the_chosen_ones_selected(
    client, service, coordinator
):
    make_waiting(service, language="Polish")
    client.force_login(coordinator)

    html = client.get(
        reverse("allocation-waiting-list"), {"sort": "risk", "language": "polish"}
    ).content.decode()

    assert '<option value="risk" selected>Highest risk first</option>' in html
    assert '<option value="wait">Longest wait first</option>' in html
    assert '<option value="">Any language</option><option value="polish" selected>' in html
    assert '<option value="" selected>Everyone waiting or just allocated</option>' in html
    assert html.count(" selected>") == 6  # one in each select


def test_the_orm_reads_the_same_rows_as_the_sql_for_other_databases(
    postgres, service, sites, ada, coordinator
):
    """On PostgreSQL the rows are read by one written-out query; on another database (the
    embedded SQLite mode) by the ORM. Both read the same values for every kind of row."""
    from allocation import waiting

    now = timezone.now()
    bea = make_therapist(service, display_name="Bea Moss")
    slot = {"slot": "x", "weekday": 1, "start": "18:00", "length": 50, "site": "Riverside"}
    placed = make_waiting(
        service, weeks=20, language="Polish", mode="in_person", site=sites["Riverside"]
    )
    unmatched = make_waiting(service, weeks=1, sessions=2, availability=[])
    AllocationNeeds.objects.create(
        service=service,
        referral=unmatched,
        gender_excluded=["male"],
        earliest_start=dt.date(2027, 1, 4),
        therapy_weeks=12,
        step_free=True,
        updated_by=coordinator,
    )
    TherapistExclusion.objects.create(
        service=service,
        referral=unmatched,
        therapist=bea,
        reason=TherapistExclusion.Reason.CONFLICT_OF_INTEREST,
        recorded_by=coordinator,
    )
    held = make_waiting(service, weeks=2)
    Hold.objects.create(service=service, referral=held, reason="Moving house", held_by=coordinator)
    allocated = make_waiting(service, weeks=5)
    Referral.objects.filter(pk=allocated.pk).update(status=Referral.Status.ALLOCATED)
    Allocation.objects.create(
        service=service,
        referral=allocated,
        therapist=bea,
        source=Allocation.Source.OVERRIDE,
        override_reason="Nearer home",
        regular_times=[{"weekday": 0, "start": "09:00", "site": ""}],
        first_appointment_at=now,
        allocated_by=coordinator,
        allocated_at=now,
    )
    factories.ReferralFactory(client__service=service, status=Referral.Status.AWAITING_ALLOCATION)
    run = _run_with_proposals(service, {placed: (ada, 5)}, unplaced=[unmatched])
    Proposal.objects.filter(referral=placed).update(slots=[slot])

    page = (
        waiting._waiting_filtered(user=coordinator, filters=waiting.WaitingFilters(), run=run)
        .order_by("received_at", "id")
        .values("id")[:50]
    )
    by_sql = waiting._rows_read(page, run=run)
    assert len(by_sql) == 5
    assert by_sql == waiting._rows_read_orm(page, run=run)
    # The usual view's rows, the run in force read in their statement: the same.
    *_, usual = waiting._list_read(
        user=coordinator, page_ids=waiting._UnfilteredIds(service.pk)[0:50]
    )
    assert usual == by_sql
    assert waiting._rows_read(page, run=None) == waiting._rows_read_orm(page, run=None)


def test_each_filter_form_has_its_own_choices():
    """The filters' selects are copied shallowly for each form: the languages offered to one
    are not offered to the next, nor kept by the class."""
    from allocation import forms

    first = forms.WaitingFilterForm(None)
    first.offer_languages([("polish", "Polish")])
    second = forms.WaitingFilterForm({"language": "polish"})
    assert list(second.fields["language"].choices) == [("", "Any language")]
    assert list(second.fields["language"].widget.choices) == [("", "Any language")]
    assert list(forms.WaitingFilterForm.base_fields["language"].choices) == [("", "Any language")]
    assert list(first.fields["language"].widget.choices)[-1] == ("polish", "Polish")
    assert second.fields["status"] is not first.fields["status"]
    assert second.fields["status"].widget is not first.fields["status"].widget


# The filters' selects as the waiting list's template wrote them, before the tag.
_SELECTS_LOOP = """{% load waiting_list %}{% for field, options in form.selects %}
    <div class="nhsuk-grid-column-one-third">
      <div class="nhsuk-form-group">
        <label class="nhsuk-label" for="{{ field.auto_id }}">{{ field.label }}</label>
        <select class="nhsuk-select" id="{{ field.auto_id }}" name="{{ field.html_name }}">
          {% select_options options %}
        </select>
      </div>
    </div>
  {% endfor %}"""


@pytest.mark.parametrize(
    "data",
    [None, {"status": "held", "risk": "high", "language": "polish", "sort": "risk"}],
    ids=["unfiltered", "filtered"],
)
def test_the_filter_selects_are_the_template_loops_markup(data):
    from django.template import Context, Template

    from allocation import forms

    form = forms.WaitingFilterForm(data)
    form.offer_languages([("polish", "Polish"), ("x", '<b>"X" & Y</b>')])
    written = Template("{% load waiting_list %}{% filter_selects form %}").render(
        Context({"form": form})
    )
    expected = Template(_SELECTS_LOOP).render(Context({"form": form}))

    def markup(text):
        return re.sub(r">\s+<", "><", text.strip())

    assert markup(written) == markup(expected)
    assert written.count("<select ") == len(form.fields)
    assert "<b>" not in written and "&lt;b&gt;&quot;X&quot; &amp; Y&lt;/b&gt;" in written
    if data:
        for value in data.values():
            assert f'value="{value}" selected' in written
