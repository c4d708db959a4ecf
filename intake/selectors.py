"""Reads over referrals for staff pages; every one is scoped to the user's service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from common import access
from common.paging import SeekPage, seek_page_of
from common.rows import long_date, url_for_each
from common.selectors import scope_to_service
from intake import tally
from intake.models import PrivacyNotice, Referral, RiskFlag

WAIT_WARNING = timedelta(weeks=6)
WAIT_BREACH = timedelta(weeks=18)


def _service_referrals(*, user, status: str | None = None) -> QuerySet[Referral]:
    referrals = scope_to_service(Referral.objects.select_related("client"), user)
    if status:
        referrals = referrals.filter(status=status)
    return referrals


def referral_list(*, user, status: str | None = None) -> QuerySet[Referral]:
    """The referrals of the user's service this user opens (an assessor: those to assess,
    those they assessed, and any with an open risk flag; common.access)."""
    referrals = access.referrals_opened_by(user, _service_referrals(user=user, status=status))
    return referrals.order_by("received_at", "id")


@dataclass(frozen=True, slots=True)
class ReferralListRow:
    """One row of the staff referral list, worked out here once rather than by the template
    (a link, a date and two labels per row are most of the page's cost)."""

    public_id: UUID
    url: str
    reference: str
    client_name: str
    received: str  # the day received, in the service's time zone: "5 March 2025"
    status: str
    risk: str


_LIST_ROW_FIELDS = (
    "public_id",
    "reference",
    "received_at",
    "status",
    "risk_level",
    "client__given_name",
    "client__preferred_name",
    "client__family_name",
)
_STATUS_LABELS = dict(Referral.Status.choices)
_RISK_LABELS = dict(Referral.Risk.choices)


def referral_page(*, user, status: str | None = None, page=1, after=None, before=None) -> SeekPage:
    """One page of the service's referrals, oldest first (the staff referral list), as
    ReferralListRow. A page reached from its neighbour's link is read from that page's edge
    referral (`after` or `before`, a public id) rather than by OFFSET, so a deep page costs
    what the first does (common.paging.seek_page_of)."""
    found = seek_page_of(
        # Only what a row shows: every other column, the client's words among them, would be
        # read and decrypted for nothing.
        # Read as plain values: no model instance is made for a row.
        referral_list(user=user, status=status).values(*_LIST_ROW_FIELDS),
        anchors=scope_to_service(Referral.objects.all(), user),
        page=page,
        after=after,
        before=before,
        key="received_at",
        # Read from the referral tally (intake.tally), not by counting the list.
        count=lambda: tally.referrals_opened_count(user, status=status),
    )
    link = url_for_each("staff-referral-detail")
    found.object_list = [
        ReferralListRow(
            public_id=row["public_id"],
            url=link(row["public_id"]),
            reference=row["reference"],
            # As Client.display_name says it.
            client_name=(
                f"{row['client__preferred_name'] or row['client__given_name']} "
                f"{row['client__family_name']}"
            ),
            received=long_date(row["received_at"]),
            status=_STATUS_LABELS.get(row["status"], row["status"]),
            risk=_RISK_LABELS.get(row["risk_level"], row["risk_level"]),
        )
        for row in found.object_list
    ]
    return found


def referral_get(*, user, public_id: UUID) -> Referral:
    """The referral, or Referral.DoesNotExist when it is not the user's service's or the
    user may not open it."""
    return referral_list(user=user).get(public_id=public_id)


@dataclass(frozen=True)
class WaitingCounts:
    awaiting_assessment: int
    awaiting_allocation: int
    over_6_weeks: int
    over_18_weeks: int


# A referral in these states is still waiting to start therapy.
WAITING_STATUSES = (
    Referral.Status.SUBMITTED,
    Referral.Status.ASSESSMENT_BOOKED,
    Referral.Status.AWAITING_ALLOCATION,
)


def referrals_waiting_since(*, before) -> QuerySet[Referral]:
    """Every service's referrals received before `before` and still waiting (for sweeps
    run by beat, which act for every service; never for a page)."""
    return Referral.objects.filter(
        status__in=WAITING_STATUSES, received_at__lte=before
    ).select_related("service")


def referral_waiting_counts(*, user) -> WaitingCounts:
    now = timezone.now()
    waiting = WAITING_STATUSES
    # Every count is of referrals still waiting: read only those (an index range), not
    # every referral the service ever had.
    counts = (
        scope_to_service(Referral.objects.all(), user)
        .filter(status__in=waiting)
        .aggregate(
            awaiting_assessment=Count("id", filter=Q(status=Referral.Status.SUBMITTED)),
            awaiting_allocation=Count("id", filter=Q(status=Referral.Status.AWAITING_ALLOCATION)),
            over_6_weeks=Count(
                "id", filter=Q(status__in=waiting, received_at__lte=now - WAIT_WARNING)
            ),
            over_18_weeks=Count(
                "id", filter=Q(status__in=waiting, received_at__lte=now - WAIT_BREACH)
            ),
        )
    )
    return WaitingCounts(**counts)


@dataclass(frozen=True)
class ContactOptions:
    """How a client may be reached right now, from their details and latest consents.

    Notifications read this at the moment of sending, never from a copy taken when a
    message was queued.
    """

    client_id: int
    name: str
    email: str
    mobile_phone: str
    landline_phone: str
    address: str
    postcode: str
    preferred_channel: str
    safe_contact_times: str
    email_ok: bool
    sms_ok: bool
    phone_ok: bool
    voicemail_ok: bool
    letters_ok: bool
    gp_share_ok: bool
    gp_practice_name: str
    gp_practice_address: str

    def consented_channels(self) -> list[str]:
        """Usable channels, the client's preferred one first."""
        usable = [
            channel
            for channel, ok in (
                ("email", self.email_ok and bool(self.email)),
                ("sms", self.sms_ok and bool(self.mobile_phone)),
                ("letter", self.letters_ok and bool(self.address)),
                ("phone", self.phone_ok and bool(self.mobile_phone or self.landline_phone)),
            )
            if ok
        ]
        if self.preferred_channel in usable:
            usable.remove(self.preferred_channel)
            usable.insert(0, self.preferred_channel)
        return usable


def consent_current(*, client_id: int) -> dict[str, str]:
    """The latest decision per topic for a client: {topic: decision}."""
    from intake.models import ConsentRecord

    current: dict[str, str] = {}
    for topic, decision in (
        ConsentRecord.objects.filter(client_id=client_id)
        .order_by("recorded_at", "id")
        .values_list("topic", "decision")
    ):
        current[topic] = decision
    return current


def client_contact_options(*, client_id: int) -> ContactOptions:
    return clients_contact_options(client_ids=[client_id])[client_id]


def portal_reachable(*, client_id: int) -> bool:
    """Whether the client agrees to a way the client portal can send them a sign-in link
    (email or text, with the detail held): only then do messages point them to it."""
    contact = client_contact_options(client_id=client_id)
    return bool((contact.email_ok and contact.email) or (contact.sms_ok and contact.mobile_phone))


def gp_share_ok(*, referral: Referral) -> bool:
    """Whether the client's current consent lets the service write to their GP."""
    from intake.models import ConsentRecord

    decision = consent_current(client_id=referral.client_id).get(ConsentRecord.Topic.TELL_GP)
    return decision == ConsentRecord.Decision.GRANTED


def clients_contact_options(*, client_ids: list[int]) -> dict[int, ContactOptions]:
    """ContactOptions for several clients in two queries (a print batch reads every
    letter's client at once). Client.DoesNotExist if one of them does not exist."""
    from intake.models import Client, ConsentRecord

    clients = Client.objects.in_bulk(client_ids)
    missing = set(client_ids) - set(clients)
    if missing:
        raise Client.DoesNotExist(f"No client with id {min(missing)}")
    consents: dict[int, dict[str, str]] = {pk: {} for pk in clients}
    for client_id, topic, decision in (
        ConsentRecord.objects.filter(client_id__in=list(clients))
        .order_by("recorded_at", "id")
        .values_list("client_id", "topic", "decision")
    ):
        consents[client_id][topic] = decision  # the latest decision per topic wins
    granted = ConsentRecord.Decision.GRANTED
    Topic = ConsentRecord.Topic
    options = {}
    for pk, client in clients.items():
        current = consents[pk]

        def ok(topic: str, current=current) -> bool:
            return current.get(topic) == granted

        options[pk] = ContactOptions(
            client_id=client.pk,
            name=client.display_name,
            email=client.email,
            mobile_phone=client.mobile_phone,
            landline_phone=client.landline_phone,
            address=client.address,
            postcode=client.postcode,
            preferred_channel=client.preferred_channel,
            safe_contact_times=client.safe_contact_times,
            email_ok=ok(Topic.CONTACT_EMAIL),
            sms_ok=ok(Topic.CONTACT_SMS),
            phone_ok=ok(Topic.CONTACT_PHONE),
            voicemail_ok=ok(Topic.VOICEMAIL),
            letters_ok=ok(Topic.LETTERS_HOME),
            gp_share_ok=ok(Topic.TELL_GP),
            gp_practice_name=client.gp_practice_name,
            gp_practice_address=client.gp_practice_address,
        )
    return options


_SERVICE_MEMO: dict = {}
SERVICE_MEMO_SECONDS = 30


def self_referral_service():
    """The service that takes self-referrals on this site (looked up at most every 30 s
    per process: every page of the form needs it).

    SELF_REFERRAL_SERVICE names it by slug; without it, the site must hold exactly one
    open service (as a single-service deployment does).
    """
    import time

    from django.conf import settings

    key = settings.SELF_REFERRAL_SERVICE
    memo = _SERVICE_MEMO.get(key)
    if memo and memo[0] > time.monotonic():
        return memo[1]
    service = _self_referral_service_lookup(key)
    _SERVICE_MEMO[key] = (time.monotonic() + SERVICE_MEMO_SECONDS, service)
    return service


def _self_referral_service_lookup(slug: str):
    from common.models import Service

    services = Service.objects.filter(self_referral_open=True)
    if slug:
        return services.filter(slug=slug).first()
    found = list(services[:2])
    return found[0] if len(found) == 1 else None


def privacy_notice_current(*, service):
    return service.privacy_notices.order_by("-published_at").first() if service else None


def privacy_notice_version(*, notice_id: int) -> str | None:
    return PrivacyNotice.objects.filter(pk=notice_id).values_list("version", flat=True).first()


@dataclass(frozen=True)
class SharedRow:
    """One thing the client was asked, as staff see it.

    ``state`` keeps three answers apart that must never look alike: ANSWERED, DECLINED
    ("Prefer not to say" chosen) and NOT_GIVEN (left blank, or never asked).
    """

    key: str
    label: str
    value: str
    state: str


ANSWERED = "answered"
DECLINED = "declined"
NOT_GIVEN = "not_given"
NOT_GIVEN_WORDS = "Not given"
DECLINED_WORDS = "Prefer not to say"


@dataclass(frozen=True)
class SharedSection:
    title: str
    rows: tuple[SharedRow, ...]
    # The questionnaires come next, as in the self-referral.
    then_questionnaires: bool = False


@dataclass(frozen=True)
class QuestionnaireShown:
    """A questionnaire as answered: its score, band and every item as given."""

    code: str
    title: str
    context: str
    completed_at: object
    rows: tuple[SharedRow, ...]


@dataclass(frozen=True)
class ReferralOverview:
    referral: Referral
    preferences: object | None
    consents: list
    risk_flags: list
    measures: list
    # What the client shared, grouped and ordered as the self-referral asks it.
    shared: tuple[SharedSection, ...] = ()
    questionnaires: tuple[QuestionnaireShown, ...] = ()
    # What this user reads of the record (common.access); what it forbids is left out.
    sight: access.Sight = access.NO_SIGHT


# The client's own words about their difficulties: the clinical record's free text.
CLINICAL_ROWS = frozenset({"presenting_problem", "hopes", "previous_help"})
WITHHELD = "withheld"
WITHHELD_WORDS = "Read by the client's clinicians"


def referral_overview(*, user, public_id: UUID) -> ReferralOverview:
    """Everything a member of staff sees on one referral's page (DoesNotExist if not theirs).

    Six reads whatever the referral holds: the referral with its client, its preferences
    with the site, the consent records, the risk flags with who acknowledged them and their
    repeats, and the questionnaires."""
    from intake.models import ConsentRecord, Preferences

    referral = referral_list(user=user).select_related("client").get(public_id=public_id)
    latest: dict[str, ConsentRecord] = {}
    for record in ConsentRecord.objects.filter(client_id=referral.client_id).order_by(
        "recorded_at", "id"
    ):
        latest[record.topic] = record
    preferences = Preferences.objects.filter(referral=referral).select_related("site").first()
    responses = list(referral.measure_responses.order_by("completed_at", "id"))
    sight = access.referral_sight(user, referral)
    shared = _shared_sections(referral, preferences, latest)
    questionnaires = tuple(_questionnaire_shown(response) for response in responses)
    if not sight.clinical_text:
        shared, questionnaires = _without_clinical_text(shared, questionnaires)
    return ReferralOverview(
        referral=referral,
        preferences=preferences,
        consents=sorted(latest.values(), key=lambda r: r.get_topic_display()),
        risk_flags=list(
            referral.risk_flags.select_related("acknowledged_by").prefetch_related("repeats")
        ),
        measures=responses,
        shared=shared,
        questionnaires=questionnaires,
        sight=sight,
    )


def _without_clinical_text(shared, questionnaires):
    """The client's own words are replaced by a note saying who reads them; questionnaires
    keep their score and severity but not each answer."""
    from dataclasses import replace

    def row(shown: SharedRow) -> SharedRow:
        if shown.key in CLINICAL_ROWS:
            return SharedRow(shown.key, shown.label, WITHHELD_WORDS, WITHHELD)
        return shown

    return (
        tuple(replace(section, rows=tuple(row(r) for r in section.rows)) for section in shared),
        tuple(replace(q, rows=q.rows[:2]) for q in questionnaires),
    )


def _row(key: str, label: str, value, *, choices=(), blank_words: str = NOT_GIVEN_WORDS):
    """A row for a stored answer: the client's words, or the label of the option chosen."""
    from intake.models import PREFER_NOT_TO_SAY

    if value == PREFER_NOT_TO_SAY:
        return SharedRow(key, label, DECLINED_WORDS, DECLINED)
    if value in (None, "", [], False):
        return SharedRow(key, label, blank_words, NOT_GIVEN)
    if value is True:
        return SharedRow(key, label, "Yes", ANSWERED)
    named = dict(choices)
    if isinstance(value, list):
        shown = "\n".join(str(named.get(item, item)) for item in value)
    elif hasattr(value, "strftime"):
        shown = value.strftime("%-d %B %Y")
    else:
        # A self-described gender, or a partner's own wording, is shown as given.
        shown = str(named.get(value, value))
    return SharedRow(key, label, shown, ANSWERED)


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _windows_words(windows) -> list[str]:
    """Exact times recorded by the coordinator, one a line: "Tuesday 17:30-20:00"."""
    words = []
    for window in windows or []:
        day = window.get("day") if isinstance(window, dict) else None
        name = _DAYS[day] if isinstance(day, int) and 0 <= day <= 6 else str(day)
        words.append(f"{name} {window.get('start')}\u2013{window.get('end')}")
    return words


def _choices(form_class, name: str):
    return [(value, label) for value, label in form_class.base_fields[name].choices if value]


def _consent_row(topic: str, latest: dict) -> SharedRow:
    from intake.models import ConsentRecord

    record = latest.get(topic)
    label = ConsentRecord.Topic(topic).label
    if record is None:
        return SharedRow(f"consent-{topic}", label, "Not asked", NOT_GIVEN)
    return SharedRow(f"consent-{topic}", label, record.get_decision_display(), ANSWERED)


def _shared_sections(referral: Referral, preferences, latest: dict) -> tuple[SharedSection, ...]:
    """The client's answers under the self-referral's own headings, in its order."""
    from intake import forms
    from intake.models import Client, ConsentRecord

    client = referral.client
    topic = ConsentRecord.Topic
    gp = forms.GpForm
    difficulties = forms.DifficultiesForm
    safety = [
        _row("safe_now", "Safe right now", referral.safe_now, choices=forms.YES_NO),
    ]
    identity = [
        _row("name", "Name", f"{client.given_name} {client.family_name}"),
        _row("preferred_name", "Would like to be called", client.preferred_name),
        _row("date_of_birth", "Date of birth", client.date_of_birth),
        _row("pronouns", "Pronouns", client.pronouns),
        _row(
            "gender_identity",
            "Gender",
            client.gender_identity,
            choices=_choices(forms.GenderForm, "gender_identity"),
        ),
        _row("nhs_number", "NHS number", client.nhs_number),
        _row("postcode", "Postcode", client.postcode),
    ]
    channels = [
        _row("email", "Email address", client.email),
        _consent_row(topic.CONTACT_EMAIL, latest),
        _row("mobile_phone", "Mobile number", client.mobile_phone),
        _consent_row(topic.CONTACT_SMS, latest),
        _row("landline_phone", "Landline number", client.landline_phone),
        _consent_row(topic.CONTACT_PHONE, latest),
        _consent_row(topic.VOICEMAIL, latest),
        _row("address", "Postal address", client.address),
        _consent_row(topic.LETTERS_HOME, latest),
        _row(
            "preferred_channel",
            "Prefers to be contacted by",
            client.preferred_channel,
            choices=Client.Channel.choices,
        ),
        _row("safe_contact_times", "Times not safe or convenient", client.safe_contact_times),
    ]
    doctor = [
        _row(
            "gp_registered",
            "Registered with a GP",
            client.gp_registered,
            choices=_choices(gp, "gp_registered"),
        ),
        _row("gp_practice_name", "GP practice", client.gp_practice_name),
        _row("gp_practice_address", "GP practice address", client.gp_practice_address),
        _consent_row(topic.TELL_GP, latest),
    ]
    brings = [
        _row("presenting_problem", "What has been difficult", referral.presenting_problem),
        _row(
            "difficulty_areas",
            "Part of it",
            referral.difficulty_areas,
            choices=forms.DIFFICULTY_AREAS,
        ),
        _row(
            "difficulty_duration",
            "How long it has lasted",
            referral.difficulty_duration,
            choices=_choices(difficulties, "difficulty_duration"),
        ),
        _row("hopes", "Hopes for therapy", referral.hopes),
        _row("previous_help", "Help before", referral.previous_help),
        _row(
            "current_services",
            "In contact with now",
            referral.current_services,
            choices=forms.CURRENT_SERVICES,
        ),
    ]
    sections = [
        SharedSection("Before they started", tuple(safety)),
        SharedSection("About them", tuple(identity)),
        SharedSection("Contact", tuple(channels)),
        SharedSection("GP", tuple(doctor)),
        SharedSection("What brings them here", tuple(brings), then_questionnaires=True),
        SharedSection("Preferences", _preference_rows(preferences)),
    ]
    return tuple(sections)


def _preference_rows(preferences) -> tuple[SharedRow, ...]:
    from intake import forms
    from intake.models import Preferences

    form = forms.PreferencesForm

    def value(name: str):
        return getattr(preferences, name) if preferences is not None else None

    site = value("site")
    return (
        _row(
            "therapist_gender",
            "Therapist's gender",
            value("therapist_gender"),
            # "any" is the answer "I do not mind"; blank is no answer.
            choices=Preferences.TherapistGender.choices,
        ),
        _row(
            "therapist_gender_strength",
            "How important",
            value("therapist_gender_strength"),
            choices=Preferences.GenderWish.choices,
        ),
        _row("language", "Language for therapy", value("language")),
        _row(
            "interpreter_needed",
            "Needs an interpreter",
            # None is no answer, kept apart from "no".
            {True: "yes", False: "no"}.get(value("interpreter_needed"), ""),
            choices=forms.YES_NO,
        ),
        _row("interpreter_language", "Interpreter language", value("interpreter_language")),
        _row("access_needs", "Access needs", value("access_needs")),
        _row("mode", "Sessions", value("mode"), choices=Preferences.Mode.choices),
        _row("site", "Place", site.name if site is not None else ""),
        _row(
            "availability",
            "Could usually come",
            value("availability"),
            choices=forms.AVAILABILITY,
        ),
        _row("time_windows", "Exact times agreed", _windows_words(value("time_windows"))),
        _row(
            "preferred_windows",
            "Exact times preferred",
            _windows_words(value("preferred_windows")),
        ),
        _row(
            "more_than_weekly",
            "Could come more than weekly",
            value("more_than_weekly"),
            choices=_choices(form, "more_than_weekly"),
        ),
    )


def _questionnaire_shown(response) -> QuestionnaireShown:
    import measures

    code = response.measure
    try:
        measure = measures.get_measure(code)
    except measures.MeasureError:  # a code no longer known: its answers as stored
        measure = None
    if response.total is not None:
        total = SharedRow(f"{code}-total", "Score", f"{response.total.normalize():f}", ANSWERED)
    else:
        reason = response.withheld_reason or "too few answers"
        total = SharedRow(f"{code}-total", "Score", f"Not scored: {reason}", NOT_GIVEN)
    band = _row(f"{code}-band", "Severity", response.band)
    if response.total is None:
        band = SharedRow(band.key, band.label, "Not scored", NOT_GIVEN)
    rows = [total, band]
    for number, answer in enumerate(response.answers or [], start=1):
        text = measure.items[number - 1] if measure and number <= len(measure.items) else ""
        label = f"{number}. {text}" if text else f"Question {number}"
        key = f"{code}-item-{number}"
        if answer == measures.PREFER_NOT_TO_SAY:
            rows.append(SharedRow(key, label, DECLINED_WORDS, DECLINED))
        elif answer == measures.NOT_APPLICABLE:
            rows.append(SharedRow(key, label, "Does not apply", ANSWERED))
        elif answer is None:
            rows.append(SharedRow(key, label, "Not answered", NOT_GIVEN))
        elif measure and isinstance(answer, int) and 0 <= answer < len(measure.options):
            rows.append(SharedRow(key, label, measure.options[answer], ANSWERED))
        else:
            rows.append(SharedRow(key, label, str(answer), ANSWERED))
    return QuestionnaireShown(
        code=code,
        title=measure.name if measure else code.upper(),
        context=response.get_context_display(),
        completed_at=response.completed_at,
        rows=tuple(rows),
    )


def risk_flag_get(*, user, referral: Referral, public_id: UUID) -> RiskFlag | None:
    """One risk flag of this referral, if the user's service holds it."""
    return (
        scope_to_service(RiskFlag.objects.all(), user)
        .filter(public_id=public_id, referral=referral)
        .first()
    )


# --- The REST API's reads (api/): each starts from the referrals the user opens -------------


def referrals_opened(*, user) -> QuerySet[Referral]:
    """The referrals of the user's service this user opens ("referral.open" as a query),
    unordered: the API orders and pages them."""
    return access.referrals_opened_by(user, scope_to_service(Referral.objects.all(), user))


def clients_opened(*, user):
    """Clients with at least one referral the user opens."""
    from django.db.models import Exists, OuterRef

    from intake.models import Client

    opened = referrals_opened(user=user).filter(client=OuterRef("pk"))
    return scope_to_service(Client.objects.all(), user).filter(Exists(opened))


def measure_responses_opened(*, user):
    """Completed questionnaires of the referrals the user opens (their scores; answers item
    by item are clinical text, read on the staff pages)."""
    from intake.models import MeasureResponse

    return MeasureResponse.objects.filter(referral__in=referrals_opened(user=user))


def risk_flags_opened(*, user) -> QuerySet[RiskFlag]:
    """Risk flags of the referrals the user opens (what raised them is for clinicians:
    common.access "referral.risk_detail")."""
    return scope_to_service(RiskFlag.objects.all(), user).filter(
        referral__in=referrals_opened(user=user)
    )
