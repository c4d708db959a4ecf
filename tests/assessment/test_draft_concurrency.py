"""Two people (or two tabs) on one assessment draft: work on different sections is merged,
and a save over someone else's newer save of the same section is refused, keeping both."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from assessment import services
from assessment.models import Assessment
from common import roles
from tests import factories
from tests.assessment.conftest import FULL, finish, post_step, start, step_url, walk

pytestmark = pytest.mark.django_db

VERSION = re.compile(r'name="section_version" value="([0-9a-f]+)"')


@pytest.fixture
def first(client, assessor):
    client.force_login(assessor)
    return client


@pytest.fixture
def second(service):
    colleague = factories.UserFactory(
        username="carol",
        service=service,
        roles=[roles.ASSESSOR],
        first_name="Carol",
        last_name="Price",
    )
    browser = Client()
    browser.force_login(colleague)
    return browser


def opened(client, assessment, step) -> str:
    """Open a section's page; the version of the section it was opened at."""
    page = client.get(step_url(assessment, step))
    assert page.status_code == 200
    return VERSION.search(page.text).group(1)


def stored(assessment) -> dict:
    return Assessment.objects.get(pk=assessment.pk).draft_data["step_data"]


def test_a_section_saved_by_someone_else_meanwhile_is_not_overwritten(first, second, referral):
    assessment = start(first, referral)
    version = opened(first, assessment, "presenting")
    ours = {"status": "answered", "own_words": "Written by the first assessor"}
    theirs = {"status": "answered", "own_words": "Written by the second assessor"}
    assert post_step(second, assessment, "presenting", theirs).status_code == 302

    response = post_step(first, assessment, "presenting", ours, section_version=version)

    assert response.status_code == 200
    assert "saved by Carol Price at" in response.text
    assert "Written by the first assessor" in response.text  # nothing typed is lost
    assert stored(assessment)["presenting"]["presenting-own_words"] == [
        "Written by the second assessor"
    ]
    # Having been told, they can save theirs over it on purpose.
    again = VERSION.search(response.text).group(1)
    response = post_step(first, assessment, "presenting", ours, section_version=again)
    assert response.status_code == 302
    assert stored(assessment)["presenting"]["presenting-own_words"] == [
        "Written by the first assessor"
    ]


def test_different_sections_saved_at_once_are_both_kept(first, second, referral):
    assessment = start(first, referral)
    first_version = opened(first, assessment, "presenting")
    second_version = opened(second, assessment, "relationships")

    post_step(first, assessment, "presenting", FULL["presenting"], section_version=first_version)
    post_step(
        second,
        assessment,
        "relationships",
        FULL["relationships"],
        section_version=second_version,
    )

    assert {"presenting", "relationships"} <= set(stored(assessment))


def test_a_request_that_read_the_draft_before_another_save_keeps_that_save(
    first, referral, assessor
):
    # Two requests overlapping in time: the second read the draft before the first wrote.
    assessment = start(first, referral)
    loaded = Assessment.objects.get(pk=assessment.pk).draft_data
    theirs = {**loaded, "step_data": {"presenting": {"presenting-status": ["answered"]}}}
    services.assessment_draft_store(assessment=assessment, data=theirs, loaded=loaded)

    ours = {
        **loaded,
        "step": "relationships",
        "step_data": {"relationships": {"relationships-status": ["not_asked"]}},
    }
    services.assessment_draft_store(assessment=assessment, data=ours, loaded=loaded)

    draft = Assessment.objects.get(pk=assessment.pk).draft_data
    assert set(draft["step_data"]) == {"presenting", "relationships"}
    assert draft["step"] == "relationships"


def test_the_same_persons_later_save_is_not_a_conflict(first, referral):
    # The back button brings back a page opened before their own save.
    assessment = start(first, referral)
    version = opened(first, assessment, "presenting")
    post_step(first, assessment, "presenting", FULL["presenting"], section_version=version)

    response = post_step(
        first,
        assessment,
        "presenting",
        {**FULL["presenting"], "own_words": "Corrected"},
        section_version=version,
    )

    assert response.status_code == 302
    assert stored(assessment)["presenting"]["presenting-own_words"] == ["Corrected"]


def test_finishing_after_someone_changed_the_assessment_asks_for_another_check(
    first, second, referral
):
    assessment = start(first, referral)
    walk(first, assessment, FULL)
    version = opened(first, assessment, "check")
    post_step(second, assessment, "formulation", {**FULL["formulation"], "core": "Revised"})

    response = post_step(first, assessment, "check", {}, section_version=version)

    assert response.status_code == 200
    assert "changed after you opened this page" in response.text
    assert Assessment.objects.get(pk=assessment.pk).status == Assessment.Status.DRAFT
    assert finish(first, assessment).status_code == 302  # once checked again (no version)


def test_merge_applies_only_what_the_request_changed():
    loaded = {
        "step": "a",
        "step_data": {"a": {"x": ["1"]}, "b": {"y": ["1"]}},
        "step_files": {},
        "extra_data": {"k": 1},
    }
    current = {
        "step": "b",
        "step_data": {"a": {"x": ["1"]}, "b": {"y": ["2"]}, "c": {"z": ["1"]}},
        "step_files": {},
        "extra_data": {"k": 1, "other": True},
    }
    ours = {
        "step": "a",
        "step_data": {"b": {"y": ["1"]}},  # removed "a"; left "b" as loaded
        "step_files": {},
        "extra_data": {"k": 2},
    }

    merged = services.draft_merge(current, loaded, ours)

    assert merged["step_data"] == {"b": {"y": ["2"]}, "c": {"z": ["1"]}}
    assert merged["extra_data"] == {"k": 2, "other": True}
    assert merged["step"] == "b"  # ours did not move it


def test_an_empty_stored_draft_takes_the_request_whole():
    ours = {"step": "a", "step_data": {"a": {}}, "step_files": {}, "extra_data": {}}
    assert services.draft_merge({}, {}, ours) == ours
