"""Choosing another therapist: the coordinator's list grouped and filtered by what fits
this client, each therapist saying why it fits or what it lacks, with its free slots
under it; a bounded number of queries; every error at once, nothing entered lost."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from allocation import choosing
from allocation.engine import eligible_pairs, parse_problem
from allocation.engine.fit import therapist_fits
from allocation.models import Allocation
from tests.allocation.conftest import make_therapist, make_waiting
from tests.allocation.engine_oracle import EXAMPLE

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(service, sites, ada):
    """Ada fits a Polish-speaking client who would prefer a woman at Riverside on Tuesday or
    Thursday evenings; Ben lacks the language and the gender; Cal has no slot in the client's
    times; Dee has no free place."""
    ben = make_therapist(
        service,
        [],
        [(3, "18:00", None)],
        display_name="Ben Hart",
        gender="male",
        capacity=2,
    )
    cal = make_therapist(
        service,
        [sites["Northgate"]],
        [(0, "10:00", sites["Northgate"])],
        display_name="Cal Rees",
        languages=["English", "Polish"],
    )
    dee = make_therapist(
        service,
        [sites["Riverside"]],
        [(1, "18:00", sites["Riverside"])],
        display_name="Dee Full",
        capacity=0,
    )
    return {"ada": ada, "ben": ben, "cal": cal, "dee": dee}


def polish_client(service, sites, **prefs):
    prefs.setdefault("language", "Polish")
    prefs.setdefault("therapist_gender", "female")
    prefs.setdefault("therapist_gender_strength", "preference")
    prefs.setdefault("site", sites["Riverside"])
    prefs.setdefault("availability", ["tue_evening", "thu_evening"])
    return make_waiting(service, **prefs)


def rows_by_name(page):
    rows = {}
    for group in page.groups:
        for row in group.rows:
            rows[row.therapist.display_name] = (group.key, row)
    for row in page.unavailable:
        rows[row.therapist.display_name] = ("unavailable", row)
    return rows


def url_for(referral):
    return reverse("allocation-referral-choose", args=[referral.public_id])


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- Grouping -------------------------------------------------------------------------------


def test_therapists_are_grouped_by_fit_in_order(service, sites, team, coordinator):
    referral = polish_client(service, sites)
    page = choosing.choose_options(user=coordinator, referral=referral)
    assert [g.key for g in page.groups] == ["fits", "partly", "other"]
    assert [[r.therapist.display_name for r in g.rows] for g in page.groups] == [
        ["Ada Lewis"],
        ["Ben Hart"],
        ["Cal Rees"],
    ]
    # Dee cannot take anyone now: said so, with nothing to select.
    assert [r.therapist.display_name for r in page.unavailable] == ["Dee Full"]
    assert page.shown == 3 and page.total == 3


def test_page_shows_the_groups_in_order_with_the_rest_collapsed(
    signed_in, service, sites, team, coordinator
):
    referral = polish_client(service, sites)
    html = signed_in(coordinator).get(url_for(referral)).content.decode()
    fits = html.index("Fits everything this client asked for")
    partly = html.index("Fits partly")
    other = html.index("Other therapists with a free place")
    assert fits < html.index("Ada Lewis") < partly < html.index("Ben Hart") < other
    assert other < html.index("Cal Rees")
    # The rest is behind an NHS.UK details element, closed.
    details = html[html.rindex("<details", 0, other) : other]
    assert 'class="nhsuk-details"' in details and " open" not in details
    # Dee's slot is not offered: she has no free place.
    dee_slot = team["dee"].slots.get()
    assert str(dee_slot.public_id) not in html
    assert "Dee Full" in html and "has no free place" in html
    assert "Showing 3 of 3 therapists with a free place and a free slot" in text_of(html)


def test_a_therapist_lacking_only_a_preference_fits_partly(service, sites, team, coordinator):
    # Ada is female and the client would prefer a man: a preference, so only partly.
    referral = polish_client(service, sites, therapist_gender="male")
    group, ada = rows_by_name(choosing.choose_options(user=coordinator, referral=referral))[
        "Ada Lewis"
    ]
    assert group == "partly"
    assert "gender preference (male) not met" in ada.lacks


# --- Why each fits, or what it lacks --------------------------------------------------------


def test_reasons_say_what_fits_and_what_lacks_for_each_criterion(service, sites, team, coordinator):
    referral = polish_client(service, sites)
    rows = rows_by_name(choosing.choose_options(user=coordinator, referral=referral))
    ada, ben, cal, dee = (rows[n][1] for n in ("Ada Lewis", "Ben Hart", "Cal Rees", "Dee Full"))
    # Availability: free slots inside the client's times, or not.
    assert any("in the client's times" in f for f in ada.fits)
    assert any("Tuesday 18:00" in f for f in ada.fits)
    assert "no slot in the client's available times (has Monday 10:00)" in cal.lacks
    # Language.
    assert "speaks Polish" in ada.fits
    assert "does not speak Polish" in ben.lacks
    # Gender wish, as a preference.
    assert "gender preference (female) met" in ada.fits
    assert "gender preference (female) not met" in ben.lacks
    # Site: the preferred site.
    assert "preferred site (Riverside Centre) met" in ada.fits
    assert "preferred site (Riverside Centre) not met" in ben.lacks
    # Capacity.
    assert "has 1 free weekly session" in ada.fits  # capacity in weekly sessions
    assert "has 2 free weekly sessions" in ben.fits
    assert "has no free place" in dee.lacks
    assert ada.lacks == ()


def test_interpreter_and_gender_requirement_are_said_as_such(service, sites, team, coordinator):
    referral = make_waiting(
        service,
        language="Polish",
        interpreter_needed=True,
        interpreter_language="Polish",
        therapist_gender="male",
        therapist_gender_strength="requirement",
        availability=["tue_evening", "thu_evening"],
    )
    rows = rows_by_name(choosing.choose_options(user=coordinator, referral=referral))
    ada, ben = rows["Ada Lewis"][1], rows["Ben Hart"][1]
    assert "works with a Polish interpreter" in ben.fits
    assert "speaks Polish, so no interpreter is needed" in ada.fits
    assert "gender requirement (male) met" in ben.fits
    assert "is not male (required)" in ada.lacks
    assert rows["Ben Hart"][0] == "fits" and rows["Ada Lewis"][0] == "partly"


def test_site_or_remote_is_said_for_a_client_who_wants_remote_sessions(
    service, sites, team, coordinator
):
    referral = make_waiting(service, mode="remote", availability=["tue_evening", "thu_evening"])
    rows = rows_by_name(choosing.choose_options(user=coordinator, referral=referral))
    ada = rows["Ada Lewis"][1]
    assert rows["Ada Lewis"][0] == "fits"
    assert any("Thursday 18:00" in f and "remote" in f for f in ada.fits)
    slots = {s.label: s for s in ada.slots}
    assert slots["Thursday 18:00"].usable
    assert not slots["Tuesday 18:00"].usable
    assert "not at a place the client can attend" in slots["Tuesday 18:00"].note
    # Cal: only in person at Northgate, on a Monday morning.
    cal = rows["Cal Rees"][1]
    assert any("no slot" in lack for lack in cal.lacks)


def test_client_needs_are_summarised(signed_in, service, sites, team, coordinator):
    referral = polish_client(service, sites)
    html = text_of(signed_in(coordinator).get(url_for(referral)).content.decode())
    assert "What this client asked for" in html
    assert "Tue evening, Thu evening" in html
    assert "Polish" in html and "Female, a preference" in html
    assert "Riverside Centre" in html


def test_a_referral_without_preferences_is_still_shown_a_choice(
    signed_in, service, sites, team, coordinator
):
    from intake.models import Referral
    from tests import factories

    referral = factories.ReferralFactory(
        client__service=service, status=Referral.Status.AWAITING_ALLOCATION
    )
    factories.FinishedAssessmentFactory(referral=referral)
    response = signed_in(coordinator).get(url_for(referral))
    html = text_of(response.content.decode())
    assert response.status_code == 200
    assert "No times recorded: any weekday time is taken to suit" in html
    assert "Ada Lewis" in html and "Ben Hart" in html


def test_the_fit_logic_agrees_with_the_engines_eligible_pairs():
    with open(EXAMPLE) as f:
        problem = parse_problem(json.load(f))
    eligible = {(p["referral"], p["therapist"]) for p in eligible_pairs(problem)}
    seen = set()
    for referral in problem.referrals:
        team = [t for t in problem.therapists if t.service == referral.service]
        for fit in therapist_fits(referral, team):
            if fit.eligible:
                seen.add((referral.id, fit.therapist.id))
            # Every hard requirement it misses is said.
            assert fit.eligible == (not fit.missing)
    assert seen == eligible


# --- Filters --------------------------------------------------------------------------------


def test_filters_work_by_get_and_count_what_is_shown(signed_in, service, sites, team, coordinator):
    referral = polish_client(service, sites)
    client = signed_in(coordinator)
    html = client.get(url_for(referral), {"times": "1"}).content.decode()
    assert "Ada Lewis" in html and "Ben Hart" in html and "Cal Rees" not in html
    assert "Showing 2 of 3 therapists" in text_of(html)
    html = client.get(url_for(referral), {"language": "polish"}).content.decode()
    assert "Ada Lewis" in html and "Cal Rees" in html and "Ben Hart" not in html
    html = client.get(url_for(referral), {"place": "remote"}).content.decode()
    assert "Ada Lewis" in html and "Ben Hart" in html and "Cal Rees" not in html
    html = client.get(url_for(referral), {"place": "Northgate Clinic"}).content.decode()
    assert "Cal Rees" in html and "Ada Lewis" not in html
    # Filters combine; the checked box and chosen options stay checked.
    html = client.get(url_for(referral), {"times": "1", "language": "polish"}).content.decode()
    assert "Showing 1 of 3 therapists" in text_of(html)
    assert re.search(r'name="times"[^>]*checked', html)
    assert re.search(r'<option value="polish" selected', html)
    # Nonsense in the address shows everything rather than failing.
    response = client.get(url_for(referral), {"times": "x", "language": "zz", "place": "Mars"})
    assert response.status_code == 200
    assert "Showing 3 of 3 therapists" in text_of(response.content.decode())


def test_when_filters_hide_everyone_the_page_says_so(signed_in, service, sites, team, coordinator):
    referral = polish_client(service, sites)
    html = signed_in(coordinator).get(url_for(referral), {"language": "welsh"}).content.decode()
    assert "Showing 3 of 3" in text_of(html)  # an unknown language is not a filter
    html = (
        signed_in(coordinator)
        .get(url_for(referral), {"times": "1", "place": "Northgate Clinic"})
        .content.decode()
    )
    assert "No therapist matches these filters" in html


# --- Queries --------------------------------------------------------------------------------


def test_the_page_reads_a_fixed_number_of_queries_whatever_the_team(
    signed_in, service, sites, team, coordinator, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    referral = polish_client(service, sites)
    client = signed_in(coordinator)
    url = url_for(referral)
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    for n in range(12):
        make_therapist(
            service,
            [sites["Riverside"], sites["Northgate"]],
            [(n % 5, "09:00", sites["Riverside"]), ((n + 1) % 5, "18:00", None)],
            display_name=f"Extra {n:02d}",
        )
    with CaptureQueriesContext(connection) as large:
        html = client.get(url).content.decode()
    assert "Extra 11" in html
    assert len(large) == len(small)
    # 14 for the page, plus what every staff page now pays: the two-factor device lookup and
    # the audit event written after the view.
    with django_assert_max_num_queries(16):
        client.get(url)


# --- Choosing: errors all at once, nothing lost ---------------------------------------------


def test_every_error_at_once_and_nothing_entered_is_lost(
    signed_in, service, sites, team, coordinator
):
    referral = polish_client(service, sites)
    ada_slot = team["ada"].slots.get(weekday=1)
    ben_slot = team["ben"].slots.get()
    client = signed_in(coordinator)
    url = url_for(referral) + "?times=1"
    response = client.post(
        url,
        {
            "slots": [str(ada_slot.public_id), str(ben_slot.public_id)],
            "reason": "",
            "first_appointment_day": "31",
            "first_appointment_month": "2",
            "first_appointment_year": "2027",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select slots of one therapist only" in html
    assert "Enter why you chose this therapist" in html
    assert "First appointment must be a real date" in html
    assert f'value="{ada_slot.public_id}" checked' in html
    assert f'value="{ben_slot.public_id}" checked' in html
    assert 'value="31"' in html and 'value="2027"' in html
    # The filters stay as they were: the form posts back to the same address.
    assert 'action="?times=1"' in html
    # Two slots of one therapist, when the assessment recommends one a week.
    ada_other = team["ada"].slots.get(weekday=3)
    response = client.post(
        url,
        {"slots": [str(ada_slot.public_id), str(ada_other.public_id)], "reason": "Asked"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select 1 slot" in html and 'value="Asked"' not in html and "Asked</textarea>" in html
    assert not Allocation.objects.filter(referral=referral).exists()


def test_a_selected_slot_stays_shown_even_when_a_filter_would_hide_it(
    signed_in, service, sites, team, coordinator
):
    referral = polish_client(service, sites)
    cal_slot = team["cal"].slots.get()
    response = signed_in(coordinator).post(
        url_for(referral) + "?times=1", {"slots": [str(cal_slot.public_id)], "reason": ""}
    )
    html = response.content.decode()
    assert f'value="{cal_slot.public_id}" checked' in html
    # Cal is in the collapsed group: it opens so the choice can be seen.
    other = html.index("Other therapists with a free place")
    assert " open" in html[html.rindex("<details", 0, other) : other]


def test_choosing_a_slot_allocates_with_the_reason(signed_in, service, sites, team, coordinator):
    referral = polish_client(service, sites)
    ben_slot = team["ben"].slots.get()
    response = signed_in(coordinator).post(
        url_for(referral), {"slots": [str(ben_slot.public_id)], "reason": "Client agreed"}
    )
    assert response.status_code == 302
    allocation = Allocation.objects.get(referral=referral)
    assert allocation.therapist == team["ben"]
    assert allocation.override_reason == "Client agreed"
