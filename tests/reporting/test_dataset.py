"""The data-set return streams: rows are read a chunk at a time and written as they come, so
the memory it takes does not grow with the number of referrals."""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc

import pytest
from django.urls import reverse
from django.utils import timezone

from intake.models import Client, Referral
from reporting import dataset
from reporting.forms import range_params
from tests.reporting.conftest import PERIOD

pytestmark = pytest.mark.django_db


def add_referrals(service, count: int, start: int = 0) -> None:
    received = timezone.make_aware(dt.datetime(2026, 2, 2, 9))
    clients = Client.objects.bulk_create(
        Client(
            service=service,
            given_name="Sam",
            family_name=f"Row{n}",
            date_of_birth=dt.date(1990, 1, 1),
            nhs_number="9434765919",
        )
        for n in range(start, start + count)
    )
    Referral.objects.bulk_create(
        Referral(
            service=service,
            client=client,
            reference=f"TH-TEST-{n:06d}",
            source=("self", "gp", "partner")[n % 3],
            received_at=received + dt.timedelta(minutes=n),
        )
        for n, client in enumerate(clients, start=start)
    )


def peak_while_streaming(user, chunk_size: int) -> tuple[int, int]:
    """(rows, peak bytes allocated) while reading the whole return and dropping each row."""
    gc.collect()
    tracemalloc.start()
    rows = 0
    for _ in dataset.dataset_rows(user=user, period=PERIOD, chunk_size=chunk_size):
        rows += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return rows, peak


def test_memory_stays_flat_as_the_rows_grow_tenfold(service, coordinator):
    add_referrals(service, 300)
    peak_while_streaming(coordinator, 100)  # warm up: compiled queries, imports
    small_rows, small_peak = peak_while_streaming(coordinator, 100)
    add_referrals(service, 2700, start=300)
    large_rows, large_peak = peak_while_streaming(coordinator, 100)
    assert (small_rows, large_rows) == (301, 3001)  # the header and each referral
    # Ten times the rows, about the same memory: a list of them all would take ten times.
    assert large_peak < small_peak * 1.5 + 100_000, (small_peak, large_peak)


def test_the_view_streams_every_row(client, service, coordinator):
    add_referrals(service, 1200)
    client.force_login(coordinator)
    response = client.get(reverse("reporting-dataset-csv"), range_params(PERIOD))
    assert response.streaming
    lines = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\r\n")
    assert lines == 1201


def test_a_row_has_a_value_for_every_column(service, coordinator):
    add_referrals(service, 1)
    header, row = list(dataset.dataset_rows(user=coordinator, period=PERIOD))
    assert header == dataset.COLUMNS
    assert len(row) == len(header)
    values = dict(zip(header, row, strict=True))
    assert values["referral_id"] == "TH-TEST-000000"
    assert values["nhs_number"] == "9434765919"
    assert values["referral_received_date"] == "2026-02-02"
    assert values["source_of_referral"] == "B1"
    assert values["end_code"] == "" and values["finished_treatment"] == "N"
